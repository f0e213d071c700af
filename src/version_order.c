/*-------------------------------------------------------------------------
 *
 * version_order.c
 *	  Syntax and natural ordering of migration versions, in plain C.
 *
 * A version is 1 to MIGRATE_VERSION_MAX_LEN bytes of [0-9A-Za-z._-] that
 * starts and ends with a letter or a digit.  For ordering, the text is cut
 * into segments: runs of digits and runs of letters, split apart at every
 * digit/letter boundary and at separators ('.', '-', '_'; a run of
 * separators counts as one and the three are interchangeable).  Versions
 * compare segment by segment:
 *
 *	- digit segments as numbers of any size, leading zeros ignored;
 *	- letter segments byte-wise ('Z' < 'a'), a prefix sorting first;
 *	- a digit segment before a letter segment;
 *	- when one version's segments are a prefix of the other's, the shorter
 *	  version sorts first.
 *
 * This is a total order whose equality classes are exactly the versions
 * with the same segments ("1.0" = "1.00" = "1-0" = "1..0", "1a" = "1.a").
 * migrate_version_canonical writes one representative of each class, so
 * hashing the canonical form is consistent with equality.
 *
 * This file must stay free of server calls and of postgres.h: it is linked
 * into standalone tests.  Nothing here allocates or throws.  The ordering
 * functions are meant for text that passed migrate_version_check_syntax,
 * but they read only the bytes they are given whatever those are: a byte
 * that is neither a digit nor a separator is treated as a letter.
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "version_order.h"

/* One segment of a version; for digits, leading zeros already skipped */
typedef struct VersionSegment
{
	const char *start;
	size_t		len;			/* zero for a number that is all zeros */
	bool		digits;
} VersionSegment;

static inline bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static inline bool
is_letter(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static inline bool
is_separator(char c)
{
	return c == '.' || c == '-' || c == '_';
}

/*
 * migrate_version_check_syntax
 *
 * Checks that s[0..len) is a valid version.  Returns MIGRATE_VERSION_OK or
 * the first problem found, reading left to right; if offset is not NULL,
 * *offset is set to the byte offset of the offending byte (0 when OK or
 * empty, MIGRATE_VERSION_MAX_LEN for a text that is too long).
 */
MigrateVersionSyntax
migrate_version_check_syntax(const char *s, size_t len, size_t *offset)
{
	MigrateVersionSyntax result = MIGRATE_VERSION_OK;
	size_t		where = 0;
	size_t		i;

	if (len == 0)
		result = MIGRATE_VERSION_EMPTY;
	else if (len > MIGRATE_VERSION_MAX_LEN)
	{
		result = MIGRATE_VERSION_TOO_LONG;
		where = MIGRATE_VERSION_MAX_LEN;
	}
	else if (is_separator(s[0]))
		result = MIGRATE_VERSION_BAD_FIRST;
	else
	{
		for (i = 0; i < len; i++)
		{
			if (!is_digit(s[i]) && !is_letter(s[i]) && !is_separator(s[i]))
			{
				result = MIGRATE_VERSION_BAD_CHAR;
				where = i;
				break;
			}
		}
		if (result == MIGRATE_VERSION_OK && is_separator(s[len - 1]))
		{
			result = MIGRATE_VERSION_BAD_LAST;
			where = len - 1;
		}
	}

	if (offset != NULL)
		*offset = where;
	return result;
}

/*
 * Finds the segment starting at or after s[*pos], skipping separators.
 * Returns false when there is none left.  Otherwise fills *seg and moves
 * *pos past the segment.
 */
static bool
next_segment(const char *s, size_t len, size_t *pos, VersionSegment *seg)
{
	size_t		i = *pos;
	size_t		start;

	while (i < len && is_separator(s[i]))
		i++;
	if (i >= len)
	{
		*pos = len;
		return false;
	}

	start = i;
	seg->digits = is_digit(s[i]);
	while (i < len && !is_separator(s[i]) && is_digit(s[i]) == seg->digits)
		i++;
	*pos = i;

	/* A number's leading zeros do not count; all zeros leaves nothing */
	if (seg->digits)
	{
		while (start < i && s[start] == '0')
			start++;
	}
	seg->start = s + start;
	seg->len = i - start;
	return true;
}

/*
 * Compares two segments: -1, 0 or 1.  Numbers without leading zeros
 * compare by length first; letters compare by their bytes, a prefix first.
 */
static int
compare_segments(const VersionSegment *a, const VersionSegment *b)
{
	size_t		common;
	int			c;

	if (a->digits != b->digits)
		return a->digits ? -1 : 1;

	if (a->digits && a->len != b->len)
		return a->len < b->len ? -1 : 1;

	common = a->len < b->len ? a->len : b->len;
	c = common > 0 ? memcmp(a->start, b->start, common) : 0;
	if (c != 0)
		return c < 0 ? -1 : 1;
	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	return 0;
}

/*
 * migrate_version_compare
 *
 * Natural comparison of a[0..alen) and b[0..blen): -1, 0 or 1.
 */
int
migrate_version_compare(const char *a, size_t alen,
						const char *b, size_t blen)
{
	size_t		apos = 0;
	size_t		bpos = 0;

	for (;;)
	{
		VersionSegment aseg;
		VersionSegment bseg;
		bool		amore = next_segment(a, alen, &apos, &aseg);
		bool		bmore = next_segment(b, blen, &bpos, &bseg);
		int			c;

		if (!amore || !bmore)
		{
			if (amore == bmore)
				return 0;
			return amore ? 1 : -1;
		}

		c = compare_segments(&aseg, &bseg);
		if (c != 0)
			return c;
	}
}

/*
 * migrate_version_canonical
 *
 * Writes the canonical form of s[0..len) to out and returns its length;
 * no terminating NUL is written.  Two texts compare equal under
 * migrate_version_compare if and only if their canonical forms are
 * byte-identical.
 *
 * The form is the segments in order, numbers without leading zeros (zero
 * as "0"), with a '.' only between two segments of the same kind (a
 * digit/letter boundary needs no separator to be seen).  Each segment
 * shrinks or keeps its length and each '.' written stands for at least
 * one separator of the input, so the output is never longer than len:
 * the caller provides at least len bytes at out.
 */
size_t
migrate_version_canonical(const char *s, size_t len, char *out)
{
	size_t		pos = 0;
	size_t		n = 0;
	bool		first = true;
	bool		prev_digits = false;
	VersionSegment seg;

	while (next_segment(s, len, &pos, &seg))
	{
		if (!first && seg.digits == prev_digits)
			out[n++] = '.';
		if (seg.len == 0)
			out[n++] = '0';
		else
		{
			memcpy(out + n, seg.start, seg.len);
			n += seg.len;
		}
		first = false;
		prev_digits = seg.digits;
	}

	return n;
}
