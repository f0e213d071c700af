/*-------------------------------------------------------------------------
 *
 * catalog.h
 *	  Reading and writing migrate's catalog tables.
 *
 * The catalog module is the only code that reads or writes the tables of
 * schema migrate:
 *
 *	catalog.c			the rows of migrations and of their history, the
 *						generation row, run ids
 *	catalog_due.c		the one fast path: whether run() has anything to
 *						do, read in C without planning SQL
 *	catalog_report.c	the rows of status(), validate() and
 *						current_version()
 *
 * The functions of catalog.c need the caller connected to SPI (the change
 * protocol, change.c, has done it); those of catalog_due.c read in C and
 * need no SPI; those of catalog_report.c connect to SPI themselves.  What
 * they return is allocated in the caller's current memory context, or
 * (the reports) put into the caller's tuplestore.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIGRATE_CATALOG_H
#define MIGRATE_CATALOG_H

#include "access/tupdesc.h"
#include "datatype/timestamp.h"
#include "utils/elog.h"
#include "utils/tuplestore.h"

#include "migration.h"
#include "script.h"

/* One history row: what happened to one migration in one run. */
typedef struct MigrationEvent
{
	int64		run_id;
	const Migration *migration;
	const char *action;			/* "up", "down", "repeat", "baseline",
								 * "resolve" or "adopt" */
	const char *status;			/* "ok", "failed", "started" or "retry" */
	TimestampTz started_at;
	double		duration_ms;
	const char *role;			/* who called run, rollback, ... */
	const char *ran_as;			/* whose rights the script ran with */
	const char *checksum;
	ErrorData  *error;			/* the failure, if any */
	const char *note;			/* else the message: a resolution's reason */
} MigrationEvent;

/* catalog.c */
extern void migrate_catalog_init(void);
extern Oid	migrate_catalog_relid(const char *relname);
extern Oid	migrate_catalog_owner(void);
extern int64 migrate_catalog_next_run_id(void);
extern void migrate_catalog_write_generation(bool bump, bool nothing_due);

extern Migration *migrate_catalog_get(const char *project,
									  const char *version, const char *name);
extern void migrate_catalog_insert(const Migration *m);
extern void migrate_catalog_update(const Migration *m);
extern void migrate_catalog_delete(int64 id);

extern List *migrate_catalog_unapplied(void);
extern List *migrate_catalog_repeatables_due(void);
extern char *migrate_catalog_script(const Migration *m, ScriptPart part);
extern char *migrate_catalog_highest_applied(const char *project,
											 bool *any_applied);
extern List *migrate_catalog_applied_newest_first(const char *project,
												  int limit);
extern List *migrate_catalog_registrations(const char *project,
										   bool pending_only);
extern List *migrate_catalog_with_requires(bool applied_only);

extern void migrate_catalog_record(const MigrationEvent *ev,
								   const char *new_state,
								   const char *applied_checksum,
								   int statements_done);
extern void migrate_catalog_set_statements_done(const Migration *m, int n);
extern Migration *migrate_catalog_deploying(int pid, int64 *run_id);
extern void migrate_catalog_request_cancel(int64 run_id, const char *role);
extern char *migrate_catalog_cancel_requested(int64 run_id);
extern void migrate_catalog_forget_cancels(void);
extern char *migrate_catalog_run_role(int64 run_id);

/* catalog_due.c */
extern int64 migrate_catalog_read_generation(bool latest, bool *nothing_due);
extern bool migrate_catalog_due_rows(void);

/* catalog_report.c */
extern void migrate_catalog_status(const char *project,
								   Tuplestorestate *tupstore,
								   TupleDesc tupdesc);
extern void migrate_catalog_validate(const char *project,
									 Tuplestorestate *tupstore,
									 TupleDesc tupdesc);
extern Datum migrate_catalog_current_version(const char *project,
											 bool *isnull);

#endif							/* MIGRATE_CATALOG_H */
