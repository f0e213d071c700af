/*-------------------------------------------------------------------------
 *
 * catalog_due.c
 *	  The one fast path: the generation row and whether run() has anything
 *	  to do, read in C without planning SQL.
 *
 * The rule: catalog reads go through SPI (catalog.c), except the question
 * every application instance asks at start, usually in a new session, and
 * usually with the answer no: "is anything due?".  Answering it with SQL
 * means parsing and planning queries with the session's caches cold, most
 * of the cost of such a call (bench/README.md, "Findings"); here it costs
 * two small scans:
 *
 * - migrate.generation, one row: nothing_due is true after a change that
 *	 left nothing to do (change.c keeps it so).  This is what the callers
 *	 queued behind a run find.
 * - Otherwise the partial index migration_due_idx, which holds exactly the
 *	 rows that make the answer yes: every migration not applied, and every
 *	 repeatable one changed since it was applied.  If it has no entries at
 *	 all (the usual case once vacuum has removed those of the last run),
 *	 the table is not even opened.
 *
 * Both see what an SPI query of a writer would see: a fresh snapshot under
 * READ COMMITTED, the transaction's snapshot otherwise, and the
 * transaction's own earlier changes.  The generation can also be read with
 * the latest snapshot, which is how change.c finds a stale one.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/relscan.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "nodes/tidbitmap.h"
#include "storage/lmgr.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "catalog.h"

static Snapshot push_snapshot(bool latest);
static Datum column(HeapTuple tuple, Relation rel, const char *name,
					bool *isnull);
static bool index_has_entries(Relation index, Snapshot snapshot);
static bool index_has_visible_row(Relation rel, Relation index,
								  Snapshot snapshot);

/*
 * migrate_catalog_read_generation
 *		The generation and, in *nothing_due, the flag of migrate.generation,
 *		as the caller's writer snapshot sees them, or with latest, as the
 *		latest snapshot does.
 */
int64
migrate_catalog_read_generation(bool latest, bool *nothing_due)
{
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tuple;
	int64		generation = 0;
	bool		isnull;

	*nothing_due = false;
	rel = table_open(migrate_catalog_relid("generation"), AccessShareLock);
	scan = table_beginscan(rel, push_snapshot(latest), 0, NULL);
	tuple = heap_getnext(scan, ForwardScanDirection);
	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "migrate.generation has no row");
	generation = DatumGetInt64(column(tuple, rel, "generation", &isnull));
	*nothing_due = DatumGetBool(column(tuple, rel, "nothing_due", &isnull)) &&
		!isnull;
	table_endscan(scan);
	PopActiveSnapshot();
	table_close(rel, NoLock);
	return generation;
}

/*
 * migrate_catalog_due_rows
 *		Whether migration_due_idx leads to a row the caller's writer
 *		snapshot sees: whether run() has something to do, whatever
 *		nothing_due says.
 */
bool
migrate_catalog_due_rows(void)
{
	Oid			relid = migrate_catalog_relid("migration");
	Relation	index;
	Snapshot	snapshot;
	bool		due;

	/* the table before its index, as everywhere in PostgreSQL */
	LockRelationOid(relid, AccessShareLock);
	index = index_open(migrate_catalog_relid("migration_due_idx"),
					   AccessShareLock);
	snapshot = push_snapshot(false);

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
 * push_snapshot
 *		Pushes the snapshot an SPI query of a writer would get (a fresh one
 *		under READ COMMITTED, the transaction's otherwise), or with latest,
 *		the latest snapshot; either sees the transaction's own earlier
 *		changes.  The caller pops it.
 */
static Snapshot
push_snapshot(bool latest)
{
	CommandCounterIncrement();
	PushCopiedSnapshot(latest ? GetLatestSnapshot() : GetTransactionSnapshot());
	UpdateActiveSnapshotCommandId();
	return GetActiveSnapshot();
}

/* The value of column name of a tuple of rel. */
static Datum
column(HeapTuple tuple, Relation rel, const char *name, bool *isnull)
{
	AttrNumber	attnum = get_attnum(RelationGetRelid(rel), name);

	if (attnum == InvalidAttrNumber)
		elog(ERROR, "migrate.%s has no column \"%s\"",
			 RelationGetRelationName(rel), name);
	return heap_getattr(tuple, attnum, RelationGetDescr(rel), isnull);
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
