/*-------------------------------------------------------------------------
 *
 * util.c
 *	  migrate-bundle: errors, memory, growable strings, directories and
 *	  text files, and the small text helpers every layout shares.
 *
 * Every failure here is final: the program reports it on stderr and exits
 * (bundle_fail: status 1; bundle_usage_fail: status 2), so callers never
 * check for NULL.  Messages read "migrate-bundle: <file>[:<line>]:
 * <message>"; callers put the file (relative to the bundled folder) and
 * line at the start of the message.
 *
 * Memory is never freed on purpose beyond what keeps peak use down: the
 * program is short-lived and everything it allocates lives until exit.
 *
 * Text files are taken as UTF-8, checked byte by byte, and kept as they
 * are except for a leading byte order mark, which is dropped: Flyway
 * filters it, and psql-based tools hand the file to a server that would
 * otherwise see U+FEFF before the first statement.  Line endings (CRLF,
 * lone CR) and a missing final newline are kept.
 *
 *-------------------------------------------------------------------------
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "bundle.h"
#include "sql_lex.h"


/* Deepest folder nesting walk_dir() follows */
#define WALK_MAX_DEPTH 64

static void
vreport(const char *fmt, va_list ap)
{
	fputs("migrate-bundle: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

/*
 * bundle_fail
 *
 * Reports fmt on stderr and exits with status 1.  Nothing has been written
 * to stdout at that point (see bundle.h), so the run leaves no output.
 */
void
bundle_fail(const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vreport(fmt, ap);
	va_end(ap);
	exit(1);
}

/*
 * bundle_usage_fail
 *
 * A usage error (the command line, not the folder): reports fmt, points to
 * --help and exits with status 2.
 */
void
bundle_usage_fail(const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vreport(fmt, ap);
	va_end(ap);
	fputs("Try \"migrate-bundle --help\" for more information.\n", stderr);
	exit(2);
}

/* bundle_note: a warning or an informational line on stderr; no exit. */
void
bundle_note(const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vreport(fmt, ap);
	va_end(ap);
}

void *
xmalloc(size_t n)
{
	void	   *p = malloc(n == 0 ? 1 : n);

	if (p == NULL)
		bundle_fail("out of memory");
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	p = realloc(p, n == 0 ? 1 : n);
	if (p == NULL)
		bundle_fail("out of memory");
	return p;
}

/*
 * xreallocarray
 *
 * Resizes p to n elements of size bytes, failing (rather than wrapping
 * around) if n * size does not fit in a size_t.
 */
void *
xreallocarray(void *p, size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size)
		bundle_fail("out of memory");
	return xrealloc(p, n * size);
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

/* Copies s[0..n) (n bytes, which must be readable) and terminates it. */
char *
xstrndup(const char *s, size_t n)
{
	char	   *p;

	if (n == SIZE_MAX)
		bundle_fail("out of memory");
	p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/*
 * xasprintf
 *
 * A malloc'd string formatted as printf would.  For short texts (names,
 * paths, messages): vsnprintf counts in int, so a result over INT_MAX bytes
 * is an error; join script texts with a StrBuf instead.
 */
char *
xasprintf(const char *fmt,...)
{
	va_list		ap;
	int			len;
	char	   *p;
	char		probe[1];

	va_start(ap, fmt);
	len = vsnprintf(probe, sizeof(probe), fmt, ap);
	va_end(ap);
	if (len < 0)
		bundle_fail("cannot format a string: %s", strerror(errno));

	p = xmalloc((size_t) len + 1);
	va_start(ap, fmt);
	vsnprintf(p, (size_t) len + 1, fmt, ap);
	va_end(ap);
	return p;
}

/*
 * strbuf_append_n
 *
 * Appends s[0..n) to buf, growing it (doubling, from 64 kB) as needed; the
 * data stays NUL-terminated.  A zeroed StrBuf is an empty one.
 */
void
strbuf_append_n(StrBuf *buf, const char *s, size_t n)
{
	if (buf->cap - buf->len <= n)
	{
		size_t		cap = buf->cap == 0 ? 65536 : buf->cap;

		while (cap - buf->len <= n)
		{
			if (cap > SIZE_MAX / 2)
				bundle_fail("out of memory");
			cap *= 2;
		}
		buf->data = xrealloc(buf->data, cap);
		buf->cap = cap;
	}
	memcpy(buf->data + buf->len, s, n);
	buf->len += n;
	buf->data[buf->len] = '\0';
}

void
strbuf_append(StrBuf *buf, const char *s)
{
	strbuf_append_n(buf, s, strlen(s));
}

/*
 * strbuf_finish
 *
 * The buffer's string, trimmed to its length (so that thousands of kept
 * scripts do not each hold 64 kB); "" for a buffer never appended to.
 * buf is empty again afterwards.
 */
char *
strbuf_finish(StrBuf *buf)
{
	char	   *s = buf->data ? xrealloc(buf->data, buf->len + 1) : xstrdup("");

	buf->data = NULL;
	buf->len = buf->cap = 0;
	return s;
}

/* dir + "/" + name, without doubling a slash that dir already ends with */
char *
path_join(const char *dir, const char *name)
{
	size_t		dlen = strlen(dir);

	if (dlen == 0)
		return xstrdup(name);
	if (dir[dlen - 1] == '/')
		return xasprintf("%s%s", dir, name);
	return xasprintf("%s/%s", dir, name);
}

static int
compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/*
 * list_dir
 *
 * The names in dir, without "." and "..", sorted bytewise (strcmp), so that
 * nothing depends on readdir() order.  Fails naming dir if it cannot be
 * read.  The array and names are malloc'd.
 */
char	  **
list_dir(const char *dir, int *n)
{
	DIR		   *d;
	struct dirent *e;
	char	  **names = NULL;
	int			count = 0;
	int			cap = 0;

	d = opendir(dir);
	if (d == NULL)
		bundle_fail("%s: cannot open directory: %s", dir, strerror(errno));

	for (;;)
	{
		errno = 0;
		e = readdir(d);
		if (e == NULL)
		{
			if (errno != 0)
				bundle_fail("%s: cannot read directory: %s",
							dir, strerror(errno));
			break;
		}
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (count == cap)
		{
			if (cap > INT_MAX / 2)
				bundle_fail("%s: too many files", dir);
			cap = cap == 0 ? 64 : cap * 2;
			names = xreallocarray(names, (size_t) cap, sizeof(char *));
		}
		names[count++] = xstrdup(e->d_name);
	}
	closedir(d);

	if (count > 0)
		qsort(names, (size_t) count, sizeof(char *), compare_names);
	*n = count;
	return names;
}

/* Frees what list_dir() returned. */
void
free_names(char **names, int n)
{
	int			i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* stat() follows symbolic links, as the tools do when they scan a folder */
bool
is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

bool
is_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The folders of the walk from its top to where it is now */
typedef struct WalkState
{
	const WalkOptions *opts;
	dev_t		devs[WALK_MAX_DEPTH + 1];
	ino_t		inos[WALK_MAX_DEPTH + 1];
	bool		stopped;
} WalkState;

static void
walk_one(WalkState *ws, const char *path, const char *rel, int depth)
{
	struct stat st;
	char	  **names;
	int			n;
	int			i;

	if (stat(path, &st) != 0)
		bundle_fail("%s: cannot read folder: %s",
					rel[0] ? rel : path, strerror(errno));
	for (i = 0; i < depth; i++)
	{
		if (ws->devs[i] == st.st_dev && ws->inos[i] == st.st_ino)
		{
			if (!ws->opts->quiet)
				bundle_note("%s: skipped: a link back to a folder being read",
							rel);
			return;
		}
	}
	if (depth >= WALK_MAX_DEPTH)
		bundle_fail("%s: folders nested more than %d deep",
					rel, WALK_MAX_DEPTH);
	ws->devs[depth] = st.st_dev;
	ws->inos[depth] = st.st_ino;

	names = list_dir(path, &n);
	for (i = 0; i < n && !ws->stopped; i++)
	{
		char	   *sub = path_join(path, names[i]);
		char	   *subrel = rel[0] ? path_join(rel, names[i]) :
			xstrdup(names[i]);
		struct stat sst;
		bool		exists = stat(sub, &sst) == 0;

		if (exists && S_ISDIR(sst.st_mode))
		{
			if (!(ws->opts->skip_hidden_dirs && names[i][0] == '.'))
				walk_one(ws, sub, subrel, depth + 1);
		}
		else if (!ws->opts->visit(sub, subrel, names[i],
								  exists && S_ISREG(sst.st_mode),
								  ws->opts->arg))
			ws->stopped = true;
		free(sub);
		free(subrel);
	}
	free_names(names, n);
}

/*
 * walk_dir
 *
 * Calls opts->visit for every entry below dir that is not a folder, folder
 * by folder in byte order of the names, a subfolder's entries where the
 * subfolder's name sorts (depth first), until visit returns false.
 * Symbolic links are followed, as the tools' own scans follow them; a link
 * back to a folder on the current path is skipped (said on stderr unless
 * opts->quiet), and nesting deeper than WALK_MAX_DEPTH is an error.
 * visit gets the entry's path, its path relative to dir, its own name, and
 * whether it is a regular file (false for a dangling link, a socket, ...).
 */
void
walk_dir(const char *dir, const WalkOptions *opts)
{
	WalkState	ws;

	ws.opts = opts;
	ws.stopped = false;
	walk_one(&ws, dir, "", 0);
}

/*
 * utf8_check
 *
 * True if s[0..len) is well-formed UTF-8 as RFC 3629 defines it: no
 * overlong forms, no surrogates (U+D800..U+DFFF), nothing above U+10FFFF,
 * no truncated sequence.  NUL bytes are valid UTF-8 here; callers that
 * refuse them check separately.  On failure *bad (if not NULL) is the
 * offset of the first byte of the offending sequence.
 */
bool
utf8_check(const char *s, size_t len, size_t *bad)
{
	const unsigned char *p = (const unsigned char *) s;
	size_t		i = 0;

	while (i < len)
	{
		unsigned char c = p[i];
		size_t		need;
		unsigned char lo = 0x80;
		unsigned char hi = 0xBF;
		size_t		k;

		if (c < 0x80)
		{
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF)
			need = 1;
		else if (c >= 0xE0 && c <= 0xEF)
		{
			need = 2;
			if (c == 0xE0)
				lo = 0xA0;		/* overlong below U+0800 */
			else if (c == 0xED)
				hi = 0x9F;		/* surrogates */
		}
		else if (c >= 0xF0 && c <= 0xF4)
		{
			need = 3;
			if (c == 0xF0)
				lo = 0x90;		/* overlong below U+10000 */
			else if (c == 0xF4)
				hi = 0x8F;		/* above U+10FFFF */
		}
		else
		{
			/* 0x80..0xC1 (continuation, overlong lead) or 0xF5..0xFF */
			if (bad != NULL)
				*bad = i;
			return false;
		}

		if (len - i - 1 < need)
		{
			if (bad != NULL)
				*bad = i;
			return false;
		}
		/* the first continuation byte has the narrowed range */
		if (p[i + 1] < lo || p[i + 1] > hi)
		{
			if (bad != NULL)
				*bad = i;
			return false;
		}
		for (k = 2; k <= need; k++)
		{
			if (p[i + k] < 0x80 || p[i + k] > 0xBF)
			{
				if (bad != NULL)
					*bad = i;
				return false;
			}
		}
		i += need + 1;
	}
	return true;
}

/*
 * line_of
 *
 * The 1-based line of byte offset off in s: one more than the number of
 * "\n" before it (a CRLF file counts as its editor shows it).  Counting
 * stops at a NUL byte; past INT_MAX lines the count stays at INT_MAX.
 */
int
line_of(const char *s, size_t off)
{
	int			line = 1;
	size_t		i;

	for (i = 0; i < off && s[i] != '\0'; i++)
		if (s[i] == '\n' && line < INT_MAX)
			line++;
	return line;
}

/*
 * read_whole_file
 *
 * The file at path, or its first max bytes if it is longer, NUL-terminated,
 * its length in *len; NULL (errno set) if it cannot be opened or read.
 * Nothing about the content is checked.
 */
static char *
read_whole_file(const char *path, size_t max, size_t *lenp)
{
	FILE	   *f;
	char	   *buf;
	size_t		cap = 8192;
	size_t		len = 0;
	int			save_errno;

	f = fopen(path, "rb");
	if (f == NULL)
		return NULL;

	buf = xmalloc(cap);
	while (len < max)
	{
		size_t		got;
		size_t		want;

		if (cap - len < 4096)
		{
			if (cap > SIZE_MAX / 2)
				bundle_fail("out of memory");
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
		want = cap - len - 1;
		if (want > max - len)
			want = max - len;
		got = fread(buf + len, 1, want, f);
		len += got;
		if (got == 0)
			break;
	}
	if (ferror(f))
	{
		save_errno = errno;
		fclose(f);
		free(buf);
		errno = save_errno != 0 ? save_errno : EIO;
		return NULL;
	}
	fclose(f);
	buf[len] = '\0';
	*lenp = len;
	return buf;
}

/*
 * read_text_file
 *
 * The whole file at path, NUL-terminated, minus a leading UTF-8 byte order
 * mark.  Fails naming rel (the file as the user knows it) if the file
 * cannot be read, holds a NUL byte, or is not valid UTF-8; the message
 * gives the line of the first offending byte.  Reads in a loop with
 * growing buffers, so size is no limit beyond memory.
 */
char *
read_text_file(const char *path, const char *rel)
{
	char	   *buf;
	size_t		len;
	size_t		bad;
	char	   *nul;

	buf = read_whole_file(path, SIZE_MAX, &len);
	if (buf == NULL)
		bundle_fail("%s: cannot read file: %s", rel, strerror(errno));

	nul = memchr(buf, '\0', len);
	if (nul != NULL)
		bundle_fail("%s:%d: file contains a NUL byte (not a text file?)",
					rel, line_of(buf, (size_t) (nul - buf)));
	if (!utf8_check(buf, len, &bad))
		bundle_fail("%s:%d: file is not valid UTF-8 (byte 0x%02X at offset %zu); convert it to UTF-8",
					rel, line_of(buf, bad), (unsigned char) buf[bad], bad);

	if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
	{
		memmove(buf, buf + 3, len - 3 + 1);
		len -= 3;
	}
	/* thousands of small files are kept at once: give back the slack */
	return xrealloc(buf, len + 1);
}

/*
 * bundle_read_file_or_null
 *
 * The whole file at path, NUL-terminated, or NULL if it cannot be read.
 * Nothing is checked (the content may hold NULs or invalid UTF-8): this is
 * for detect(), which must not fail, only look.
 */
char *
bundle_read_file_or_null(const char *path)
{
	size_t		len;

	return read_whole_file(path, SIZE_MAX, &len);
}

/*
 * bundle_read_head_or_null
 *
 * Like bundle_read_file_or_null, but at most the first max bytes of the
 * file: for a detect() that looks at content, and must stay cheap however
 * large the files are.  The head may end inside a UTF-8 sequence.
 */
char *
bundle_read_head_or_null(const char *path, size_t max)
{
	size_t		len;

	return read_whole_file(path, max, &len);
}

/*
 * bundle_psql_fail
 *
 * Fails naming rel and line for the psql meta-command (or \; \: escape)
 * whose backslash is at "at", which must be NUL-terminated text.  The
 * command is named as psql reads it, up to white space or the next
 * backslash (and cut short if very long).
 */
void
bundle_psql_fail(const char *rel, int line, const char *at)
{
	size_t		n = 1;

	while (at[n] != '\0' && at[n] != '\\' && !isspace((unsigned char) at[n]) &&
		   n < 40)
		n++;
	/* do not cut a UTF-8 sequence */
	while (at[n] != '\0' && ((unsigned char) at[n] & 0xC0) == 0x80)
		n--;
	if (n == 2 && (at[1] == ';' || at[1] == ':'))
		bundle_fail("%s:%d: psql escape %.*s cannot be bundled: migrate runs scripts in the server, without psql",
					rel, line, (int) n, at);
	bundle_fail("%s:%d: psql meta-command %.*s cannot be bundled: migrate runs scripts in the server, without psql",
				rel, line, (int) n, at);
}

/*
 * bundle_check_psql
 *
 * Fails naming rel and the line if script (NUL-terminated) has a psql
 * meta-command outside quotes and comments (sql_find_backslash()): tools
 * that run scripts through psql accept them, but migrate runs scripts in
 * the server, which refuses them; better to say so here, with the line,
 * than at registration.
 */
void
bundle_check_psql(const char *script, const char *rel)
{
	size_t		off;

	if (sql_find_backslash(script, strlen(script), &off))
		bundle_psql_fail(rel, line_of(script, off), script + off);
}

/*
 * read_script_file
 *
 * read_text_file() for a migration script that goes to the server as it
 * is: also fails, naming the file and line, on a psql meta-command
 * (bundle_check_psql()).
 */
char *
read_script_file(const char *path, const char *rel)
{
	char	   *text = read_text_file(path, rel);

	bundle_check_psql(text, rel);
	return text;
}

/*
 * flyway_checksum
 *
 * The checksum Flyway stores in flyway_schema_history.checksum for a SQL
 * migration of one file, as its ChecksumCalculator computes it: a CRC-32
 * (IEEE, as java.util.zip.CRC32) fed with each line's UTF-8 bytes without
 * its terminator, the first line without a byte order mark, returned as a
 * signed 32-bit integer.  Java's BufferedReader.readLine() ends a line at
 * "\n", "\r" or "\r\n", so feeding the lines one after another is the same
 * as feeding the text with every CR and LF byte left out.  text must be
 * the file as read_text_file returns it: a leading mark is already gone,
 * and a second one is kept, as Flyway keeps it.
 */
int32_t
flyway_checksum(const char *text)
{
	static uint32_t table[256];
	static bool table_done = false;
	uint32_t	crc = 0xFFFFFFFFu;
	const unsigned char *p = (const unsigned char *) text;

	if (!table_done)
	{
		uint32_t	i;

		for (i = 0; i < 256; i++)
		{
			uint32_t	c = i;
			int			k;

			for (k = 0; k < 8; k++)
				c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
			table[i] = c;
		}
		table_done = true;
	}

	for (; *p != '\0'; p++)
	{
		if (*p == '\r' || *p == '\n')
			continue;
		crc = table[(crc ^ *p) & 0xFF] ^ (crc >> 8);
	}
	return (int32_t) (crc ^ 0xFFFFFFFFu);
}

/* s ends with suffix, bytewise */
bool
bundle_has_suffix(const char *s, const char *suffix)
{
	size_t		n = strlen(s);
	size_t		k = strlen(suffix);

	return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

/* s ends with suffix, ASCII letters in any case */
bool
bundle_has_suffix_ci(const char *s, const char *suffix)
{
	size_t		n = strlen(s);
	size_t		k = strlen(suffix);

	return n >= k && strcasecmp(s + n - k, suffix) == 0;
}

/* A copy of s[0..n) with every '_' turned into a space */
char *
bundle_title(const char *s, size_t n)
{
	char	   *t = xstrndup(s, n);
	char	   *p;

	for (p = t; *p; p++)
		if (*p == '_')
			*p = ' ';
	return t;
}

/*
 * compare_numbers
 *
 * Compares two strings of decimal digits as the numbers they spell, of any
 * length, leading zeros not counting ("007" = "7"): -1, 0 or 1.  The
 * numeric order golang-migrate, postgres-migrations and node-pg-migrate
 * sort by, and Flyway within one part of a version.
 */
int
compare_numbers(const char *a, size_t alen, const char *b, size_t blen)
{
	int			c;

	while (alen > 0 && *a == '0')
	{
		a++;
		alen--;
	}
	while (blen > 0 && *b == '0')
	{
		b++;
		blen--;
	}
	if (alen != blen)
		return alen < blen ? -1 : 1;
	c = memcmp(a, b, alen);
	return c < 0 ? -1 : c > 0;
}

/* s[0..*n) without its leading and trailing white space (isspace) */
const char *
trim_space(const char *s, size_t *n)
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

/* Space, tab, CR, vertical tab or form feed (not newline) */
static bool
is_line_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/*
 * next_leading_comment
 *
 * Steps through the leading lines of a script that are blank or "--"
 * comments, where layouts keep header lines ("-- migrate:requires ...",
 * "-- flyway:executeInTransaction=false").  Start with *pos and *lineno 0.
 * Returns true for the next comment line, with *body and *len its text
 * after "--", blanks trimmed at both ends, and *lineno its line; false at
 * the end of text or at the first line that is neither blank nor a
 * comment, *pos then being that line's start.
 */
bool
next_leading_comment(const char *text, size_t *pos, int *lineno,
					 const char **body, size_t *len)
{
	size_t		p = *pos;

	while (text[p] != '\0')
	{
		const char *line = text + p;
		const char *eol = strchr(line, '\n');
		size_t		n = eol ? (size_t) (eol - line) : strlen(line);
		size_t		next = p + n + (eol ? 1 : 0);

		while (n > 0 && is_line_blank(*line))
		{
			line++;
			n--;
		}
		while (n > 0 && is_line_blank(line[n - 1]))
			n--;
		if (n > 0 && !(n >= 2 && line[0] == '-' && line[1] == '-'))
			break;				/* the first statement ends the headers */
		(*lineno)++;
		*pos = next;
		if (n > 0)
		{
			line += 2;
			n -= 2;
			while (n > 0 && is_line_blank(*line))
			{
				line++;
				n--;
			}
			*body = line;
			*len = n;
			return true;
		}
		p = next;
	}
	*pos = p;
	return false;
}
