/*-------------------------------------------------------------------------
 *
 * deploy.c
 *	  CALL migrate.deploy() (and deploy_rollback*): the plan of run() (or
 *	  of rollback*), one transaction per migration, with durable progress,
 *	  retries, and migrate.cancel().
 *
 * deploy is a procedure, so that it can commit: it connects to SPI in
 * non-atomic mode and commits with SPI_commit, as PL/pgSQL's COMMIT does.
 * A top-level CALL outside a transaction block gives it that right;
 * inside a block (or called from a procedure or a DO block, whose own SPI
 * connection a top-level statement's commits would end) it refuses with
 * 25001.  Its life:
 *
 *	1. commit the caller's (empty) transaction, letting go of the CALL's
 *	   snapshot, so that no snapshot of ours ever holds back a concurrent
 *	   index build, ours or anyone's;
 *	2. take the deploy's session locks (lock.c, through the change
 *	   protocol, change.c): another deploy makes it fail at once with
 *	   55P03; a run() in progress is waited for; then a run id;
 *	3. make run()'s plan (plan.c), and check every registrant (runner.c);
 *	4. commit a "started" event and the state running for the first
 *	   migration, then for each migration:
 *	   - a transactional one runs in a subtransaction of its own
 *		 transaction (runner.c), which records it ok, or rolls it back and
 *		 records it failed;
 *	   - a non-transactional one runs statement by statement at top level
 *		 (toplevel.c), SPI disconnected meanwhile, each statement followed
 *		 in its last transaction by the count of statements done, committed
 *		 with it; then it is recorded ok;
 *	   and the next migration's "started" event joins that transaction, so
 *	   one commit per migration publishes its result and the next one's
 *	   start (change.c's step 5 runs before each commit);
 *	5. on a lock it could not get in time, or a deadlock: record a
 *	   "retry" event, commit, pause and try again (the migration, or for a
 *	   non-transactional one the statement), up to the retries asked for;
 *	   on a failure that is the migration's own: commit the failure, then
 *	   throw it; on anything else (cancel, termination, a crash, and
 *	   migrate.cancel, which a deploy looks for between migrations, before
 *	   each statement and while it pauses, and answers with 57014):
 *	   nothing more is written, and the migration stays "running" with the
 *	   statements it completed.  status() shows it interrupted as soon as
 *	   the run lock is gone, and the next deploy (or run(), for a
 *	   transactional one) applies it, from its first statement not done;
 *	6. release the session locks, on every exit (the backend's end
 *	   releases them too).
 *
 * With wait => false, step 1 is all the caller's backend does: a background
 * worker (deploy_worker.c) runs the same CALL at top level, and the caller
 * returns once the worker's deploy is past step 3.
 *
 * Memory: everything that lives across commits is in a context of the
 * deploy's own, deleted at its end.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "common/pg_prng.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "storage/latch.h"
#include "utils/acl.h"
#include "utils/memutils.h"
#include "utils/portal.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "catalog.h"
#include "change.h"
#include "deploy.h"
#include "deploy_worker.h"
#include "lint.h"
#include "lock.h"
#include "plan.h"
#include "runner.h"

/* One deploy, from start to end. */
typedef struct Deploy
{
	const DeployOptions *options;
	MemoryContext context;		/* lives across commits */
	RunState   *run;
	Oid			userid;			/* the caller's, and its security context */
	int			sec_context;
	int64		run_id;
	int			applied;
} Deploy;

static void deploy_plan(Deploy *d);
static void deploy_statements(Deploy *d, int i);
static void deploy_step_retrying(Deploy *d, const Migration *m,
								 RunStatements *st, int k);
static ErrorData *deploy_step(Deploy *d, const Migration *m,
							  RunStatements *st, int k, bool verify);
static void back_off(Deploy *d, const Migration *m, int attempt,
					 const ErrorData *edata);
static bool cancelled(Deploy *d);
static void stop_if_cancelled(void *arg);
static void wake_deploy(XactEvent event, void *arg);
static void connect_spi(Deploy *d);
static void disconnect_spi(Deploy *d);
static void commit(Deploy *d);
static void abort_transaction(Deploy *d);
static void connect_spi_caller(void);

/* The deploy a migrate.cancel() of this transaction asked to stop. */
static int64 wake_at_commit = 0;
static bool wake_registered = false;

/*
 * migrate_deploy_run
 *		Deploys as options say; sets *run_id and *applied (-1 if unknown: a
 *		deploy left to a background worker).  atomic says whether the CALL
 *		may not commit (it is inside a transaction block).
 */
void
migrate_deploy_run(const DeployOptions *options, bool atomic, int64 *run_id,
				   int *applied)
{
	MemoryContext caller = CurrentMemoryContext;
	Deploy		d = {0};

	if (atomic || SPI_inside_nonatomic_context())
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 errmsg("%s cannot run inside a transaction block",
						options->procedure),
				 errdetail("%s commits after each migration.",
						   options->procedure),
				 errhint("Call it as a statement of its own, outside BEGIN and COMMIT, and not from a function, a procedure or a DO block.")));
	migrate_change_check(options->procedure);

	if (!options->wait)
	{
		/* the caller's transaction, committed as in the foreground */
		connect_spi_caller();
		*run_id = migrate_deploy_launch(options);
		*applied = -1;
		return;
	}

	d.options = options;
	GetUserIdAndSecContext(&d.userid, &d.sec_context);
	d.context = AllocSetContextCreate(TopMemoryContext, "migrate deploy",
									  ALLOCSET_DEFAULT_SIZES);
	PG_TRY();
	{
		connect_spi(&d);
		/* the caller's transaction: nothing of ours to publish */
		SPI_commit();
		MemoryContextSwitchTo(d.context);
		d.run_id = migrate_change_begin_deploy(options->procedure);
		deploy_plan(&d);
		disconnect_spi(&d);
	}
	PG_FINALLY();
	{
		/* an error is copied into ErrorContext: the deploy's memory can go */
		migrate_change_end_deploy();
		MemoryContextSwitchTo(caller);
		MemoryContextDelete(d.context);
	}
	PG_END_TRY();

	*run_id = d.run_id;
	*applied = d.applied;
}

/* Steps 3 to 5: the plan, and each migration in a transaction. */
static void
deploy_plan(Deploy *d)
{
	const DeployOptions *o = d->options;
	List	   *plan;
	int			n;
	int			i;

	if (o->target &&
		migrate_catalog_get(o->project, o->target, NULL) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("target migration %s is not registered",
						migrate_migration_name(o->project, o->target, NULL))));
	if (o->revert)
		plan = migrate_plan_revert(o->project, o->steps, o->target);
	else
	{
		plan = migrate_plan_apply(o->project, o->target, o->out_of_order);
		migrate_lint_plan(plan);
	}
	d->run = migrate_runner_begin(plan, o->revert, d->run_id,
								  o->lock_timeout);
	migrate_runner_before_statement(d->run, stop_if_cancelled, d);
	migrate_catalog_forget_cancels();
	migrate_deploy_worker_begun(d->run_id);
	n = migrate_runner_count(d->run);
	if (n == 0)
		return;

	migrate_runner_started(d->run, 0);
	commit(d);
	for (i = 0; i < n; i++)
	{
		const Migration *m = migrate_runner_migration(d->run, i);
		int			attempt;

		if (m->transactional)
		{
			for (attempt = 0;; attempt++)
			{
				bool		retrying;
				ErrorData  *edata;

				edata = migrate_runner_apply(d->run, i,
											 attempt < o->retries ?
											 APPLY_MAY_RETRY : APPLY_LAST_TRY,
											 &retrying);

				if (edata == NULL)
					break;
				commit(d);
				if (!retrying)
					ReThrowError(edata);
				back_off(d, m, attempt, edata);
			}
		}
		else
			deploy_statements(d, i);
		d->applied++;
		if (i + 1 < n)
		{
			/* asked to stop: the next one does not start */
			if (cancelled(d))
			{
				commit(d);
				stop_if_cancelled(d);
			}
			migrate_runner_started(d->run, i + 1);
		}
		commit(d);
	}
}

/*
 * migrate_deploy_cancel
 *		migrate.cancel(run_id): asks deploy run_id to stop, and returns
 *		true; false if no such deploy runs.  The request is a row of
 *		migrate.cancel_request, which the deploy sees once the caller
 *		commits; the commit also wakes the deploy if it pauses before a
 *		retry.  Allowed to the role that started the deploy, its members
 *		and superusers (42501 for others).
 */
bool
migrate_deploy_cancel(int64 run_id)
{
	char	   *role;
	Oid			roleid;

	migrate_change_check("migrate.cancel()");
	if (!migrate_lock_run_alive(run_id))
		return false;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	role = migrate_catalog_run_role(run_id);
	roleid = role ? get_role_oid(role, true) : migrate_lock_run_role(run_id);
	if (!superuser() &&
		!(OidIsValid(roleid) && has_privs_of_role(GetUserId(), roleid)))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to cancel deploy run %lld",
						(long long) run_id),
				 errdetail("Only the role that started a deploy, a member of that role or a superuser can cancel it.")));
	migrate_catalog_request_cancel(run_id,
								   GetUserNameFromId(GetUserId(), false));
	if (SPI_finish() != SPI_OK_FINISH)
		elog(ERROR, "SPI_finish failed");

	if (!wake_registered)
	{
		RegisterXactCallback(wake_deploy, NULL);
		wake_registered = true;
	}
	wake_at_commit = run_id;
	return true;
}

/*
 * At the commit of a migrate.cancel() call, the deploy it asked to stop
 * is woken (a deploy that pauses before a retry waits on its latch).
 */
static void
wake_deploy(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_COMMIT && wake_at_commit != 0)
		migrate_lock_wake_run(wake_at_commit);
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT)
		wake_at_commit = 0;
}

/*
 * Whether someone asked this deploy to stop (migrate.cancel), as
 * committed.
 */
static bool
cancelled(Deploy *d)
{
	return migrate_catalog_cancel_requested(d->run_id) != NULL;
}

/*
 * stop_if_cancelled
 *		Stops the deploy if someone asked it to (migrate.cancel): throws
 *		57014.  Called between migrations, before each statement of a
 *		migration (through the runner, for a transactional one) and while
 *		pausing before a retry; what it stops is rolled back and left as
 *		the next deploy resumes it.
 */
static void
stop_if_cancelled(void *arg)
{
	Deploy	   *d = (Deploy *) arg;
	char	   *role = migrate_catalog_cancel_requested(d->run_id);

	if (role != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_QUERY_CANCELED),
				 errmsg("deploy run %lld was cancelled by role \"%s\"",
						(long long) d->run_id, role),
				 errhint("The next deploy applies what it left, and resumes a migration it left unfinished.")));
}

/*
 * deploy_statements
 *		Non-transactional migration i: each statement not done yet at top
 *		level, each committed with the count of statements done, then its
 *		verify script; returns with the migration recorded applied in the
 *		current transaction.
 */
static void
deploy_statements(Deploy *d, int i)
{
	const Migration *m = migrate_runner_migration(d->run, i);
	RunStatements *st = migrate_runner_statements_begin(d->run, i);
	int			n = migrate_runner_statements_count(st);

	PG_TRY();
	{
		int			k;

		/* each statement not done yet, then the verify script */
		for (k = m->statements_done; k <= n; k++)
			deploy_step_retrying(d, m, st, k);
		migrate_runner_statements_end(st, true);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		/*
		 * Every way out, a cancel included: the settings the migration's
		 * committed statements changed are put back, and committed, before
		 * the error goes on (the caller's abort would undo a change made in
		 * its transaction).
		 */
		MemoryContextSwitchTo(d->context);
		edata = CopyErrorData();
		FlushErrorState();
		abort_transaction(d);
		migrate_runner_statements_end(st, false);
		commit(d);
		ReThrowError(edata);
	}
	PG_END_TRY();
}

/*
 * deploy_step_retrying
 *		Step k of non-transactional migration m (st): its statement k (from
 *		0), or with k its number of statements, its verify script.  Runs
 *		it, and after a lock failure runs it again, up to the deploy's
 *		retries.  A failure that is the migration's is recorded (the k steps
 *		before stay done: the next deploy resumes at this one) and
 *		committed, then thrown.
 */
static void
deploy_step_retrying(Deploy *d, const Migration *m, RunStatements *st, int k)
{
	bool		verify = k == migrate_runner_statements_count(st);
	int			attempt;

	for (attempt = 0;; attempt++)
	{
		ErrorData  *edata;

		stop_if_cancelled(d);
		edata = deploy_step(d, m, st, k, verify);

		if (edata == NULL)
			return;
		if (attempt < d->options->retries &&
			migrate_runner_error_is_lock_failure(edata))
		{
			/* this step again, after a pause */
			migrate_runner_statements_retry(st, k, edata);
			commit(d);
			back_off(d, m, attempt, edata);
			continue;
		}
		if (migrate_runner_statements_failed(st, k, edata))
			commit(d);
		ReThrowError(edata);
	}
}

/*
 * deploy_step
 *		Step k of non-transactional migration m (st): statement k at top
 *		level, then the count of statements done, committed; or the verify
 *		script, in the transaction that will record the migration applied.
 *		Returns NULL, or the error, with what was left of the step's
 *		transaction rolled back and a new transaction begun.
 */
static ErrorData *
deploy_step(Deploy *d, const Migration *m, RunStatements *st, int k,
			bool verify)
{
	ErrorData  *volatile edata = NULL;

	if (!verify)
		disconnect_spi(d);
	PG_TRY();
	{
		if (verify)
			migrate_runner_statements_verify(st);
		else
		{
			migrate_runner_statement(st, k);
			connect_spi(d);
			migrate_catalog_set_statements_done(m, k + 1);
			commit(d);			/* which lets go of SPI's snapshot too */
		}
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(d->context);
		edata = CopyErrorData();
		FlushErrorState();
	}
	PG_END_TRY();

	if (edata)
		abort_transaction(d);
	return edata;
}

/*
 * back_off
 *		Waits before retry attempt + 1 of migration m, which failed to get
 *		a lock (edata): a random time between half and all of 100 ms
 *		doubled attempt times, at most 30 s, announced by a NOTICE.
 *		Cancel, termination and migrate.cancel interrupt the wait.
 */
static void
back_off(Deploy *d, const Migration *m, int attempt, const ErrorData *edata)
{
	int			retries = d->options->retries;
	long		cap = 100L << Min(attempt, 9);
	long		ms;
	TimestampTz until;

	cap = Min(cap, 30000L);
	ms = cap / 2 + (long) (pg_prng_double(&pg_global_prng_state) * (cap / 2));
	ereport(NOTICE,
			(errmsg("retrying migration %s in %ld ms (retry %d of %d)",
					migrate_migration_describe(m), ms, attempt + 1, retries),
			 errdetail_internal("%s", edata->message)));

	until = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), ms);
	for (;;)
	{
		long		left = TimestampDifferenceMilliseconds(GetCurrentTimestamp(),
														   until);

		CHECK_FOR_INTERRUPTS();
		stop_if_cancelled(d);
		if (left <= 0)
			break;
		/* migrate.cancel sets the latch */
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 left, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

/*
 * Rolls back what is left of a statement that failed at top level, and
 * starts a new transaction, connected to SPI, as the deploy's caller.
 *
 * The statement may have committed and started transactions of its own
 * (CREATE INDEX CONCURRENTLY does) while it ran as its migration's
 * registrant, in a security-restricted operation; the abort of such a
 * transaction restores the user it started with, the registrant, so the
 * caller's user is restored after it, before the next transaction starts
 * (which records the current user as the one its own abort restores).
 * The abort also ended any SPI connection made in the transaction.
 */
static void
abort_transaction(Deploy *d)
{
	AbortCurrentTransaction();
	/* before the next transaction records it as the user to restore */
	SetUserIdAndSecContext(d->userid, d->sec_context);
	StartTransactionCommand();
	connect_spi(d);
}

/*
 * Commits the caller's transaction, through a non-atomic SPI connection
 * of its own, and starts a new one.
 */
static void
connect_spi_caller(void)
{
	MemoryContext oldcontext = CurrentMemoryContext;

	if (SPI_connect_ext(SPI_OPT_NONATOMIC) != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	SPI_commit();
	if (SPI_finish() != SPI_OK_FINISH)
		elog(ERROR, "SPI_finish failed");
	MemoryContextSwitchTo(oldcontext);
}

/* Connects to SPI, non-atomic, and returns to the deploy's context. */
static void
connect_spi(Deploy *d)
{
	if (SPI_connect_ext(SPI_OPT_NONATOMIC) != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	MemoryContextSwitchTo(d->context);
}

/*
 * Disconnects from SPI, before a statement at top level, and lets go of
 * the snapshot SPI left active for the CALL's portal (a procedure's SPI
 * keeps it until the next commit): a statement such as CREATE INDEX
 * CONCURRENTLY must start without one.
 */
static void
disconnect_spi(Deploy *d)
{
	if (SPI_finish() != SPI_OK_FINISH)
		elog(ERROR, "SPI_finish failed");
	ForgetPortalSnapshots();
	MemoryContextSwitchTo(d->context);
}

/*
 * Commits the current transaction, with the generation (change.c's step
 * 5), and starts the next one.
 */
static void
commit(Deploy *d)
{
	migrate_change_publish(CHANGE_WRITTEN);
	SPI_commit();
	MemoryContextSwitchTo(d->context);
}
