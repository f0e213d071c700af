/*-------------------------------------------------------------------------
 *
 * catalog.c
 *	  Reading and writing migrate's catalog tables.
 *
 * This is the only code with SQL that touches the migrate.* tables.  The
 * caller must be connected to SPI; results are palloc'd in the caller's
 * current memory context and SPI tuple tables are freed before returning.
 *
 * Privileges: every query here runs as the owner of the catalog tables
 * (the role that created the extension), with SECURITY_LOCAL_USERID_CHANGE
 * set, the way RI triggers check constraints as the table owner.  So a role
 * needs no privilege on the tables to register or run migrations, and no
 * role but the owner can change them except through our functions.
 *
 * search_path: every object, operator and collation is schema-qualified,
 * and every query runs (and is planned) with search_path pinned to
 * pg_catalog, pg_temp, so whatever the caller or a migration puts on its
 * search_path cannot change what these queries mean.  Plans are prepared once per backend and kept; the
 * plan cache re-analyzes them if the extension is dropped and recreated.
 *
 * Snapshots: writers pass read_only = false, so under READ COMMITTED every
 * query takes a fresh snapshot and sees what a caller that held the
 * migration lock before us committed.  Under REPEATABLE READ and
 * SERIALIZABLE, migrate_catalog_touch detects a stale snapshot.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "executor/spi.h"
#include "executor/tstoreReceiver.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "nodes/params.h"
#include "nodes/tidbitmap.h"
#include "storage/lmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/xid8.h"

#include "catalog.h"

#define MIGRATE_SCHEMA "migrate"

/*
 * The columns of migrate.migration that a Migration holds, in the order
 * migration_receiver_receive reads them (COL_* below).
 */
#define MIGRATION_COLUMNS \
	"id, project, kind, version::pg_catalog.text, name, up, down, requires, " \
	"transactional, checksum, down_checksum, registered_by, state, " \
	"applied_checksum, last_event"

/*
 * The same without the scripts and the down checksum, for the lists a plan
 * is made of: a run may plan thousands of migrations, and reads each one's
 * script only when it runs it (migrate_catalog_script).
 */
#define MIGRATION_COLUMNS_NO_SCRIPTS \
	"id, project, kind, version::pg_catalog.text, name, NULL::pg_catalog.text, " \
	"NULL::pg_catalog.text, requires, transactional, checksum, " \
	"NULL::pg_catalog.text, registered_by, state, applied_checksum, last_event"

/*
 * Subtransaction id in which this transaction bumped migrate.generation,
 * or InvalidSubTransactionId if it has not (or that subtransaction was
 * rolled back).
 */
static SubTransactionId touched_in = InvalidSubTransactionId;

static void catalog_xact_callback(XactEvent event, void *arg);
static void catalog_subxact_callback(SubXactEvent event,
									 SubTransactionId mySubid,
									 SubTransactionId parentSubid,
									 void *arg);
static Oid	catalog_relid(const char *relname);
static Oid	catalog_owner(void);
static void oid_cache_reset(Datum arg, int cacheid, uint32 hashvalue);
static Snapshot push_writer_snapshot(void);
static AttrNumber attnum_of(Relation rel, const char *name);
static bool index_has_entries(Relation index, Snapshot snapshot);
static bool index_has_visible_row(Relation rel, Relation index,
								  Snapshot snapshot);
static int	pin_search_path(void);
static void catalog_exec(SPIPlanPtr plan, Datum *values, const char *nulls,
						 bool read_only, long tcount, int expected);
static Migration *fetch_one(SPIPlanPtr plan, const char *arg1,
						   const char *arg2);
static void catalog_exec_to(SPIPlanPtr plan, Datum *values,
							const char *nulls, bool read_only, long tcount,
							int expected, DestReceiver *dest,
							bool index_order);
static void rows_into_tuplestore(SPIPlanPtr plan, const char *project,
								 Tuplestorestate *tupstore,
								 TupleDesc tupdesc, bool index_order);
static List *fetch_migrations(SPIPlanPtr plan, Datum *values,
							   const char *nulls, long tcount);
static void migration_receiver_startup(DestReceiver *self, int operation,
									   TupleDesc typeinfo);
static bool migration_receiver_receive(TupleTableSlot *slot,
									   DestReceiver *self);
static void migration_receiver_nothing(DestReceiver *self);
static Datum text_or_null(const char *s, char *null);
static Datum text_list_to_array(List *strings);
static List *text_array_to_list(Datum array, MemoryContext target);

/*
 * migrate_catalog_init
 *		Called once from _PG_init.
 */
void
migrate_catalog_init(void)
{
	RegisterXactCallback(catalog_xact_callback, NULL);
	RegisterSubXactCallback(catalog_subxact_callback, NULL);
	CacheRegisterSyscacheCallback(RELOID, oid_cache_reset, (Datum) 0);
	CacheRegisterSyscacheCallback(NAMESPACEOID, oid_cache_reset, (Datum) 0);
}

static void
catalog_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		event == XACT_EVENT_PARALLEL_COMMIT ||
		event == XACT_EVENT_PARALLEL_ABORT || event == XACT_EVENT_PREPARE)
		touched_in = InvalidSubTransactionId;
}

static void
catalog_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						 SubTransactionId parentSubid, void *arg)
{
	if (touched_in != mySubid)
		return;
	if (event == SUBXACT_EVENT_COMMIT_SUB)
		touched_in = parentSubid;
	else if (event == SUBXACT_EVENT_ABORT_SUB)
		touched_in = InvalidSubTransactionId;
}

/*
 * migrate_catalog_touch
 *		Bumps the catalog generation once per transaction.  The caller must
 *		hold the migration lock and be about to change the catalog.
 *
 * Every call that changes the catalog does this first.  Under REPEATABLE
 * READ or SERIALIZABLE, if another transaction changed the catalog after
 * our snapshot was taken (it held the lock while we waited for it), the
 * UPDATE fails with a serialization failure (40001): the client retries
 * with a new snapshot instead of applying a migration twice.
 */
void
migrate_catalog_touch(void)
{
	static SPIPlanPtr plan = NULL;
	MemoryContext oldcontext = CurrentMemoryContext;

	if (touched_in != InvalidSubTransactionId)
		return;
	migrate_prepare_kept(&plan,
				   "UPDATE migrate.generation"
				   " SET generation = generation OPERATOR(pg_catalog.+) 1,"
				   " nothing_due = false",
				   0, NULL);
	PG_TRY();
	{
		catalog_exec(plan, NULL, NULL, false, 0, SPI_OK_UPDATE);
	}
	PG_CATCH();
	{
		MemoryContext ecxt = MemoryContextSwitchTo(oldcontext);
		ErrorData  *edata = CopyErrorData();

		/* Only explain a serialization failure; no database work here. */
		if (edata->sqlerrcode != ERRCODE_T_R_SERIALIZATION_FAILURE)
		{
			MemoryContextSwitchTo(ecxt);
			FreeErrorData(edata);
			PG_RE_THROW();
		}
		FlushErrorState();
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("could not serialize access to the migration catalog"),
				 errdetail("Another transaction changed migrations after this transaction took its snapshot."),
				 errhint("Retry the transaction.")));
	}
	PG_END_TRY();
	touched_in = GetCurrentSubTransactionId();
}

/*
 * migrate_catalog_note_nothing_due
 *		Records, for the next run() calls, that nothing is left to apply.
 *		Only after a change of this transaction (which touched the catalog),
 *		and only if migrate_catalog_due_index_has_rows() said no.
 */
void
migrate_catalog_note_nothing_due(void)
{
	static SPIPlanPtr plan = NULL;

	Assert(touched_in != InvalidSubTransactionId);
	migrate_prepare_kept(&plan,
				   "UPDATE migrate.generation SET nothing_due = true",
				   0, NULL);
	catalog_exec(plan, NULL, NULL, false, 0, SPI_OK_UPDATE);
	/* the next change of this transaction must clear it again */
	touched_in = InvalidSubTransactionId;
}

/*
 * migrate_catalog_next_run_id
 *		A new run id from migrate.run_id_seq.
 */
int64
migrate_catalog_next_run_id(void)
{
	/* The owner has USAGE; the caller need not. */
	return nextval_internal(catalog_relid("run_id_seq"), false);
}

/*
 * migrate_catalog_sequences
 *		The last values of migrate's sequences, as a fingerprint: the runner
 *		compares it before and after each script, so that a migration that
 *		moves them (setval, nextval) is refused like any other write to the
 *		catalog.  Reads them as the owner, without SPI: it runs around every
 *		migration.
 */
static const char *const sequence_names[] = {"migration_id_seq",
"event_id_seq", "run_id_seq"};

MigrateSequences
migrate_catalog_sequences(void)
{
	const char *const *names = sequence_names;
	MigrateSequences result;
	Oid			save_userid;
	int			save_sec_context;
	int			i;

	StaticAssertStmt(lengthof(sequence_names) == lengthof(result.last_value),
					 "one fingerprint slot per sequence");
	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(catalog_owner(),
						   save_sec_context | SECURITY_LOCAL_USERID_CHANGE);
	for (i = 0; i < lengthof(sequence_names); i++)
	{
		LOCAL_FCINFO(fcinfo, 1);
		Datum		value;

		InitFunctionCallInfoData(*fcinfo, NULL, 1, InvalidOid, NULL, NULL);
		fcinfo->args[0].value = ObjectIdGetDatum(catalog_relid(names[i]));
		fcinfo->args[0].isnull = false;
		value = pg_sequence_last_value(fcinfo);
		result.last_value[i] = fcinfo->isnull ? -1 : DatumGetInt64(value);
	}
	SetUserIdAndSecContext(save_userid, save_sec_context);
	return result;
}

/*
 * migrate_catalog_restore_sequences
 *		Puts migrate's sequences back to a fingerprint taken earlier.
 *		Sequences ignore rollbacks, so refusing a migration that moved them
 *		is not enough.
 */
void
migrate_catalog_restore_sequences(const MigrateSequences *seqs)
{
	Oid			save_userid;
	int			save_sec_context;
	int			i;

	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(catalog_owner(),
						   save_sec_context | SECURITY_LOCAL_USERID_CHANGE);
	for (i = 0; i < lengthof(sequence_names); i++)
	{
		int64		value = seqs->last_value[i];

		/* -1: never used; setval(seq, 1, false) makes nextval return 1 */
		DirectFunctionCall3(setval3_oid,
							ObjectIdGetDatum(catalog_relid(sequence_names[i])),
							Int64GetDatum(value < 0 ? 1 : value),
							BoolGetDatum(value >= 0));
	}
	SetUserIdAndSecContext(save_userid, save_sec_context);
}

/*
 * migrate_catalog_get
 *		The versioned migration (project, version), or NULL if none is
 *		registered.  Versions compare naturally: "1.0" finds "1.00".
 */
Migration *
migrate_catalog_get(const char *project, const char *version)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[2] = {TEXTOID, TEXTOID};

	migrate_prepare_kept(&plan,
				   "SELECT " MIGRATION_COLUMNS " FROM migrate.migration"
				   " WHERE kind OPERATOR(pg_catalog.=) 'versioned'"
				   " AND project COLLATE pg_catalog.\"C\" OPERATOR(pg_catalog.=) $1"
				   " AND version OPERATOR(migrate.=) $2::migrate.version",
				   2, argtypes);
	return fetch_one(plan, project, version);
}

/*
 * migrate_catalog_get_repeatable
 *		The repeatable migration (project, name), or NULL.
 */
Migration *
migrate_catalog_get_repeatable(const char *project, const char *name)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[2] = {TEXTOID, TEXTOID};

	migrate_prepare_kept(&plan,
				   "SELECT " MIGRATION_COLUMNS " FROM migrate.migration"
				   " WHERE kind OPERATOR(pg_catalog.=) 'repeatable'"
				   " AND project OPERATOR(pg_catalog.=) $1"
				   " AND name OPERATOR(pg_catalog.=) $2",
				   2, argtypes);
	return fetch_one(plan, project, name);
}

/* The one registration a two-text-argument plan finds, or NULL. */
static Migration *
fetch_one(SPIPlanPtr plan, const char *arg1, const char *arg2)
{
	Datum		values[2];
	Migration  *result = NULL;
	List	   *rows;

	values[0] = CStringGetTextDatum(arg1);
	values[1] = CStringGetTextDatum(arg2);
	rows = fetch_migrations(plan, values, NULL, 1);
	if (rows != NIL)
		result = (Migration *) linitial(rows);
	list_free(rows);
	return result;
}

/*
 * migrate_catalog_insert
 *		Adds a new registration, pending, registered now.
 */
void
migrate_catalog_insert(const Migration *m)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[11] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID,
	TEXTOID, TEXTARRAYOID, BOOLOID, TEXTOID, TEXTOID, TEXTOID};
	Datum		values[11];
	char		nulls[11];

	migrate_prepare_kept(&plan,
				   "INSERT INTO migrate.migration (project, kind, version, name,"
				   " up, down, requires, transactional, checksum, down_checksum,"
				   " registered_at, registered_by, state)"
				   " VALUES ($1, $2, $3::migrate.version, $4, $5, $6, $7, $8, $9,"
				   " $10, pg_catalog.now(), $11, 'pending')",
				   11, argtypes);
	memset(nulls, ' ', sizeof(nulls));
	values[0] = CStringGetTextDatum(m->project);
	values[1] = CStringGetTextDatum(m->repeatable ? "repeatable" : "versioned");
	values[2] = text_or_null(m->version, &nulls[2]);
	values[3] = CStringGetTextDatum(m->name);
	values[4] = CStringGetTextDatum(m->up);
	values[5] = text_or_null(m->down, &nulls[5]);
	values[6] = text_list_to_array(m->requires);
	values[7] = BoolGetDatum(m->transactional);
	values[8] = CStringGetTextDatum(m->checksum);
	values[9] = text_or_null(m->down_checksum, &nulls[9]);
	values[10] = CStringGetTextDatum(m->registered_by);
	catalog_exec(plan, values, nulls, false, 0, SPI_OK_INSERT);
}

/*
 * migrate_catalog_update
 *		Replaces the registered content of m (found by id), registered now.
 *		Its state and history stay.
 */
void
migrate_catalog_update(const Migration *m)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[9] = {INT8OID, TEXTOID, TEXTOID, TEXTOID,
	TEXTARRAYOID, BOOLOID, TEXTOID, TEXTOID, TEXTOID};
	Datum		values[9];
	char		nulls[9];

	migrate_prepare_kept(&plan,
				   "UPDATE migrate.migration SET name = $2, up = $3, down = $4,"
				   " requires = $5, transactional = $6, checksum = $7,"
				   " down_checksum = $8, registered_at = pg_catalog.now(),"
				   " registered_by = $9"
				   " WHERE id OPERATOR(pg_catalog.=) $1",
				   9, argtypes);
	memset(nulls, ' ', sizeof(nulls));
	values[0] = Int64GetDatum(m->id);
	values[1] = CStringGetTextDatum(m->name);
	values[2] = CStringGetTextDatum(m->up);
	values[3] = text_or_null(m->down, &nulls[3]);
	values[4] = text_list_to_array(m->requires);
	values[5] = BoolGetDatum(m->transactional);
	values[6] = CStringGetTextDatum(m->checksum);
	values[7] = text_or_null(m->down_checksum, &nulls[7]);
	values[8] = CStringGetTextDatum(m->registered_by);
	catalog_exec(plan, values, nulls, false, 0, SPI_OK_UPDATE);
}

/*
 * migrate_catalog_delete
 *		Removes a registration.  Its history stays.
 */
void
migrate_catalog_delete(int64 id)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[1] = {INT8OID};
	Datum		values[1];

	migrate_prepare_kept(&plan,
				   "DELETE FROM migrate.migration"
				   " WHERE id OPERATOR(pg_catalog.=) $1",
				   1, argtypes);
	values[0] = Int64GetDatum(id);
	catalog_exec(plan, values, NULL, false, 0, SPI_OK_DELETE);
}

/*
 * migrate_catalog_is_required
 *		Whether another registration requires the versioned migration m;
 *		if so, *required_by names one of them ("project version").
 */
bool
migrate_catalog_is_required(const Migration *m, char **required_by)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[3] = {TEXTOID, TEXTOID, INT8OID};
	Datum		values[3];
	bool		result = false;

	migrate_prepare_kept(&plan,
				   "SELECT m.project OPERATOR(pg_catalog.||) ' '"
				   " OPERATOR(pg_catalog.||) m.version::pg_catalog.text"
				   " FROM migrate.migration AS m,"
				   " pg_catalog.unnest(m.requires) AS r(req)"
				   " WHERE m.id OPERATOR(pg_catalog.<>) $3"
				   " AND pg_catalog.split_part(r.req, ':', 1)"
				   " OPERATOR(pg_catalog.=) $1"
				   " AND pg_catalog.substr(r.req, pg_catalog.strpos(r.req, ':')"
				   " OPERATOR(pg_catalog.+) 1)::migrate.version"
				   " OPERATOR(migrate.=) $2::migrate.version"
				   " ORDER BY m.project, m.version LIMIT 1",
				   3, argtypes);
	values[0] = CStringGetTextDatum(m->project);
	values[1] = CStringGetTextDatum(m->version);
	values[2] = Int64GetDatum(m->id);
	catalog_exec(plan, values, NULL, false, 1, SPI_OK_SELECT);
	if (SPI_processed > 0)
	{
		result = true;
		*required_by = SPI_getvalue(SPI_tuptable->vals[0],
									SPI_tuptable->tupdesc, 1);
	}
	SPI_freetuptable(SPI_tuptable);
	return result;
}

/*
 * migrate_catalog_unapplied
 *		Every registration that is not applied (pending or failed), in no
 *		particular order, without scripts.  Uses the partial index
 *		migration_due_idx, so it stays cheap however many migrations are
 *		applied.
 */
List *
migrate_catalog_unapplied(void)
{
	static SPIPlanPtr plan = NULL;

	migrate_prepare_kept(&plan,
				   "SELECT " MIGRATION_COLUMNS_NO_SCRIPTS " FROM migrate.migration"
				   " WHERE state OPERATOR(pg_catalog.<>) 'applied'",
				   0, NULL);
	return fetch_migrations(plan, NULL, NULL, 0);
}

/*
 * migrate_catalog_script
 *		m's up script, or its down script (NULL if it has none), in the
 *		current memory context: read from the catalog if m was loaded
 *		without scripts.  The caller holds the migration lock, so the row is
 *		the one the plan was made from.
 */
char *
migrate_catalog_script(const Migration *m, bool down)
{
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;
	AttrNumber	attnum;
	char	   *result = NULL;
	bool		isnull;
	Datum		d;

	/* up is NOT NULL in the catalog: NULL here means "loaded without" */
	if (m->up != NULL)
		return down ? m->down : m->up;

	/*
	 * One row by primary key, for each migration of a run: read in C
	 * rather than through SPI, with a writer's snapshot like the query the
	 * plan was made from.
	 */
	rel = table_open(catalog_relid("migration"), AccessShareLock);
	attnum = attnum_of(rel, down ? "down" : "up");
	ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_INT8EQ,
				Int64GetDatum(m->id));
	push_writer_snapshot();
	scan = systable_beginscan(rel, catalog_relid("migration_pkey"), true,
							  GetActiveSnapshot(), 1, &key);
	tuple = systable_getnext(scan);
	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "migration %lld vanished from the catalog",
			 (long long) m->id);
	d = heap_getattr(tuple, attnum, RelationGetDescr(rel), &isnull);
	if (!isnull)
		result = TextDatumGetCString(d);
	systable_endscan(scan);
	PopActiveSnapshot();
	table_close(rel, NoLock);
	return result;
}

/*
 * migrate_catalog_anything_due
 *		False if run() has certainly nothing to apply: no migration is
 *		unapplied and no repeatable migration changed since it was applied.
 *		True means "plan it" (which may still find nothing for the project
 *		or target asked for).
 *
 * This is the question every application instance asks at start, usually
 * in a new session, and usually the answer is no.  Answering it with SQL
 * means parsing and planning queries with the session's caches cold, most
 * of the cost of such a call; here it is read in C, without SPI:
 *
 * - migrate.generation.nothing_due, one row: true after a run(),
 *   baseline() or unregister() that left nothing to do, false after any
 *   other change.  This is what the callers queued behind a run find.
 * - Otherwise the partial index migration_due_idx, which holds exactly the
 *   rows that make the answer yes (migrate_catalog_due_index_has_rows).
 *
 * It sees what an SPI query of a writer would see: a fresh snapshot under
 * READ COMMITTED (after the lock the caller holds), the transaction's
 * snapshot otherwise, and the transaction's own earlier changes.
 */
bool
migrate_catalog_anything_due(void)
{
	Relation	generation;
	TableScanDesc scan;
	HeapTuple	tuple;
	bool		isnull;
	bool		nothing_due = false;
	Snapshot	snapshot;

	/* The flag first: after a run() it answers from one row. */
	generation = table_open(catalog_relid("generation"), AccessShareLock);
	snapshot = push_writer_snapshot();
	scan = table_beginscan(generation, snapshot, 0, NULL);
	tuple = heap_getnext(scan, ForwardScanDirection);
	if (HeapTupleIsValid(tuple))
		nothing_due = DatumGetBool(heap_getattr(tuple,
												attnum_of(generation,
														  "nothing_due"),
												RelationGetDescr(generation),
												&isnull)) && !isnull;
	table_endscan(scan);
	PopActiveSnapshot();
	table_close(generation, NoLock);
	if (nothing_due)
		return false;
	return migrate_catalog_due_index_has_rows();
}

/*
 * migrate_catalog_due_index_has_rows
 *		Whether migration_due_idx leads to a row the caller's writer
 *		snapshot sees: anything_due without the flag.
 *
 * If the index has no entries at all (the usual case once vacuum has
 * removed those of the last run), nothing is due whatever the snapshot,
 * and the table is not even opened: building its relation cache entry was
 * a third of a new session's no-op run().  Otherwise one index scan looks
 * for an entry whose row is visible.
 */
bool
migrate_catalog_due_index_has_rows(void)
{
	Oid			relid = catalog_relid("migration");
	Relation	index;
	Snapshot	snapshot;
	bool		due;

	/* the table before its index, as everywhere in PostgreSQL */
	LockRelationOid(relid, AccessShareLock);
	index = index_open(catalog_relid("migration_due_idx"), AccessShareLock);
	snapshot = push_writer_snapshot();

	due = index_has_entries(index, snapshot);
	if (due)
	{
		Relation	rel = table_open(relid, NoLock);

		due = index_has_visible_row(rel, index, snapshot);
		table_close(rel, NoLock);
	}

	PopActiveSnapshot();
	index_close(index, NoLock);
	return due;
}

/*
 * index_has_entries
 *		Whether index has any entry, dead or alive, without reading the
 *		table: a bitmap scan collects tuple ids only.
 */
static bool
index_has_entries(Relation index, Snapshot snapshot)
{
	TIDBitmap  *tbm = tbm_create(work_mem * 1024L, NULL);
	IndexScanDesc scan = index_beginscan_bitmap(index, snapshot, 0);
	int64		ntids;

	index_rescan(scan, NULL, 0, NULL, 0);
	ntids = index_getbitmap(scan, tbm);
	index_endscan(scan);
	tbm_free(tbm);
	return ntids > 0;
}

/*
 * index_has_visible_row
 *		Whether an entry of index leads to a row of rel visible to
 *		snapshot.
 */
static bool
index_has_visible_row(Relation rel, Relation index, Snapshot snapshot)
{
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	IndexScanDesc scan = index_beginscan(rel, index, snapshot, 0, 0);
	bool		found;

	index_rescan(scan, NULL, 0, NULL, 0);
	found = index_getnext_slot(scan, ForwardScanDirection, slot);
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	return found;
}

/*
 * migrate_catalog_repeatables_due
 *		The repeatable migrations to apply: never applied, failed, or
 *		changed since they were last applied; by (project, name); without
 *		scripts.
 */
List *
migrate_catalog_repeatables_due(void)
{
	static SPIPlanPtr plan = NULL;

	migrate_prepare_kept(&plan,
				   "SELECT " MIGRATION_COLUMNS_NO_SCRIPTS " FROM migrate.migration"
				   " WHERE kind OPERATOR(pg_catalog.=) 'repeatable'"
				   " AND (state OPERATOR(pg_catalog.<>) 'applied'"
				   " OR applied_checksum IS NULL"
				   " OR applied_checksum OPERATOR(pg_catalog.<>) checksum)"
				   " ORDER BY project COLLATE pg_catalog.\"C\", name COLLATE pg_catalog.\"C\"",
				   0, NULL);
	return fetch_migrations(plan, NULL, NULL, 0);
}

/*
 * migrate_catalog_highest_applied
 *		The highest applied version of a project (as written), or NULL.
 */
char *
migrate_catalog_highest_applied(const char *project)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];
	char	   *result = NULL;

	migrate_prepare_kept(&plan,
				   "SELECT version::pg_catalog.text FROM migrate.migration"
				   " WHERE kind OPERATOR(pg_catalog.=) 'versioned'"
				   " AND project COLLATE pg_catalog.\"C\" OPERATOR(pg_catalog.=) $1"
				   " AND state OPERATOR(pg_catalog.=) 'applied'"
				   " ORDER BY version DESC LIMIT 1",
				   1, argtypes);
	values[0] = CStringGetTextDatum(project);
	catalog_exec(plan, values, NULL, false, 1, SPI_OK_SELECT);
	if (SPI_processed > 0)
		result = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	SPI_freetuptable(SPI_tuptable);
	return result;
}

/*
 * migrate_catalog_has_applied
 *		Whether any migration of the project, versioned or repeatable, is
 *		applied.
 */
bool
migrate_catalog_has_applied(const char *project)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];
	bool		result;

	migrate_prepare_kept(&plan,
				   "SELECT FROM migrate.migration"
				   " WHERE project COLLATE pg_catalog.\"C\" OPERATOR(pg_catalog.=) $1"
				   " AND state OPERATOR(pg_catalog.=) 'applied' LIMIT 1",
				   1, argtypes);
	values[0] = CStringGetTextDatum(project);
	catalog_exec(plan, values, NULL, false, 1, SPI_OK_SELECT);
	result = SPI_processed > 0;
	SPI_freetuptable(SPI_tuptable);
	return result;
}

/*
 * migrate_catalog_applied_newest_first
 *		Up to limit applied versioned migrations of a project, the one
 *		applied last first.
 */
List *
migrate_catalog_applied_newest_first(const char *project, int limit)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[2] = {TEXTOID, INT4OID};
	Datum		values[2];

	migrate_prepare_kept(&plan,
				   "SELECT " MIGRATION_COLUMNS " FROM migrate.migration"
				   " WHERE kind OPERATOR(pg_catalog.=) 'versioned'"
				   " AND project COLLATE pg_catalog.\"C\" OPERATOR(pg_catalog.=) $1"
				   " AND state OPERATOR(pg_catalog.=) 'applied'"
				   " ORDER BY last_event DESC LIMIT $2",
				   2, argtypes);
	values[0] = CStringGetTextDatum(project);
	values[1] = Int32GetDatum(limit);
	return fetch_migrations(plan, values, NULL, 0);
}

/*
 * migrate_catalog_applied_with_requires
 *		Every applied migration that requires something, any project.
 */
List *
migrate_catalog_applied_with_requires(void)
{
	static SPIPlanPtr plan = NULL;

	migrate_prepare_kept(&plan,
				   "SELECT " MIGRATION_COLUMNS " FROM migrate.migration"
				   " WHERE state OPERATOR(pg_catalog.=) 'applied'"
				   " AND pg_catalog.cardinality(requires) OPERATOR(pg_catalog.>) 0",
				   0, NULL);
	return fetch_migrations(plan, NULL, NULL, 0);
}

/*
 * migrate_catalog_record
 *		Appends a history row and sets the migration's state, its applied
 *		checksum and its last event, in one statement.
 */
void
migrate_catalog_record(const MigrationEvent *ev, const char *new_state,
					   const char *applied_checksum)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[21] = {INT8OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID,
		TEXTOID, TIMESTAMPTZOID, FLOAT8OID, TEXTOID, TEXTOID, INT4OID,
		XID8OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, INT8OID,
	TEXTOID, TEXTOID, INT8OID};
	Datum		values[21];
	char		nulls[21];
	const Migration *m = ev->migration;
	ErrorData  *err = ev->error;

	/*
	 * The event id is taken first, so that the statement needs no join
	 * between the inserted event and the updated row.
	 */
	migrate_prepare_kept(&plan,
				   "WITH e AS (INSERT INTO migrate.event (id, run_id, project,"
				   " version, name, action, status, started_at, duration_ms,"
				   " role, ran_as, pid, txid, checksum, sqlstate, message,"
				   " detail, context)"
				   " VALUES ($21, $1, $2, $3::migrate.version, $4, $5, $6, $7,"
				   " $8, $9, $10, $11, $12, $13, $14, $15, $16, $17))"
				   " UPDATE migrate.migration SET state = $19,"
				   " applied_checksum = $20, last_event = $21,"
				   " last_started_at = $7, last_role = $9,"
				   " last_duration_ms = $8,"
				   " last_error = $14 OPERATOR(pg_catalog.||) ': '"
				   " OPERATOR(pg_catalog.||) $15"
				   " WHERE id OPERATOR(pg_catalog.=) $18",
				   21, argtypes);

	memset(nulls, ' ', sizeof(nulls));
	values[0] = Int64GetDatum(ev->run_id);
	values[1] = CStringGetTextDatum(m->project);
	values[2] = text_or_null(m->version, &nulls[2]);
	values[3] = CStringGetTextDatum(m->name);
	values[4] = CStringGetTextDatum(ev->action);
	values[5] = CStringGetTextDatum(ev->ok ? "ok" : "failed");
	values[6] = TimestampTzGetDatum(ev->started_at);
	values[7] = Float8GetDatum(ev->duration_ms);
	values[8] = CStringGetTextDatum(ev->role);
	if (ev->ran_as)
		values[9] = CStringGetTextDatum(ev->ran_as);
	else
		nulls[9] = 'n';
	values[10] = Int32GetDatum(MyProcPid);
	values[11] = FullTransactionIdGetDatum(GetTopFullTransactionId());
	values[12] = text_or_null(ev->checksum, &nulls[12]);
	values[13] = text_or_null(err ? unpack_sql_state(err->sqlerrcode) : NULL,
							  &nulls[13]);
	values[14] = text_or_null(err ? err->message : NULL, &nulls[14]);
	values[15] = text_or_null(err ? err->detail : NULL, &nulls[15]);
	values[16] = text_or_null(err ? err->context : NULL, &nulls[16]);
	values[17] = Int64GetDatum(m->id);
	values[18] = CStringGetTextDatum(new_state);
	values[19] = text_or_null(applied_checksum, &nulls[19]);
	values[20] = Int64GetDatum(nextval_internal(catalog_relid("event_id_seq"),
												false));
	catalog_exec(plan, values, nulls, false, 0, SPI_OK_UPDATE);
	if (SPI_processed != 1)
		elog(ERROR, "migration %lld vanished from the catalog",
			 (long long) m->id);
}

/*
 * migrate_catalog_validate
 *		Adds to tupstore (the rows of migrate.validate) the problems found
 *		in the catalog alone: applied migrations whose checksum changed,
 *		applied migrations without down, outdated repeatable migrations,
 *		and history of migrations that are no longer registered.
 */
void
migrate_catalog_validate(const char *project, Tuplestorestate *tupstore,
						 TupleDesc tupdesc)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[1] = {TEXTOID};

	migrate_prepare_kept(&plan,
				   "SELECT project, version, severity, problem, detail FROM ("
				   " SELECT m.project, m.version, 'error' AS severity,"
				   "  'checksum mismatch' AS problem,"
				   "  pg_catalog.format('applied with checksum %s, registered with checksum %s',"
				   "   m.applied_checksum, m.checksum) AS detail, 1 AS rank"
				   " FROM migrate.migration AS m"
				   " WHERE m.kind OPERATOR(pg_catalog.=) 'versioned'"
				   "  AND m.state OPERATOR(pg_catalog.=) 'applied'"
				   "  AND (m.applied_checksum IS NULL"
				   "   OR m.applied_checksum OPERATOR(pg_catalog.<>) m.checksum)"
				   " UNION ALL"
				   " SELECT e.project, e.version, 'warning', 'unregistered history',"
				   "  pg_catalog.format('%s history rows for \"%s\", which is no longer registered',"
				   "   pg_catalog.count(*), pg_catalog.max(e.name)), 2"
				   " FROM migrate.event AS e"
				   " WHERE NOT EXISTS (SELECT FROM migrate.migration AS m"
				   "  WHERE m.project COLLATE pg_catalog.\"C\" OPERATOR(pg_catalog.=) e.project"
				   "  AND CASE WHEN e.version IS NULL"
				   "   THEN m.kind OPERATOR(pg_catalog.=) 'repeatable'"
				   "    AND m.name OPERATOR(pg_catalog.=) e.name"
				   "   ELSE m.kind OPERATOR(pg_catalog.=) 'versioned'"
				   "    AND m.version OPERATOR(migrate.=) e.version END)"
				   " GROUP BY e.project, e.version,"
				   "  CASE WHEN e.version IS NULL THEN e.name END"
				   " UNION ALL"
				   " SELECT m.project, m.version, 'info', 'no down',"
				   "  pg_catalog.format('\"%s\" is applied and has no down script: it cannot be reverted',"
				   "   m.name), 3"
				   " FROM migrate.migration AS m"
				   " WHERE m.kind OPERATOR(pg_catalog.=) 'versioned'"
				   "  AND m.state OPERATOR(pg_catalog.=) 'applied'"
				   "  AND m.down IS NULL"
				   " UNION ALL"
				   " SELECT m.project, NULL, 'info', 'outdated',"
				   "  pg_catalog.format('repeatable \"%s\" changed since it was applied: run() applies it again',"
				   "   m.name), 4"
				   " FROM migrate.migration AS m"
				   " WHERE m.kind OPERATOR(pg_catalog.=) 'repeatable'"
				   "  AND m.state OPERATOR(pg_catalog.=) 'applied'"
				   "  AND (m.applied_checksum IS NULL"
				   "   OR m.applied_checksum OPERATOR(pg_catalog.<>) m.checksum)"
				   ") AS v"
				   " WHERE $1 IS NULL OR v.project OPERATOR(pg_catalog.=) $1"
				   " ORDER BY v.rank, v.project, v.version, v.detail",
				   1, argtypes);
	rows_into_tuplestore(plan, project, tupstore, tupdesc, false);
}

/*
 * migrate_catalog_status
 *		Puts the rows of migrate.status(project) into tupstore, which has
 *		the descriptor tupdesc.  NULL project means every project.
 */
void
migrate_catalog_status(const char *project, Tuplestorestate *tupstore,
					   TupleDesc tupdesc)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[1] = {TEXTOID};

	migrate_prepare_kept(&plan,
				   "SELECT project, version, name, kind,"
				   " CASE WHEN kind OPERATOR(pg_catalog.=) 'repeatable'"
				   " AND state OPERATOR(pg_catalog.=) 'applied'"
				   " AND applied_checksum OPERATOR(pg_catalog.<>) checksum"
				   " THEN 'outdated' ELSE state END,"
				   " CASE WHEN state OPERATOR(pg_catalog.=) 'applied'"
				   " THEN last_started_at END,"
				   " CASE WHEN state OPERATOR(pg_catalog.=) 'applied'"
				   " THEN last_role::pg_catalog.name COLLATE pg_catalog.\"C\" END,"
				   " CASE WHEN state OPERATOR(pg_catalog.=) 'applied'"
				   " THEN last_duration_ms END,"
				   " down IS NOT NULL, transactional, requires,"
				   " CASE WHEN state OPERATOR(pg_catalog.=) 'failed'"
				   " THEN last_error END"
				   " FROM migrate.migration"
				   " WHERE $1 IS NULL OR project OPERATOR(pg_catalog.=) $1"
				   " ORDER BY project COLLATE pg_catalog.\"C\", kind DESC, version,"
				   " (CASE WHEN kind OPERATOR(pg_catalog.=) 'repeatable'"
				   " THEN name END) COLLATE pg_catalog.\"C\"",
				   1, argtypes);
	rows_into_tuplestore(plan, project, tupstore, tupdesc, true);
}

/*
 * rows_into_tuplestore
 *		Runs a read-only plan whose only parameter is an optional project
 *		(NULL: every project) and sends its rows straight into tupstore,
 *		whose descriptor tupdesc matches the plan's columns.  With
 *		index_order, sorting is disabled while it is planned, so that an
 *		index provides the ORDER BY.
 */
static void
rows_into_tuplestore(SPIPlanPtr plan, const char *project,
					 Tuplestorestate *tupstore, TupleDesc tupdesc,
					 bool index_order)
{
	Datum		values[1];
	char		nulls[1] = {' '};
	DestReceiver *dest = CreateDestReceiver(DestTuplestore);

	SetTuplestoreDestReceiverParams(dest, tupstore, CurrentMemoryContext,
									false, tupdesc,
									"catalog query does not match the function's result type");
	if (project)
		values[0] = CStringGetTextDatum(project);
	else
		nulls[0] = 'n';
	catalog_exec_to(plan, values, nulls, true, 0, SPI_OK_SELECT, dest,
					index_order);
	dest->rDestroy(dest);
}

/*
 * migrate_catalog_current_version
 *		The highest applied version of a project, copied out of SPI into
 *		the upper executor context so it survives SPI_finish.
 */
Datum
migrate_catalog_current_version(const char *project, bool *isnull)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];
	Datum		result = (Datum) 0;

	migrate_prepare_kept(&plan,
				   "SELECT version FROM migrate.migration"
				   " WHERE kind OPERATOR(pg_catalog.=) 'versioned'"
				   " AND project COLLATE pg_catalog.\"C\" OPERATOR(pg_catalog.=) $1"
				   " AND state OPERATOR(pg_catalog.=) 'applied'"
				   " ORDER BY version DESC LIMIT 1",
				   1, argtypes);
	values[0] = CStringGetTextDatum(project);
	catalog_exec(plan, values, NULL, true, 1, SPI_OK_SELECT);
	*isnull = true;
	if (SPI_processed > 0)
	{
		Datum		v = SPI_getbinval(SPI_tuptable->vals[0],
									  SPI_tuptable->tupdesc, 1, isnull);

		if (!*isnull)
			result = SPI_datumTransfer(v, false, -1);
	}
	SPI_freetuptable(SPI_tuptable);
	return result;
}

/*
 * The OIDs of our relations and of the catalog's owner are looked up by
 * name once, and kept until any row of pg_class or pg_namespace changes
 * (dropping and creating the extension again gives them new OIDs): a run
 * needs them several times per migration.
 */
#define MAX_CACHED_RELIDS 8
static struct
{
	int			n;
	const char *name[MAX_CACHED_RELIDS];	/* string constants */
	Oid			relid[MAX_CACHED_RELIDS];
	Oid			owner;			/* InvalidOid until looked up */
}			oid_cache;

static void
oid_cache_reset(Datum arg, int cacheid, uint32 hashvalue)
{
	oid_cache.n = 0;
	oid_cache.owner = InvalidOid;
}

/* The OID of one of our relations (table, index, sequence) in migrate. */
static Oid
catalog_relid(const char *relname)
{
	Oid			relid;
	int			i;

	for (i = 0; i < oid_cache.n; i++)
		if (strcmp(oid_cache.name[i], relname) == 0)
			return oid_cache.relid[i];

	relid = get_relname_relid(relname,
							  get_namespace_oid(MIGRATE_SCHEMA, false));
	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation \"%s.%s\" does not exist",
						MIGRATE_SCHEMA, relname),
				 errhint("The migrate extension is damaged: reinstall it.")));
	if (oid_cache.n < MAX_CACHED_RELIDS)
	{
		oid_cache.name[oid_cache.n] = relname;
		oid_cache.relid[oid_cache.n] = relid;
		oid_cache.n++;
	}
	return relid;
}

/* The role that owns the catalog tables. */
static Oid
catalog_owner(void)
{
	Oid			relid;
	HeapTuple	tuple;

	if (OidIsValid(oid_cache.owner))
		return oid_cache.owner;
	relid = catalog_relid("migration");
	tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	oid_cache.owner = ((Form_pg_class) GETSTRUCT(tuple))->relowner;
	ReleaseSysCache(tuple);
	return oid_cache.owner;
}

/*
 * push_writer_snapshot
 *		Pushes the snapshot an SPI query of a writer would get: a fresh one
 *		under READ COMMITTED, the transaction's otherwise, seeing the
 *		transaction's own earlier changes.  The caller pops it.
 */
static Snapshot
push_writer_snapshot(void)
{
	CommandCounterIncrement();
	PushCopiedSnapshot(GetTransactionSnapshot());
	UpdateActiveSnapshotCommandId();
	return GetActiveSnapshot();
}

/* The attribute number of column name in rel (get_attnum, or an error). */
static AttrNumber
attnum_of(Relation rel, const char *name)
{
	AttrNumber	attnum = get_attnum(RelationGetRelid(rel), name);

	if (attnum == InvalidAttrNumber)
		elog(ERROR, "migrate.%s has no column \"%s\"",
			 RelationGetRelationName(rel), name);
	return attnum;
}

/*
 * pin_search_path
 *		Sets search_path to pg_catalog, pg_temp at a new GUC nest level,
 *		which the caller pops with AtEOXact_GUC(true, level).
 *
 * Every name in our queries is qualified already; this is the second
 * layer, as for SECURITY DEFINER functions: the plan cache re-analyzes a
 * plan under the current search_path, and an unqualified name slipping in
 * must never resolve to a caller's object while we act as the owner.
 */
static int
pin_search_path(void)
{
	int			nestlevel = NewGUCNestLevel();

	(void) set_config_option("search_path", "pg_catalog, pg_temp",
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
							 true, 0, false);
	return nestlevel;
}

/*
 * migrate_prepare_kept
 *		Prepares sql once per backend, with search_path pinned, and keeps
 *		the plan in *cache.  The caller must be connected to SPI.
 */
SPIPlanPtr
migrate_prepare_kept(SPIPlanPtr *cache, const char *sql, int nargs,
			   const Oid *argtypes)
{
	SPIPlanPtr	plan;
	int			nestlevel;
	MemoryContext oldcontext = CurrentMemoryContext;

	if (*cache != NULL)
		return *cache;
	nestlevel = pin_search_path();
	plan = SPI_prepare(sql, nargs, (Oid *) argtypes);
	/* SPI returns in its own procedure context: go back to the caller's */
	MemoryContextSwitchTo(oldcontext);
	AtEOXact_GUC(true, nestlevel);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed for \"%s\": %s",
			 sql, SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "SPI_keepplan failed");
	*cache = plan;
	return plan;
}

/*
 * catalog_exec
 *		Executes a catalog query as the owner of the catalog; the rows, if
 *		any, are in SPI_tuptable.
 */
static void
catalog_exec(SPIPlanPtr plan, Datum *values, const char *nulls,
			 bool read_only, long tcount, int expected)
{
	catalog_exec_to(plan, values, nulls, read_only, tcount, expected, NULL,
					false);
}

/*
 * catalog_exec_to
 *		catalog_exec, sending the rows to dest if not NULL, and planning
 *		with enable_sort off if index_order.
 *
 * If the query throws, the user id and settings stay switched: the abort
 * of the (sub)transaction the error unwinds to restores them.
 */
static void
catalog_exec_to(SPIPlanPtr plan, Datum *values, const char *nulls,
				bool read_only, long tcount, int expected,
				DestReceiver *dest, bool index_order)
{
	MemoryContext oldcontext = CurrentMemoryContext;
	SPIExecuteOptions options = {0};
	int			nargs = SPI_getargcount(plan);
	Oid			save_userid;
	int			save_sec_context;
	int			nestlevel;
	int			rc;
	int			i;

	options.params = makeParamList(nargs);
	for (i = 0; i < nargs; i++)
	{
		ParamExternData *prm = &options.params->params[i];

		prm->value = values[i];
		prm->isnull = nulls != NULL && nulls[i] == 'n';
		prm->pflags = PARAM_FLAG_CONST;
		prm->ptype = SPI_getargtypeid(plan, i);
	}
	options.read_only = read_only;
	options.tcount = tcount;
	options.dest = dest;

	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(catalog_owner(),
						   save_sec_context | SECURITY_LOCAL_USERID_CHANGE);
	nestlevel = pin_search_path();
	if (index_order)
		(void) set_config_option("enable_sort", "off", PGC_USERSET,
								 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0,
								 false);
	rc = SPI_execute_plan_extended(plan, &options);
	/* SPI returns in its own procedure context: go back to the caller's */
	MemoryContextSwitchTo(oldcontext);
	AtEOXact_GUC(true, nestlevel);
	SetUserIdAndSecContext(save_userid, save_sec_context);
	if (rc != expected)
		elog(ERROR, "catalog query failed: %s", SPI_result_code_string(rc));
}

/*
 * Reading Migrations.  A run's plan holds every migration it will apply,
 * so what a loaded row costs is what a long run costs: the rows go from
 * the executor straight into Migrations through this DestReceiver (no SPI
 * tuple table holds them all at once), and each Migration is a single
 * allocation, its strings packed after the struct.
 */
typedef struct MigrationReceiver
{
	DestReceiver pub;
	MemoryContext target;		/* where the Migrations and the list go */
	MemoryContext scratch;		/* detoasted values of the current row */
	List	   *rows;
} MigrationReceiver;

/* Attribute numbers of MIGRATION_COLUMNS. */
enum
{
	COL_ID = 1, COL_PROJECT, COL_KIND, COL_VERSION, COL_NAME, COL_UP,
	COL_DOWN, COL_REQUIRES, COL_TRANSACTIONAL, COL_CHECKSUM,
	COL_DOWN_CHECKSUM, COL_REGISTERED_BY, COL_STATE, COL_APPLIED_CHECKSUM,
	COL_LAST_EVENT, MIGRATION_NCOLUMNS = COL_LAST_EVENT
};

/* Its string columns, in the order of the Migration fields they fill. */
static const int migration_strings[] = {
	COL_PROJECT, COL_VERSION, COL_NAME, COL_UP, COL_DOWN, COL_CHECKSUM,
	COL_DOWN_CHECKSUM, COL_REGISTERED_BY, COL_STATE, COL_APPLIED_CHECKSUM
};

/*
 * fetch_migrations
 *		Runs a plan selecting MIGRATION_COLUMNS (at most tcount rows, 0 for
 *		all) and returns its rows as Migrations, in the caller's context.
 */
static List *
fetch_migrations(SPIPlanPtr plan, Datum *values, const char *nulls,
				 long tcount)
{
	MigrationReceiver receiver = {0};

	receiver.pub.receiveSlot = migration_receiver_receive;
	receiver.pub.rStartup = migration_receiver_startup;
	receiver.pub.rShutdown = migration_receiver_nothing;
	receiver.pub.rDestroy = migration_receiver_nothing;
	receiver.pub.mydest = DestNone;
	receiver.target = CurrentMemoryContext;
	receiver.scratch = AllocSetContextCreate(CurrentMemoryContext,
											 "migrate catalog row",
											 ALLOCSET_SMALL_SIZES);
	/* SPI reports a SELECT whose receiver is not DestSPI as a utility */
	catalog_exec_to(plan, values, nulls, false, tcount, SPI_OK_UTILITY,
					&receiver.pub, false);
	MemoryContextDelete(receiver.scratch);
	return receiver.rows;
}

/* Checks that the query's columns are MIGRATION_COLUMNS. */
static void
migration_receiver_startup(DestReceiver *self, int operation,
						   TupleDesc typeinfo)
{
	static const Oid types[MIGRATION_NCOLUMNS] = {
		INT8OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID,
		TEXTARRAYOID, BOOLOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID,
		INT8OID
	};
	int			i;

	if (typeinfo->natts != MIGRATION_NCOLUMNS)
		elog(ERROR, "catalog query returned %d columns, expected %d",
			 typeinfo->natts, MIGRATION_NCOLUMNS);
	for (i = 0; i < MIGRATION_NCOLUMNS; i++)
		if (TupleDescAttr(typeinfo, i)->atttypid != types[i])
			elog(ERROR, "catalog query column %d has type %u, expected %u",
				 i + 1, TupleDescAttr(typeinfo, i)->atttypid, types[i]);
}

static void
migration_receiver_nothing(DestReceiver *self)
{
}

/* One row: a Migration in one allocation, appended to the list. */
static bool
migration_receiver_receive(TupleTableSlot *slot, DestReceiver *self)
{
	MigrationReceiver *r = (MigrationReceiver *) self;
	MemoryContext oldcontext = MemoryContextSwitchTo(r->scratch);
	const char *str[lengthof(migration_strings)];
	Size		len[lengthof(migration_strings)];
	char	  **field[lengthof(migration_strings)];
	Size		size = MAXALIGN(sizeof(Migration));
	Migration  *m;
	char	   *p;
	text	   *kind;
	int			i;

	slot_getallattrs(slot);
	for (i = 0; i < lengthof(migration_strings); i++)
	{
		int			att = migration_strings[i] - 1;
		text	   *t;

		str[i] = NULL;
		len[i] = 0;
		if (slot->tts_isnull[att])
			continue;
		t = DatumGetTextPP(slot->tts_values[att]);
		str[i] = VARDATA_ANY(t);
		len[i] = VARSIZE_ANY_EXHDR(t);
		size += len[i] + 1;
	}

	m = MemoryContextAllocZero(r->target, size);
	field[0] = &m->project;
	field[1] = &m->version;
	field[2] = &m->name;
	field[3] = &m->up;
	field[4] = &m->down;
	field[5] = &m->checksum;
	field[6] = &m->down_checksum;
	field[7] = &m->registered_by;
	field[8] = &m->state;
	field[9] = &m->applied_checksum;
	p = (char *) m + MAXALIGN(sizeof(Migration));
	for (i = 0; i < lengthof(migration_strings); i++)
	{
		if (str[i] == NULL)
			continue;			/* the field stays NULL */
		memcpy(p, str[i], len[i]);
		p[len[i]] = '\0';
		*field[i] = p;
		p += len[i] + 1;
	}

	m->id = DatumGetInt64(slot->tts_values[COL_ID - 1]);
	kind = DatumGetTextPP(slot->tts_values[COL_KIND - 1]);
	m->repeatable = VARSIZE_ANY_EXHDR(kind) == strlen("repeatable") &&
		memcmp(VARDATA_ANY(kind), "repeatable", strlen("repeatable")) == 0;
	if (!slot->tts_isnull[COL_REQUIRES - 1])
		m->requires = text_array_to_list(slot->tts_values[COL_REQUIRES - 1],
										 r->target);
	m->transactional = DatumGetBool(slot->tts_values[COL_TRANSACTIONAL - 1]);
	if (!slot->tts_isnull[COL_LAST_EVENT - 1])
		m->last_event = DatumGetInt64(slot->tts_values[COL_LAST_EVENT - 1]);

	MemoryContextSwitchTo(r->target);
	r->rows = lappend(r->rows, m);
	MemoryContextSwitchTo(oldcontext);
	MemoryContextReset(r->scratch);
	return true;
}

static Datum
text_or_null(const char *s, char *null)
{
	if (s == NULL)
	{
		*null = 'n';
		return (Datum) 0;
	}
	*null = ' ';
	return CStringGetTextDatum(s);
}

static Datum
text_list_to_array(List *strings)
{
	int			n = list_length(strings);
	Datum	   *elems = palloc(sizeof(Datum) * Max(n, 1));
	ListCell   *lc;
	int			i = 0;

	foreach(lc, strings)
		elems[i++] = CStringGetTextDatum((char *) lfirst(lc));
	return PointerGetDatum(construct_array(elems, n, TEXTOID, -1, false,
										   TYPALIGN_INT));
}

/*
 * The non-null elements of a text[] as a list of strings in target; the
 * detoasted array and its deconstruction stay in the current context.
 */
static List *
text_array_to_list(Datum array, MemoryContext target)
{
	ArrayType  *arr = DatumGetArrayTypeP(array);
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	int			i;
	List	   *result = NIL;
	MemoryContext oldcontext;

	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT,
					  &elems, &nulls, &n);
	oldcontext = MemoryContextSwitchTo(target);
	for (i = 0; i < n; i++)
		if (!nulls[i])
			result = lappend(result, TextDatumGetCString(elems[i]));
	MemoryContextSwitchTo(oldcontext);
	return result;
}
