/*-------------------------------------------------------------------------
 *
 * plan.h
 *	  Choosing and ordering the migrations to apply or to revert.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIGRATE_PLAN_H
#define MIGRATE_PLAN_H

#include "nodes/pg_list.h"

extern List *migrate_plan_apply(const char *project, const char *target,
								bool out_of_order);
extern List *migrate_plan_revert(const char *project, int steps);
extern void migrate_plan_split_requirement(const char *req, char **project,
										   char **version);

#endif							/* MIGRATE_PLAN_H */
