/*-------------------------------------------------------------------------
 *
 * version.h
 *	  The migrate.version type, as other modules use it.
 *
 * A version Datum is a varlena holding the text exactly as written, like a
 * text Datum, so DatumGetTextPP and the VARDATA_ANY macros read it.  The
 * natural ordering itself lives in version_order.h.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIGRATE_VERSION_H
#define MIGRATE_VERSION_H

#include "migrate.h"
#include "version_order.h"

extern void migrate_version_validate(const char *str, size_t len);
extern bool migrate_version_is_valid(const char *str, size_t len);
extern Datum migrate_version_datum(const char *str, size_t len);
extern int	migrate_version_compare_text(const text *a, const text *b);
extern int	migrate_version_compare_datum(Datum a, Datum b);

#endif							/* MIGRATE_VERSION_H */
