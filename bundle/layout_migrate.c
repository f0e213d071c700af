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

/*
 * Reads the header lines of script text (see the file header) into m, or
 * for a down script (m NULL) refuses any.  file names the script in
 * messages.
 */
static void
read_headers(const char *text, const char *file, Migration *m)
{
	size_t		pos = 0;
	int			lineno = 0;
	const char *p;
	size_t		plen;
	bool		have_tx = false;

	while (next_leading_comment(text, &pos, &lineno, &p, &plen))
	{
		const char *key = p + 8;
		size_t		klen = 0;
		const char *val;
		size_t		vlen;

		if (plen < 8 || strncmp(p, "migrate:", 8) != 0)
			continue;
		while (klen < plen - 8 && (islower((unsigned char) key[klen]) ||
								   key[klen] == '_'))
			klen++;
		val = key + klen;
		vlen = plen - 8 - klen;
		val = trim_space(val, &vlen);

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
			for (;;)
			{
				const char *comma = memchr(q, ',', (size_t) (end - q));
				size_t		elen = comma ? (size_t) (comma - q) : (size_t) (end - q);
				const char *e = trim_space(q, &elen);
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
	if (c == 0 && fa->up != fb->up)
		c = fa->up ? -1 : 1;
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
	MigrateFile *files = xreallocarray(NULL, (size_t) n + 1,
									   sizeof(MigrateFile));
	int			nfiles = 0;
	int			i;

	(void) opts;

	for (i = 0; i < n; i++)
	{
		char	   *path;
		bool		skip;

		if (!bundle_has_suffix(names[i], ".sql"))
			continue;
		path = path_join(dir, names[i]);
		skip = is_dir(path);
		free(path);
		if (skip)
			continue;
		if (!parse_name(names[i], &files[nfiles]))
			bundle_fail("%s: not a migration file name: expected <version>_<name>.up.sql or <version>_<name>.down.sql",
						names[i]);
		nfiles++;
	}
	if (nfiles > 1)
		qsort(files, (size_t) nfiles, sizeof(MigrateFile), compare_files);

	/*
	 * Sorted by version, base and direction, a down directly follows the up
	 * of its <version>_<name>, and needs it.
	 */
	for (i = 0; i < nfiles; i++)
	{
		MigrateFile *f = &files[i];
		Migration  *m;

		if (!f->up)
			bundle_fail("%s: down script without its up script %s.up.sql",
						f->file, f->base);
		m = bundle_add(b);
		m->version = f->version;
		m->name = f->name;
		m->source = f->file;
		/*
		 * read_text_file(), not read_script_file(): migrate's own files
		 * go to register() byte for byte, psql-looking lines included, and
		 * the server whose layout this is judges them.
		 */
		m->up = read_text_file(path_join(dir, f->file), f->file);
		read_headers(m->up, f->file, m);

		if (i + 1 < nfiles && !files[i + 1].up &&
			strcmp(files[i + 1].base, f->base) == 0)
		{
			MigrateFile *down = &files[++i];

			m->down = read_text_file(path_join(dir, down->file), down->file);
			read_headers(m->down, down->file, NULL);
		}
	}
}

const Layout layout_migrate = {
	"migrate",
	migrate_detect,
	migrate_load
};
