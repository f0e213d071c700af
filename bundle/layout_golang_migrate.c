/*-------------------------------------------------------------------------
 *
 * layout_golang_migrate.c
 *	  migrate-bundle: golang-migrate's folder layout.
 *
 * As golang-migrate's file source reads a folder (source/parse.go,
 * source/iofs): the files of the folder itself, not of subfolders, whose
 * names match
 *
 *	^([0-9]+)_(.*)\.(down|up)\.(.*)$
 *
 * (any extension: "1_init.up.sql", and also "1_init.up.sql.orig").  The
 * version is the number, which golang-migrate reads as an unsigned 64-bit
 * integer, so "1" and "001" are the same version; it is registered as the
 * file spells it.  Two ups (or two downs) of one version are an error, as
 * golang-migrate's "duplicate migration file" is; an up and a down pair by
 * version alone.  A missing down is allowed (the migration cannot be
 * reverted); a down without an up is an error.  Other files are ignored,
 * as golang-migrate ignores them; a .sql file among them is named on
 * stderr, since it is most likely a misnamed migration.
 *
 * Differences: golang-migrate silently skips a number too large for 64
 * bits; here that is an error.  The name is the title with '_' read as a
 * space.
 *
 *-------------------------------------------------------------------------
 */
#include <stdlib.h>
#include <string.h>

#include "bundle.h"

typedef struct GmFile
{
	char	   *file;
	char	   *digits;			/* the version as written */
	char	   *title;
	bool		up;
} GmFile;

/*
 * Matches fname against golang-migrate's regular expression; fills *f and
 * returns true on a match.  The greedy "(.*)" makes the direction the
 * last ".up." or ".down." of the name.
 */
static bool
match_name(const char *fname, GmFile *f)
{
	size_t		ndig = strspn(fname, "0123456789");
	const char *rest;
	const char *dir = NULL;
	bool		up = false;
	const char *p;

	if (ndig == 0 || fname[ndig] != '_')
		return false;
	if (strchr(fname, '\n') != NULL)	/* '.' does not match a newline */
		return false;
	rest = fname + ndig + 1;
	for (p = rest; (p = strchr(p, '.')) != NULL; p++)
	{
		if (strncmp(p, ".up.", 4) == 0)
		{
			dir = p;
			up = true;
		}
		else if (strncmp(p, ".down.", 6) == 0)
		{
			dir = p;
			up = false;
		}
	}
	if (dir == NULL)
		return false;

	f->file = xstrdup(fname);
	f->digits = xstrndup(fname, ndig);
	f->title = bundle_title(rest, (size_t) (dir - rest));
	f->up = up;
	return true;
}

/* Compares the version numbers of two files: -1, 0 or 1 */
static int
compare_versions(const GmFile *a, const GmFile *b)
{
	return compare_numbers(a->digits, strlen(a->digits),
						   b->digits, strlen(b->digits));
}

/* Version, then up before down, then file name */
static int
compare_files(const void *a, const void *b)
{
	const GmFile *fa = a;
	const GmFile *fb = b;
	int			c = compare_versions(fa, fb);

	if (c == 0 && fa->up != fb->up)
		c = fa->up ? -1 : 1;
	if (c == 0)
		c = strcmp(fa->file, fb->file);
	return c;
}

static bool
gm_detect(const char *dir)
{
	int			n;
	char	  **names = list_dir(dir, &n);
	int			i;
	GmFile		f;

	for (i = 0; i < n; i++)
		if (match_name(names[i], &f))
			return true;
	return false;
}

static void
gm_load(const char *dir, const Options *opts, Bundle *b)
{
	int			n;
	char	  **names = list_dir(dir, &n);
	GmFile	   *files = xreallocarray(NULL, (size_t) n + 1, sizeof(GmFile));
	int			nfiles = 0;
	int			i;

	(void) opts;

	for (i = 0; i < n; i++)
	{
		char	   *path = path_join(dir, names[i]);
		bool		skip = is_dir(path);

		free(path);
		if (skip)
			continue;
		if (!match_name(names[i], &files[nfiles]))
		{
			if (bundle_has_suffix(names[i], ".sql"))
				bundle_note("%s: skipped: not a golang-migrate file name (<version>_<title>.up.sql or .down.sql), as golang-migrate skips it",
							names[i]);
			continue;
		}
		if (compare_numbers(files[nfiles].digits,
							strlen(files[nfiles].digits),
							"18446744073709551615", 20) > 0)
			bundle_fail("%s: version %s is too large for golang-migrate (an unsigned 64-bit integer)",
						names[i], files[nfiles].digits);
		nfiles++;
	}
	if (nfiles > 1)
		qsort(files, (size_t) nfiles, sizeof(GmFile), compare_files);

	/*
	 * Sorted, the files of one version are adjacent, its ups first: at most
	 * one up and one down each (golang-migrate's ErrDuplicateMigration).
	 */
	for (i = 0; i < nfiles;)
	{
		GmFile	   *up = NULL;
		GmFile	   *down = NULL;
		Migration  *m;
		int			k;

		for (k = i; k < nfiles && compare_versions(&files[i], &files[k]) == 0; k++)
		{
			GmFile	   *f = &files[k];
			GmFile	  **slot = f->up ? &up : &down;

			if (*slot != NULL)
				bundle_fail("%s: duplicate migration: version %s has another %s file, %s",
							f->file, f->digits, f->up ? "up" : "down",
							(*slot)->file);
			*slot = f;
		}
		i = k;
		if (up == NULL)
			bundle_fail("%s: down migration without an up migration of version %s",
						down->file, down->digits);

		m = bundle_add(b);
		m->version = up->digits;
		m->name = up->title[0] ? up->title : up->digits;
		m->source = up->file;
		m->up = read_script_file(path_join(dir, up->file), up->file);
		if (down != NULL)
			m->down = read_script_file(path_join(dir, down->file), down->file);
	}
}

const Layout layout_golang_migrate = {
	"golang-migrate",
	gm_detect,
	gm_load
};
