/*-------------------------------------------------------------------------
 *
 * layout_migrate.c
 *	  migrate-bundle: migrate's own folder layout.
 *
 * One folder, no subfolders:
 *
 *	<version>_<name>.up.sql		the up script (required)
 *	<version>_<name>.down.sql	its down script (optional: without it the
 *								migration cannot be reverted)
 *
 * <version> is everything before the first '_' and must be a valid
 * migrate version; <name> is the rest, '_' read as a space.  A down pairs
 * with the up of the same <version>_<name>; a down without one is an
 * error.  Other .sql files are errors; files not ending in .sql
 * (README.md, .gitkeep) and subfolders are ignored.
 *
 * An up script may start with header lines, among its leading blank and
 * "--" comment lines (before its first other line):
 *
 *	-- migrate:requires 0003, billing:2024.1
 *	-- migrate:transactional false
 *
 * requires may be repeated and adds to the list; transactional is true or
 * false (without it the server decides).  Headers stay in the script text
 * (they are comments); any other "-- migrate:" header is an error, and so
 * is a header in a down script.
 *
 *-------------------------------------------------------------------------
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "version_order.h"

/* One file of the folder that fits the pattern */
typedef struct MigrateFile
{
	char	   *file;			/* as in the folder */
	char	   *base;			/* <version>_<name> */
	char	   *version;
	char	   *name;
	bool		up;
} MigrateFile;

/*
 * Splits file name fname ("<version>_<name>.up.sql" or ".down.sql") into
 * *f.  Returns false if the name is not a .up.sql or .down.sql name at
 * all; fails if it is one but the rest does not fit.
 */
static bool
parse_name(const char *fname, MigrateFile *f)
{
	size_t		len = strlen(fname);
	size_t		baselen;
	const char *us;
	MigrateVersionSyntax r;

	if (bundle_has_suffix(fname, ".up.sql"))
	{
		f->up = true;
		baselen = len - strlen(".up.sql");
	}
	else if (bundle_has_suffix(fname, ".down.sql"))
	{
		f->up = false;
		baselen = len - strlen(".down.sql");
	}
	else
		return false;

	f->file = xstrdup(fname);
	f->base = xstrndup(fname, baselen);
	us = strchr(f->base, '_');
	if (us == NULL || us == f->base || us[1] == '\0')
		bundle_fail("%s: file name does not fit <version>_<name>.%s.sql",
					fname, f->up ? "up" : "down");
	f->version = xstrndup(f->base, (size_t) (us - f->base));
	f->name = bundle_title(us + 1, strlen(us + 1));

	r = migrate_version_check_syntax(f->version, strlen(f->version), NULL);
	if (r != MIGRATE_VERSION_OK)
		bundle_fail("%s: \"%s\" is not a valid version (letters, digits, '.' and '-', starting and ending with a letter or digit)",
					fname, f->version);
	return true;
}

/* strips spaces and tabs (and a CR) from both ends of s[0..*n), in place */
static const char *
trim(const char *s, size_t *n)
{
	while (*n > 0 && (*s == ' ' || *s == '\t'))
	{
		s++;
		(*n)--;
	}
	while (*n > 0 && (s[*n - 1] == ' ' || s[*n - 1] == '\t' ||
					  s[*n - 1] == '\r'))
		(*n)--;
	return s;
}

/*
 * Reads the header lines of script text (see the file header) into m, or
 * for a down script (m NULL) refuses any.  file names the script in
 * messages.
 */
static void
read_headers(const char *text, const char *file, Migration *m)
{
	const char *line = text;
	int			lineno = 1;
	bool		have_tx = false;

	while (*line)
	{
		const char *eol = strchr(line, '\n');
		size_t		len = eol ? (size_t) (eol - line) : strlen(line);
		size_t		tlen = len;
		const char *t = trim(line, &tlen);

		if (tlen == 0)
			;					/* blank line: the headers go on */
		else if (tlen >= 2 && t[0] == '-' && t[1] == '-')
		{
			const char *p = t + 2;
			size_t		plen = tlen - 2;

			p = trim(p, &plen);
			if (plen >= 8 && strncmp(p, "migrate:", 8) == 0)
			{
				const char *key = p + 8;
				size_t		klen = 0;
				const char *val;
				size_t		vlen;

				while (klen < plen - 8 && (islower((unsigned char) key[klen]) ||
										   key[klen] == '_'))
					klen++;
				val = key + klen;
				vlen = plen - 8 - klen;
				val = trim(val, &vlen);

				if (m == NULL)
					bundle_fail("%s:%d: a \"-- migrate:\" header belongs in the up script, not the down script",
								file, lineno);
				if (klen == 8 && strncmp(key, "requires", 8) == 0)
				{
					const char *q = val;
					const char *end = val + vlen;

					if (vlen == 0)
						bundle_fail("%s:%d: \"-- migrate:requires\" names no migration",
									file, lineno);
					while (q <= end)
					{
						const char *comma = memchr(q, ',', (size_t) (end - q));
						size_t		elen = comma ? (size_t) (comma - q) : (size_t) (end - q);
						const char *e = trim(q, &elen);
						char	   *req;

						if (elen == 0)
							bundle_fail("%s:%d: empty entry in \"-- migrate:requires\"",
										file, lineno);
						req = xstrndup(e, elen);
						if (strchr(req, ' ') != NULL || strchr(req, '\t') != NULL)
							bundle_fail("%s:%d: \"%s\" in \"-- migrate:requires\": entries are separated by commas",
										file, lineno, req);
						migration_add_require(m, req);
						free(req);
						if (comma == NULL)
							break;
						q = comma + 1;
					}
				}
				else if (klen == 13 && strncmp(key, "transactional", 13) == 0)
				{
					if (have_tx)
						bundle_fail("%s:%d: \"-- migrate:transactional\" is given twice",
									file, lineno);
					have_tx = true;
					if (vlen == 4 && strncmp(val, "true", 4) == 0)
						m->transactional = TX_TRUE;
					else if (vlen == 5 && strncmp(val, "false", 5) == 0)
						m->transactional = TX_FALSE;
					else
						bundle_fail("%s:%d: \"-- migrate:transactional\" takes true or false, not \"%.*s\"",
									file, lineno, (int) vlen, val);
				}
				else
					bundle_fail("%s:%d: unknown header \"-- migrate:%.*s\" (known: requires, transactional)",
								file, lineno, (int) klen, key);
			}
		}
		else
			break;				/* the first statement ends the headers */

		if (eol == NULL)
			break;
		line = eol + 1;
		lineno++;
	}
}

static int
compare_files(const void *a, const void *b)
{
	const MigrateFile *fa = a;
	const MigrateFile *fb = b;
	int			c;

	c = migrate_version_compare(fa->version, strlen(fa->version),
								fb->version, strlen(fb->version));
	if (c == 0)
		c = strcmp(fa->base, fb->base);
	return c;
}

static bool
migrate_detect(const char *dir)
{
	int			n;
	char	  **names = list_dir(dir, &n);
	int			i;

	for (i = 0; i < n; i++)
	{
		const char *fname = names[i];
		const char *us = strchr(fname, '_');

		if (!bundle_has_suffix(fname, ".up.sql") || us == NULL || us == fname)
			continue;
		if (migrate_version_check_syntax(fname, (size_t) (us - fname), NULL) ==
			MIGRATE_VERSION_OK)
			return true;
	}
	return false;
}

static void
migrate_load(const char *dir, const Options *opts, Bundle *b)
{
	int			n;
	char	  **names = list_dir(dir, &n);
	MigrateFile *files = xmalloc(sizeof(MigrateFile) * (size_t) (n + 1));
	int			nfiles = 0;
	int			i;

	(void) opts;

	for (i = 0; i < n; i++)
	{
		char	   *path = path_join(dir, names[i]);

		if (is_dir(path) || !bundle_has_suffix(names[i], ".sql"))
			continue;
		if (!parse_name(names[i], &files[nfiles]))
			bundle_fail("%s: not a migration file name: expected <version>_<name>.up.sql or <version>_<name>.down.sql",
						names[i]);
		nfiles++;
		free(path);
	}
	if (nfiles > 1)
		qsort(files, (size_t) nfiles, sizeof(MigrateFile), compare_files);

	/* every down needs the up of the same <version>_<name> */
	for (i = 0; i < nfiles; i++)
	{
		int			k;
		bool		found = false;

		if (files[i].up)
			continue;
		for (k = 0; k < nfiles && !found; k++)
			found = files[k].up && strcmp(files[k].base, files[i].base) == 0;
		if (!found)
			bundle_fail("%s: down script without its up script %s.up.sql",
						files[i].file, files[i].base);
	}

	for (i = 0; i < nfiles; i++)
	{
		MigrateFile *f = &files[i];
		Migration  *m;
		char	   *down_file;
		char	   *path;

		if (!f->up)
			continue;
		m = bundle_add(b);
		m->version = f->version;
		m->name = f->name;
		m->source = f->file;
		path = path_join(dir, f->file);
		m->up = read_text_file(path, f->file);
		read_headers(m->up, f->file, m);

		down_file = xasprintf("%s.down.sql", f->base);
		free(path);
		path = path_join(dir, down_file);
		if (is_file(path))
		{
			m->down = read_text_file(path, down_file);
			read_headers(m->down, down_file, NULL);
		}
		free(path);
	}
}

const Layout layout_migrate = {
	"migrate",
	migrate_detect,
	migrate_load
};
