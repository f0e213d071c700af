/*-------------------------------------------------------------------------
 *
 * layout_flyway.c
 *	  migrate-bundle: Flyway's SQL migrations.
 *
 * Read as Flyway's own code reads a filesystem location (FileSystemScanner,
 * ResourceNameParser, SqlMigrationResolver, PlaceholderReplacingReader,
 * ChecksumCalculator), with Flyway's default settings:
 *
 * - The folder is scanned recursively, skipping hidden folders (a name
 *	 starting with '.').  Only files ending in ".sql" (any case) are
 *	 migrations; "<file>.sql.conf" is that file's script configuration;
 *	 everything else is ignored.
 * - Prefixes are case-sensitive and the longest one wins: a callback name
 *	 (beforeMigrate, afterEachMigrate, ...) is not a migration and is
 *	 skipped; "V<version>__<description>.sql" is versioned,
 *	 "U<version>__<description>.sql" is the undo (down) of that version
 *	 (Flyway Teams), "R__<description>.sql" is repeatable, and
 *	 "B<version>__..." (a baseline migration, which Flyway runs on an empty
 *	 database instead of the versioned ones up to it) is skipped, since the
 *	 versioned migrations stay authoritative.  A .sql file with no prefix,
 *	 or with a prefix and a name Flyway cannot read (V1_x.sql, V1a__x.sql),
 *	 is skipped by Flyway with one log line (validateMigrationNaming is off
 *	 by default); here each one is named on stderr and skipped too.
 * - The version is the text between the prefix and the first "__", with
 *	 '_' read as '.' ("V4_1__x.sql" registers "4.1"); it must be numbers
 *	 separated by dots.  Flyway compares versions part by part as numbers,
 *	 trailing zero parts ignored, so "1" and "1.0" are one version to it:
 *	 two such files are an error here, as in Flyway.  The description is
 *	 the rest, '_' read as a space.
 * - Migrations are bundled in version order (not path order), then the
 *	 repeatables in name order.
 * - Placeholders ${name} are replaced in the raw text of every migration,
 *	 comments and strings included, from --set (names case-insensitive);
 *	 ${flyway:filename} is the file's name, and the other ${flyway:...}
 *	 built-ins, which Flyway fills from the connection, come from --set
 *	 flyway:NAME=VALUE.  An undefined one is an error naming file and line.
 *	 The scan is Flyway's exactly: "${" starts a placeholder except right
 *	 after a '$' that did not itself start one ("$${x}" stays as it is),
 *	 and the name runs to the next '}', whatever it holds.
 * - Script configuration, from "<file>.sql.conf" (Flyway's documented
 *	 way) or from a leading comment line "-- flyway:key=value" (accepted by
 *	 Redgate's Flyway and common in real folders): executeInTransaction
 *	 (true or false), placeholderReplacement (true or false), encoding
 *	 (only UTF-8 is read).  Any other key is an error, as in Flyway.
 *	 executeInTransaction=false makes the migration non-transactional,
 *	 =true transactional; without it the server decides.  The undo's
 *	 setting counts too (migrate has one flag per migration): false if
 *	 either says false.
 * - When placeholders changed a versioned migration's text, its up script
 *	 starts with a comment line keeping the checksum Flyway records for the
 *	 raw file ("-- migrate-bundle: Flyway checksum N (placeholders
 *	 substituted)"), which migrate.adopt() compares with Flyway's history.
 *	 A comment changes neither what runs nor migrate's checksum.
 *
 *-------------------------------------------------------------------------
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bundle.h"
#include "version_order.h"

/* Flyway's callback events (org.flywaydb.core.api.callback.Event) */
static const char *const callbacks[] = {
	"beforeClean", "afterClean", "afterCleanError", "beforeMigrate",
	"beforeEachMigrate", "beforeEachMigrateStatement",
	"afterEachMigrateStatement", "afterEachMigrateStatementError",
	"afterEachMigrate", "afterEachMigrateError", "beforeRepeatables",
	"afterVersioned", "afterMigrateApplied", "afterMigrate",
	"afterMigrateError", "beforeUndo", "beforeEachUndo",
	"beforeEachUndoStatement", "afterEachUndoStatement",
	"afterEachUndoStatementError", "afterEachUndo", "afterEachUndoError",
	"afterUndo", "afterUndoError", "beforeValidate", "afterValidate",
	"afterValidateError", "beforeBaseline", "afterBaseline",
	"afterBaselineError", "beforeRepair", "afterRepair", "afterRepairError",
	"beforeInfo", "afterInfo", "afterInfoError",
	"afterMigrateOperationFinish", "afterInfoOperationFinish",
	"createSchema", "beforeCreateSchema", "beforeConnect", "afterConnect",
};

/* set while detect() scans: skipped files are not reported then */
static bool quiet = false;

/* One .sql file that Flyway takes as a migration */
typedef struct FlywayFile
{
	char		prefix;			/* 'V', 'U' or 'R' */
	char	   *rel;			/* path relative to the folder */
	char	   *path;
	char	   *fname;			/* the file's own name */
	char	   *version;		/* '_' as '.'; NULL for R */
	char	   *description;	/* '_' as ' ' */
} FlywayFile;

typedef struct FileList
{
	FlywayFile *items;
	int			n;
	int			cap;
} FileList;

/* Script configuration: -1 unset, else 0 or 1 */
typedef struct ScriptConfig
{
	int			in_transaction;
	int			placeholders;
	const char *where;			/* where in_transaction was set, for errors */
} ScriptConfig;

/*
 * True if text (after '_' as '.') is a version Flyway reads: numbers
 * separated by single dots.
 */
static bool
flyway_version_valid(const char *v)
{
	const char *p = v;

	for (;;)
	{
		if (!isdigit((unsigned char) *p))
			return false;
		while (isdigit((unsigned char) *p))
			p++;
		if (*p == '\0')
			return true;
		if (*p != '.')
			return false;
		p++;
	}
}

/*
 * Compares two valid Flyway versions as Flyway does: part by part as
 * numbers, a missing part counting as zero (so "1" = "1.0" = "01").
 */
static int
flyway_version_compare(const char *a, const char *b)
{
	while (*a != '\0' || *b != '\0')
	{
		size_t		alen = strspn(a, "0123456789");
		size_t		blen = strspn(b, "0123456789");
		int			c = compare_numbers(a, alen, b, blen);

		if (c != 0)
			return c;
		if (alen == 0 && blen == 0 && *a != '.' && *b != '.')
			break;				/* not a valid version: no part to read */
		a += alen;
		b += blen;
		if (*a == '.')
			a++;
		if (*b == '.')
			b++;
	}
	return 0;
}

/* Appends a zeroed FlywayFile to files and returns it */
static FlywayFile *
add_file(FileList *files)
{
	FlywayFile *f;

	if (files->n == files->cap)
	{
		files->cap = files->cap ? files->cap * 2 : 32;
		files->items = xreallocarray(files->items, (size_t) files->cap,
									 sizeof(FlywayFile));
	}
	f = &files->items[files->n++];
	memset(f, 0, sizeof(*f));
	return f;
}

/*
 * Classifies one .sql file name as Flyway's ResourceNameParser would, and
 * adds it to files if it is a migration; otherwise says on stderr why it
 * is skipped.  rel is its path relative to the folder.
 */
static void
classify(const char *fname, const char *rel, const char *path, FileList *files)
{
	size_t		len = strlen(fname);
	char	   *stem = xstrndup(fname, len - 4);	/* without ".sql" */
	char		prefix = stem[0];
	const char *rest;
	const char *sep;
	FlywayFile *f;
	size_t		i;

	for (i = 0; i < sizeof(callbacks) / sizeof(callbacks[0]); i++)
	{
		if (strncmp(stem, callbacks[i], strlen(callbacks[i])) == 0)
		{
			if (!quiet)
				bundle_note("%s: skipped: a Flyway callback (%s), not a migration",
							rel, callbacks[i]);
			return;
		}
	}
	if (prefix != 'V' && prefix != 'U' && prefix != 'R' && prefix != 'B')
	{
		if (!quiet)
			bundle_note("%s: skipped: not a Flyway migration name (V<version>__<description>.sql, U<version>__..., R__...), as Flyway skips it",
					rel);
		return;
	}

	rest = stem + 1;
	sep = strstr(rest, "__");
	if (prefix == 'R')
	{
		if (sep != rest)
		{
			if (!quiet)
				bundle_note("%s: skipped: a repeatable migration's name is R__<description>.sql (Flyway skips this one)",
						rel);
			return;
		}
		f = add_file(files);
	}
	else
	{
		size_t		vlen = sep ? (size_t) (sep - rest) : strlen(rest);
		char	   *v = xstrndup(rest, vlen);
		char	   *p;

		for (p = v; *p; p++)
			if (*p == '_')
				*p = '.';
		if (vlen == 0 || !flyway_version_valid(v))
		{
			if (!quiet)
				bundle_note("%s: skipped: Flyway cannot read the version \"%.*s\" (numbers separated by '.' or '_', then \"__\"), so it skips this file",
						rel, (int) vlen, rest);
			return;
		}
		if (prefix == 'B')
		{
			if (!quiet)
				bundle_note("%s: skipped: a baseline migration (Flyway runs it only on an empty database, instead of the versioned migrations up to its version)",
						rel);
			return;
		}
		f = add_file(files);
		f->version = v;
	}

	f->prefix = prefix;
	f->rel = xstrdup(rel);
	f->path = xstrdup(path);
	f->fname = xstrdup(fname);
	{
		const char *d = sep ? sep + 2 : "";

		f->description = bundle_title(d, strlen(d));
	}
}

/* walk_dir() visitor: classifies every file named *.sql (any case) */
static bool
visit_file(const char *path, const char *rel, const char *name, bool regular,
		   void *arg)
{
	(void) regular;				/* an unreadable one fails when read */
	if (strlen(name) > 4 && bundle_has_suffix_ci(name, ".sql"))
		classify(name, rel, path, (FileList *) arg);
	return true;
}

/*
 * The Flyway migrations of dir and its subfolders, hidden folders left out,
 * symbolic links followed as Java's File.isDirectory() does.
 */
static void
collect(const char *dir, FileList *files)
{
	WalkOptions wo = {0};

	wo.visit = visit_file;
	wo.arg = files;
	wo.skip_hidden_dirs = true;
	wo.quiet = quiet;
	walk_dir(dir, &wo);
}

/* The --set value of placeholder name[0..len), case-insensitive, or NULL */
static Setting *
find_setting(const Options *opts, const char *name, size_t len)
{
	int			i;

	for (i = 0; i < opts->nsettings; i++)
	{
		Setting    *s = &opts->settings[i];

		if (strlen(s->name) == len && strncasecmp(s->name, name, len) == 0)
			return s;
	}
	return NULL;
}

/*
 * Replaces Flyway placeholders in text as PlaceholderReplacingReader does
 * (see the file header); rel and fname name the file.  Returns a new
 * string (text itself if there is nothing to replace).
 */
static char *
replace_placeholders(const char *text, const char *rel, const char *fname,
					 const Options *opts)
{
	StrBuf		out = {0};
	const char *p = text;

	if (strstr(text, "${") == NULL)
		return (char *) text;

	while (*p)
	{
		const char *name;
		const char *close;
		size_t		nlen;
		const char *value;

		if (p[0] != '$')
		{
			size_t		plain = strcspn(p, "$");

			strbuf_append_n(&out, p, plain);
			p += plain;
			continue;
		}
		if (p[1] != '{')
		{
			/*
			 * Flyway's reader hands back the byte after a '$' that did not
			 * start "${" without looking at it again: "$${x}" is kept.
			 */
			strbuf_append_n(&out, p, p[1] ? 2 : 1);
			p += p[1] ? 2 : 1;
			continue;
		}

		name = p + 2;
		close = strchr(name, '}');
		if (close == NULL)
			bundle_fail("%s:%d: placeholder \"${\" is never closed by \"}\"",
						rel, line_of(text, (size_t) (p - text)));
		nlen = (size_t) (close - name);
		if (memchr(name, '\n', nlen) != NULL)
			bundle_fail("%s:%d: \"${\" starts a placeholder that is not closed on its line (Flyway replaces ${name} everywhere, comments and strings included)",
						rel, line_of(text, (size_t) (p - text)));

		if (nlen == strlen("flyway:filename") &&
			strncasecmp(name, "flyway:filename", nlen) == 0)
			value = fname;
		else
		{
			Setting    *s = find_setting(opts, name, nlen);

			if (s == NULL)
			{
				if (nlen > 7 && strncasecmp(name, "flyway:", 7) == 0)
					bundle_fail("%s:%d: placeholder ${%.*s} is one Flyway fills from the connection; give its value with --set %.*s=VALUE",
								rel, line_of(text, (size_t) (p - text)),
								(int) nlen, name, (int) nlen, name);
				bundle_fail("%s:%d: placeholder ${%.*s} is not defined; give it with --set %.*s=VALUE",
							rel, line_of(text, (size_t) (p - text)),
							(int) nlen, name, (int) nlen, name);
			}
			s->used = true;
			value = s->value;
		}
		strbuf_append(&out, value);
		p = close + 1;
	}
	return strbuf_finish(&out);
}

/* Sets one key of script configuration; where names file:line */
static void
config_set(ScriptConfig *cfg, const char *key, size_t klen,
		   const char *val, size_t vlen, const char *where)
{
	int			b = -1;

	if (vlen == 4 && strncasecmp(val, "true", 4) == 0)
		b = 1;
	else if (vlen == 5 && strncasecmp(val, "false", 5) == 0)
		b = 0;

	if (klen == 20 && strncmp(key, "executeInTransaction", 20) == 0)
	{
		if (b < 0)
			bundle_fail("%s: invalid value for executeInTransaction (should be either true or false): %.*s",
						where, (int) vlen, val);
		if (cfg->in_transaction >= 0 && cfg->in_transaction != b)
			bundle_fail("%s: executeInTransaction contradicts %s",
						where, cfg->where);
		cfg->in_transaction = b;
		cfg->where = xstrdup(where);
	}
	else if (klen == 22 && strncmp(key, "placeholderReplacement", 22) == 0)
	{
		if (b < 0)
			bundle_fail("%s: invalid value for placeholderReplacement (should be either true or false): %.*s",
						where, (int) vlen, val);
		cfg->placeholders = b;
	}
	else if (klen == 8 && strncmp(key, "encoding", 8) == 0)
	{
		if (!((vlen == 5 && strncasecmp(val, "UTF-8", 5) == 0) ||
			  (vlen == 4 && strncasecmp(val, "UTF8", 4) == 0)))
			bundle_fail("%s: encoding %.*s: migrate-bundle reads UTF-8 only; convert the file to UTF-8",
						where, (int) vlen, val);
	}
	else if (klen == 13 && strncmp(key, "shouldExecute", 13) == 0)
		bundle_fail("%s: shouldExecute (Flyway Teams) is not supported: leave the file out of the folder instead",
					where);
	else
		bundle_fail("%s: unknown script configuration property \"%.*s\" (Flyway knows executeInTransaction, placeholderReplacement, encoding, shouldExecute)",
					where, (int) klen, key);
}

/*
 * Reads "<file>.sql.conf", if there is one, into cfg: Java properties
 * lines "key=value" (or "key: value"), '#' and '!' comments.  Placeholders
 * in it are replaced as Flyway does.
 */
static void
read_conf(const FlywayFile *f, const Options *opts, ScriptConfig *cfg)
{
	char	   *cpath = xasprintf("%s.conf", f->path);
	char	   *crel = xasprintf("%s.conf", f->rel);
	char	   *text;
	const char *line;
	int			lineno = 1;

	if (!is_file(cpath))
		return;
	text = replace_placeholders(read_text_file(cpath, crel), crel, f->fname,
								opts);
	for (line = text; *line; lineno++)
	{
		const char *eol = strchr(line, '\n');
		size_t		len = eol ? (size_t) (eol - line) : strlen(line);
		const char *t = trim_space(line, &len);

		if (len > 0 && t[0] != '#' && t[0] != '!')
		{
			size_t		klen = strcspn(t, "=:");
			const char *val;
			size_t		vlen;
			char	   *where = xasprintf("%s:%d", crel, lineno);

			if (klen >= len)
				bundle_fail("%s: expected key=value", where);
			val = t + klen + 1;
			vlen = len - klen - 1;
			val = trim_space(val, &vlen);
			{
				size_t		k = klen;
				const char *key = trim_space(t, &k);

				config_set(cfg, key, k, val, vlen, where);
			}
		}
		if (eol == NULL)
			break;
		line = eol + 1;
	}
}

/*
 * Reads "-- flyway:key=value" lines among the leading blank and comment
 * lines of text into cfg.
 */
static void
read_inline_config(const char *text, const char *rel, ScriptConfig *cfg)
{
	size_t		pos = 0;
	int			lineno = 0;
	const char *c;
	size_t		clen;

	while (next_leading_comment(text, &pos, &lineno, &c, &clen))
	{
		size_t		klen = 0;

		if (clen <= 7 || strncmp(c, "flyway:", 7) != 0)
			continue;
		c += 7;
		clen -= 7;
		while (klen < clen && isalpha((unsigned char) c[klen]))
			klen++;
		if (klen > 0 && klen < clen && c[klen] == '=')
		{
			size_t		vlen = clen - klen - 1;
			const char *val = trim_space(c + klen + 1, &vlen);
			char	   *where = xasprintf("%s:%d", rel, lineno);

			config_set(cfg, c, klen, val, vlen, where);
		}
	}
}

/*
 * The text of f as Flyway would run it, its configuration in *cfg; *raw
 * set to the file as it is.
 */
static char *
load_script(const FlywayFile *f, const Options *opts, ScriptConfig *cfg,
			char **raw)
{
	cfg->in_transaction = -1;
	cfg->placeholders = -1;
	cfg->where = NULL;
	*raw = read_script_file(f->path, f->rel);
	read_conf(f, opts, cfg);
	read_inline_config(*raw, f->rel, cfg);
	if (cfg->placeholders == 0)
		return *raw;
	return replace_placeholders(*raw, f->rel, f->fname, opts);
}

static int
compare_versions(const void *a, const void *b)
{
	const FlywayFile *fa = *(const FlywayFile *const *) a;
	const FlywayFile *fb = *(const FlywayFile *const *) b;
	int			c = flyway_version_compare(fa->version, fb->version);

	if (c == 0)
		c = strcmp(fa->rel, fb->rel);
	return c;
}

static int
compare_descriptions(const void *a, const void *b)
{
	const FlywayFile *fa = *(const FlywayFile *const *) a;
	const FlywayFile *fb = *(const FlywayFile *const *) b;
	int			c = strcmp(fa->description, fb->description);

	if (c == 0)
		c = strcmp(fa->rel, fb->rel);
	return c;
}

/* Flyway needs a name for nothing; migrate does: the file's stem then */
static char *
name_of(const FlywayFile *f)
{
	if (f->description[0] != '\0')
		return f->description;
	return xstrndup(f->fname, strlen(f->fname) - 4);
}

static Transactional
tx_of(const ScriptConfig *up, const ScriptConfig *down)
{
	if (up->in_transaction == 0 || (down && down->in_transaction == 0))
		return TX_FALSE;
	if (up->in_transaction == 1 || (down && down->in_transaction == 1))
		return TX_TRUE;
	return TX_SERVER;
}

static bool
flyway_detect(const char *dir)
{
	FileList	files = {0};
	int			i;

	quiet = true;
	collect(dir, &files);
	quiet = false;
	for (i = 0; i < files.n; i++)
		if (files.items[i].prefix == 'V' || files.items[i].prefix == 'R')
			return true;
	return false;
}

static void
flyway_load(const char *dir, const Options *opts, Bundle *b)
{
	FileList	files = {0};
	FlywayFile **v;
	FlywayFile **u;
	FlywayFile **r;
	int			nv = 0;
	int			nu = 0;
	int			nr = 0;
	int			i;
	int			k;

	/* Flyway lowercases placeholder names: two that differ in case clash */
	for (i = 0; i < opts->nsettings; i++)
		for (k = i + 1; k < opts->nsettings; k++)
			if (strcasecmp(opts->settings[i].name, opts->settings[k].name) == 0)
				bundle_usage_fail("--set %s and --set %s: Flyway placeholder names are case-insensitive",
							opts->settings[i].name, opts->settings[k].name);

	collect(dir, &files);
	v = xmalloc(sizeof(FlywayFile *) * (size_t) (files.n + 1));
	u = xmalloc(sizeof(FlywayFile *) * (size_t) (files.n + 1));
	r = xmalloc(sizeof(FlywayFile *) * (size_t) (files.n + 1));
	for (i = 0; i < files.n; i++)
	{
		FlywayFile *f = &files.items[i];

		if (f->prefix == 'V')
			v[nv++] = f;
		else if (f->prefix == 'U')
			u[nu++] = f;
		else
			r[nr++] = f;
	}
	qsort(v, (size_t) nv, sizeof(FlywayFile *), compare_versions);
	qsort(u, (size_t) nu, sizeof(FlywayFile *), compare_versions);
	qsort(r, (size_t) nr, sizeof(FlywayFile *), compare_descriptions);

	/* Flyway's own equality: "1" = "1.0" = "01" */
	for (i = 1; i < nv; i++)
		if (flyway_version_compare(v[i - 1]->version, v[i]->version) == 0)
			bundle_fail("%s: Flyway version %s is the same version as %s of %s (Flyway: found more than one migration with this version)",
						v[i]->rel, v[i]->version, v[i - 1]->version,
						v[i - 1]->rel);
	for (i = 1; i < nu; i++)
		if (flyway_version_compare(u[i - 1]->version, u[i]->version) == 0)
			bundle_fail("%s: undo migration for version %s is also given by %s",
						u[i]->rel, u[i]->version, u[i - 1]->rel);

	/* an undo needs its versioned migration; both lists are sorted */
	for (i = 0, k = 0; k < nu; k++)
	{
		while (i < nv && flyway_version_compare(v[i]->version, u[k]->version) < 0)
			i++;
		if (i == nv || flyway_version_compare(v[i]->version, u[k]->version) != 0)
			bundle_fail("%s: undo migration without its versioned migration V%s__*.sql",
						u[k]->rel, u[k]->version);
	}

	for (i = 0, k = 0; i < nv; i++)
	{
		FlywayFile *f = v[i];
		FlywayFile *undo = NULL;
		ScriptConfig upcfg;
		ScriptConfig downcfg;
		char	   *raw;
		Migration  *m;
		char	   *up;
		char	   *down = NULL;

		while (k < nu && flyway_version_compare(u[k]->version, f->version) < 0)
			k++;
		if (k < nu && flyway_version_compare(u[k]->version, f->version) == 0)
			undo = u[k];

		up = load_script(f, opts, &upcfg, &raw);
		if (undo != NULL)
		{
			char	   *undo_raw;

			down = load_script(undo, opts, &downcfg, &undo_raw);
		}

		m = bundle_add(b);
		m->version = f->version;
		m->name = name_of(f);
		m->source = f->rel;
		m->up = up;
		m->down = down;
		m->transactional = tx_of(&upcfg, undo ? &downcfg : NULL);
		if (strcmp(up, raw) != 0)
		{
			StrBuf		text = {0};
			char	   *line;

			line = xasprintf("-- migrate-bundle: Flyway checksum %d (placeholders substituted)\n",
							 (int) flyway_checksum(raw));
			strbuf_append(&text, line);
			strbuf_append(&text, up);
			m->up = strbuf_finish(&text);
			free(line);
		}
	}

	for (i = 0; i < nr; i++)
	{
		FlywayFile *f = r[i];
		ScriptConfig cfg;
		char	   *raw;
		Migration  *m = bundle_add(b);

		m->repeatable = true;
		m->name = name_of(f);
		m->source = f->rel;
		m->up = load_script(f, opts, &cfg, &raw);
		if (cfg.in_transaction == 0)
			bundle_note("%s: executeInTransaction=false is not carried over: register_repeatable() takes no transactional flag",
						cfg.where);
	}
}

const Layout layout_flyway = {
	"flyway",
	flyway_detect,
	flyway_load
};
