/*-------------------------------------------------------------------------
 *
 * guard.h
 *	  Triggers and a hook that keep migrations away from migrate's own
 *	  objects.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIGRATE_GUARD_H
#define MIGRATE_GUARD_H

extern void migrate_guard_init(void);

#endif							/* MIGRATE_GUARD_H */
