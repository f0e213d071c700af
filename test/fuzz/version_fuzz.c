/*-------------------------------------------------------------------------
 *
 * version_fuzz.c
 *	  libFuzzer target for the syntax and natural ordering of versions.
 *
 * Links src/version_order.c alone (it has no server calls), built with
 * -fsanitize=fuzzer,address,undefined by scripts/fuzz.sh.  For each input
 * it checks, and aborts on the first violation:
 *
 * - migrate_version_check_syntax accepts exactly the texts of the
 *	 documented grammar (checked against an independent reading of it),
 *	 and reports an offset inside the text;
 * - splitting the input at its first NUL byte into two texts a and b,
 *	 plus the input itself and a's canonical form: compare is reflexive,
 *	 antisymmetric, and consistent with the canonical form (equal if and
 *	 only if the canonical forms are byte-identical); the canonical form
 *	 is never longer than the text, is itself a valid version with the
 *	 same canonical form, and compares equal to the text;
 * - for three texts a, b, c (the input cut in three at its NUL bytes),
 *	 compare is transitive, so the ordering is a total order.
 *
 * The ordering functions are meant for valid versions but must be memory
 * safe on any bytes (version_order.c says so), so the order properties
 * are checked on arbitrary bytes too; the sanitizers catch any read out of
 * bounds.  Every text is copied into a buffer of exactly its length, so
 * that ASan sees a read one byte too far.
 *
 *-------------------------------------------------------------------------
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "version_order.h"

#define CHECK(cond, what) \
	do { \
		if (!(cond)) \
		{ \
			fprintf(stderr, "version_fuzz: %s\n", what); \
			abort(); \
		} \
	} while (0)

/* A text of exactly len bytes in its own allocation. */
static char *
exact_copy(const uint8_t *data, size_t len)
{
	char	   *p = malloc(len);	/* ASan: malloc(0) is a real object */

	CHECK(p != NULL || len == 0, "out of memory");
	if (len > 0)
		memcpy(p, data, len);
	return p;
}

static int
is_alnum(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		(c >= 'A' && c <= 'Z');
}

static int
is_sep(uint8_t c)
{
	return c == '.' || c == '-' || c == '_';
}

/* The grammar, read independently: 1-255 bytes, alnum at both ends. */
static int
valid_by_spec(const char *s, size_t len)
{
	size_t		i;

	if (len < 1 || len > MIGRATE_VERSION_MAX_LEN)
		return 0;
	for (i = 0; i < len; i++)
		if (!is_alnum((uint8_t) s[i]) && !is_sep((uint8_t) s[i]))
			return 0;
	return is_alnum((uint8_t) s[0]) && is_alnum((uint8_t) s[len - 1]);
}

static void
check_syntax(const char *s, size_t len)
{
	size_t		offset = (size_t) -1;
	MigrateVersionSyntax r = migrate_version_check_syntax(s, len, &offset);

	CHECK((r == MIGRATE_VERSION_OK) == valid_by_spec(s, len),
		  "check_syntax disagrees with the grammar");
	CHECK(offset != (size_t) -1, "check_syntax did not set the offset");
	if (r == MIGRATE_VERSION_OK || r == MIGRATE_VERSION_EMPTY)
		CHECK(offset == 0, "offset of a valid or empty text is not 0");
	else if (r == MIGRATE_VERSION_TOO_LONG)
		CHECK(offset == MIGRATE_VERSION_MAX_LEN, "offset of a long text");
	else
		CHECK(offset < len, "offset outside the text");
	/* with a NULL offset pointer, the same answer */
	CHECK(migrate_version_check_syntax(s, len, NULL) == r,
		  "check_syntax depends on its offset argument");
}

/* Canonical form of s, in an exact-size copy; *clen gets its length. */
static char *
canonical(const char *s, size_t len, size_t *clen)
{
	char	   *out = malloc(len);	/* the contract: len bytes suffice */
	char	   *exact;

	CHECK(out != NULL || len == 0, "out of memory");
	*clen = migrate_version_canonical(s, len, out);
	CHECK(*clen <= len, "canonical form longer than the text");
	exact = exact_copy((const uint8_t *) out, *clen);
	free(out);
	return exact;
}

static void
check_pair(const char *a, size_t alen, const char *b, size_t blen)
{
	int			ab = migrate_version_compare(a, alen, b, blen);
	int			ba = migrate_version_compare(b, blen, a, alen);
	size_t		calen;
	size_t		cblen;
	char	   *ca = canonical(a, alen, &calen);
	char	   *cb = canonical(b, blen, &cblen);
	int			same_canon = calen == cblen &&
		(calen == 0 || memcmp(ca, cb, calen) == 0);

	CHECK(ab >= -1 && ab <= 1, "compare returned something else than -1, 0, 1");
	CHECK(ab == -ba, "compare is not antisymmetric");
	CHECK(migrate_version_compare(a, alen, a, alen) == 0,
		  "compare is not reflexive");
	CHECK((ab == 0) == same_canon,
		  "equal versions and equal canonical forms disagree");
	CHECK(migrate_version_compare(a, alen, ca, calen) == 0,
		  "a text and its canonical form compare unequal");

	/* The canonical form of a valid version is a valid, fixed point. */
	if (valid_by_spec(a, alen))
	{
		size_t		cclen;
		char	   *cca = canonical(ca, calen, &cclen);

		CHECK(valid_by_spec(ca, calen), "canonical form is not a valid version");
		CHECK(cclen == calen && memcmp(cca, ca, calen) == 0,
			  "canonical form is not a fixed point");
		free(cca);
	}
	free(ca);
	free(cb);
}

static void
check_triple(const char *a, size_t alen, const char *b, size_t blen,
			 const char *c, size_t clen)
{
	int			ab = migrate_version_compare(a, alen, b, blen);
	int			bc = migrate_version_compare(b, blen, c, clen);
	int			ac = migrate_version_compare(a, alen, c, clen);

	if (ab <= 0 && bc <= 0)
		CHECK(ac <= 0, "compare is not transitive (<=)");
	if (ab == 0 && bc == 0)
		CHECK(ac == 0, "equality is not transitive");
	if (ab < 0 && bc <= 0)
		CHECK(ac < 0, "compare is not transitive (<)");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *cut1 = memchr(data, 0, size);
	size_t		alen = cut1 ? (size_t) (cut1 - data) : size;
	const uint8_t *rest = cut1 ? cut1 + 1 : data + size;
	size_t		restlen = size - (rest - data);
	const uint8_t *cut2 = memchr(rest, 0, restlen);
	size_t		blen = cut2 ? (size_t) (cut2 - rest) : restlen;
	const uint8_t *third = cut2 ? cut2 + 1 : rest + restlen;
	size_t		clen = size - (third - data);
	char	   *whole = exact_copy(data, size);
	char	   *a = exact_copy(data, alen);
	char	   *b = exact_copy(rest, blen);
	char	   *c = exact_copy(third, clen);

	check_syntax(whole, size);
	check_syntax(a, alen);
	check_syntax(b, blen);
	check_pair(a, alen, b, blen);
	check_pair(whole, size, a, alen);
	check_triple(a, alen, b, blen, c, clen);
	check_triple(b, blen, a, alen, c, clen);
	check_triple(c, clen, b, blen, a, alen);

	free(whole);
	free(a);
	free(b);
	free(c);
	return 0;
}
