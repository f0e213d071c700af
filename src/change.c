/*-------------------------------------------------------------------------
 *
 * change.c
 *	  The life of every call that changes the catalog.
 *
 * register*, unregister, run, rollback* and baseline change the catalog
 * in the caller's transaction, and each does it in the same steps,
 * written once here:
 *
 *	migrate_change_begin
 *		1. refuse on a standby or in a read-only transaction (25006), and
 *		   inside a migration (0A000);
 *		2. connect to SPI and switch to a memory context of the call's own;
 *		3. take the migration lock for the rest of the transaction
 *		   (lock.c), waiting or, with wait false, failing at once (55P03);
 *		4. under REPEATABLE READ or SERIALIZABLE, refuse a snapshot taken
 *		   before another caller's change committed (40001).
 *	the caller reads and writes the catalog (catalog.c), runs migrations
 *	(runner.c)
 *	migrate_change_end
 *		5. if the call changed the catalog: bump the generation (unless
 *		   this transaction already did) and set nothing_due to whether
 *		   run() is left with nothing to do (which the caller may know: see
 *		   ChangeOutcome);
 *		6. return to the caller's memory context and finish SPI.
 *
 * Invariants:
 *
 * - migrate.generation is written here only (through catalog.c), in step
 *	 5, by the holder of the migration lock.  So a snapshot that does not
 *	 see the latest generation predates a committed change, which is what
 *	 step 4 checks.
 * - nothing_due is true only if, when the last change committed,
 *	 migration_due_idx had no row that change could see; every change that
 *	 may have added one resets it in the same transaction.  run() trusts a
 *	 true nothing_due without looking further (catalog_due.c).
 * - An error between begin and end leaves nothing to undo here: the abort
 *	 of the caller's (sub)transaction releases the lock, SPI and the
 *	 memory, and rolls back whatever step 5 wrote.
 * - What step 5 last wrote is remembered with the (sub)transaction that
 *	 wrote it, and forgotten when that one is rolled back: then the next
 *	 change writes again (and bumps the generation once more, which is
 *	 harmless: only whether two snapshots see the same generation
 *	 matters).
 *
 * Two calls go through the steps differently:
 *
 * - run() without a target, which every application instance calls at
 *	 start, usually with nothing to do: migrate_change_begin_if_due waits
 *	 for a change in progress to end without keeping the lock (taking it in
 *	 share mode), and looks; only if something is due does it take the
 *	 lock (for the rest of the transaction, as always), and look again.
 * - A dry run (and any call that changes nothing) ends with CHANGE_NONE:
 *	 it leaves the generation alone, so it makes no other caller's
 *	 snapshot stale.  What a dry run did is rolled back by the runner.
 *
 * The deploy procedure (deploy.c: one transaction per migration, the lock
 * held by the session across them) goes through the same steps: step 1
 * and step 3, with the lock taken for the session, once
 * (migrate_change_begin_deploy, which fails at once if another deploy
 * runs); step 4 is moot, since it reads the catalog only in transactions
 * that begin after it holds the lock; step 5 before each of its commits
 * (migrate_change_publish: what a transaction wrote is what its commit
 * publishes); its own SPI connection, non-atomic, for step 2 and 6; and
 * migrate_change_end_deploy releases the session's locks on every exit.
 *
 * While a deploy runs, every other call fails at step 3 with 55P03 naming
 * it, instead of waiting: a transaction waiting with a snapshot would hold
 * up the deploy's concurrent index builds.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "tcop/utility.h"
#include "utils/memutils.h"

#include "catalog.h"
#include "change.h"
#include "guard.h"
#include "lock.h"

/*
 * The (sub)transaction in which this transaction last wrote
 * migrate.generation, or InvalidSubTransactionId if it has not (or that
 * subtransaction was rolled back), and the nothing_due it wrote.
 */
static SubTransactionId written_in = InvalidSubTransactionId;
static bool written_nothing_due;

static void change_xact_callback(XactEvent event, void *arg);
static void change_subxact_callback(SubXactEvent event,
									SubTransactionId mySubid,
									SubTransactionId parentSubid, void *arg);
static void connect_call(MigrateChange *call, const char *function);
static void lock_call(bool wait);
static bool anything_due(void);
static void deploy_running(int pid) pg_attribute_noreturn();

/*
 * migrate_change_init
 *		Called once from _PG_init.
 */
void
migrate_change_init(void)
{
	RegisterXactCallback(change_xact_callback, NULL);
	RegisterSubXactCallback(change_subxact_callback, NULL);
}

/* The end of a transaction forgets what it wrote. */
static void
change_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			written_in = InvalidSubTransactionId;
			break;
		default:
			break;
	}
}

static void
change_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						SubTransactionId parentSubid, void *arg)
{
	if (written_in != mySubid)
		return;
	if (event == SUBXACT_EVENT_COMMIT_SUB)
		written_in = parentSubid;
	else if (event == SUBXACT_EVENT_ABORT_SUB)
		written_in = InvalidSubTransactionId;
}

/*
 * migrate_change_check
 *		Step 1 alone: refuses to change the catalog on a standby, in a
 *		read-only transaction and inside a migration.  Cheap, so
 *		register() calls it before parsing its scripts; begin calls it
 *		again.
 */
void
migrate_change_check(const char *function)
{
	PreventCommandDuringRecovery(function);
	PreventCommandIfReadOnly(function);
	if (migrate_guard_in_migration())
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s cannot be called from inside a migration",
						function),
				 errdetail("A migration may not register, run or revert migrations.")));
}

/*
 * migrate_change_begin
 *		Steps 1 to 4.  Returns in the call's memory context, a child of
 *		SPI's procedure context whose blocks stay at most 1 MB (a run of
 *		thousands of migrations grows it steadily, and AllocSet's doubling
 *		would end in blocks of 8 MB, mostly unused).  migrate_change_end
 *		deletes it with everything the call allocated there.
 */
void
migrate_change_begin(MigrateChange *call, const char *function, bool wait)
{
	connect_call(call, function);
	lock_call(wait);
}

/*
 * migrate_change_begin_if_due
 *		migrate_change_begin for run() without a target: if run() has
 *		certainly nothing to do, ends the call and returns false; otherwise
 *		returns true, holding the lock.  The first look waits for a change
 *		in progress but takes no lock; only if it finds something due is the
 *		lock taken (and then kept, even if the second look finds nothing).
 */
bool
migrate_change_begin_if_due(MigrateChange *call, const char *function,
							bool wait)
{
	int			deploy_pid;

	connect_call(call, function);
	if (!migrate_lock_wait_for_holder(wait, &deploy_pid))
		deploy_running(deploy_pid);
	if (anything_due())
	{
		lock_call(wait);
		/* someone may have done it while we waited for the lock */
		if (anything_due())
			return true;
	}
	migrate_change_end(call, CHANGE_NONE);
	return false;
}

/*
 * migrate_change_end
 *		Steps 5 and 6.  outcome says what the call wrote: nothing (a dry
 *		run, whatever it rolled back, or an unchanged registration),
 *		something that certainly left run() work to do (a new registration,
 *		a revert), or something else, for which the due index is looked at.
 */
void
migrate_change_end(MigrateChange *call, ChangeOutcome outcome)
{
	migrate_change_publish(outcome);
	MemoryContextSwitchTo(call->caller);
	if (SPI_finish() != SPI_OK_FINISH)
		elog(ERROR, "SPI_finish failed");
}

/*
 * migrate_change_publish
 *		Step 5 alone: what end does before the caller's commit, and what
 *		the deploy procedure does before each of its own commits.
 */
void
migrate_change_publish(ChangeOutcome outcome)
{
	bool		nothing_due;

	if (outcome == CHANGE_NONE)
		return;
	nothing_due = outcome == CHANGE_DUE ? false : !migrate_catalog_due_rows();
	if (written_in == InvalidSubTransactionId ||
		written_nothing_due != nothing_due)
	{
		migrate_catalog_write_generation(written_in == InvalidSubTransactionId,
										 nothing_due);
		written_in = GetCurrentSubTransactionId();
		written_nothing_due = nothing_due;
	}
}

/*
 * migrate_change_begin_deploy
 *		Steps 1, 3 and 4 for a deploy, which is connected to SPI already
 *		and has just committed (so holds no snapshot): takes the locks of a
 *		deploy for the session (lock.c), or fails with 55P03 if another
 *		deploy runs, then takes a run id and returns it.  A deploy reads
 *		the catalog only in transactions that start after it holds the
 *		lock, so no snapshot of its own can be stale.
 *		migrate_change_end_deploy releases the locks.
 */
int64
migrate_change_begin_deploy(const char *procedure)
{
	int			deploy_pid;
	int64		run_id;

	migrate_change_check(procedure);
	if (!migrate_lock_deploy_begin(&deploy_pid))
		deploy_running(deploy_pid);
	run_id = migrate_catalog_next_run_id();
	migrate_lock_deploy_run(run_id);
	return run_id;
}

/*
 * migrate_change_end_deploy
 *		Releases the session locks of the deploy, on any exit.
 */
void
migrate_change_end_deploy(void)
{
	migrate_lock_deploy_end();
}

/* Steps 1 and 2. */
static void
connect_call(MigrateChange *call, const char *function)
{
	migrate_change_check(function);
	call->caller = CurrentMemoryContext;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	MemoryContextSwitchTo(AllocSetContextCreate(CurrentMemoryContext,
												"migrate call",
												ALLOCSET_DEFAULT_MINSIZE,
												ALLOCSET_DEFAULT_INITSIZE,
												1024 * 1024));
}

/*
 * Steps 3 and 4.  The snapshot check compares the generation this
 * transaction's snapshot sees with the latest committed one: they differ
 * only if a caller that held the lock before us committed a change after
 * our snapshot was taken.  Under READ COMMITTED every catalog query takes
 * a fresh snapshot, so there is nothing to check.
 */
static void
lock_call(bool wait)
{
	bool		nothing_due;
	int			deploy_pid;

	if (!migrate_lock_acquire(wait, &deploy_pid))
		deploy_running(deploy_pid);
	if (IsolationUsesXactSnapshot() &&
		migrate_catalog_read_generation(false, &nothing_due) !=
		migrate_catalog_read_generation(true, &nothing_due))
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("could not serialize access to the migration catalog"),
				 errdetail("Another transaction changed migrations after this transaction took its snapshot."),
				 errhint("Retry the transaction.")));
}

/*
 * Whether run() may have something to do: false if the last change left
 * nothing due, else what migration_due_idx says (catalog_due.c).
 */
static bool
anything_due(void)
{
	bool		nothing_due;

	(void) migrate_catalog_read_generation(false, &nothing_due);
	return !nothing_due && migrate_catalog_due_rows();
}

/*
 * The error of every call that finds a deploy running (pid, 0 if it cannot
 * be named): it fails at once rather than wait, since a transaction that
 * waits with a snapshot would block the deploy's concurrent index builds.
 * The deploy's run and the migration it applies come from the catalog, as
 * last committed.
 */
static void
deploy_running(int pid)
{
	int64		run_id;
	Migration  *m = pid != 0 ? migrate_catalog_deploying(pid, &run_id) : NULL;

	if (m != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
				 errmsg("a deploy is running: process %d, run %lld, applying migration %s",
						pid, (long long) run_id, migrate_migration_describe(m)),
				 errdetail("While a deploy runs, every call that changes migrations fails at once instead of waiting."),
				 errhint("Retry when the deploy has ended; migrate.status() shows its progress.")));
	if (pid != 0)
		ereport(ERROR,
				(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
				 errmsg("a deploy is running in process %d", pid),
				 errdetail("While a deploy runs, every call that changes migrations fails at once instead of waiting."),
				 errhint("Retry when the deploy has ended; migrate.status() shows its progress.")));
	ereport(ERROR,
			(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
			 errmsg("a deploy is running"),
			 errdetail("While a deploy runs, every call that changes migrations fails at once instead of waiting."),
			 errhint("Retry when the deploy has ended; migrate.status() shows its progress.")));
}
