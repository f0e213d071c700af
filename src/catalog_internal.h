/*-------------------------------------------------------------------------
 *
 * catalog_internal.h
 *	  The catalog module's one SPI executor, for catalog*.c only.
 *
 * A query on the catalog is prepared once per backend and kept, with its
 * arguments described by a CatalogArgs that the caller fills with the
 * arg_* functions below, in the order of $1, $2, ...: the same calls give
 * the plan its parameter types and the execution its values.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIGRATE_CATALOG_INTERNAL_H
#define MIGRATE_CATALOG_INTERNAL_H

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "tcop/dest.h"
#include "utils/builtins.h"

#include "catalog.h"

#define CATALOG_MAX_ARGS 24

/* The arguments of one catalog query: $1 .. $n. */
typedef struct CatalogArgs
{
	int			n;
	Oid			types[CATALOG_MAX_ARGS];
	Datum		values[CATALOG_MAX_ARGS];
	bool		nulls[CATALOG_MAX_ARGS];
} CatalogArgs;

/* Flags of migrate_catalog_exec. */
#define CATALOG_READ_ONLY	0x01	/* a reader: no fresh snapshot, no CCI */
#define CATALOG_INDEX_ORDER	0x02	/* plan with enable_sort off */

extern SPIPlanPtr migrate_catalog_prepare(SPIPlanPtr *cache, const char *sql,
										  const CatalogArgs *args);
extern int	migrate_catalog_exec(SPIPlanPtr plan, const CatalogArgs *args,
								 int flags, long tcount, DestReceiver *dest);
extern List *migrate_catalog_fetch(SPIPlanPtr plan, const CatalogArgs *args,
								   long tcount);

/* Appends $n of type typid; isnull says it is NULL (value ignored). */
static inline void
arg_datum(CatalogArgs *args, Oid typid, Datum value, bool isnull)
{
	Assert(args->n < CATALOG_MAX_ARGS);
	args->types[args->n] = typid;
	args->values[args->n] = value;
	args->nulls[args->n] = isnull;
	args->n++;
}

/* Appends a text argument; NULL for a NULL pointer. */
static inline void
arg_text(CatalogArgs *args, const char *s)
{
	arg_datum(args, TEXTOID, s ? CStringGetTextDatum(s) : (Datum) 0,
			  s == NULL);
}

static inline void
arg_int8(CatalogArgs *args, int64 value)
{
	arg_datum(args, INT8OID, Int64GetDatum(value), false);
}

#endif							/* MIGRATE_CATALOG_INTERNAL_H */
