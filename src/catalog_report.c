/*-------------------------------------------------------------------------
 *
 * catalog_report.c
 *	  The rows of status(), validate() and current_version().
 *
 * These are the readers: each runs one read-only query (a reader's
 * snapshot, no lock, so they never wait for a run nor make one wait; the
 * only lock status() touches is a deploy's run lock, tried without
 * waiting, to tell a running deploy from an interrupted one) and
 * connects to SPI itself.  status() sends its rows straight from the
 * executor into the function's tuplestore, in the order of the index
 * migration_status_key; validate() turns its rows into sentences here, so
 * that they can be translated.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/executor.h"
#include "executor/tstoreReceiver.h"
#include "utils/memutils.h"

#include "catalog_internal.h"
#include "lock.h"
#include "version.h"

/*
 * status()'s rows go through this receiver on their way to the tuplestore:
 * a migration left "running" by a deploy whose run lock nobody holds any
 * more (lock.c) is shown as interrupted.  Other rows pass untouched.
 */
typedef struct LivenessReceiver
{
	DestReceiver pub;
	DestReceiver *store;
	TupleTableSlot *slot;		/* for the rows it changes, made by the
								 * caller: it outlives the query */
} LivenessReceiver;

static void connect_spi(void);
static void liveness_startup(DestReceiver *self, int operation,
							 TupleDesc typeinfo);
static bool liveness_receive(TupleTableSlot *slot, DestReceiver *self);
static void liveness_shutdown(DestReceiver *self);
static void liveness_destroy(DestReceiver *self);

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
	CatalogArgs args = {0};
	DestReceiver *dest = CreateDestReceiver(DestTuplestore);
	LivenessReceiver liveness = {0};

	arg_text(&args, project);
	connect_spi();
	migrate_catalog_prepare(&plan,
							"SELECT project, version, name, kind,"
							" CASE WHEN kind OPERATOR(pg_catalog.=) 'repeatable'"
							" AND state OPERATOR(pg_catalog.=) 'applied'"
							" AND applied_checksum OPERATOR(pg_catalog.<>) checksum"
							" THEN 'outdated'"
							" WHEN state OPERATOR(pg_catalog.=) 'reverting' THEN 'running'"
							" ELSE state END,"
							" CASE WHEN state OPERATOR(pg_catalog.=) 'applied'"
							" THEN last_started_at END,"
							" CASE WHEN state OPERATOR(pg_catalog.=) 'applied'"
							" THEN last_role::pg_catalog.name COLLATE pg_catalog.\"C\" END,"
							" CASE WHEN state OPERATOR(pg_catalog.=) 'applied'"
							" THEN last_duration_ms END,"
							" down IS NOT NULL, transactional, requires,"
							" CASE WHEN state OPERATOR(pg_catalog.=) 'failed'"
							" THEN last_error END"
							"{{3:, last_run_id, last_pid|}}"
							" FROM migrate.migration"
							" WHERE $1 IS NULL OR project OPERATOR(pg_catalog.=) $1"
							" ORDER BY project COLLATE pg_catalog.\"C\", kind DESC, version,"
							" (CASE WHEN kind OPERATOR(pg_catalog.=) 'repeatable'"
							" THEN name END) COLLATE pg_catalog.\"C\"",
							&args);
	SetTuplestoreDestReceiverParams(dest, tupstore, CurrentMemoryContext,
									false, tupdesc,
									"catalog query does not match the function's result type");
	liveness.pub.receiveSlot = liveness_receive;
	liveness.pub.rStartup = liveness_startup;
	liveness.pub.rShutdown = liveness_shutdown;
	liveness.pub.rDestroy = liveness_destroy;
	liveness.pub.mydest = DestTuplestore;
	liveness.store = dest;
	liveness.slot = MakeSingleTupleTableSlot(tupdesc, &TTSOpsVirtual);
	migrate_catalog_exec(plan, &args, CATALOG_READ_ONLY | CATALOG_INDEX_ORDER,
						 0, &liveness.pub);
	ExecDropSingleTupleTableSlot(liveness.slot);
	dest->rDestroy(dest);
	SPI_finish();
}

/*
 * The columns of status() that liveness_receive reads and changes, from 0.
 */
#define STATUS_STATE	4
#define STATUS_RUN_ID	12

static void
liveness_startup(DestReceiver *self, int operation, TupleDesc typeinfo)
{
	LivenessReceiver *r = (LivenessReceiver *) self;

	r->store->rStartup(r->store, operation, typeinfo);
}

static void
liveness_shutdown(DestReceiver *self)
{
	LivenessReceiver *r = (LivenessReceiver *) self;

	r->store->rShutdown(r->store);
}

/* The tuplestore's receiver is destroyed by its creator. */
static void
liveness_destroy(DestReceiver *self)
{
}

static bool
liveness_receive(TupleTableSlot *slot, DestReceiver *self)
{
	LivenessReceiver *r = (LivenessReceiver *) self;
	text	   *state;
	int			natts = slot->tts_tupleDescriptor->natts;

	slot_getallattrs(slot);
	/* status() of a catalog before 0.3 has no run_id: nothing to check */
	if (natts <= STATUS_RUN_ID ||
		slot->tts_isnull[STATUS_STATE] || slot->tts_isnull[STATUS_RUN_ID])
		return r->store->receiveSlot(slot, r->store);
	state = DatumGetTextPP(slot->tts_values[STATUS_STATE]);
	if (VARSIZE_ANY_EXHDR(state) != strlen("running") ||
		memcmp(VARDATA_ANY(state), "running", strlen("running")) != 0 ||
		migrate_lock_run_alive(DatumGetInt64(slot->tts_values[STATUS_RUN_ID])))
		return r->store->receiveSlot(slot, r->store);

	ExecClearTuple(r->slot);
	memcpy(r->slot->tts_values, slot->tts_values, natts * sizeof(Datum));
	memcpy(r->slot->tts_isnull, slot->tts_isnull, natts * sizeof(bool));
	r->slot->tts_values[STATUS_STATE] = CStringGetTextDatum("interrupted");
	ExecStoreVirtualTuple(r->slot);
	return r->store->receiveSlot(r->slot, r->store);
}

/*
 * The problems validate() finds in the catalog alone, in report order
 * (the query's problem column), with their severity and name.
 */
enum
{
	PROBLEM_CHECKSUM = 1,		/* applied, and its up changed since */
	PROBLEM_INTERRUPTED,		/* left running by a deploy that ended */
	PROBLEM_UNREGISTERED,		/* history of an unregistered migration */
	PROBLEM_NO_DOWN,			/* applied, without down */
	PROBLEM_OUTDATED,			/* repeatable, changed since applied */
	PROBLEM_EMPTY				/* a script that does nothing, on purpose */
};

static const struct
{
	const char *severity;
	const char *problem;
}			catalog_problems[] = {
	[PROBLEM_CHECKSUM] = {"error", "checksum mismatch"},
	[PROBLEM_INTERRUPTED] = {"warning", "interrupted"},
	[PROBLEM_UNREGISTERED] = {"warning", "unregistered history"},
	[PROBLEM_NO_DOWN] = {"info", "no down"},
	[PROBLEM_OUTDATED] = {"info", "outdated"},
	[PROBLEM_EMPTY] = {"info", "empty script"}
};

/*
 * migrate_catalog_validate
 *		Adds to tupstore (the rows of migrate.validate) the problems found
 *		in the catalog alone: applied migrations whose checksum changed,
 *		migrations a deploy left unfinished (interrupted), history of
 *		migrations that are no longer registered, applied
 *		migrations without down, outdated repeatable migrations, and
 *		empty scripts (found by their checksum, that of no tokens).  Each
 *		detail is a sentence naming the migration, as plan.c's are.
 */
void
migrate_catalog_validate(const char *project, Tuplestorestate *tupstore,
						 TupleDesc tupdesc)
{
	static SPIPlanPtr plan = NULL;
	CatalogArgs args = {0};
	MemoryContext rowcontext;
	MemoryContext oldcontext;
	uint64		i;

	arg_text(&args, project);
	arg_text(&args, MIGRATE_EMPTY_CHECKSUM);
	connect_spi();
	migrate_catalog_prepare(&plan,
							"SELECT project, version, problem, name, applied_checksum,"
							" checksum, rows FROM ("
							" SELECT m.project, m.version, 1 AS problem, m.name,"
							"  m.applied_checksum, m.checksum, NULL::pg_catalog.int8 AS rows"
							" FROM migrate.migration AS m"
							" WHERE m.kind OPERATOR(pg_catalog.=) 'versioned'"
							"  AND m.state OPERATOR(pg_catalog.=) 'applied'"
							"  AND (m.applied_checksum IS NULL"
							"   OR m.applied_checksum OPERATOR(pg_catalog.<>) m.checksum)"
							" UNION ALL"
							" SELECT m.project, m.version, 2, m.name, NULL, NULL,"
							"  {{3:m.last_run_id|NULL::pg_catalog.int8}}"
							" FROM migrate.migration AS m"
							" WHERE m.state OPERATOR(pg_catalog.=) ANY ('{running,reverting}')"
							" UNION ALL"
							" SELECT e.project, e.version, 3, pg_catalog.max(e.name), NULL,"
							"  NULL, pg_catalog.count(*)"
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
							" SELECT m.project, m.version, 4, m.name, NULL, NULL, NULL"
							" FROM migrate.migration AS m"
							" WHERE m.kind OPERATOR(pg_catalog.=) 'versioned'"
							"  AND m.state OPERATOR(pg_catalog.=) 'applied'"
							"  AND m.down IS NULL"
							" UNION ALL"
							" SELECT m.project, NULL, 5, m.name, NULL, NULL, NULL"
							" FROM migrate.migration AS m"
							" WHERE m.kind OPERATOR(pg_catalog.=) 'repeatable'"
							"  AND m.state OPERATOR(pg_catalog.=) 'applied'"
							"  AND (m.applied_checksum IS NULL"
							"   OR m.applied_checksum OPERATOR(pg_catalog.<>) m.checksum)"
							" UNION ALL"
							" SELECT m.project, m.version, 6, m.name, NULL, 'up', NULL"
							" FROM migrate.migration AS m"
							" WHERE m.checksum OPERATOR(pg_catalog.=) $2"
							" UNION ALL"
							" SELECT m.project, m.version, 6, m.name, NULL, 'down', NULL"
							" FROM migrate.migration AS m"
							" WHERE m.down_checksum OPERATOR(pg_catalog.=) $2"
							") AS v"
							" WHERE $1 IS NULL OR v.project OPERATOR(pg_catalog.=) $1"
							" ORDER BY v.problem, v.project, v.version, v.name,"
							"  v.checksum DESC",
							&args);
	migrate_catalog_exec(plan, &args, CATALOG_READ_ONLY, 0, NULL);

	rowcontext = AllocSetContextCreate(CurrentMemoryContext,
									   "migrate validate row",
									   ALLOCSET_SMALL_SIZES);
	oldcontext = MemoryContextSwitchTo(rowcontext);
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	row = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		char	   *rproject = SPI_getvalue(row, desc, 1);
		char	   *rversion = SPI_getvalue(row, desc, 2);
		int			problem = atoi(SPI_getvalue(row, desc, 3));
		char	   *name = SPI_getvalue(row, desc, 4);
		char	   *applied_checksum = SPI_getvalue(row, desc, 5);
		char	   *label;
		char	   *detail;
		Datum		values[5];
		bool		nulls[5] = {false};

		if (problem < PROBLEM_CHECKSUM || problem > PROBLEM_EMPTY)
			elog(ERROR, "unexpected validate problem %d", problem);
		label = migrate_migration_name(rproject, rversion, name);
		if (problem == PROBLEM_CHECKSUM && applied_checksum == NULL)
			detail = psprintf(_("Migration %s is applied without a checksum and is registered with checksum %s."),
							  label, SPI_getvalue(row, desc, 6));
		else if (problem == PROBLEM_CHECKSUM)
			detail = psprintf(_("Migration %s was applied with checksum %s and is registered with checksum %s."),
							  label, applied_checksum, SPI_getvalue(row, desc, 6));
		else if (problem == PROBLEM_INTERRUPTED)
		{
			int64		run_id = pg_strtoint64(SPI_getvalue(row, desc, 7));

			/* a deploy applying it now is no problem */
			if (migrate_lock_run_alive(run_id))
				continue;
			detail = psprintf(_("Migration %s was started by deploy run %lld, which ended without finishing it: the next deploy applies it."),
							  label, (long long) run_id);
		}
		else if (problem == PROBLEM_UNREGISTERED)
		{
			int64		count = pg_strtoint64(SPI_getvalue(row, desc, 7));

			detail = psprintf(dngettext(TEXTDOMAIN,
										"%lld history row of migration %s, which is no longer registered.",
										"%lld history rows of migration %s, which is no longer registered.",
										count),
							  (long long) count, label);
		}
		else if (problem == PROBLEM_NO_DOWN)
			detail = psprintf(_("Migration %s is applied and has no down script: it cannot be reverted."),
							  label);
		else if (problem == PROBLEM_OUTDATED)
			detail = psprintf(_("Migration %s changed since it was applied: run() applies it again."),
							  label);
		else if (strcmp(SPI_getvalue(row, desc, 6), "down") == 0)
			detail = psprintf(_("Migration %s has an empty down script: reverting it changes nothing."),
							  label);
		else if (rversion == NULL)
			detail = psprintf(_("Migration %s has an empty script: applying it changes nothing."),
							  label);
		else
			detail = psprintf(_("Migration %s has an empty up script: applying it changes nothing."),
							  label);

		values[0] = CStringGetTextDatum(rproject);
		if (rversion)
			values[1] = migrate_version_datum(rversion, strlen(rversion));
		else
			nulls[1] = true;
		values[2] = CStringGetTextDatum(catalog_problems[problem].severity);
		values[3] = CStringGetTextDatum(catalog_problems[problem].problem);
		values[4] = CStringGetTextDatum(detail);
		tuplestore_putvalues(tupstore, tupdesc, values, nulls);
		MemoryContextReset(rowcontext);
	}
	MemoryContextSwitchTo(oldcontext);
	MemoryContextDelete(rowcontext);
	SPI_finish();
}

/*
 * migrate_catalog_current_version
 *		The highest applied version of a project, copied out of SPI into
 *		the caller's context so it survives SPI_finish.
 */
Datum
migrate_catalog_current_version(const char *project, bool *isnull)
{
	static SPIPlanPtr plan = NULL;
	CatalogArgs args = {0};
	Datum		result = (Datum) 0;

	arg_text(&args, project);
	connect_spi();
	migrate_catalog_prepare(&plan,
							"SELECT version FROM migrate.migration"
							" WHERE kind OPERATOR(pg_catalog.=) 'versioned'"
							" AND project COLLATE pg_catalog.\"C\" OPERATOR(pg_catalog.=) $1"
							" AND state OPERATOR(pg_catalog.=) 'applied'"
							" ORDER BY version DESC LIMIT 1",
							&args);
	migrate_catalog_exec(plan, &args, CATALOG_READ_ONLY, 1, NULL);
	*isnull = true;
	if (SPI_processed > 0)
	{
		Datum		v = SPI_getbinval(SPI_tuptable->vals[0],
									  SPI_tuptable->tupdesc, 1, isnull);

		if (!*isnull)
			result = SPI_datumTransfer(v, false, -1);
	}
	SPI_finish();
	return result;
}

/* Readers connect to SPI themselves: they take no part in change.c. */
static void
connect_spi(void)
{
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
}
