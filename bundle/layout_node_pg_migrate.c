/*-------------------------------------------------------------------------
 *
 * layout_node_pg_migrate.c
 *	  node-pg-migrate's SQL migration files.
 *
 * node-pg-migrate (src/migration.ts, src/sqlMigration.ts) takes every file
 * of the folder whose name does not start with "." as a migration, and
 * loads a .sql file as SQL: the up part starts at the first line matching
 * /^\s*--[\s-]*up\s+migration/im, the down part at the first line matching
 * the same with "down", each running to the other marker or to the end of
 * the file.  The marker comments stay in the text, which is kept byte for
 * byte.  Without an up marker the whole file is the up script (the down
 * part included, as node-pg-migrate does); without a down marker the
 * migration cannot be reverted.  SQL migrations run in a transaction.
 *
 * Files sort by their numeric prefix (17 digits read as a UTC time
 * yyyymmddhhmmssSSS, other lengths as numbers); a file without one is an
 * error.  The version is that prefix as written, the name the rest of the
 * file name without its extension and the "_" after the prefix.  migrate
 * orders versions by their numbers: a folder where that order differs from
 * node-pg-migrate's (17-digit and 13-digit prefixes mixed) is an error, and
 * so are two files with the same number.
 *
 * JavaScript and TypeScript migrations (.js .cjs .mjs .ts .cts .mts) build
 * their SQL by running code and cannot be bundled: an error naming them.
 * Other files (README.md) are ignored.
 *
 *-------------------------------------------------------------------------
 */
#include "bundle.h"
#include "version_order.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct NpmFile
{
	char	   *file;
	char	   *version;		/* the digits as written */
	char	   *key;			/* node-pg-migrate's sort number, as digits */
	char	   *name;
} NpmFile;

static const char *const code_suffixes[] = {
	".js", ".cjs", ".mjs", ".ts", ".cts", ".mts", NULL
};

/* JavaScript's \s, as far as ASCII goes. */
static bool
js_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
		c == '\f';
}

static bool
match_ci(const char *s, const char *word)
{
	for (; *word; s++, word++)
		if (tolower((unsigned char) *s) != *word)
			return false;
	return true;
}

/*
 * Offset of the first match of /^\s*--[\s-]*<dir>\s+migration/im in s, or
 * -1.  The match starts at a line start, and \s* may run over blank lines:
 * the offset is that of the first of the blank lines before the marker,
 * as String.prototype.search reports it.
 */
static long
find_marker(const char *s, const char *dir)
{
	size_t		p = 0;

	for (;;)
	{
		size_t		q = p;

		/* every line start from p to q reaches the same non-space byte */
		while (js_space(s[q]))
			q++;
		if (s[q] == '-' && s[q + 1] == '-')
		{
			size_t		r = q + 2;

			while (js_space(s[r]) || s[r] == '-')
				r++;
			if (match_ci(s + r, dir))
			{
				r += strlen(dir);
				if (js_space(s[r]))
				{
					while (js_space(s[r]))
						r++;
					if (match_ci(s + r, "migration"))
						return (long) p;
				}
			}
		}
		/* next line start after q */
		while (s[q] && s[q] != '\n' && s[q] != '\r')
			q++;
		if (!s[q])
			return -1;
		p = q + 1;
	}
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t		era;
	int64_t		yoe;
	int64_t		doy;
	int64_t		doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int
num(const char *s, int n)
{
	int			v = 0;

	while (n-- > 0)
		v = v * 10 + (*s++ - '0');
	return v;
}

/*
 * getNumericPrefix(): a 17-digit prefix is a UTC time, read as
 * milliseconds since 1970; any other is a number.  Returned as digits
 * without leading zeros; NULL for a time JavaScript's Date rejects.
 */
static char *
sort_key(const char *digits, size_t n)
{
	if (n == 17)
	{
		int			mo = num(digits + 4, 2);
		int			d = num(digits + 6, 2);
		int			h = num(digits + 8, 2);
		int			mi = num(digits + 10, 2);
		int			sec = num(digits + 12, 2);
		static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
		int64_t		ms;

		if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 24 ||
			mi > 59 || sec > 59 ||
			(h == 24 && (mi != 0 || sec != 0 || num(digits + 14, 3) != 0)))
			return NULL;
		ms = ((days_from_civil(num(digits, 4), mo, d) * 24 + h) * 60 + mi) * 60;
		ms = (ms + sec) * 1000 + num(digits + 14, 3);
		if (ms < 0)
			return NULL;
		return xasprintf("%lld", (long long) ms);
	}
	while (n > 1 && *digits == '0')
	{
		digits++;
		n--;
	}
	return xstrndup(digits, n);
}

static int
npm_cmp(const void *x, const void *y)
{
	const NpmFile *a = x;
	const NpmFile *b = y;
	int			c = compare_numbers(a->key, strlen(a->key),
									b->key, strlen(b->key));

	return c != 0 ? c : strcmp(a->file, b->file);
}

static bool
is_code(const char *name)
{
	int			i;

	for (i = 0; code_suffixes[i]; i++)
		if (bundle_has_suffix(name, code_suffixes[i]))
			return true;
	return false;
}

static bool
npm_detect(const char *dir)
{
	char	  **names;
	int			n;
	int			i;

	names = list_dir(dir, &n);
	for (i = 0; i < n; i++)
	{
		char	   *text;

		if (names[i][0] == '.' || !bundle_has_suffix(names[i], ".sql") ||
			!isdigit((unsigned char) names[i][0]))
			continue;
		text = bundle_read_file_or_null(path_join(dir, names[i]));
		if (text && find_marker(text, "up") >= 0)
			return true;
	}
	return false;
}

static void
npm_load(const char *dir, const Options *opts, Bundle *b)
{
	char	  **names;
	int			n;
	int			i;
	NpmFile    *files;
	int			nf = 0;

	(void) opts;
	names = list_dir(dir, &n);
	files = xreallocarray(NULL, (size_t) n + 1, sizeof(NpmFile));
	for (i = 0; i < n; i++)
	{
		const char *name = names[i];
		const char *p = name;
		NpmFile    *f;

		if (name[0] == '.' || is_dir(path_join(dir, name)))
			continue;
		if (is_code(name))
			bundle_fail("%s: JavaScript migrations cannot be bundled; only node-pg-migrate's SQL migrations (.sql with -- Up Migration / -- Down Migration) can",
						name);
		if (!bundle_has_suffix(name, ".sql"))
			continue;
		while (isdigit((unsigned char) *p))
			p++;
		if (p == name)
			bundle_fail("%s: cannot determine the numeric prefix: node-pg-migrate file names start with a number",
						name);
		f = &files[nf++];
		f->file = xstrdup(name);
		f->version = xstrndup(name, p - name);
		f->key = sort_key(name, p - name);
		if (!f->key)
			bundle_fail("%s: the 17-digit prefix is not a valid UTC time (yyyymmddhhmmssSSS)",
						name);
		if (*p == '_')
			p++;
		f->name = xstrndup(p, strlen(p) - 4);
		if (f->name[0] == '\0')
			f->name = xstrndup(name, strlen(name) - 4);
	}
	if (nf > 1)
		qsort(files, (size_t) nf, sizeof(NpmFile), npm_cmp);

	for (i = 0; i < nf; i++)
	{
		NpmFile    *f = &files[i];
		Migration  *m;
		char	   *text;
		long		up;
		long		down;

		if (i > 0)
		{
			const char *prev = files[i - 1].version;
			int			c = migrate_version_compare(prev, strlen(prev),
													f->version,
													strlen(f->version));

			if (c == 0)
				bundle_fail("%s: same number as %s: migrate needs a distinct version for each migration",
							f->file, files[i - 1].file);
			if (c > 0)
				bundle_fail("%s: node-pg-migrate runs it after %s, but migrate orders versions by number and would run it first",
							f->file, files[i - 1].file);
		}

		text = read_script_file(path_join(dir, f->file), f->file);
		up = find_marker(text, "up");
		down = find_marker(text, "down");

		m = bundle_add(b);
		m->version = f->version;
		m->name = f->name;
		m->source = f->file;
		m->transactional = TX_SERVER;
		if (up < 0)
		{
			if (down >= 0)
				bundle_note("%s: no \"-- Up Migration\" marker: the whole file, its down part included, is the up script, as node-pg-migrate runs it",
							f->file);
			m->up = text;
		}
		else
			m->up = down < up ? xstrdup(text + up) :
				xstrndup(text + up, down - up);
		if (down >= 0)
			m->down = up < down ? xstrdup(text + down) :
				xstrndup(text + down, up - down);
	}
}

const Layout layout_node_pg_migrate = {
	.name = "node-pg-migrate",
	.detect = npm_detect,
	.load = npm_load,
};
