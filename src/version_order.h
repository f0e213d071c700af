/*-------------------------------------------------------------------------
 *
 * version_order.h
 *	  Syntax and natural ordering of migration versions, in plain C.
 *
 * Nothing here includes postgres.h or calls into the server, so the code
 * can be linked into a standalone test program or fuzzer.  See version.c
 * for the SQL type built on top.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIGRATE_VERSION_ORDER_H
#define MIGRATE_VERSION_ORDER_H

#include <stdbool.h>
#include <stddef.h>

/* Longest valid version, in bytes (all valid characters are ASCII). */
#define MIGRATE_VERSION_MAX_LEN 255

/* Result of migrate_version_check_syntax */
typedef enum MigrateVersionSyntax
{
	MIGRATE_VERSION_OK = 0,
	MIGRATE_VERSION_EMPTY,		/* no characters at all */
	MIGRATE_VERSION_TOO_LONG,	/* more than MIGRATE_VERSION_MAX_LEN bytes */
	MIGRATE_VERSION_BAD_CHAR,	/* a byte outside [0-9A-Za-z._-] */
	MIGRATE_VERSION_BAD_FIRST,	/* starts with a separator */
	MIGRATE_VERSION_BAD_LAST	/* ends with a separator */
} MigrateVersionSyntax;

extern MigrateVersionSyntax migrate_version_check_syntax(const char *s,
														 size_t len,
														 size_t *offset);
extern int	migrate_version_compare(const char *a, size_t alen,
									const char *b, size_t blen);
extern size_t migrate_version_canonical(const char *s, size_t len,
										char *out);

#endif							/* MIGRATE_VERSION_ORDER_H */
