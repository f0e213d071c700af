/*-------------------------------------------------------------------------
 *
 * lint.h
 *	  migrate.lint(): the hazards of pending migrations (lint.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIGRATE_LINT_H
#define MIGRATE_LINT_H

#include "access/tupdesc.h"
#include "nodes/primnodes.h"
#include "storage/lockdefs.h"
#include "utils/tuplestore.h"

#include "migration.h"

extern int	migrate_lint_big_rows;

extern void migrate_lint_init(void);
extern void migrate_lint(const char *project, Tuplestorestate *tupstore,
						 TupleDesc tupdesc);
extern void migrate_lint_registered(const Migration *m, const char *up,
									List *stmts);
extern void migrate_lint_plan(List *plan);
extern bool migrate_lint_statement_lock(Node *stmt, RangeVar **rv,
										LOCKMODE *mode);

#endif							/* MIGRATE_LINT_H */
