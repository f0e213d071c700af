/*-------------------------------------------------------------------------
 *
 * util.c
 *	  migrate-bundle: errors, memory, directories and text files.
 *
 * Every failure here is final: the program reports it on stderr and exits
 * with status 1 (bundle_fail), so callers never check for NULL.  Messages
 * read "migrate-bundle: <file>[:<line>]: <message>"; callers put the file
 * (relative to the bundled folder) and line at the start of the message.
 *
 * Text files are taken as UTF-8, checked byte by byte, and kept as they
 * are except for a leading byte order mark, which is dropped: Flyway
 * filters it, and psql-based tools hand the file to a server that would
 * otherwise see U+FEFF before the first statement.  Line endings (CRLF,
 * lone CR) and a missing final newline are kept.
 *
 *-------------------------------------------------------------------------
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bundle.h"

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

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

/* Copies s[0..n) (n bytes, which must be readable) and terminates it. */
char *
xstrndup(const char *s, size_t n)
{
	char	   *p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
xasprintf(const char *fmt,...)
{
	va_list		ap;
	int			len;
	char	   *p;

	va_start(ap, fmt);
	len = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (len < 0)
		bundle_fail("cannot format a message");

	p = xmalloc((size_t) len + 1);
	va_start(ap, fmt);
	vsnprintf(p, (size_t) len + 1, fmt, ap);
	va_end(ap);
	return p;
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
 * read.  The array and names are malloc'd and never freed (the program is
 * short-lived).
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
			cap = cap == 0 ? 64 : cap * 2;
			names = xrealloc(names, sizeof(char *) * (size_t) cap);
		}
		names[count++] = xstrdup(e->d_name);
	}
	closedir(d);

	if (count > 0)
		qsort(names, (size_t) count, sizeof(char *), compare_names);
	*n = count;
	return names;
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

/* 1-based line number of offset off in s: one more than the \n before it */
int
line_of(const char *s, size_t off)
{
	int			line = 1;
	size_t		i;

	for (i = 0; i < off; i++)
		if (s[i] == '\n')
			line++;
	return line;
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
	FILE	   *f;
	char	   *buf;
	size_t		cap = 8192;
	size_t		len = 0;
	size_t		bad;
	char	   *nul;

	f = fopen(path, "rb");
	if (f == NULL)
		bundle_fail("%s: cannot open file: %s", rel, strerror(errno));

	buf = xmalloc(cap);
	for (;;)
	{
		size_t		got;

		if (cap - len < 4096)
		{
			if (cap > SIZE_MAX / 2)
				bundle_fail("%s: file too large", rel);
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
		got = fread(buf + len, 1, cap - len - 1, f);
		len += got;
		if (got == 0)
		{
			if (ferror(f))
				bundle_fail("%s: cannot read file: %s", rel, strerror(errno));
			break;
		}
	}
	fclose(f);
	buf[len] = '\0';

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
	FILE	   *f;
	char	   *buf;
	size_t		cap = 8192;
	size_t		len = 0;

	f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	buf = xmalloc(cap);
	for (;;)
	{
		size_t		got;

		if (cap - len < 4096)
		{
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
		got = fread(buf + len, 1, cap - len - 1, f);
		len += got;
		if (got == 0)
			break;
	}
	if (ferror(f))
	{
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	buf[len] = '\0';
	return buf;
}

bool
bundle_has_suffix(const char *s, const char *suffix)
{
	size_t		n = strlen(s);
	size_t		k = strlen(suffix);

	return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

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
