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

/* How a deploy's attempt at a migration treats a lock failure. */
typedef enum ApplyMode
{
	APPLY_ONCE,					/* run(): it aborts the caller's transaction */
	APPLY_LAST_TRY,				/* the migration's failure */
	APPLY_MAY_RETRY				/* a retry event; the caller tries again */
} ApplyMode;

/* A run of a plan, and one non-transactional migration of a deploy. */
typedef struct RunState RunState;

/* Called around each statement: migration i of the plan, statement k. */
typedef void (*RunObserver) (void *arg, int i, int k,
							 const ScriptStatement *st, bool after);
typedef struct RunStatements RunStatements;

extern List *migrate_runner_run(List *plan, bool revert, bool atomic,
								bool dry_run, int64 *run_id);

/* A deploy's run: one migration at a time, committed by deploy.c. */
extern RunState *migrate_runner_begin(List *plan, bool revert, int64 run_id,
									  const char *lock_timeout);
extern void migrate_runner_before_statement(RunState *rs,
											void (*fn) (void *arg),
											void *arg);
extern void migrate_runner_observe(RunState *rs, RunObserver fn, void *arg);
extern ErrorData *migrate_runner_dry_run(RunState *rs);
extern int	migrate_runner_count(const RunState *rs);
extern const Migration *migrate_runner_migration(const RunState *rs, int i);
extern List *migrate_runner_results(const RunState *rs);
extern void migrate_runner_started(RunState *rs, int i);
extern ErrorData *migrate_runner_apply(RunState *rs, int i, ApplyMode mode,
									   bool *retrying);
extern bool migrate_runner_error_is_lock_failure(const ErrorData *edata);

extern RunStatements *migrate_runner_statements_begin(RunState *rs, int i);
extern int	migrate_runner_statements_count(const RunStatements *st);
extern void migrate_runner_statement(RunStatements *st, int k);
extern void migrate_runner_statements_verify(RunStatements *st);
extern void migrate_runner_statements_end(RunStatements *st, bool ok);
extern bool migrate_runner_statements_failed(RunStatements *st, int k,
											 ErrorData *edata);
extern void migrate_runner_statements_retry(RunStatements *st, int k,
											ErrorData *edata);
extern int	migrate_runner_baseline(List *plan, int64 run_id);
extern void migrate_runner_resolve(const Migration *m, const char *state,
								   const char *reason, int64 run_id);

#endif							/* MIGRATE_RUNNER_H */
