/*-------------------------------------------------------------------------
 *
 * layout_popx.c
 *	  popx (github.com/ory/x/popx) and pop migration folders, as Ory's
 *	  Kratos, Hydra and Keto ship them.
 *
 * File names follow popx's MigrationFileRegexp,
 *
 *		^(\d+)_([^.]+)(\.[a-z0-9]+)?(\.autocommit)?\.(up|down)\.(sql)$
 *
 * searched through the folder and its subfolders (popx walks them too).
 * Files not ending in .sql are ignored, a .sql file that does not match is
 * an error, and so is a pop .fizz migration (fizz needs pop's translator).
 * The optional part is a dialect (postgres, cockroach, mysql, sqlite3, or
 * one of pop's synonyms for them; others are ignored as popx ignores
 * them), or "autocommit", which popx runs outside a transaction.
 *
 * Migrations are keyed by version alone, as popx keys them: for each
 * version the postgres file wins over the generic one, separately for up
 * and down; versions that only other dialects have are left out.  popx
 * refuses an up without a down of the same version; a down without an up
 * is refused here too.  popx orders versions as text and migrate as
 * numbers: a folder where the two orders differ is an error.
 *
 * Every file goes through pop's Go template as popx runs it: "{{ index
 * .Options "NAME" }}" (pop) and "{{ index .Parameters "NAME" }}" (popx)
 * take --set NAME=VALUE, and an unset one is an error naming the file and
 * line; {{ if .IsPostgreSQL }} ... {{ else }} ... {{ end }} and the other
 * Is<Dialect> flags are evaluated for PostgreSQL; comments and the "-"
 * trim markers work as in Go.  Any other action is an error.
 *
 *-------------------------------------------------------------------------
 */
#include "bundle.h"
#include "version_order.h"

#include <ctype.h>
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
} PopFiles;

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
		"mysql", "sqlite3", "sqlite", NULL};
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

/* walk_dir() visitor: adds a migration file to the PopFiles arg */
static bool
collect_file(const char *path, const char *rel, const char *name,
			 bool regular, void *arg)
{
	PopFiles   *files = arg;
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
		bundle_fail("%s: file name does not match popx's pattern <version>_<name>[.<dialect>][.autocommit].(up|down).sql",
					rel);
	if (skip)
		return true;
	f.rel = xstrdup(rel);
	if (files->n == files->cap)
	{
		files->cap = files->cap ? files->cap * 2 : 64;
		files->items = xreallocarray(files->items, (size_t) files->cap,
									 sizeof(PopFile));
	}
	files->items[files->n++] = f;
	return true;
}

/* The migration files of dir and its subfolders (popx walks them too) */
static void
collect(const char *dir, PopFiles *files)
{
	WalkOptions wo = {0};

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

/* "[not] .IsX" as words[0..n): 1, 0, or -1 if not understood. */
static int
condition(char **words, int n)
{
	int			v;

	if (n == 1)
		return dialect_flag(words[0]);
	if (n == 2 && strcmp(words[0], "not") == 0 &&
		(v = dialect_flag(words[1])) >= 0)
		return !v;
	return -1;
}

typedef struct Frame
{
	bool		outer;			/* the enclosing text is output */
	bool		taken;			/* a branch of this if was chosen */
	bool		active;			/* this branch is output */
} Frame;

/*
 * Executes text as pop's migration template for PostgreSQL and returns the
 * result; bundle_fail() naming rel and the line of the action on anything
 * it cannot do exactly as Go would.
 */
static char *
render(const char *text, const char *rel, const Options *opts)
{
	StrBuf		out = {0};
	Frame		stack[32];
	int			depth = 0;
	size_t		pos = 0;
	size_t		len = strlen(text);
	bool		trim_next = false;
	int			line = 1;		/* of the action at seg_end */
	size_t		line_pos = 0;	/* where line was counted to */

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

		if (trim_next)
			while (seg_start < seg_end && go_space(text[seg_start]))
				seg_start++;
		trim_next = false;
		if (!open)
		{
			if (active)
				strbuf_append_n(&out, text + seg_start, seg_end - seg_start);
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
			strbuf_append_n(&out, text + seg_start, seg_end - seg_start);

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
		if (nw == 3 && strcmp(words[0], "index") == 0 &&
			(strcmp(words[1], ".Options") == 0 ||
			 strcmp(words[1], ".Parameters") == 0) &&
			go_string(words[2]))
		{
			char	   *key = go_string(words[2]);
			int			i;

			if (!active)
				continue;
			for (i = 0; i < opts->nsettings; i++)
				if (strcmp(opts->settings[i].name, key) == 0)
					break;
			if (i == opts->nsettings)
				bundle_fail("%s:%d: template value \"%s\" is not set: pass --set %s=VALUE",
							rel, line, key, key);
			opts->settings[i].used = true;
			strbuf_append(&out, opts->settings[i].value);
		}
		else if (nw >= 2 && strcmp(words[0], "if") == 0)
		{
			int			v = condition(words + 1, nw - 1);

			if (v < 0)
				bundle_fail("%s:%d: template condition \"%.*s\" is not supported",
							rel, line, (int) (aend - astart), text + astart);
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
					(v = condition(words + 2, nw - 2)) < 0)
					bundle_fail("%s:%d: template action \"%.*s\" is not supported",
								rel, line, (int) (aend - astart),
								text + astart);
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
		else if (nw == 1 && dialect_flag(words[0]) >= 0)
		{
			if (active)
				strbuf_append(&out, dialect_flag(words[0]) ? "true" : "false");
		}
		else
			bundle_fail("%s:%d: template action \"{{%.*s}}\" is not supported by migrate-bundle",
						rel, line, (int) (close - (seg_end + 2)),
						text + seg_end + 2);
	}
	if (depth > 0)
		bundle_fail("%s: template {{ if }} without {{ end }}", rel);
	return strbuf_finish(&out);
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
	return strcmp(a->rel, b->rel);
}

/* --- the layout ----------------------------------------------------- */

/* walk_dir() visitor: stops at the first file only popx names so */
static bool
detect_file(const char *path, const char *rel, const char *name,
			bool regular, void *arg)
{
	PopFile		f;
	bool		skip;

	(void) path;
	(void) rel;
	(void) regular;
	memset(&f, 0, sizeof(f));
	if (bundle_has_suffix(name, ".sql") && parse_name(name, &f, &skip) &&
		(skip || f.dialect != DIALECT_ALL || f.autocommit))
	{
		*(bool *) arg = true;
		return false;
	}
	return true;
}

/*
 * A popx folder has a file with a dialect or autocommit in its name: the
 * other names fit golang-migrate and migrate too.
 */
static bool
popx_detect(const char *dir)
{
	WalkOptions wo = {0};
	bool		found = false;

	wo.visit = detect_file;
	wo.arg = &found;
	wo.quiet = true;
	walk_dir(dir, &wo);
	return found;
}

/*
 * The best file of version v (files[from..to)) in one direction: postgres
 * before generic; NULL if neither.  Two candidates of the same rank are an
 * error, since popx would pick one of them at random.
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

static void
popx_load(const char *dir, const Options *opts, Bundle *b)
{
	PopFiles	files = {NULL, 0, 0};
	PopFile    *prev_up = NULL;
	int			i;

	collect(dir, &files);
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
		if (!any_down)
			bundle_fail("%s: migration %s has no corresponding down migration (popx requires one)",
						(up ? up : &files.items[i])->rel,
						files.items[i].version);
		if (!up)
		{
			/* only other dialects have this version */
			i = j;
			continue;
		}
		if (!down)
			bundle_fail("%s: migration %s has no down migration for PostgreSQL",
						up->rel, up->version);
		if (prev_up &&
			migrate_version_compare(prev_up->version, strlen(prev_up->version),
									up->version, strlen(up->version)) >= 0)
			bundle_fail("%s: popx applies it after %s (it orders versions as text) but migrate would not (it orders them as numbers)",
						up->rel, prev_up->rel);

		m = bundle_add(b);
		m->version = xstrdup(up->version);
		m->name = bundle_title(up->name, strlen(up->name));
		m->source = up->rel;
		m->up = render(read_text_file(path_join(dir, up->rel), up->rel),
					   up->rel, opts);
		m->down = render(read_text_file(path_join(dir, down->rel), down->rel),
						 down->rel, opts);
		m->transactional = (up->autocommit || down->autocommit) ?
			TX_FALSE : TX_SERVER;
		prev_up = up;
		i = j;
	}
}

const Layout layout_popx = {
	.name = "popx",
	.detect = popx_detect,
	.load = popx_load,
};
