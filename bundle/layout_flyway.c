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
#include <sys/stat.h>

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

#define MAX_DEPTH 64

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
	for (;;)
	{
		size_t		alen;
		size_t		blen;
		bool		azero;
		bool		bzero;

		while (*a == '0' && isdigit((unsigned char) a[1]))
			a++;
		while (*b == '0' && isdigit((unsigned char) b[1]))
			b++;
		alen = strspn(a, "0123456789");
		blen = strspn(b, "0123456789");
		if (alen == 0 && blen == 0)
			return 0;
		azero = alen == 0 || (alen == 1 && *a == '0');
		bzero = blen == 0 || (blen == 1 && *b == '0');
		if (alen == 0 || blen == 0)
		{
			/* one version has run out of parts: it reads as zeros */
			if (!azero || !bzero)
				return azero ? -1 : 1;
		}
		else if (alen != blen)
			return alen < blen ? -1 : 1;
		else
		{
			int			c = memcmp(a, b, alen);

			if (c != 0)
				return c < 0 ? -1 : 1;
		}
		a += alen;
		b += blen;
		if (*a == '.')
			a++;
		if (*b == '.')
			b++;
	}
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
		if (files->n == files->cap)
		{
			files->cap = files->cap ? files->cap * 2 : 32;
			files->items = xrealloc(files->items,
									sizeof(FlywayFile) * (size_t) files->cap);
		}
		f = &files->items[files->n++];
		memset(f, 0, sizeof(*f));
		f->version = v;
		goto fill;
	}

	if (files->n == files->cap)
	{
		files->cap = files->cap ? files->cap * 2 : 32;
		files->items = xrealloc(files->items,
								sizeof(FlywayFile) * (size_t) files->cap);
	}
	f = &files->items[files->n++];
	memset(f, 0, sizeof(*f));

fill:
	f->prefix = prefix;
	f->rel = xstrdup(rel);
	f->path = xstrdup(path);
	f->fname = xstrdup(fname);
	{
		const char *d = sep ? sep + 2 : "";

		f->description = bundle_title(d, strlen(d));
	}
}

/* True if the file name ends in ".sql", in any case, and has more */
static bool
is_sql_name(const char *fname)
{
	size_t		len = strlen(fname);

	return len > 4 && strcasecmp(fname + len - 4, ".sql") == 0;
}

/*
 * Walks dir (rel: its path relative to the folder, "" at the top),
 * classifying every .sql file.  Symbolic links are followed as Java's
 * File.isDirectory() does; the (device, inode) pairs of the folders being
 * walked stop a link loop, and depth is limited.
 */
static void
scan(const char *dir, const char *rel, int depth, dev_t *devs, ino_t *inos,
	 FileList *files)
{
	int			n;
	char	  **names;
	int			i;
	struct stat st;

	if (stat(dir, &st) != 0)
		return;
	for (i = 0; i < depth; i++)
		if (devs[i] == st.st_dev && inos[i] == st.st_ino)
		{
			if (!quiet)
				bundle_note("%s: skipped: a link back to a folder being scanned",
						rel);
			return;
		}
	if (depth >= MAX_DEPTH)
		bundle_fail("%s: folders nested more than %d deep", rel, MAX_DEPTH);
	devs[depth] = st.st_dev;
	inos[depth] = st.st_ino;

	names = list_dir(dir, &n);
	for (i = 0; i < n; i++)
	{
		char	   *path = path_join(dir, names[i]);
		char	   *r = rel[0] ? xasprintf("%s/%s", rel, names[i]) : xstrdup(names[i]);

		if (is_dir(path))
		{
			if (names[i][0] != '.')
				scan(path, r, depth + 1, devs, inos, files);
		}
		else if (is_sql_name(names[i]))
			classify(names[i], r, path, files);
		free(path);
		free(r);
	}
}

static void
collect(const char *dir, FileList *files)
{
	dev_t		devs[MAX_DEPTH + 1];
	ino_t		inos[MAX_DEPTH + 1];

	scan(dir, "", 0, devs, inos, files);
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
	size_t		cap;
	size_t		len = 0;
	char	   *out;
	const char *p = text;

	if (strstr(text, "${") == NULL)
		return (char *) text;

	cap = strlen(text) + 1;
	out = xmalloc(cap);

#define EMIT(s, n) \
	do { \
		size_t _n = (n); \
		while (cap - len <= _n) \
		{ \
			cap *= 2; \
			out = xrealloc(out, cap); \
		} \
		memcpy(out + len, (s), _n); \
		len += _n; \
	} while (0)

	while (*p)
	{
		const char *name;
		const char *close;
		size_t		nlen;
		const char *value;

		if (p[0] != '$')
		{
			EMIT(p, 1);
			p++;
			continue;
		}
		if (p[1] != '{')
		{
			/*
			 * Flyway's reader hands back the byte after a '$' that did not
			 * start "${" without looking at it again: "$${x}" is kept.
			 */
			EMIT(p, p[1] ? 2 : 1);
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
		EMIT(value, strlen(value));
		p = close + 1;
	}
	out[len] = '\0';
#undef EMIT
	return out;
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

static const char *
trim_ws(const char *s, size_t *n)
{
	while (*n > 0 && isspace((unsigned char) *s))
	{
		s++;
		(*n)--;
	}
	while (*n > 0 && isspace((unsigned char) s[*n - 1]))
		(*n)--;
	return s;
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
		const char *t = trim_ws(line, &len);

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
			val = trim_ws(val, &vlen);
			{
				size_t		k = klen;
				const char *key = trim_ws(t, &k);

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
	const char *line = text;
	int			lineno = 1;

	while (*line)
	{
		const char *eol = strchr(line, '\n');
		size_t		len = eol ? (size_t) (eol - line) : strlen(line);
		const char *t = trim_ws(line, &len);

		if (len >= 2 && t[0] == '-' && t[1] == '-')
		{
			size_t		clen = len - 2;
			const char *c = trim_ws(t + 2, &clen);
			size_t		klen;

			if (clen > 7 && strncmp(c, "flyway:", 7) == 0)
			{
				c += 7;
				clen -= 7;
				klen = 0;
				while (klen < clen && isalpha((unsigned char) c[klen]))
					klen++;
				if (klen > 0 && klen < clen && c[klen] == '=')
				{
					size_t		vlen = clen - klen - 1;
					const char *val = trim_ws(c + klen + 1, &vlen);
					char	   *where = xasprintf("%s:%d", rel, lineno);

					config_set(cfg, c, klen, val, vlen, where);
				}
			}
		}
		else if (len > 0)
			break;
		if (eol == NULL)
			break;
		line = eol + 1;
		lineno++;
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
	*raw = read_text_file(f->path, f->rel);
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
				bundle_fail("--set %s and --set %s: Flyway placeholder names are case-insensitive",
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

	for (i = 0; i < nv; i++)
	{
		FlywayFile *f = v[i];
		FlywayFile *undo = NULL;
		ScriptConfig upcfg;
		ScriptConfig downcfg;
		char	   *raw;
		Migration  *m;
		char	   *up;
		char	   *down = NULL;

		for (k = 0; k < nu; k++)
			if (flyway_version_compare(u[k]->version, f->version) == 0)
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
			m->up = xasprintf("-- migrate-bundle: Flyway checksum %d (placeholders substituted)\n%s",
							  (int) flyway_checksum(raw), up);
	}

	/* an undo needs its versioned migration */
	for (k = 0; k < nu; k++)
	{
		bool		found = false;

		for (i = 0; i < nv && !found; i++)
			found = flyway_version_compare(u[k]->version, v[i]->version) == 0;
		if (!found)
			bundle_fail("%s: undo migration without its versioned migration V%s__*.sql",
						u[k]->rel, u[k]->version);
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
