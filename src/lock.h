/*-------------------------------------------------------------------------
 *
 * lock.h
 *	  The migration lock: one advisory lock per database.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIGRATE_LOCK_H
#define MIGRATE_LOCK_H

/*
 * The key of the migration lock, the bytes of the ASCII string "migrate"
 * read as a big-endian number (0x6d696772617465).  Other tools coordinate
 * with migrate by taking pg_advisory_xact_lock(30796665482998885) (or the
 * session variant) in the same database.
 */
#define MIGRATE_LOCK_KEY INT64CONST(30796665482998885)

extern bool migrate_lock_acquire(bool wait, int *deploy_pid);
extern bool migrate_lock_wait_for_holder(bool wait, int *deploy_pid);
extern bool migrate_lock_deploy_begin(int *deploy_pid);
extern void migrate_lock_deploy_run(int64 run_id);
extern void migrate_lock_deploy_end(void);
extern void migrate_lock_deploy_check(void);
extern bool migrate_lock_run_alive(int64 run_id);
extern void migrate_lock_wake_run(int64 run_id);
extern Oid	migrate_lock_run_role(int64 run_id);

#endif							/* MIGRATE_LOCK_H */
