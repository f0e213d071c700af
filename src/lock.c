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
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/lock.h"

#include "compat.h"
#include "lock.h"
#include "migrate.h"

static void lock_not_available(const LOCKTAG *tag) pg_attribute_noreturn();
static int	lock_holder_pid(const LOCKTAG *tag);

static void
set_migration_locktag(LOCKTAG *tag)
{
	SET_LOCKTAG_ADVISORY(*tag, MyDatabaseId,
						 (uint32) (MIGRATE_LOCK_KEY >> 32),
						 (uint32) MIGRATE_LOCK_KEY, 1);
}

/*
 * migrate_lock_acquire
 *		Takes the migration lock for the rest of the transaction.
 *
 * With wait false, fails at once with 55P03 naming the process that holds
 * the lock.  Taking it again in the same transaction is cheap.
 */
void
migrate_lock_acquire(bool wait)
{
	LOCKTAG		tag;

	set_migration_locktag(&tag);
	if (LockAcquire(&tag, ExclusiveLock, false, !wait) == LOCKACQUIRE_NOT_AVAIL)
		lock_not_available(&tag);
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
void
migrate_lock_wait_for_holder(bool wait)
{
	LOCKTAG		tag;

	set_migration_locktag(&tag);
	if (LockAcquire(&tag, ShareLock, false, !wait) == LOCKACQUIRE_NOT_AVAIL)
		lock_not_available(&tag);
	/* acquired just now by this resource owner, so ours to release */
	LockRelease(&tag, ShareLock, false);
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
