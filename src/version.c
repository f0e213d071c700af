/*-------------------------------------------------------------------------
 *
 * version.c
 *	  The migrate.version type: input, output and natural ordering.
 *
 * A version is stored as a varlena holding the text exactly as written,
 * the same representation as text: the cast to text is binary-coercible
 * and output shows what the user wrote.  Every function here therefore
 * accepts short-header ("packed") values and reads them in place through
 * VARDATA_ANY, without copying.
 *
 * Every way into the type (input, binary receive, the implicit cast from
 * text) validates the text, so the comparison code may assume valid
 * versions; it stays memory-safe on anything else.  The ordering and the
 * canonical form are in version_order.c, which has no server calls.
 *
 * Versions that compare equal ("1.0", "1.00", "1-0") are one value for
 * hashing: the hash functions hash the canonical form.  Hash indexes and
 * hash partitioning store those hashes, so the canonical form must never
 * change once released.
 *
 * Nothing here does catalog access or keeps state; the functions are
 * immutable and only throw for invalid input (and out of memory).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "fmgr.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"

#include "version.h"

PG_FUNCTION_INFO_V1(migrate_version_in);
PG_FUNCTION_INFO_V1(migrate_version_out);
PG_FUNCTION_INFO_V1(migrate_version_recv);
PG_FUNCTION_INFO_V1(migrate_version_send);
PG_FUNCTION_INFO_V1(migrate_version_from_text);
PG_FUNCTION_INFO_V1(migrate_version_cmp);
PG_FUNCTION_INFO_V1(migrate_version_lt);
PG_FUNCTION_INFO_V1(migrate_version_le);
PG_FUNCTION_INFO_V1(migrate_version_eq);
PG_FUNCTION_INFO_V1(migrate_version_ne);
PG_FUNCTION_INFO_V1(migrate_version_ge);
PG_FUNCTION_INFO_V1(migrate_version_gt);
PG_FUNCTION_INFO_V1(migrate_version_hash);
PG_FUNCTION_INFO_V1(migrate_version_hash_extended);

/*
 * Adds the errdetail saying which rule of the syntax a version breaks.
 */
static int
errdetail_version_syntax(MigrateVersionSyntax syntax)
{
	switch (syntax)
	{
		case MIGRATE_VERSION_OK:
			break;
		case MIGRATE_VERSION_EMPTY:
			return errdetail("A version cannot be empty.");
		case MIGRATE_VERSION_TOO_LONG:
			return errdetail("A version is at most %d characters long.",
							 MIGRATE_VERSION_MAX_LEN);
		case MIGRATE_VERSION_BAD_CHAR:
			return errdetail("A version may contain only letters, digits, \".\", \"-\" and \"_\".");
		case MIGRATE_VERSION_BAD_FIRST:
			return errdetail("A version must start with a letter or a digit.");
		case MIGRATE_VERSION_BAD_LAST:
			return errdetail("A version must end with a letter or a digit.");
	}
	return 0;
}

/*
 * migrate_version_validate
 *
 * Throws 22P02 (invalid_text_representation) unless str[0..len) is a valid
 * version; the detail names the rule broken.  str need not be
 * NUL-terminated.
 */
void
migrate_version_validate(const char *str, size_t len)
{
	MigrateVersionSyntax syntax = migrate_version_check_syntax(str, len, NULL);

	if (syntax != MIGRATE_VERSION_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type %s: \"%s\"",
						"migrate.version", pnstrdup(str, len)),
				 errdetail_version_syntax(syntax)));
}

/*
 * migrate_version_is_valid
 *
 * Whether str[0..len) is a valid version.  Never throws.
 */
bool
migrate_version_is_valid(const char *str, size_t len)
{
	return migrate_version_check_syntax(str, len, NULL) == MIGRATE_VERSION_OK;
}

/*
 * migrate_version_datum
 *
 * Validates str[0..len) (throwing like migrate_version_validate) and
 * returns it as a version Datum, palloc'd in the current memory context.
 */
Datum
migrate_version_datum(const char *str, size_t len)
{
	migrate_version_validate(str, len);
	return PointerGetDatum(cstring_to_text_with_len(str, len));
}

/*
 * migrate_version_compare_text
 *
 * Natural comparison of two versions given as detoasted varlenas (short
 * headers are fine): -1, 0 or 1.  Never throws.
 */
int
migrate_version_compare_text(const text *a, const text *b)
{
	return migrate_version_compare(VARDATA_ANY(a), VARSIZE_ANY_EXHDR(a),
								   VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b));
}

/*
 * migrate_version_compare_datum
 *
 * Natural comparison of two version (or text) Datums, which may be
 * toasted: -1, 0 or 1.  Detoasted copies are freed before returning.
 */
int
migrate_version_compare_datum(Datum a, Datum b)
{
	text	   *ta = DatumGetTextPP(a);
	text	   *tb = DatumGetTextPP(b);
	int			result;

	result = migrate_version_compare_text(ta, tb);

	if ((Pointer) ta != DatumGetPointer(a))
		pfree(ta);
	if ((Pointer) tb != DatumGetPointer(b))
		pfree(tb);
	return result;
}

/*
 * Input and output.
 */
Datum
migrate_version_in(PG_FUNCTION_ARGS)
{
	char	   *str = PG_GETARG_CSTRING(0);

	PG_RETURN_DATUM(migrate_version_datum(str, strlen(str)));
}

Datum
migrate_version_out(PG_FUNCTION_ARGS)
{
	PG_RETURN_CSTRING(TextDatumGetCString(PG_GETARG_DATUM(0)));
}

/*
 * Binary input is the text in the client encoding, as for text; it is
 * validated like any other input.
 */
Datum
migrate_version_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	char	   *str;
	int			nbytes;
	Datum		result;

	str = pq_getmsgtext(buf, buf->len - buf->cursor, &nbytes);
	result = migrate_version_datum(str, nbytes);
	pfree(str);
	PG_RETURN_DATUM(result);
}

Datum
migrate_version_send(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendtext(&buf, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/*
 * The implicit cast from text.  The representation is the same, so a valid
 * text is returned as it is.
 */
Datum
migrate_version_from_text(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);

	migrate_version_validate(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
	PG_RETURN_TEXT_P(t);
}

/*
 * Compares the two version arguments of a comparison function, freeing any
 * detoasted copies (these functions run inside sorts and index scans).
 */
static int
compare_args(FunctionCallInfo fcinfo)
{
	text	   *a = PG_GETARG_TEXT_PP(0);
	text	   *b = PG_GETARG_TEXT_PP(1);
	int			result;

	result = migrate_version_compare_text(a, b);

	PG_FREE_IF_COPY(a, 0);
	PG_FREE_IF_COPY(b, 1);
	return result;
}

Datum
migrate_version_cmp(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(compare_args(fcinfo));
}

Datum
migrate_version_lt(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(compare_args(fcinfo) < 0);
}

Datum
migrate_version_le(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(compare_args(fcinfo) <= 0);
}

Datum
migrate_version_eq(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(compare_args(fcinfo) == 0);
}

Datum
migrate_version_ne(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(compare_args(fcinfo) != 0);
}

Datum
migrate_version_ge(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(compare_args(fcinfo) >= 0);
}

Datum
migrate_version_gt(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(compare_args(fcinfo) > 0);
}

/*
 * Hashing.  Equal versions have the same canonical form, hence the same
 * hash.  Stored values are at most MIGRATE_VERSION_MAX_LEN bytes and the
 * canonical form is never longer than its input, so the stack buffer is
 * enough; anything longer cannot have been validated, but is hashed all
 * the same rather than overrun the buffer.
 */
static Datum
hash_version(text *t, bool extended, uint64 seed)
{
	char		stackbuf[MIGRATE_VERSION_MAX_LEN];
	char	   *canon = stackbuf;
	size_t		len = VARSIZE_ANY_EXHDR(t);
	size_t		n;
	Datum		result;

	if (len > sizeof(stackbuf))
		canon = palloc(len);

	n = migrate_version_canonical(VARDATA_ANY(t), len, canon);
	if (extended)
		result = hash_any_extended((unsigned char *) canon, n, seed);
	else
		result = hash_any((unsigned char *) canon, n);

	if (canon != stackbuf)
		pfree(canon);
	return result;
}

Datum
migrate_version_hash(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	Datum		result;

	result = hash_version(t, false, 0);
	PG_FREE_IF_COPY(t, 0);
	return result;
}

Datum
migrate_version_hash_extended(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	Datum		result;

	result = hash_version(t, true, (uint64) PG_GETARG_INT64(1));
	PG_FREE_IF_COPY(t, 0);
	return result;
}
