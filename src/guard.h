/*-------------------------------------------------------------------------
 *
 * guard.h
 *	  Triggers, a hook and a fingerprint that keep migrations away from
 *	  migrate's own objects.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIGRATE_GUARD_H
#define MIGRATE_GUARD_H

#include "migration.h"

/* The last values of migrate's sequences (-1: never used). */
typedef struct MigrateSequences
{
	int64		last_value[3];
} MigrateSequences;

extern void migrate_guard_init(void);
extern void migrate_guard_enter_migration(void);
extern void migrate_guard_leave_migration(void);
extern bool migrate_guard_in_migration(void);
extern MigrateSequences migrate_guard_sequences(void);
extern void migrate_guard_check_sequences(const MigrateSequences *before);

#endif							/* MIGRATE_GUARD_H */
