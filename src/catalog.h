/*-------------------------------------------------------------------------
 *
 * catalog.h
 *	  Reading and writing migrate's catalog tables.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIGRATE_CATALOG_H
#define MIGRATE_CATALOG_H

#include "access/tupdesc.h"
#include "datatype/timestamp.h"
#include "executor/spi.h"
#include "nodes/pg_list.h"
#include "utils/elog.h"
#include "utils/tuplestore.h"

/* A registered migration, as one row of migrate.migration. */
typedef struct Migration
{
	int64		id;
	char	   *project;
	bool		repeatable;
	char	   *version;		/* as written; NULL for a repeatable one */
	char	   *name;
	char	   *up;				/* NULL if loaded without scripts (the lists
								 * a plan is made of: see
								 * migrate_catalog_script) */
	char	   *down;			/* NULL if it has none, or not loaded */
	List	   *requires;		/* of char *, each "project:version" */
	bool		transactional;
	char	   *checksum;
	char	   *down_checksum;
	char	   *registered_by;
	char	   *state;			/* "pending", "applied" or "failed" */
	char	   *applied_checksum;	/* NULL unless applied at some point */
	int64		last_event;		/* 0 if none */
} Migration;

/* One history row: what happened to one migration in one run. */
typedef struct MigrationEvent
{
	int64		run_id;
	const Migration *migration;
	const char *action;			/* "up", "down", "repeat" or "baseline" */
	bool		ok;
	TimestampTz started_at;
	double		duration_ms;
	const char *role;			/* who called run, rollback, ... */
	const char *ran_as;			/* whose rights the script ran with */
	const char *checksum;
	ErrorData  *error;			/* the failure, when !ok */
} MigrationEvent;

/* The last values of migrate's sequences (-1: never used). */
typedef struct MigrateSequences
{
	int64		last_value[3];
} MigrateSequences;

extern SPIPlanPtr migrate_prepare_kept(SPIPlanPtr *cache, const char *sql,
									   int nargs, const Oid *argtypes);
extern void migrate_catalog_init(void);
extern MigrateSequences migrate_catalog_sequences(void);
extern void migrate_catalog_restore_sequences(const MigrateSequences *seqs);
extern void migrate_catalog_touch(void);
extern void migrate_catalog_note_nothing_due(void);
extern int64 migrate_catalog_next_run_id(void);

extern Migration *migrate_catalog_get(const char *project,
									  const char *version);
extern void migrate_catalog_insert(const Migration *m);
extern void migrate_catalog_update(const Migration *m);
extern void migrate_catalog_delete(int64 id);
extern bool migrate_catalog_is_required(const Migration *m,
										char **required_by);

extern Migration *migrate_catalog_get_repeatable(const char *project,
												 const char *name);
extern bool migrate_catalog_anything_due(void);
extern bool migrate_catalog_due_index_has_rows(void);
extern List *migrate_catalog_unapplied(void);
extern char *migrate_catalog_script(const Migration *m, bool down);
extern List *migrate_catalog_repeatables_due(void);
extern char *migrate_catalog_highest_applied(const char *project);
extern bool migrate_catalog_has_applied(const char *project);
extern List *migrate_catalog_applied_newest_first(const char *project,
												  int limit);
extern List *migrate_catalog_applied_with_requires(void);

extern void migrate_catalog_record(const MigrationEvent *ev,
								   const char *new_state,
								   const char *applied_checksum);

extern void migrate_catalog_validate(const char *project,
									 Tuplestorestate *tupstore,
									 TupleDesc tupdesc);
extern void migrate_catalog_status(const char *project,
								   Tuplestorestate *tupstore,
								   TupleDesc tupdesc);
extern Datum migrate_catalog_current_version(const char *project,
											 bool *isnull);

#endif							/* MIGRATE_CATALOG_H */
