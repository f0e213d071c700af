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

#include "catalog.h"

/* Something that stands in the way of a migration being applied. */
typedef struct PlanProblem
{
	Migration  *migration;
	char	   *detail;			/* one translated sentence naming it */
} PlanProblem;

/* What run() would do, and what stops it. */
typedef struct PlanAnalysis
{
	List	   *order;			/* Migrations, in the order to apply them */
	List	   *missing;		/* PlanProblems: missing requirements */
	List	   *late;			/* PlanProblems: out-of-order pending */
	List	   *cycle;			/* PlanProblems: in or behind a cycle */
} PlanAnalysis;

extern PlanAnalysis *migrate_plan_analyze(const char *project,
										  const char *target);
extern List *migrate_plan_apply(const char *project, const char *target,
								bool out_of_order);
extern List *migrate_plan_revert(const char *project, int steps,
								 const char *target);
extern List *migrate_plan_baseline(const char *project, const char *version);
extern Migration *migrate_plan_dependent(const Migration *m,
										 bool applied_only);
extern Migration *migrate_plan_resolve(const char *project,
									   const char *version,
									   const char *state);

#endif							/* MIGRATE_PLAN_H */
