/*-------------------------------------------------------------------------
 *
 * lock.c
 *	  The migration lock: one advisory lock per database.
 *
 * Every call that changes the catalog (register, unregister, run,
 * rollback*, baseline) takes this lock first and keeps it until the end of
 * the caller's transaction.  It is the very lock that
 * pg_advisory_xact_lock(MIGRATE_LOCK_KEY) takes, in ExclusiveLock mode, so
 * other tools can coordinate with migrate through the documented key, and
 * pg_locks shows it as an advisory lock with classid 7170407 (the high 32
 * bits of the key), objid 1918989413 (the low 32 bits) and objsubid 1.
 *
 * Being transaction-scoped, it cannot leak: a ROLLBACK, an error or a
 * connection handed back to a pool releases it.  Waiting for it honours
 * lock_timeout, statement_timeout, query cancel and deadlock detection,
 * like any heavyweight lock.
 *
 * A deploy (deploy.c) commits as it goes, so it holds the same lock for
 * its session, from before its first commit to its end, with two more
 * advisory locks of its own, also for the session:
 *
 * - the deploy lock (objsubid 3 in pg_locks, same classid and objid, in
 *	 AccessExclusiveLock mode), which says that a deploy runs: at most one
 *	 does, and every other call that finds the migration lock taken and
 *	 this one held fails at once (55P03) instead of waiting, since a
 *	 transaction waiting with a snapshot would block the deploy's
 *	 concurrent index builds.  Callers look for it by asking for it in
 *	 AccessShareLock mode without waiting, which only a deploy conflicts
 *	 with;
 * - the run lock (classid and objid the high and low 32 bits of the run
 *	 id, objsubid 4), which says that this run is alive: status() shows a
 *	 migration its deploy left "running" as interrupted once nobody holds
 *	 that run's lock.
 *
 * The backend's exit releases session locks, so a crash, a kill or a lost
 * client ends them too; deploy.c releases them on every other exit.  No
 * other user of advisory locks uses objsubid 3 or 4 (pg_advisory_lock
 * uses 1 and 2).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xlog.h"
#include "miscadmin.h"
#include "storage/lock.h"
#include "storage/proc.h"
#include "storage/procarray.h"

#include "compat.h"
#include "lock.h"
#include "migrate.h"

#define DEPLOY_LOCK_SUBID 3
#define RUN_LOCK_SUBID 4

static bool acquire_unless_deploying(LOCKMODE mode, bool wait,
									 int *deploy_pid);
static bool deploy_running(int *deploy_pid);
static void lock_not_available(const LOCKTAG *tag) pg_attribute_noreturn();
static int	lock_holder_pid(const LOCKTAG *tag);

/* Which of its session locks this backend's deploy holds. */
static struct
{
	bool		deploy;
	bool		run;
	bool		migration;
	int64		run_id;
}			held;

static void
set_migration_locktag(LOCKTAG *tag)
{
	SET_LOCKTAG_ADVISORY(*tag, MyDatabaseId,
						 (uint32) (MIGRATE_LOCK_KEY >> 32),
						 (uint32) MIGRATE_LOCK_KEY, 1);
}

static void
set_deploy_locktag(LOCKTAG *tag)
{
	SET_LOCKTAG_ADVISORY(*tag, MyDatabaseId,
						 (uint32) (MIGRATE_LOCK_KEY >> 32),
						 (uint32) MIGRATE_LOCK_KEY, DEPLOY_LOCK_SUBID);
}

static void
set_run_locktag(LOCKTAG *tag, int64 run_id)
{
	SET_LOCKTAG_ADVISORY(*tag, MyDatabaseId,
						 (uint32) ((uint64) run_id >> 32),
						 (uint32) run_id, RUN_LOCK_SUBID);
}

/*
 * migrate_lock_acquire
 *		Takes the migration lock for the rest of the transaction, and
 *		returns true; or, if a deploy holds it, returns false at once with
 *		the deploy's process id in *deploy_pid (0 if it cannot be named).
 *
 * With wait false, fails at once with 55P03 naming the process that holds
 * the lock.  Taking it again in the same transaction is cheap.
 */
bool
migrate_lock_acquire(bool wait, int *deploy_pid)
{
	return acquire_unless_deploying(ExclusiveLock, wait, deploy_pid);
}

/*
 * migrate_lock_wait_for_holder
 *		Waits until no other transaction holds the migration lock, without
 *		keeping it: takes it in share mode and releases it at once.
 *
 * run() calls this before it looks for anything to do.  Callers that
 * arrive while a run is in progress all wait here, wake together at its
 * end and check together, instead of taking the lock one after the other
 * only to find nothing left.  Share mode conflicts with the exclusive mode
 * that changes take (and that pg_advisory_xact_lock takes), not with
 * itself.  With wait false, fails like migrate_lock_acquire.
 */
bool
migrate_lock_wait_for_holder(bool wait, int *deploy_pid)
{
	LOCKTAG		tag;

	if (!acquire_unless_deploying(ShareLock, wait, deploy_pid))
		return false;
	/* acquired just now by this resource owner, so ours to release */
	set_migration_locktag(&tag);
	LockRelease(&tag, ShareLock, false);
	return true;
}

/*
 * Takes the migration lock in mode for the transaction; if it is taken
 * and a deploy runs, returns false instead of waiting.  Whoever holds the
 * migration lock while a deploy runs is that deploy: it took the deploy
 * lock first and lets it go last.
 */
static bool
acquire_unless_deploying(LOCKMODE mode, bool wait, int *deploy_pid)
{
	LOCKTAG		tag;

	set_migration_locktag(&tag);
	if (LockAcquire(&tag, mode, false, true) != LOCKACQUIRE_NOT_AVAIL)
		return true;

	if (deploy_running(deploy_pid))
		return false;

	set_migration_locktag(&tag);
	if (LockAcquire(&tag, mode, false, !wait) == LOCKACQUIRE_NOT_AVAIL)
		lock_not_available(&tag);
	return true;
}

/*
 * migrate_lock_deploy_begin
 *		Takes the first session locks of a deploy: the deploy lock, without
 *		waiting, then the migration lock, waiting for a transaction that
 *		holds it (honouring lock_timeout, like any lock wait).  Returns true
 *		when it holds both; returns false if another deploy runs, with that
 *		deploy's process id in *deploy_pid (0 if it cannot be named).  The
 *		deploy then takes its run id (only the holder of the migration lock
 *		draws from migrate's sequences: guard.c relies on it) and
 *		migrate_lock_deploy_run takes its run lock.
 *
 * migrate_lock_deploy_end releases what these took, whatever the point at
 * which they stopped.
 */
bool
migrate_lock_deploy_begin(int *deploy_pid)
{
	LOCKTAG		tag;
	int			tries;

	Assert(!held.deploy && !held.run && !held.migration);
	set_deploy_locktag(&tag);
	for (tries = 0;; tries++)
	{
		if (LockAcquire(&tag, AccessExclusiveLock, true, true) !=
			LOCKACQUIRE_NOT_AVAIL)
			break;
		/* another deploy, or a caller looking for one for an instant */
		if (deploy_running(deploy_pid))
			return false;
		if (tries == 1000)
		{
			*deploy_pid = 0;
			return false;
		}
		CHECK_FOR_INTERRUPTS();
		pg_usleep(1000L);
	}
	held.deploy = true;

	set_migration_locktag(&tag);
	(void) LockAcquire(&tag, ExclusiveLock, true, false);
	held.migration = true;
	return true;
}

/*
 * migrate_lock_deploy_run
 *		Takes the run lock of deploy run_id, which nobody else can hold.
 */
void
migrate_lock_deploy_run(int64 run_id)
{
	LOCKTAG		tag;

	Assert(held.deploy && held.migration && !held.run);
	set_run_locktag(&tag, run_id);
	(void) LockAcquire(&tag, ExclusiveLock, true, false);
	held.run = true;
	held.run_id = run_id;
}

/*
 * migrate_lock_deploy_end
 *		Releases the session locks migrate_lock_deploy_begin took, the
 *		migration lock first and the deploy lock last.
 */
void
migrate_lock_deploy_end(void)
{
	LOCKTAG		tag;

	if (held.migration)
	{
		set_migration_locktag(&tag);
		LockRelease(&tag, ExclusiveLock, true);
		held.migration = false;
	}
	if (held.run)
	{
		set_run_locktag(&tag, held.run_id);
		LockRelease(&tag, ExclusiveLock, true);
		held.run = false;
	}
	if (held.deploy)
	{
		set_deploy_locktag(&tag);
		LockRelease(&tag, AccessExclusiveLock, true);
		held.deploy = false;
	}
}

/*
 * Whether a deploy runs: whether some other backend holds the deploy lock.
 * Asks for it in AccessShareLock mode, without waiting, and lets go at
 * once: that mode conflicts with the deploy's AccessExclusiveLock only,
 * so callers looking at the same time do not see each other.  Sets
 * *deploy_pid to the deploy's process id (0 if it cannot be named).
 */
static bool
deploy_running(int *deploy_pid)
{
	LOCKTAG		tag;

	set_deploy_locktag(&tag);
	if (LockAcquire(&tag, AccessShareLock, false, true) !=
		LOCKACQUIRE_NOT_AVAIL)
	{
		LockRelease(&tag, AccessShareLock, false);
		return false;
	}
	*deploy_pid = lock_holder_pid(&tag);
	return true;
}

/*
 * migrate_lock_deploy_check
 *		In a deploy, checks that it still holds its session locks: a
 *		migration that called pg_advisory_unlock_all() (or unlocked the
 *		documented key) would have released them, and let other callers
 *		in.  Nothing outside a deploy.
 */
void
migrate_lock_deploy_check(void)
{
	LOCKTAG		migration;
	LOCKTAG		deploy;
	LOCKTAG		run;

	if (!held.deploy)
		return;
	set_migration_locktag(&migration);
	set_deploy_locktag(&deploy);
	set_run_locktag(&run, held.run_id);
	if (!LockHeldByMe(&migration, ExclusiveLock) ||
		!LockHeldByMe(&deploy, AccessExclusiveLock) ||
		(held.run && !LockHeldByMe(&run, ExclusiveLock)))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("a migration cannot release the locks of the deploy that runs it"),
				 errdetail("The migration released session-level advisory locks, with pg_advisory_unlock_all() or pg_advisory_unlock() of migrate's key.")));
}

/* The backend that runs deploy run_id (holds its run lock), or NULL. */
static PGPROC *
run_proc(int64 run_id)
{
	LOCKTAG		tag;
	int			pid;

	set_run_locktag(&tag, run_id);
	pid = lock_holder_pid(&tag);
	return pid != 0 ? BackendPidGetProc(pid) : NULL;
}

/*
 * migrate_lock_wake_run
 *		Sets the latch of the backend that runs deploy run_id, if any, so
 *		that a deploy pausing before a retry looks at once whether it was
 *		asked to stop.
 */
void
migrate_lock_wake_run(int64 run_id)
{
	PGPROC	   *proc = run_proc(run_id);

	if (proc != NULL)
		SetLatch(&proc->procLatch);
}

/*
 * migrate_lock_run_role
 *		The role of the backend that runs deploy run_id (its session's),
 *		InvalidOid if none.
 */
Oid
migrate_lock_run_role(int64 run_id)
{
	PGPROC	   *proc = run_proc(run_id);

	return proc != NULL ? proc->roleId : InvalidOid;
}

/*
 * migrate_lock_run_alive
 *		Whether the deploy with run id run_id still runs: whether some
 *		backend holds its run lock.  Never waits.  On a standby, which
 *		cannot see the primary's locks, says true.
 */
bool
migrate_lock_run_alive(int64 run_id)
{
	LOCKTAG		tag;

	if (RecoveryInProgress())
		return true;
	if (held.run && held.run_id == run_id)
		return true;
	set_run_locktag(&tag, run_id);
	if (LockAcquire(&tag, ShareLock, false, true) == LOCKACQUIRE_NOT_AVAIL)
		return true;
	LockRelease(&tag, ShareLock, false);
	return false;
}

/* The error for wait => false when another transaction holds the lock. */
static void
lock_not_available(const LOCKTAG *tag)
{
	int			pid = lock_holder_pid(tag);

	if (pid != 0)
		ereport(ERROR,
				(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
				 errmsg("migration lock is held by process %d", pid),
				 errdetail("Another transaction is changing migrations in this database."),
				 errhint("Retry later, or pass wait => true to wait for the lock.")));
	ereport(ERROR,
			(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
			 errmsg("migration lock is held by another transaction"),
			 errdetail("The holder may be a prepared transaction or may have just ended."),
			 errhint("Retry later, or pass wait => true to wait for the lock.")));
}

/* The pid of a process holding the lock, 0 if none can be named. */
static int
lock_holder_pid(const LOCKTAG *tag)
{
	VirtualTransactionId *holders;
	int			count;
	int			i;

	holders = GetLockConflicts(tag, ExclusiveLock, &count);
	for (i = 0; i < count; i++)
	{
		PGPROC	   *proc;

		if (!VirtualTransactionIdIsValid(holders[i]))
			continue;
		proc = VirtualTransactionIdGetProc(holders[i]);
		if (proc != NULL && proc->pid != 0)
			return proc->pid;
	}
	return 0;
}
