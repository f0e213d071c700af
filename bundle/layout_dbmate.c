/*-------------------------------------------------------------------------
 *
 * layout_dbmate.c
 *	  migrate-bundle: dbmate's folder layout.
 *
 * As dbmate reads a folder (pkg/dbmate/db.go, migration.go): the files of
 * the folder itself whose names match ^(\d+).*\.sql$, in file-name order;
 * the version is the leading digits (registered as written), the name the
 * rest without ".sql" and a leading '_', '_' read as a space.  Other files
 * are ignored, as dbmate ignores them (a .sql one is named on stderr).
 *
 * A file holds one or more sections, each "-- migrate:up" then
 * "-- migrate:down"; a directive starts a line, and may carry options
 * after it, whitespace-separated key:value pairs, of which dbmate reads
 * transaction:false.  dbmate's rules are errors here too: no up directive,
 * a section without its down directive, a down before its up, two downs
 * in a section, and anything but blank and comment lines before the first
 * up.  A section's up is the text after the up directive's line up to the
 * down directive, its down the text after the down directive's line to
 * the next section or the end; one that is only whitespace is registered
 * as the empty script "" (the down of a migration that has nothing to
 * revert).  Several sections make one migration, their ups and their
 * downs each joined in file order (as dbmate runs them), separated by
 * ";" so that a statement left open by one cannot run into the next.
 *
 * transaction:false on any up or down directive makes the migration
 * non-transactional: migrate has one flag for both directions (dbmate
 * would still run the other direction in a transaction).  Otherwise the
 * server decides.
 *
 * dbmate orders versions as strings (file names), migrate naturally; for
 * versions of one length (timestamps) the orders agree, and a note on
 * stderr says when they do not.
 *
 *-------------------------------------------------------------------------
 */
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "version_order.h"

/* Go's \s: [\t\n\f\r ] */
static bool
go_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

/*
 * If a directive "--\s*migrate:<word>" followed by whitespace or the end
 * starts at text[pos] (pos being a line start), returns the offset just
 * after <word>; else 0.
 */
static size_t
match_directive(const char *text, size_t pos, const char *word)
{
	size_t		i = pos;
	size_t		wlen = strlen(word);

	if (text[i] != '-' || text[i + 1] != '-')
		return 0;
	i += 2;
	while (go_space(text[i]))
		i++;
	if (strncmp(text + i, "migrate:", 8) != 0)
		return 0;
	i += 8;
	if (strncmp(text + i, word, wlen) != 0)
		return 0;
	i += wlen;
	if (text[i] != '\0' && !go_space(text[i]))
		return 0;
	return i;
}

/* A directive found in the text */
typedef struct Directive
{
	size_t		start;			/* offset of its "--" */
	size_t		body;			/* offset just after its line */
	bool		up;
	bool		no_transaction; /* transaction:false among its options */
} Directive;

/*
 * Reads the options on the directive's line, from offset opt (after the
 * word), and sets d->body to the start of the next line.
 */
static void
read_options(const char *text, size_t opt, Directive *d)
{
	const char *eol = strchr(text + opt, '\n');
	size_t		end = eol ? (size_t) (eol - text) : strlen(text);
	size_t		i = opt;

	d->no_transaction = false;
	/* the options are the rest of the directive's first line */
	if (opt > 0 && memchr(text + d->start, '\n', opt - d->start) != NULL)
		i = end;				/* "--" and "migrate:" on separate lines */
	while (i < end)
	{
		size_t		tok;
		size_t		colon = 0;
		int			ncolons = 0;

		while (i < end && go_space(text[i]))
			i++;
		tok = i;
		while (i < end && !go_space(text[i]))
		{
			if (text[i] == ':')
			{
				ncolons++;
				colon = i;
			}
			i++;
		}
		/* "key:value" with exactly one colon, as dbmate splits it */
		if (i > tok && ncolons == 1 &&
			colon - tok == strlen("transaction") &&
			strncmp(text + tok, "transaction", colon - tok) == 0 &&
			i - colon - 1 == 5 && strncmp(text + colon + 1, "false", 5) == 0)
			d->no_transaction = true;
	}
	d->body = eol ? end + 1 : end;
}

/* True if text[from..to) is only whitespace */
static bool
blank(const char *text, size_t from, size_t to)
{
	size_t		i;

	for (i = from; i < to; i++)
		if (!go_space(text[i]) && text[i] != '\v')
			return false;
	return true;
}

/*
 * Appends text[from..to) to acc unless it is blank, after a ";" line that
 * keeps a statement left open by the text before from running into it.
 */
static void
append_part(StrBuf *acc, const char *text, size_t from, size_t to)
{
	if (to < from)
		to = from;
	if (blank(text, from, to))
		return;
	if (acc->len > 0)
	{
		if (acc->data[acc->len - 1] != '\n')
			strbuf_append(acc, "\n");
		strbuf_append(acc, ";\n");
	}
	strbuf_append_n(acc, text + from, to - from);
}

/*
 * Splits the file text (file names it in messages) into m's up and down,
 * and its transactional flag, with dbmate's rules (see the file header).
 */
static void
parse_file(const char *text, const char *file, Migration *m)
{
	Directive  *dirs = NULL;
	int			nd = 0;
	int			cap = 0;
	size_t		pos = 0;
	int			i;
	bool		no_tx = false;
	StrBuf		ups = {0};
	StrBuf		downs = {0};

	/* every directive, at line starts */
	for (;;)
	{
		size_t		after;
		bool		up = true;

		after = match_directive(text, pos, "up");
		if (after == 0)
		{
			after = match_directive(text, pos, "down");
			up = false;
		}
		if (after != 0)
		{
			if (nd == cap)
			{
				cap = cap ? cap * 2 : 8;
				dirs = xreallocarray(dirs, (size_t) cap, sizeof(Directive));
			}
			dirs[nd].start = pos;
			dirs[nd].up = up;
			read_options(text, after, &dirs[nd]);
			nd++;
		}
		{
			const char *nl = strchr(text + pos, '\n');

			if (nl == NULL)
				break;
			pos = (size_t) (nl - text) + 1;
		}
	}

	for (i = 0; i < nd && !dirs[i].up; i++)
		;
	if (i == nd)
		bundle_fail("%s: dbmate requires each migration to define an up block with '-- migrate:up'",
					file);

	/* before the first up: blank and comment lines only */
	{
		size_t		stop = 0;
		int			lineno = 0;
		const char *body;
		size_t		blen;

		while (next_leading_comment(text, &stop, &lineno, &body, &blen))
			;
		if (stop < dirs[i].start)
			bundle_fail("%s:%d: dbmate does not support statements preceding the '-- migrate:up' block",
						file, lineno + 1);
	}

	/* sections: from each up to the next up */
	for (; i < nd; i++)
	{
		Directive  *up = &dirs[i];
		Directive  *down = NULL;
		size_t		end;
		int			k;

		for (k = i + 1; k < nd && !dirs[k].up; k++)
		{
			if (down != NULL)
				bundle_fail("%s:%d: dbmate requires every '-- migrate:down' to be preceded by a '-- migrate:up'",
							file, line_of(text, dirs[k].start));
			down = &dirs[k];
		}
		end = k < nd ? dirs[k].start : strlen(text);
		if (down == NULL)
			bundle_fail("%s:%d: dbmate requires each migration to define a down block with '-- migrate:down' (this '-- migrate:up' has none)",
						file, line_of(text, up->start));

		append_part(&ups, text, up->body, down->start);
		append_part(&downs, text, down->body, end);
		if (up->no_transaction || down->no_transaction)
			no_tx = true;
		i = k - 1;
	}
	m->up = strbuf_finish(&ups);
	m->down = strbuf_finish(&downs);
	m->transactional = no_tx ? TX_FALSE : TX_SERVER;
	free(dirs);
}

/* ^(\d+).*\.sql$ ('.' not matching a newline); the digits' length or 0 */
static size_t
match_name(const char *fname)
{
	size_t		ndig = strspn(fname, "0123456789");

	if (ndig == 0 || !bundle_has_suffix(fname, ".sql") ||
		strlen(fname) < ndig + 4 || strchr(fname, '\n') != NULL)
		return 0;
	return ndig;
}

static bool
dbmate_detect(const char *dir)
{
	int			n;
	char	  **names = list_dir(dir, &n);
	int			i;

	for (i = 0; i < n; i++)
	{
		char	   *path;
		char	   *text;
		size_t		pos = 0;
		bool		found = false;

		if (match_name(names[i]) == 0)
			continue;
		path = path_join(dir, names[i]);
		text = bundle_read_file_or_null(path);
		free(path);
		if (text == NULL)
			continue;
		for (;;)
		{
			const char *nl;

			if (match_directive(text, pos, "up") != 0)
			{
				found = true;
				break;
			}
			nl = strchr(text + pos, '\n');
			if (nl == NULL)
				break;
			pos = (size_t) (nl - text) + 1;
		}
		free(text);
		if (found)
			return true;
	}
	return false;
}

static void
dbmate_load(const char *dir, const Options *opts, Bundle *b)
{
	int			n;
	char	  **names = list_dir(dir, &n);
	int			i;
	const char *prev = NULL;
	bool		noted = false;

	(void) opts;

	/* list_dir's byte order is dbmate's file-name order */
	for (i = 0; i < n; i++)
	{
		char	   *path = path_join(dir, names[i]);
		size_t		ndig;
		Migration  *m;
		const char *rest;
		char	   *text;

		if (is_dir(path))
			continue;
		ndig = match_name(names[i]);
		if (ndig == 0)
		{
			if (bundle_has_suffix(names[i], ".sql"))
				bundle_note("%s: skipped: not a dbmate file name (<version>_<name>.sql), as dbmate skips it",
							names[i]);
			continue;
		}
		text = read_script_file(path, names[i]);

		m = bundle_add(b);
		m->version = xstrndup(names[i], ndig);
		rest = names[i] + ndig;
		if (*rest == '_')
			rest++;
		m->name = bundle_title(rest, strlen(rest) - 4);
		if (m->name[0] == '\0')
			m->name = xstrndup(names[i], strlen(names[i]) - 4);
		m->source = names[i];
		parse_file(text, names[i], m);

		if (!noted && prev != NULL &&
			migrate_version_compare(prev, strlen(prev), m->version,
									strlen(m->version)) > 0)
		{
			bundle_note("%s: dbmate applies version %s after %s (file-name order), migrate before it (natural order)",
						names[i], m->version, prev);
			noted = true;
		}
		prev = b->items[b->n - 1].version;
		free(path);
	}
}

const Layout layout_dbmate = {
	"dbmate",
	dbmate_detect,
	dbmate_load
};
