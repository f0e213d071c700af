/*-------------------------------------------------------------------------
 *
 * toplevel.c
 *	  Executing one statement at top level, as psql's simple query would.
 *
 * SPI executes utility statements as part of a function (isTopLevel
 * false), so PostgreSQL refuses, from any function or procedure, the
 * statements that must run outside a transaction block: CREATE INDEX
 * CONCURRENTLY, REINDEX ... CONCURRENTLY, DROP INDEX CONCURRENTLY, VACUUM,
 * and a CALL of a procedure that commits.  The deploy procedure runs the
 * statements of a non-transactional migration here instead, the way
 * exec_simple_query (tcop/postgres.c) runs a query string, and the way
 * pg_cron's and pg_background's background workers do: parse, analyze
 * and plan under a snapshot, then run a portal with isTopLevel true.
 *
 * Requirements, which deploy.c meets:
 *
 * - The caller is a procedure called by a top-level CALL outside any
 *	 transaction block (so the transaction is in its default, autocommit
 *	 state) and not in a subtransaction.
 * - The caller is not connected to SPI: a statement such as CREATE INDEX
 *	 CONCURRENTLY commits and starts transactions of its own, and a commit
 *	 ends every SPI connection made inside the transaction.
 * - No snapshot is active: SPI in a procedure leaves one active for the
 *	 CALL's portal (EnsurePortalSnapshotExists) until the next commit, and
 *	 the caller lets go of it first (ForgetPortalSnapshots); a statement
 *	 that commits would find it still active.
 * - The current memory context outlives transactions: the statement may
 *	 commit.
 *
 * When a statement returns, the transaction it ends in is still open, so
 * that the caller can record its completion in the same transaction and
 * commit both together.
 *
 * A statement runs as its migration's registrant in a security-restricted
 * operation (runner.c), and that stays so across the commits a statement
 * such as CREATE INDEX CONCURRENTLY makes.  The server's own code never
 * does that: an assert-enabled build checks, as each transaction starts,
 * that no security context is set (xact.c), and stops there.  Release
 * builds do not check, and a transaction started that way records the
 * registrant as the user its abort restores, so deploy.c sets the
 * caller's user back after an abort, before the next transaction starts.
 * Lifting the security restriction between the statement's transactions
 * instead would let a procedure's code after its COMMIT SET ROLE to the
 * caller's session user.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_index.h"
#include "commands/defrem.h"
#include "nodes/parsenodes.h"
#include "parser/analyze.h"
#include "tcop/pquery.h"
#include "tcop/tcopprot.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "toplevel.h"

static RawStmt *parse_one(const char *sql);

/*
 * migrate_toplevel_execute
 *		Executes sql, one statement, at top level, discarding any rows it
 *		returns.  Throws on error; the caller aborts the transaction.
 */
void
migrate_toplevel_execute(const char *sql)
{
	RawStmt    *raw = parse_one(sql);
	bool		snapshot_set = false;
	List	   *querytrees;
	List	   *plantrees;
	Portal		portal;
	DestReceiver *receiver;
	QueryCompletion qc;

	Assert(!IsTransactionBlock() && !IsSubTransaction());
	if (ActiveSnapshotSet())
		elog(ERROR, "a top-level statement cannot run under an active snapshot");

	if (analyze_requires_snapshot(raw))
	{
		PushActiveSnapshot(GetTransactionSnapshot());
		snapshot_set = true;
	}
	querytrees = pg_analyze_and_rewrite_fixedparams(raw, sql, NULL, 0, NULL);
	plantrees = pg_plan_queries(querytrees, sql, CURSOR_OPT_PARALLEL_OK, NULL);
	if (snapshot_set)
		PopActiveSnapshot();

	portal = CreateNewPortal();
	portal->visible = false;
	PortalDefineQuery(portal, NULL, sql, CreateCommandTag(raw->stmt),
					  plantrees, NULL);
	PortalStart(portal, NULL, 0, InvalidSnapshot);

	receiver = CreateDestReceiver(DestNone);
	(void) PortalRun(portal, FETCH_ALL, true, true, receiver, receiver, &qc);
	receiver->rDestroy(receiver);
	PortalDrop(portal, false);
	CommandCounterIncrement();
}

/*
 * migrate_toplevel_waits_for_others
 *		Whether sql is a concurrent operation: CREATE INDEX, REINDEX or
 *		DROP INDEX CONCURRENTLY, or ALTER TABLE ... DETACH PARTITION
 *		CONCURRENTLY.  These wait, by design, for every transaction that
 *		might see the old state (WaitForLockers, WaitForOlderSnapshots),
 *		while their lock, SHARE UPDATE EXCLUSIVE, blocks no reads or writes.
 */
bool
migrate_toplevel_waits_for_others(const char *sql)
{
	Node	   *stmt = parse_one(sql)->stmt;
	ListCell   *lc;

	switch (nodeTag(stmt))
	{
		case T_IndexStmt:
			return ((IndexStmt *) stmt)->concurrent;
		case T_DropStmt:
			return ((DropStmt *) stmt)->concurrent;
		case T_AlterTableStmt:
			foreach(lc, ((AlterTableStmt *) stmt)->cmds)
			{
				AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);

				if (cmd->subtype == AT_DetachPartition &&
					((PartitionCmd *) cmd->def)->concurrent)
					return true;
			}
			return false;
		case T_ReindexStmt:
			foreach(lc, ((ReindexStmt *) stmt)->params)
			{
				DefElem    *opt = lfirst_node(DefElem, lc);

				if (strcmp(opt->defname, "concurrently") == 0)
					return defGetBoolean(opt);
			}
			return false;
		default:
			return false;
	}
}

/*
 * migrate_toplevel_invalid_index
 *		If sql is CREATE INDEX CONCURRENTLY of a named index, and an index
 *		of that name exists on that table's schema and is invalid (what a
 *		failed or interrupted concurrent build leaves), returns the DROP
 *		INDEX CONCURRENTLY that removes it; else NULL.
 *
 * The index is identified from the statement's parse tree: its name, in
 * the schema of the table it is built on, and built on that table.  An
 * unnamed concurrent build gets a name chosen by the server, which the
 * statement does not give: its leftover is not found here.
 */
char *
migrate_toplevel_invalid_index(const char *sql)
{
	RawStmt    *raw = parse_one(sql);
	IndexStmt  *stmt;
	Oid			relid;
	Oid			indexid;
	HeapTuple	tuple;
	bool		invalid = false;
	Oid			indrelid = InvalidOid;

	if (!IsA(raw->stmt, IndexStmt))
		return NULL;
	stmt = (IndexStmt *) raw->stmt;
	if (!stmt->concurrent || stmt->idxname == NULL)
		return NULL;

	relid = RangeVarGetRelid(stmt->relation, NoLock, true);
	if (!OidIsValid(relid))
		return NULL;
	indexid = get_relname_relid(stmt->idxname, get_rel_namespace(relid));
	if (!OidIsValid(indexid))
		return NULL;

	tuple = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(indexid));
	if (HeapTupleIsValid(tuple))
	{
		Form_pg_index index = (Form_pg_index) GETSTRUCT(tuple);

		invalid = !index->indisvalid;
		indrelid = index->indrelid;
		ReleaseSysCache(tuple);
	}
	if (!invalid || indrelid != relid)
		return NULL;

	return psprintf("DROP INDEX CONCURRENTLY %s",
					quote_qualified_identifier(get_namespace_name(get_rel_namespace(indexid)),
											   stmt->idxname));
}

/* The one raw statement of sql. */
static RawStmt *
parse_one(const char *sql)
{
	List	   *parsetrees = pg_parse_query(sql);

	if (list_length(parsetrees) != 1)
		elog(ERROR, "expected one statement, found %d",
			 list_length(parsetrees));
	return linitial_node(RawStmt, parsetrees);
}
