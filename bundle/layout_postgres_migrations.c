/*-------------------------------------------------------------------------
 *
 * layout_postgres_migrations.c
 *	  Folders of the npm package postgres-migrations (ThomWright).
 *
 * The package's rules (files-loader.ts, file-name-parser.ts,
 * validation.ts, run-migration.ts), mirrored:
 *
 *	- Every file of the folder (not its subfolders) whose name ends in .sql
 *	  or .js, in any case, is a migration; other files are ignored.
 *	- Its name must match /^(-?\d+)[-_]?(.*).(sql|js)$/i: the integer id,
 *	  an optional "-" or "_", and the name, which is the whole file name
 *	  when empty.  Anything else is an error.
 *	- The ids, in order, must be exactly 1, 2, 3, ...: a gap, a repeat or
 *	  a number below 1 is an error naming the file.
 *	- A migration runs in a transaction unless its text contains
 *	  "-- postgres-migrations disable-transaction" anywhere.
 *	- There are no down migrations.
 *
 * The version is the id in decimal ("1", "2", ...: leading zeros of the
 * file name dropped, as the package stores the id as an integer), the name
 * the package's name.  .js migrations produce their SQL by running
 * JavaScript and cannot be bundled.
 *
 *-------------------------------------------------------------------------
 */
#include "bundle.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DISABLE_TRANSACTION "-- postgres-migrations disable-transaction"

typedef struct PmFile
{
	char	   *file;
	char	   *version;		/* the id in decimal, no leading zeros */
	char	   *name;
	bool		js;
} PmFile;

static bool
has_suffix_ci(const char *s, const char *suffix)
{
	size_t		n = strlen(s);
	size_t		m = strlen(suffix);

	return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

static bool
is_migration_file(const char *name)
{
	return has_suffix_ci(name, ".sql") || has_suffix_ci(name, ".js");
}

/*
 * Parses a file name with the package's pattern; false if it does not
 * match.  The version is set to NULL for a negative id.
 */
static bool
parse_file_name(const char *file, PmFile *f)
{
	const char *p = file;
	const char *digits;
	size_t		n = strlen(file);
	size_t		extlen = has_suffix_ci(file, ".sql") ? 3 : 2;
	const char *name_end;
	const char *name_start;
	bool		negative = false;

	if (*p == '-')
	{
		negative = true;
		p++;
	}
	digits = p;
	while (isdigit((unsigned char) *p))
		p++;
	if (p == digits)
		return false;
	/* (.*). before the extension: the name may end anywhere before it */
	name_end = file + n - extlen - 1;
	if (name_end < p)
		return false;
	name_start = p;
	if (name_start < name_end && (*name_start == '-' || *name_start == '_'))
		name_start++;
	while (*digits == '0' && isdigit((unsigned char) digits[1]))
		digits++;
	f->file = xstrdup(file);
	f->version = negative && !(digits[0] == '0' && p - digits == 1) ?
		NULL : xstrndup(digits, p - digits);
	f->name = name_end > name_start ?
		xstrndup(name_start, name_end - name_start) : xstrdup(file);
	f->js = has_suffix_ci(file, ".js");
	return true;
}

/* The folder's migration files parsed, in id order; bundle_fail() on any. */
static PmFile *
read_files(const char *dir, int *nfiles, bool quiet)
{
	char	  **names;
	int			n;
	int			i;
	PmFile	   *files;
	int			nf = 0;

	names = list_dir(dir, &n);
	files = xmalloc(sizeof(PmFile) * (n + 1));
	for (i = 0; i < n; i++)
	{
		PmFile		f;

		if (!is_migration_file(names[i]) ||
			!is_file(path_join(dir, names[i])))
			continue;
		if (!parse_file_name(names[i], &f))
		{
			if (quiet)
				return NULL;
			bundle_fail("%s: Invalid file name: postgres-migrations files are named <id>[-_]<name>.sql",
						names[i]);
		}
		files[nf++] = f;
	}
	*nfiles = nf;
	return files;
}

/* Orders ids as numbers, negative ones first; stable by file name. */
static int
id_cmp(const void *x, const void *y)
{
	const PmFile *a = x;
	const PmFile *b = y;
	size_t		la;
	size_t		lb;
	int			c;

	if (!a->version || !b->version)
		c = (a->version != NULL) - (b->version != NULL);
	else if ((la = strlen(a->version)) != (lb = strlen(b->version)))
		c = la < lb ? -1 : 1;
	else
		c = strcmp(a->version, b->version);
	return c != 0 ? c : strcmp(a->file, b->file);
}

/*
 * Sorts the files by id and checks, as validateMigrationOrdering does, that
 * the i-th has id i; returns false if quiet and one has not.
 */
static bool
check_ids(PmFile *files, int n, bool quiet)
{
	int			i;

	if (n > 1)
		qsort(files, n, sizeof(PmFile), id_cmp);
	for (i = 0; i < n; i++)
	{
		char	   *want = xasprintf("%d", i + 1);

		if (files[i].version && strcmp(files[i].version, want) == 0)
			continue;
		if (quiet)
			return false;
		bundle_fail("%s: Found a non-consecutive migration ID: ids must be 1, 2, 3, ... in order, and this file is number %d",
					files[i].file, i + 1);
	}
	return true;
}

static bool
pm_detect(const char *dir)
{
	PmFile	   *files;
	int			n;
	int			i;

	files = read_files(dir, &n, true);
	if (!files || n == 0)
		return false;
	for (i = 0; i < n; i++)
		if (bundle_has_suffix(files[i].file, ".up.sql") ||
			bundle_has_suffix(files[i].file, ".down.sql"))
			return false;
	return check_ids(files, n, true);
}

static void
pm_load(const char *dir, const Options *opts, Bundle *b)
{
	PmFile	   *files;
	int			n;
	int			i;

	(void) opts;
	files = read_files(dir, &n, false);
	check_ids(files, n, false);
	for (i = 0; i < n; i++)
	{
		PmFile	   *f = &files[i];
		Migration  *m;
		int			k;

		if (f->js)
			bundle_fail("%s: JavaScript migrations cannot be bundled; write its generated SQL to %.*s.sql",
						f->file, (int) (strlen(f->file) - 3), f->file);
		for (k = 0; k < i; k++)
			if (strcmp(files[k].name, f->name) == 0)
				bundle_fail("%s: same migration name \"%s\" as %s (postgres-migrations refuses duplicate names)",
							f->file, f->name, files[k].file);
		m = bundle_add(b);
		m->version = f->version;
		m->name = f->name;
		m->source = f->file;
		m->up = read_text_file(path_join(dir, f->file), f->file);
		m->down = NULL;
		m->transactional = strstr(m->up, DISABLE_TRANSACTION) ?
			TX_FALSE : TX_SERVER;
	}
}

const Layout layout_postgres_migrations = {
	.name = "postgres-migrations",
	.detect = pm_detect,
	.load = pm_load,
};
