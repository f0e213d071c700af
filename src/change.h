/*-------------------------------------------------------------------------
 *
 * change.h
 *	  The life of every call that changes the catalog.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIGRATE_CHANGE_H
#define MIGRATE_CHANGE_H

#include "migration.h"

/* What a call did to the catalog, as migrate_change_end needs to know. */
typedef enum ChangeOutcome
{
	CHANGE_NONE,				/* wrote nothing (or rolled it back) */
	CHANGE_DUE,					/* wrote, and left run() something to do */
	CHANGE_WRITTEN				/* wrote; end looks whether anything is due */
} ChangeOutcome;

/* One call that changes the catalog, from begin to end. */
typedef struct MigrateChange
{
	MemoryContext caller;		/* the context end returns to */
} MigrateChange;

extern void migrate_change_init(void);
extern void migrate_change_check(const char *function);
extern void migrate_change_begin(MigrateChange *call, const char *function,
								 bool wait);
extern bool migrate_change_begin_if_due(MigrateChange *call,
										const char *function, bool wait);
extern void migrate_change_end(MigrateChange *call, ChangeOutcome outcome);
extern void migrate_change_publish(ChangeOutcome outcome);
extern int64 migrate_change_begin_deploy(const char *procedure);
extern void migrate_change_end_deploy(void);

#endif							/* MIGRATE_CHANGE_H */
