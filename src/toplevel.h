/*-------------------------------------------------------------------------
 *
 * toplevel.h
 *	  Executing one statement at top level, as psql's simple query would.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIGRATE_TOPLEVEL_H
#define MIGRATE_TOPLEVEL_H

#include "migrate.h"

extern void migrate_toplevel_execute(const char *sql);
extern bool migrate_toplevel_waits_for_others(const char *sql);
extern char *migrate_toplevel_invalid_index(const char *sql);

#endif							/* MIGRATE_TOPLEVEL_H */
