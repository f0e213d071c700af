/*-------------------------------------------------------------------------
 *
 * runner.h
 *	  Running a plan: each migration's script, statement by statement, with
 *	  its bookkeeping.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIGRATE_RUNNER_H
#define MIGRATE_RUNNER_H

#include "catalog.h"
#include "script.h"

/* What happened to one migration of a run: a row of run()'s result. */
typedef struct RunResult
{
	const Migration *migration;
	const char *action;			/* "up", "down" or "repeat" */
	bool		ok;
	double		duration_ms;
	char	   *message;		/* the error message, when !ok */
} RunResult;

extern List *migrate_runner_run(List *plan, bool revert, bool atomic,
								bool dry_run, int64 *run_id);
extern int	migrate_runner_baseline(List *plan, int64 run_id);

#endif							/* MIGRATE_RUNNER_H */
