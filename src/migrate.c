/*-------------------------------------------------------------------------
 *
 * migrate.c
 *	  Module entry point of the migrate extension.
 *
 * migrate keeps a database's schema migrations inside the database:
 * migrations are registered as SQL text (sql_api.c), checked with the
 * server's parser (script.c), ordered (plan.c) and run statement by
 * statement in the caller's transaction (runner.c), under one advisory
 * lock (lock.c), with their state and history in the catalog tables of
 * schema migrate (catalog.c).  The version type is in version.c.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"

#include "catalog.h"
#include "guard.h"
#include "runner.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/*
 * _PG_init
 *		Runs when the library is loaded, at the first call of one of its
 *		functions in a backend: registers the transaction callbacks that
 *		reset per-transaction state, and the utility hook of guard.c.
 */
void
_PG_init(void)
{
	migrate_catalog_init();
	migrate_runner_init();
	migrate_guard_init();
}
