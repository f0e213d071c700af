/*-------------------------------------------------------------------------
 *
 * deploy.h
 *	  CALL migrate.deploy(): the plan of run(), one transaction per
 *	  migration, with durable progress.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIGRATE_DEPLOY_H
#define MIGRATE_DEPLOY_H

#include "migrate.h"

/* What a deploy is asked to do: migrate.deploy()'s arguments. */
typedef struct DeployOptions
{
	const char *procedure;		/* its name, for messages */
	bool		revert;			/* deploy_rollback*: revert, not apply */
	int			steps;			/* with revert: how many, at most */
	const char *target;			/* NULL: everything; with revert, the version
								 * to revert down to */
	const char *project;		/* NULL: every project */
	const char *lock_timeout;	/* a value for the setting, "0" for none */
	int			retries;
	bool		out_of_order;
	bool		wait;
} DeployOptions;

extern bool migrate_deploy_cancel(int64 run_id);
extern void migrate_deploy_run(const DeployOptions *options, bool atomic,
							   int64 *run_id, int *applied);

#endif							/* MIGRATE_DEPLOY_H */
