/*-------------------------------------------------------------------------
 *
 * registration.h
 *	  The rules of registering and unregistering migrations.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIGRATE_REGISTRATION_H
#define MIGRATE_REGISTRATION_H

#include "utils/array.h"

#include "migration.h"

/* What register() did. */
typedef enum RegistrationResult
{
	REGISTRATION_REGISTERED,
	REGISTRATION_UNCHANGED,
	REGISTRATION_UPDATED
} RegistrationResult;

extern List *migrate_registration_requires(ArrayType *requires,
										   const char *project,
										   const char *version);
extern RegistrationResult migrate_registration_store(Migration *m);
extern void migrate_registration_remove(const char *project,
										const char *version);

#endif							/* MIGRATE_REGISTRATION_H */
