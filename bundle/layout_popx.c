/*-------------------------------------------------------------------------
 *
 * layout_popx.c
 *	  pop (github.com/gobuffalo/pop) and popx (github.com/ory/x/popx)
 *	  migration folders: supabase/auth's migrations/ and Ory's Kratos,
 *	  Hydra and Keto.  One implementation; the two layouts differ only in
 *	  the PopRules below.
 *
 * File names follow popx's MigrationFileRegexp (pop's mrx is the same
 * without the autocommit part),
 *
 *		^(\d+)_([^.]+)(\.[a-z0-9]+)?(\.autocommit)?\.(up|down)\.(sql)$
 *
 * searched through the folder and its subfolders (both walk them).  Files
 * not ending in .sql are ignored; a .sql file that does not match is an
 * error for popx and skipped, said on stderr, for pop, as pop skips it
 * (pop's FileMigrator even dumps its schema.sql into the folder).  A
 * .fizz migration is an error: fizz needs pop's translator.  The optional
 * part is a dialect (postgres, cockroach, mysql, mariadb, sqlite3, or one
 * of pop's synonyms for them; others are skipped, as both skip them), or,
 * for popx, "autocommit", which popx runs outside a transaction.  pop has
 * no autocommit: it reads the part as an unknown dialect and silently
 * skips the file, so here such a file is an error that points to --layout
 * popx.
 *
 * Migrations are keyed by version alone, as both key them: for each
 * version the postgres file wins over the generic one, separately for up
 * and down (pop sorts dialect files first and records the version, so the
 * generic file is then skipped); versions that only other dialects have
 * are left out.  popx refuses an up without a down of the same version;
 * pop does not require one, and such a migration cannot be reverted (down
 * NULL).  A down without an up is refused for both.  Both order versions
 * as text and migrate as numbers: a folder where the two orders differ is
 * an error.
 *
 * Every file goes through the Go template as the tool runs it, for
 * PostgreSQL.  pop executes it with its ConnectionDetails: "{{ index
 * .Options "NAME" }}" and "{{ .Options.NAME }}" take --set NAME=VALUE,
 * {{ .Dialect }} is "postgres" (also in {{ if eq .Dialect "..." }} and
 * ne), {{ .MigrationTableName }} is --set migration_table_name or
 * "schema_migration"; the connection's other fields (.Database, .Host,
 * ...) are unknown here and an error.  popx executes it with its own
 * struct: "{{ index .Parameters "NAME" }}" takes --set NAME=VALUE, as does
 * "{{ index .Options "NAME" }}" (accepted for popx folders that use pop's
 * form), and {{ if .IsPostgreSQL }} ... {{ else }} ... {{ end }} and the
 * other Is<Dialect> flags are evaluated for PostgreSQL.  For both, an
 * unset value is an error naming the file and line (Go would give ""),
 * comments and the "-" trim markers work as in Go, and any other action is
 * an error.  The result must hold no psql meta-command (a backslash
 * outside quotes and comments); one is an error naming the file's line.
 *
 * --layout auto tells the two apart by names and content (pop_classify()).
 *
 *-------------------------------------------------------------------------
 */
#include "bundle.h"
#include "sql_lex.h"
#include "version_order.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum Dialect
{
	DIALECT_ALL,				/* no dialect in the name */
	DIALECT_POSTGRES,
	DIALECT_OTHER				/* a supported dialect that is not ours */
} Dialect;

typedef struct PopFile
{
	char	   *rel;			/* relative to the folder */
	char	   *version;
	char	   *name;
	Dialect		dialect;
	bool		autocommit;
	bool		up;
} PopFile;

typedef struct PopFiles
{
	PopFile    *items;
	int			n;
	int			cap;
	const struct PopRules *rules;	/* collect(): the layout's */
} PopFiles;

/* What pop and popx do differently; everything else is shared. */
typedef struct PopRules
{
	const char *name;			/* the layout's name, for messages */
	bool		autocommit;		/* ".autocommit." runs outside a
								 * transaction; else an error */
	bool		down_required;	/* every up needs a down */
	bool		skip_unmatched; /* a .sql file that does not match is
								 * skipped (said on stderr), not an error */
	bool		popx_data;		/* the template data is popx's struct
								 * (.Parameters, .Is<Dialect>), not pop's
								 * ConnectionDetails (.Options.NAME,
								 * .Dialect, .MigrationTableName) */
} PopRules;

static const PopRules pop_rules = {
	.name = "pop",
	.autocommit = false,
	.down_required = false,
	.skip_unmatched = true,
	.popx_data = false,
};

static const PopRules popx_rules = {
	.name = "popx",
	.autocommit = true,
	.down_required = true,
	.skip_unmatched = false,
	.popx_data = true,
};

/* --- file names ----------------------------------------------------- */

static bool
is_word(const char *s, size_t n)
{
	size_t		i;

	if (n == 0)
		return false;
	for (i = 0; i < n; i++)
		if (!(islower((unsigned char) s[i]) || isdigit((unsigned char) s[i])))
			return false;
	return true;
}

/*
 * pop.CanonicalDialect, then DialectSupported: -1 for a dialect popx does
 * not know (such files are skipped).
 */
static int
dialect_of(const char *s, size_t n)
{
	static const char *const pg[] = {"postgres", "postgresql", "pg", "pgx",
	NULL};
	static const char *const other[] = {"cockroach", "cockroachdb", "crdb",
		"mysql", "mariadb", "sqlite3", "sqlite", NULL};
	int			i;

	for (i = 0; pg[i]; i++)
		if (strlen(pg[i]) == n && strncmp(s, pg[i], n) == 0)
			return DIALECT_POSTGRES;
	for (i = 0; other[i]; i++)
		if (strlen(other[i]) == n && strncmp(s, other[i], n) == 0)
			return DIALECT_OTHER;
	return -1;
}

/*
 * Parses a base name with popx's pattern.  Returns false if it does not
 * match; sets *skip for a dialect popx does not support.
 */
static bool
parse_name(const char *base, PopFile *f, bool *skip)
{
	const char *p = base;
	const char *name_start;
	const char *parts[4];
	size_t		lens[4];
	int			nparts = 0;

	*skip = false;
	while (isdigit((unsigned char) *p))
		p++;
	if (p == base || *p != '_')
		return false;
	f->version = xstrndup(base, p - base);
	name_start = ++p;
	while (*p && *p != '.')
		p++;
	if (p == name_start || *p != '.')
		return false;
	f->name = xstrndup(name_start, p - name_start);

	/* the dot-separated parts after the name */
	while (*p == '.')
	{
		const char *q = ++p;

		while (*p && *p != '.')
			p++;
		if (nparts == 4)
			return false;
		parts[nparts] = q;
		lens[nparts] = p - q;
		nparts++;
	}
	if (*p != '\0' || nparts < 2)
		return false;
	if (lens[nparts - 1] != 3 || strncmp(parts[nparts - 1], "sql", 3) != 0)
		return false;
	if (lens[nparts - 2] == 2 && strncmp(parts[nparts - 2], "up", 2) == 0)
		f->up = true;
	else if (lens[nparts - 2] == 4 && strncmp(parts[nparts - 2], "down", 4) == 0)
		f->up = false;
	else
		return false;

	f->dialect = DIALECT_ALL;
	f->autocommit = false;
	if (nparts == 4)
	{
		if (!is_word(parts[0], lens[0]) || lens[1] != 10 ||
			strncmp(parts[1], "autocommit", 10) != 0)
			return false;
		f->autocommit = true;
	}
	if (nparts >= 3)
	{
		int			d;

		if (!is_word(parts[0], lens[0]))
			return false;
		if (lens[0] == 10 && strncmp(parts[0], "autocommit", 10) == 0)
		{
			f->autocommit = true;
			return true;
		}
		d = dialect_of(parts[0], lens[0]);
		if (d < 0)
			*skip = true;
		else
			f->dialect = (Dialect) d;
	}
	return true;
}

/* Appends a copy of *f to files */
static void
add_file(PopFiles *files, const PopFile *f)
{
	if (files->n == files->cap)
	{
		if (files->cap > INT_MAX / 2)
			bundle_fail("too many migration files");
		files->cap = files->cap ? files->cap * 2 : 64;
		files->items = xreallocarray(files->items, (size_t) files->cap,
									 sizeof(PopFile));
	}
	files->items[files->n++] = *f;
}

/* walk_dir() visitor: adds a migration file to the PopFiles arg */
static bool
collect_file(const char *path, const char *rel, const char *name,
			 bool regular, void *arg)
{
	PopFiles   *files = arg;
	const PopRules *rules = files->rules;
	PopFile		f;
	bool		skip;

	(void) path;
	if (!regular)
		return true;
	if (bundle_has_suffix(name, ".up.fizz") ||
		bundle_has_suffix(name, ".down.fizz"))
		bundle_fail("%s: fizz migrations cannot be bundled; translate it to SQL (pop's \"soda\" can print it) first",
					rel);
	if (!bundle_has_suffix(name, ".sql"))
		return true;
	memset(&f, 0, sizeof(f));
	if (!parse_name(name, &f, &skip))
	{
		if (!rules->skip_unmatched)
			bundle_fail("%s: file name does not match popx's pattern <version>_<name>[.<dialect>][.autocommit].(up|down).sql",
						rel);
		bundle_note("%s: skipped: not a pop migration file name (<version>_<name>[.<dialect>].(up|down).sql), as pop skips it",
					rel);
		return true;
	}
	if (f.autocommit && !rules->autocommit)
		bundle_fail("%s: \".autocommit\" is popx's: pop reads it as a dialect it does not know and skips the file; bundle the folder with --layout popx",
					rel);
	if (skip)
	{
		if (rules->skip_unmatched)
			bundle_note("%s: skipped: not a dialect pop knows, as pop skips it",
						rel);
		return true;
	}
	f.rel = xstrdup(rel);
	add_file(files, &f);
	return true;
}

/* The migration files of dir and its subfolders (both tools walk them) */
static void
collect(const char *dir, const PopRules *rules, PopFiles *files)
{
	WalkOptions wo = {0};

	files->rules = rules;
	wo.visit = collect_file;
	wo.arg = files;
	walk_dir(dir, &wo);
}

/* --- Go templates --------------------------------------------------- */

static bool
go_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Splits an action into words; quoted strings stay whole, quotes kept. */
static int
split_action(const char *a, size_t n, char **words, int max)
{
	size_t		i = 0;
	int			nw = 0;

	while (i < n)
	{
		size_t		start;

		while (i < n && go_space(a[i]))
			i++;
		if (i >= n)
			break;
		start = i;
		if (a[i] == '"' || a[i] == '`')
		{
			char		q = a[i++];

			while (i < n && a[i] != q)
				i += (q == '"' && a[i] == '\\' && i + 1 < n) ? 2 : 1;
			if (i < n)
				i++;
		}
		else
			while (i < n && !go_space(a[i]))
				i++;
		if (nw == max)
			return max + 1;
		words[nw++] = xstrndup(a + start, i - start);
	}
	return nw;
}

/* A Go string literal's value, or NULL if w is not one. */
static char *
go_string(const char *w)
{
	size_t		n = strlen(w);
	char	   *r;
	size_t		i;
	size_t		k = 0;

	if (n < 2 || w[0] != w[n - 1] || (w[0] != '"' && w[0] != '`'))
		return NULL;
	if (w[0] == '`')
		return xstrndup(w + 1, n - 2);
	r = xmalloc(n);
	for (i = 1; i < n - 1; i++)
	{
		if (w[i] == '\\' && i + 1 < n - 1)
		{
			i++;
			r[k++] = w[i] == 'n' ? '\n' : w[i] == 't' ? '\t' : w[i];
		}
		else
			r[k++] = w[i];
	}
	r[k] = '\0';
	return r;
}

/* The value of an Is<Dialect> field for PostgreSQL; -1 if w is not one. */
static int
dialect_flag(const char *w)
{
	if (strcmp(w, ".IsPostgreSQL") == 0)
		return 1;
	if (strcmp(w, ".IsCockroach") == 0 || strcmp(w, ".IsMySQL") == 0 ||
		strcmp(w, ".IsMariaDB") == 0 || strcmp(w, ".IsSQLite") == 0)
		return 0;
	return -1;
}

typedef enum FieldOwner
{
	FIELD_UNKNOWN,
	FIELD_POP,					/* pop's ConnectionDetails */
	FIELD_POPX					/* popx's template struct */
} FieldOwner;

/*
 * Whose template data has the field name[0..n): pop executes templates
 * with its *ConnectionDetails (migration_content.go), whose exported
 * fields and methods these are; popx with a struct of its own
 * (popx/migration_content.go).
 */
static FieldOwner
field_owner(const char *name, size_t n)
{
	static const char *const pop[] = {"Options", "Dialect",
		"MigrationTableName", "Driver", "Database", "Host", "Port", "User",
		"Password", "Encoding", "URL", "Pool", "IdlePool", "ConnMaxLifetime",
		"ConnMaxIdleTime", "Unsafe", "RawOptions", "UseInstrumentedDriver",
		"InstrumentedDriverOptions", "RetrySleep", "RetryLimit",
	"OptionsString", "Finalize", NULL};
	static const char *const popx[] = {"Parameters", "IsSQLite",
		"IsCockroach", "IsMySQL", "IsMariaDB", "IsPostgreSQL",
	"DialectDetails", NULL};
	int			i;

	for (i = 0; pop[i]; i++)
		if (strlen(pop[i]) == n && strncmp(name, pop[i], n) == 0)
			return FIELD_POP;
	for (i = 0; popx[i]; i++)
		if (strlen(popx[i]) == n && strncmp(name, popx[i], n) == 0)
			return FIELD_POPX;
	return FIELD_UNKNOWN;
}

/* The owner of word w if it is ".Field" or ".Field.more" */
static FieldOwner
word_owner(const char *w)
{
	size_t		n;

	if (w[0] != '.')
		return FIELD_UNKNOWN;
	n = strcspn(w + 1, ".");
	return field_owner(w + 1, n);
}

/*
 * A condition as words[0..n): popx's "[not] .IsX", pop's "eq .Dialect
 * "x"" or "ne" (either operand first).  1, 0, or -1 if not understood.
 */
static int
condition(char **words, int n, const PopRules *rules)
{
	int			v;

	if (rules->popx_data)
	{
		if (n == 1)
			return dialect_flag(words[0]);
		if (n == 2 && strcmp(words[0], "not") == 0 &&
			(v = dialect_flag(words[1])) >= 0)
			return !v;
	}
	else if (n == 3 &&
			 (strcmp(words[0], "eq") == 0 || strcmp(words[0], "ne") == 0))
	{
		const char *other = strcmp(words[1], ".Dialect") == 0 ? words[2] :
			strcmp(words[2], ".Dialect") == 0 ? words[1] : NULL;
		char	   *str = other ? go_string(other) : NULL;

		if (str == NULL)
			return -1;
		v = strcmp(str, "postgres") == 0;
		free(str);
		return words[0][0] == 'e' ? v : !v;
	}
	return -1;
}

/* The --set value named key, marked used; NULL if there is none */
static const char *
setting(const Options *opts, const char *key)
{
	int			i;

	for (i = 0; i < opts->nsettings; i++)
	{
		if (strcmp(opts->settings[i].name, key) == 0)
		{
			opts->settings[i].used = true;
			return opts->settings[i].value;
		}
	}
	return NULL;
}

/*
 * The key of a lookup in the map of --set values: "index .Options "K""
 * (and for popx "index .Parameters "K""), or for pop ".Options.K".
 * NULL if words[0..nw) is not one.
 */
static char *
values_key(char **words, int nw, const PopRules *rules)
{
	if (nw == 3 && strcmp(words[0], "index") == 0 &&
		(strcmp(words[1], ".Options") == 0 ||
		 (rules->popx_data && strcmp(words[1], ".Parameters") == 0)))
		return go_string(words[2]);
	if (nw == 1 && !rules->popx_data &&
		strncmp(words[0], ".Options.", 9) == 0 && words[0][9] != '\0' &&
		strchr(words[0] + 9, '.') == NULL)
		return xstrdup(words[0] + 9);
	return NULL;
}

/* The value of a lone field, e.g. {{ .Dialect }}; NULL if not known */
static const char *
field_value(const char *w, const Options *opts, const PopRules *rules)
{
	const char *v;

	if (rules->popx_data)
	{
		if (dialect_flag(w) >= 0)
			return dialect_flag(w) ? "true" : "false";
		return NULL;
	}
	if (strcmp(w, ".Dialect") == 0)
		return "postgres";
	if (strcmp(w, ".MigrationTableName") == 0)
		return (v = setting(opts, "migration_table_name")) ? v :
			"schema_migration";
	return NULL;
}

/*
 * Fails for an action render() cannot do if it uses the other tool's data
 * or pop's connection details, saying so; returns otherwise.
 */
static void
check_data(char **words, int nw, const char *rel, int line,
		   const char *action, int alen, const PopRules *rules)
{
	int			i;

	for (i = 0; i < nw; i++)
	{
		FieldOwner owner = word_owner(words[i]);

		if (owner == FIELD_POPX && !rules->popx_data)
			bundle_fail("%s:%d: template action \"{{%.*s}}\" uses popx's data, not pop's: bundle the folder with --layout popx",
						rel, line, alen, action);
		if (owner == FIELD_POP && rules->popx_data &&
			strncmp(words[i], ".Options", 8) != 0)
			bundle_fail("%s:%d: template action \"{{%.*s}}\" uses pop's data, not popx's: bundle the folder with --layout pop",
						rel, line, alen, action);
		if (owner == FIELD_POP && !rules->popx_data &&
			strncmp(words[i], ".Options", 8) != 0 &&
			strcmp(words[i], ".Dialect") != 0 &&
			strcmp(words[i], ".MigrationTableName") != 0)
			bundle_fail("%s:%d: template value %s is a detail of pop's database connection, which migrate-bundle does not know",
						rel, line, words[i]);
	}
}

typedef struct Frame
{
	bool		outer;			/* the enclosing text is output */
	bool		taken;			/* a branch of this if was chosen */
	bool		active;			/* this branch is output */
} Frame;

/* Where a stretch of render()'s output comes from, for messages */
typedef struct OutMap
{
	size_t		out;			/* offset in the output */
	size_t		src;			/* offset in the template */
	bool		copied;			/* text copied from src on; else a value
								 * that the action at src put in */
} OutMap;

typedef struct Rendering
{
	StrBuf		out;
	OutMap	   *map;			/* by out, strictly increasing */
	size_t		nmap;
	size_t		capmap;
} Rendering;

/* Appends n bytes of s to r's output, from template offset src */
static void
emit(Rendering *r, const char *s, size_t n, size_t src, bool copied)
{
	if (n == 0)
		return;
	if (r->nmap == r->capmap)
	{
		r->capmap = r->capmap ? r->capmap * 2 : 16;
		r->map = xreallocarray(r->map, r->capmap, sizeof(OutMap));
	}
	r->map[r->nmap].out = r->out.len;
	r->map[r->nmap].src = src;
	r->map[r->nmap].copied = copied;
	r->nmap++;
	strbuf_append_n(&r->out, s, n);
}

/* The template offset that output offset off comes from */
static size_t
source_offset(const Rendering *r, size_t off)
{
	size_t		lo = 0;
	size_t		hi = r->nmap;

	/* the last entry whose out is at or before off */
	while (hi - lo > 1)
	{
		size_t		mid = lo + (hi - lo) / 2;

		if (r->map[mid].out <= off)
			lo = mid;
		else
			hi = mid;
	}
	return r->map[lo].copied ? r->map[lo].src + (off - r->map[lo].out) :
		r->map[lo].src;
}

/*
 * Executes text as the tool's migration template for PostgreSQL (see the
 * file header) and returns the result; bundle_fail() naming rel and the
 * line of the action on anything it cannot do exactly as Go would, and
 * naming the line of the template it came from if the result holds a psql
 * meta-command.
 */
static char *
render(const char *text, const char *rel, const Options *opts,
	   const PopRules *rules)
{
	Rendering	r;
	Frame		stack[32];
	int			depth = 0;
	size_t		pos = 0;
	size_t		len = strlen(text);
	bool		trim_next = false;
	int			line = 1;		/* of the action at seg_end */
	size_t		line_pos = 0;	/* where line was counted to */
	size_t		off;

	memset(&r, 0, sizeof(r));
	for (;;)
	{
		const char *open = strstr(text + pos, "{{");
		size_t		seg_end = open ? (size_t) (open - text) : len;
		size_t		seg_start = pos;
		bool		active = depth == 0 || stack[depth - 1].active;
		size_t		astart;
		size_t		aend;
		size_t		close;
		char	   *words[8];
		int			nw;
		char	   *key;
		const char *value;

		if (trim_next)
			while (seg_start < seg_end && go_space(text[seg_start]))
				seg_start++;
		trim_next = false;
		if (!open)
		{
			if (active)
				emit(&r, text + seg_start, seg_end - seg_start, seg_start,
					 true);
			break;
		}
		/* count lines as the text goes by: line_of() each time is quadratic */
		for (; line_pos < seg_end; line_pos++)
			if (text[line_pos] == '\n')
				line++;
		astart = seg_end + 2;
		/* "{{- " trims the text before */
		if (astart + 1 < len && text[astart] == '-' && go_space(text[astart + 1]))
		{
			while (seg_end > seg_start && go_space(text[seg_end - 1]))
				seg_end--;
			astart += 2;
		}
		if (active)
			emit(&r, text + seg_start, seg_end - seg_start, seg_start, true);
		/* find the closing braces, stepping over strings and comments */
		close = astart;
		while (close < len && go_space(text[close]))
			close++;
		if (close + 1 < len && text[close] == '/' && text[close + 1] == '*')
		{
			const char *end = strstr(text + close + 2, "*/");

			if (!end)
				bundle_fail("%s:%d: unclosed comment in template action",
							rel, line);
			close = end + 2 - text;
			while (close < len && go_space(text[close]))
				close++;
			if (close < len && text[close] == '-')
				close++;
			if (close + 1 >= len || text[close] != '}' || text[close + 1] != '}')
				bundle_fail("%s:%d: comment ends before \"}}\" in template action",
							rel, line);
			if (text[close - 1] == '-' && go_space(text[close - 2]))
				trim_next = true;
			pos = close + 2;
			continue;
		}
		for (close = astart; close + 1 < len; close++)
		{
			if (text[close] == '"' || text[close] == '`')
			{
				char		q = text[close++];

				while (close < len && text[close] != q && text[close] != '\n')
					close += (q == '"' && text[close] == '\\') ? 2 : 1;
				continue;
			}
			if (text[close] == '}' && text[close + 1] == '}')
				break;
		}
		if (close + 1 >= len)
			bundle_fail("%s:%d: unclosed template action \"{{\"", rel, line);
		aend = close;
		/* " -}}" trims the text after */
		if (aend >= astart + 2 && text[aend - 1] == '-' &&
			go_space(text[aend - 2]))
		{
			aend -= 2;
			trim_next = true;
		}
		pos = close + 2;

		nw = split_action(text + astart, aend - astart, words, 8);
		if (nw > 8)
			nw = 8;				/* too many words: understood by nothing */
		if ((key = values_key(words, nw, rules)) != NULL)
		{
			if (!active)
				continue;
			if ((value = setting(opts, key)) == NULL)
				bundle_fail("%s:%d: template value \"%s\" is not set: pass --set %s=VALUE",
							rel, line, key, key);
			emit(&r, value, strlen(value), seg_end, false);
			free(key);
		}
		else if (nw >= 2 && strcmp(words[0], "if") == 0)
		{
			int			v = condition(words + 1, nw - 1, rules);

			if (v < 0)
			{
				check_data(words, nw, rel, line, text + seg_end + 2,
						   (int) (close - (seg_end + 2)), rules);
				bundle_fail("%s:%d: template condition \"%.*s\" is not supported",
							rel, line, (int) (aend - astart), text + astart);
			}
			if (depth == 32)
				bundle_fail("%s:%d: template conditions nested too deeply",
							rel, line);
			stack[depth].outer = active;
			stack[depth].taken = v == 1;
			stack[depth].active = active && v == 1;
			depth++;
		}
		else if (nw >= 1 && strcmp(words[0], "else") == 0)
		{
			Frame	   *f;
			int			v = 1;

			if (depth == 0)
				bundle_fail("%s:%d: {{ else }} outside {{ if }}", rel, line);
			if (nw > 1)
			{
				if (strcmp(words[1], "if") != 0 ||
					(v = condition(words + 2, nw - 2, rules)) < 0)
				{
					check_data(words, nw, rel, line, text + seg_end + 2,
							   (int) (close - (seg_end + 2)), rules);
					bundle_fail("%s:%d: template action \"%.*s\" is not supported",
								rel, line, (int) (aend - astart),
								text + astart);
				}
			}
			f = &stack[depth - 1];
			f->active = f->outer && !f->taken && v == 1;
			if (v == 1)
				f->taken = true;
		}
		else if (nw == 1 && strcmp(words[0], "end") == 0)
		{
			if (depth == 0)
				bundle_fail("%s:%d: {{ end }} outside {{ if }}", rel, line);
			depth--;
		}
		else if (nw == 1 && (value = field_value(words[0], opts, rules)))
		{
			if (active)
				emit(&r, value, strlen(value), seg_end, false);
		}
		else
		{
			check_data(words, nw, rel, line, text + seg_end + 2,
					   (int) (close - (seg_end + 2)), rules);
			bundle_fail("%s:%d: template action \"{{%.*s}}\" is not supported by migrate-bundle",
						rel, line, (int) (close - (seg_end + 2)),
						text + seg_end + 2);
		}
	}
	if (depth > 0)
		bundle_fail("%s: template {{ if }} without {{ end }}", rel);
	if (r.out.len > 0 && sql_find_backslash(r.out.data, r.out.len, &off))
		bundle_psql_fail(rel, line_of(text, source_offset(&r, off)),
						 r.out.data + off);
	free(r.map);
	return strbuf_finish(&r.out);
}

/* --- ordering ------------------------------------------------------- */

static int
popfile_cmp(const void *x, const void *y)
{
	const PopFile *a = x;
	const PopFile *b = y;
	int			c = strcmp(a->version, b->version);

	if (c != 0)
		return c;
	return strcmp(a->rel ? a->rel : "", b->rel ? b->rel : "");
}

/* --- detection ------------------------------------------------------ */

/* How much of each file detection reads */
#define POP_DETECT_HEAD 8192

typedef enum PopKind
{
	POP_KIND_NONE,				/* neither */
	POP_KIND_POP,
	POP_KIND_POPX
} PopKind;

/* What a walk of the folder found, for pop_classify() */
typedef struct PopScan
{
	PopFiles	files;			/* migration file names, every dialect */
	bool		family;			/* something only pop and popx do */
	bool		pop_marks;		/* something only pop does */
	bool		popx_marks;		/* something only popx does */
} PopScan;

/*
 * Notes the template actions of text (the head of a file) that use a
 * field of pop's or popx's data: "{{" and an optional "-", then up to
 * three words such as if, not, index, eq, then ".Field".  Anything else
 * between braces ("{{1,2}}" in an array literal) is not a mark.
 */
static void
scan_template_marks(const char *text, PopScan *scan)
{
	static const char *const skip_words[] = {"if", "else", "not", "index",
	"eq", "ne", "with", "and", "or", NULL};
	const char *p = text;

	while ((p = strstr(p, "{{")) != NULL)
	{
		int			k;
		size_t		n;

		p += 2;
		if (*p == '-')
			p++;
		while (go_space(*p))
			p++;
		for (k = 0; k < 3; k++)
		{
			int			w;

			for (w = 0; skip_words[w]; w++)
			{
				n = strlen(skip_words[w]);
				if (strncmp(p, skip_words[w], n) == 0 && go_space(p[n]))
					break;
			}
			if (!skip_words[w])
				break;
			p += n;
			while (go_space(*p))
				p++;
		}
		if (*p != '.')
			continue;
		for (n = 1; isalnum((unsigned char) p[n]) || p[n] == '_'; n++)
			;
		switch (field_owner(p + 1, n - 1))
		{
			case FIELD_POP:
				scan->family = scan->pop_marks = true;
				break;
			case FIELD_POPX:
				scan->family = scan->popx_marks = true;
				break;
			case FIELD_UNKNOWN:
				break;
		}
	}
}

/* walk_dir() visitor: notes what a file says about pop and popx */
static bool
detect_file(const char *path, const char *rel, const char *name,
			bool regular, void *arg)
{
	PopScan    *scan = arg;
	PopFile		f;
	bool		skip;
	char	   *head;

	(void) rel;
	if (!regular)
		return true;
	if (bundle_has_suffix(name, ".up.fizz") ||
		bundle_has_suffix(name, ".down.fizz"))
	{
		scan->family = true;
		return true;
	}
	memset(&f, 0, sizeof(f));
	if (!bundle_has_suffix(name, ".sql") || !parse_name(name, &f, &skip))
		return true;
	if (skip || f.dialect != DIALECT_ALL)
		scan->family = true;
	if (f.autocommit)
		scan->family = scan->popx_marks = true;
	f.rel = NULL;
	add_file(&scan->files, &f);
	if ((head = bundle_read_head_or_null(path, POP_DETECT_HEAD)) != NULL)
	{
		scan_template_marks(head, scan);
		free(head);
	}
	/* popx's marks decide; nothing more to learn */
	return !scan->popx_marks;
}

/* Whether every version of files that has an up file has a down file */
static bool
every_up_has_down(PopFiles *files)
{
	int			i;
	int			j;

	if (files->n > 1)
		qsort(files->items, files->n, sizeof(PopFile), popfile_cmp);
	for (i = 0; i < files->n; i = j)
	{
		bool		any_up = false;
		bool		any_down = false;

		for (j = i; j < files->n &&
			 strcmp(files->items[j].version, files->items[i].version) == 0;
			 j++)
		{
			if (files->items[j].up)
				any_up = true;
			else
				any_down = true;
		}
		if (any_up && !any_down)
			return false;
	}
	return true;
}

/*
 * Which of the two, if either, dir's files are written for.  Plain
 * <version>_<name>.up.sql files fit migrate and golang-migrate too; what
 * only pop and popx do is a dialect part in a name, an .autocommit. part,
 * a .fizz file, or a Go template action on their data in the first
 * POP_DETECT_HEAD bytes of a file.  Of those, .autocommit. and popx's
 * fields (.Parameters, .IsPostgreSQL and the other Is<Dialect>,
 * .DialectDetails) are popx's alone and make it popx, even beside pop's
 * .Options (which the popx layout accepts); pop's fields (.Options,
 * .Dialect, .MigrationTableName, the connection's details) make it pop.
 * Without either, a folder with dialect parts or fizz files is popx if
 * every up has its down (popx's rule) and pop otherwise.  The answer for
 * the last folder asked is kept, since both layouts' detect() ask.
 */
static PopKind
pop_classify(const char *dir)
{
	static char *cached_dir = NULL;
	static PopKind cached = POP_KIND_NONE;
	PopScan		scan;
	WalkOptions wo = {0};
	int			i;

	if (cached_dir != NULL && strcmp(cached_dir, dir) == 0)
		return cached;

	memset(&scan, 0, sizeof(scan));
	wo.visit = detect_file;
	wo.arg = &scan;
	wo.quiet = true;
	walk_dir(dir, &wo);

	if (!scan.family)
		cached = POP_KIND_NONE;
	else if (scan.popx_marks)
		cached = POP_KIND_POPX;
	else if (scan.pop_marks)
		cached = POP_KIND_POP;
	else
		cached = every_up_has_down(&scan.files) ? POP_KIND_POPX : POP_KIND_POP;

	for (i = 0; i < scan.files.n; i++)
	{
		free(scan.files.items[i].version);
		free(scan.files.items[i].name);
	}
	free(scan.files.items);
	free(cached_dir);
	cached_dir = xstrdup(dir);
	return cached;
}

static bool
pop_detect(const char *dir)
{
	return pop_classify(dir) == POP_KIND_POP;
}

static bool
popx_detect(const char *dir)
{
	return pop_classify(dir) == POP_KIND_POPX;
}

/* --- the layout ----------------------------------------------------- */

/*
 * The best file of version v (files[from..to)) in one direction: postgres
 * before generic; NULL if neither.  Two candidates of the same rank are an
 * error, since the tool would pick one of them at random.
 */
static PopFile *
best(PopFile *files, int from, int to, bool up)
{
	PopFile    *chosen = NULL;
	int			i;

	for (i = from; i < to; i++)
	{
		PopFile    *f = &files[i];

		if (f->up != up || f->dialect == DIALECT_OTHER)
			continue;
		if (chosen && chosen->dialect == f->dialect)
			bundle_fail("%s: same version, direction and dialect as %s",
						f->rel, chosen->rel);
		if (!chosen || f->dialect == DIALECT_POSTGRES)
			chosen = f;
	}
	return chosen;
}

/* The file rel of dir, read and rendered as the template it is */
static char *
load_script(const char *dir, const char *rel, const Options *opts,
			const PopRules *rules)
{
	return render(read_text_file(path_join(dir, rel), rel), rel, opts, rules);
}

static void
pop_load_rules(const char *dir, const Options *opts, Bundle *b,
			   const PopRules *rules)
{
	PopFiles	files = {0};
	PopFile    *prev_up = NULL;
	int			i;

	collect(dir, rules, &files);
	if (files.n > 1)
		qsort(files.items, files.n, sizeof(PopFile), popfile_cmp);

	for (i = 0; i < files.n;)
	{
		int			j;
		bool		any_up = false;
		bool		any_down = false;
		PopFile    *up;
		PopFile    *down;
		Migration  *m;

		for (j = i; j < files.n &&
			 strcmp(files.items[j].version, files.items[i].version) == 0; j++)
		{
			if (files.items[j].up)
				any_up = true;
			else
				any_down = true;
		}
		if (!any_up)
			bundle_fail("%s: down migration without an up migration of version %s",
						files.items[i].rel, files.items[i].version);
		up = best(files.items, i, j, true);
		down = best(files.items, i, j, false);
		if (!any_down && rules->down_required)
			bundle_fail("%s: migration %s has no corresponding down migration (popx requires one)",
						(up ? up : &files.items[i])->rel,
						files.items[i].version);
		if (!up)
		{
			/* only other dialects have this version */
			i = j;
			continue;
		}
		if (!down && rules->down_required)
			bundle_fail("%s: migration %s has no down migration for PostgreSQL",
						up->rel, up->version);
		if (prev_up &&
			migrate_version_compare(prev_up->version, strlen(prev_up->version),
									up->version, strlen(up->version)) >= 0)
			bundle_fail("%s: %s applies it after %s (it orders versions as text) but migrate would not (it orders them as numbers)",
						up->rel, rules->name, prev_up->rel);

		m = bundle_add(b);
		m->version = xstrdup(up->version);
		m->name = bundle_title(up->name, strlen(up->name));
		m->source = up->rel;
		m->up = load_script(dir, up->rel, opts, rules);
		/* pop without a down: the migration cannot be reverted */
		m->down = down ? load_script(dir, down->rel, opts, rules) : NULL;
		m->transactional = (up->autocommit || (down && down->autocommit)) ?
			TX_FALSE : TX_SERVER;
		prev_up = up;
		i = j;
	}
}

static void
pop_load(const char *dir, const Options *opts, Bundle *b)
{
	pop_load_rules(dir, opts, b, &pop_rules);
}

static void
popx_load(const char *dir, const Options *opts, Bundle *b)
{
	pop_load_rules(dir, opts, b, &popx_rules);
}

const Layout layout_pop = {
	.name = "pop",
	.detect = pop_detect,
	.load = pop_load,
};

const Layout layout_popx = {
	.name = "popx",
	.detect = popx_detect,
	.load = popx_load,
};
