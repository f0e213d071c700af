/*-------------------------------------------------------------------------
 *
 * deploy_worker.h
 *	  CALL migrate.deploy(wait => false): the deploy in a background worker.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIGRATE_DEPLOY_WORKER_H
#define MIGRATE_DEPLOY_WORKER_H

#include "deploy.h"

extern int64 migrate_deploy_launch(const DeployOptions *options);
extern void migrate_deploy_worker_begun(int64 run_id);

#endif							/* MIGRATE_DEPLOY_WORKER_H */
