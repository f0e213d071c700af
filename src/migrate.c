/*-------------------------------------------------------------------------
 *
 * migrate.c
 *	  Module entry point of the migrate extension.
 *
 * migrate keeps a database's schema migrations inside the database.  One
 * call of migrate.run() (or CALL migrate.deploy()) goes down through the
 * modules, each calling only those below it:
 *
 *	sql_api.c		the SQL-callable functions: arguments and results
 *	deploy.c		CALL migrate.deploy(): one transaction per migration
 *	(deploy_worker.c: the deploy in a background worker)
 *	change.c		the life of every call that changes the catalog:
 *					checks, SPI, memory, the lock, the generation
 *	registration.c	the rules of registering and unregistering
 *	plan.c			what to apply, revert or baseline, in which order
 *	adopt.c			adopt(): another tool's history marks migrations
 *					applied
 *	lint.c			lint(): the hazards of pending migrations, from the
 *					parse tree and the live catalog
 *	locks.c			locks(): the locks they take, measured in a dry run
 *	runner.c		running a plan: each script, statement by statement,
 *					as its registrant, with its bookkeeping
 *	toplevel.c		a statement executed at top level, as psql would
 *	catalog.c		the only code that reads and writes migrate's tables
 *	(catalog_due.c, catalog_report.c)
 *
 * and beside them, called from several of the above:
 *
 *	migration.c		what a migration is: its name in messages, its
 *					requirements, who may act as its registrant
 *	script.c		reading scripts with the server's lexer and parser;
 *					checksums
 *	lock.c			the migration lock
 *	guard.c			what keeps migrations away from migrate's own objects
 *	version.c		the version type (natural ordering: version_order.c)
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"

#include "catalog.h"
#include "change.h"
#include "guard.h"
#include "lint.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/*
 * _PG_init
 *		Runs when the library is loaded, at the first call of one of its
 *		functions in a backend (or at server start, if preloaded): binds the
 *		message domain, registers the callbacks that end per-transaction
 *		state and keep cached OIDs fresh, and installs the utility hook of
 *		guard.c.
 */
void
_PG_init(void)
{
	pg_bindtextdomain(TEXTDOMAIN);
	migrate_change_init();
	migrate_catalog_init();
	migrate_guard_init();
	migrate_lint_init();
}
