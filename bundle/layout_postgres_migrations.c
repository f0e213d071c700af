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
is_migration_file(const char *name)
{
	return bundle_has_suffix_ci(name, ".sql") || bundle_has_suffix_ci(name, ".js");
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
	size_t		extlen = bundle_has_suffix_ci(file, ".sql") ? 3 : 2;
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
	f->js = bundle_has_suffix_ci(file, ".js");
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
	files = xreallocarray(NULL, (size_t) n + 1, sizeof(PmFile));
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
			bundle_fail("%s: invalid file name: postgres-migrations files are named <id>[-_]<name>.sql",
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
	int			c;

	if (!a->version || !b->version)
		c = (a->version != NULL) - (b->version != NULL);
	else
		c = compare_numbers(a->version, strlen(a->version),
							b->version, strlen(b->version));
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
		qsort(files, (size_t) n, sizeof(PmFile), id_cmp);
	for (i = 0; i < n; i++)
	{
		char		want[16];

		snprintf(want, sizeof(want), "%d", i + 1);
		if (files[i].version && strcmp(files[i].version, want) == 0)
			continue;
		if (quiet)
			return false;
		bundle_fail("%s: non-consecutive migration id: ids must be 1, 2, 3, ... in order, and this file is number %d",
					files[i].file, i + 1);
	}
	return true;
}

/* Orders pointers into the id-sorted files by name, then by position */
static int
name_cmp(const void *x, const void *y)
{
	const PmFile *a = *(const PmFile *const *) x;
	const PmFile *b = *(const PmFile *const *) y;
	int			c = strcmp(a->name, b->name);

	return c != 0 ? c : (a > b) - (a < b);
}

/*
 * Fails if two of the (id-sorted) files have the same name, as the package
 * refuses them, naming the first file in id order that repeats an earlier
 * one's name.
 */
static void
check_names(PmFile *files, int n)
{
	PmFile	  **by_name = xreallocarray(NULL, (size_t) n + 1, sizeof(PmFile *));
	PmFile	   *dup = NULL;
	PmFile	   *orig = NULL;
	int			i;

	for (i = 0; i < n; i++)
		by_name[i] = &files[i];
	if (n > 1)
		qsort(by_name, (size_t) n, sizeof(PmFile *), name_cmp);
	for (i = 1; i < n; i++)
	{
		/* within a run of one name, the first two in id order */
		if (strcmp(by_name[i - 1]->name, by_name[i]->name) == 0 &&
			(i < 2 || strcmp(by_name[i - 2]->name, by_name[i]->name) != 0) &&
			(dup == NULL || by_name[i] < dup))
		{
			dup = by_name[i];
			orig = by_name[i - 1];
		}
	}
	if (dup != NULL)
		bundle_fail("%s: same migration name \"%s\" as %s (postgres-migrations refuses duplicate names)",
					dup->file, dup->name, orig->file);
	free(by_name);
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
		if (files[i].js)
			bundle_fail("%s: JavaScript migrations cannot be bundled; write its generated SQL to %.*s.sql",
						files[i].file, (int) (strlen(files[i].file) - 3),
						files[i].file);
	check_names(files, n);
	for (i = 0; i < n; i++)
	{
		PmFile	   *f = &files[i];
		Migration  *m;

		m = bundle_add(b);
		m->version = f->version;
		m->name = f->name;
		m->source = f->file;
		m->up = read_script_file(path_join(dir, f->file), f->file);
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
