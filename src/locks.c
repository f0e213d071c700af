/*-------------------------------------------------------------------------
 *
 * locks.c
 *	  migrate.locks(): the locks each statement of the pending migrations
 *	  really takes, measured by running them as a dry run.
 *
 * The pending migrations (up to a target, as run() plans them) run as
 * run(dry_run => true) runs them: in a subtransaction rolled back at the
 * end, as their registrants, under the migration lock.  Around each
 * statement (runner.c's observer) this backend's relation locks are read
 * from the lock manager (GetLockStatusData, fast-path locks included) and
 * the relfilenodes of the database's own relations from pg_class: a lock
 * held after the statement and not before it, on a relation that existed
 * before the dry run (system catalogs left out: nor is a relation an
 * earlier pending migration creates, new and gone once the dry run is
 * rolled back), is a row; the relation was rewritten if its relfilenode
 * changed.  The dry run is one transaction: a lock a statement takes that
 * an earlier statement or migration already took is no row.  pg_class is
 * read once, before the dry run; per statement only the relfilenodes of
 * the relations this backend holds are (nothing else can have been
 * rewritten by it), in a memory context reset for each statement.  The statement's wall time on this
 * database's data is the row's duration.
 *
 * A statement of a non-transactional migration cannot run inside the dry
 * run's transaction, and later migrations may need what it makes: from the
 * first non-transactional migration on, each statement's row gives the
 * lock PostgreSQL's rules give it (lint.c) and no duration, unrun.
 *
 * The dry run never waits longer than the caller's lock_timeout for a
 * lock, or 1 s if it has none; then it fails with 55P03 naming the
 * statement and a backend that holds a lock on a relation the statement
 * names.
 *
 * Invariants: nothing of the dry run stays (the subtransaction is rolled
 * back; sequences it advanced stay advanced, as always).  The observer runs
 * as the registrant inside a security-restricted operation: it reads the
 * lock manager and pg_class directly, never through SQL.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/transam.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "portability/instr_time.h"
#include "storage/lock.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "catalog.h"
#include "lint.h"
#include "locks.h"
#include "plan.h"
#include "runner.h"
#include "version.h"

/* One row: a lock a statement took. */
typedef struct LockRow
{
	int			i;				/* the migration's index in the plan */
	int			k;				/* its statement, from 1 */
	Oid			relid;
	LOCKMODE	mode;
	int			rewritten;		/* 1, 0, or -1: not known (not run) */
	double		duration_ms;	/* < 0: not run */
} LockRow;

/* A relation lock this backend holds, and the relation's relfilenode. */
typedef struct HeldLock
{
	Oid			relid;
	LOCKMASK	modes;
	Oid			filenode;
} HeldLock;

/* A relation of the database and its relfilenode. */
typedef struct RelFilenode
{
	Oid			relid;
	Oid			filenode;
} RelFilenode;

typedef struct LockProbe
{
	List	   *plan;			/* of Migration */
	List	   *run;			/* those of plan the dry run runs */
	MemoryContext rows_context; /* where rows live: outlives the migrations */
	MemoryContext per_statement;	/* reset before each statement */
	List	   *rows;			/* of LockRow */
	/* before the dry run: the database's relations, sorted by OID */
	RelFilenode *first;
	int			nfirst;
	/* before the statement being run: what it held, and their filenodes */
	HeldLock   *held;
	int			nheld;
	instr_time	start;
	/* the statement being run, for a lock failure */
	int			i;
	int			k;
	const ScriptStatement *st;
} LockProbe;

static void observe(void *arg, int i, int k, const ScriptStatement *st,
					bool after);
static HeldLock *held_locks(int *n);
static void first_filenodes(LockProbe *p);
static int	relfilenode_cmp(const void *a, const void *b);
static const RelFilenode *first_filenode(const LockProbe *p, Oid relid);
static int	lock_row_cmp(const ListCell *a, const ListCell *b);
static void report_lock_failure(LockProbe *p, ErrorData *edata);
static Oid	current_filenode(Oid relid);
static int	plan_index(List *plan, const Migration *m);

/*
 * migrate_locks
 *		Adds to tupstore a row per lock each statement of the migrations of
 *		plan (those run() would apply, in its order) takes; statements of
 *		non-transactional migrations are not run.  The caller holds the
 *		migration lock and is connected to SPI.
 */
void
migrate_locks(List *plan, Tuplestorestate *tupstore, TupleDesc tupdesc)
{
	LockProbe	p = {0};
	List	   *run = NIL;
	ListCell   *lc;
	RunState   *rs;
	ErrorData  *edata;
	char	   *timeout = pstrdup(GetConfigOption("lock_timeout", false,
												  false));
	bool		stopped = false;

	p.plan = plan;
	p.rows_context = CurrentMemoryContext;

	/*
	 * The migrations before the first non-transactional one run; that one
	 * cannot, and those after it may need what it makes (an index a later
	 * migration attaches as a constraint): from there on, the lock
	 * PostgreSQL's rules give each statement, unrun.
	 */
	foreach(lc, plan)
	{
		Migration  *m = lfirst(lc);
		int			i = foreach_current_index(lc);
		ListCell   *sc;

		if (m->transactional && !stopped)
		{
			run = lappend(run, m);
			continue;
		}
		stopped = true;
		foreach(sc, migrate_script_statements(migrate_catalog_script(m, m->repeatable ?
																	 SCRIPT_REPEATABLE :
																	 SCRIPT_UP)))
		{
			ScriptStatement *st = lfirst(sc);
			RangeVar   *rv;
			LOCKMODE	mode;
			LockRow    *row;

			if (!migrate_lint_statement_lock(st->parsetree, &rv, &mode))
				continue;
			row = palloc0(sizeof(LockRow));
			row->i = i;
			row->k = foreach_current_index(sc) + 1;
			row->relid = RangeVarGetRelid(rv, NoLock, true);
			row->mode = mode;
			row->rewritten = -1;
			row->duration_ms = -1;
			p.rows = lappend(p.rows, row);
		}
	}

	/* the others, as a dry run, never waiting long for a lock */
	if (run != NIL)
	{
		p.run = run;
		p.per_statement = AllocSetContextCreate(CurrentMemoryContext,
												"migrate locks statement",
												ALLOCSET_DEFAULT_SIZES);
		first_filenodes(&p);
		rs = migrate_runner_begin(run, false, 0,
								  strcmp(timeout, "0") == 0 ? "1s" : timeout);
		migrate_runner_observe(rs, observe, &p);
		edata = migrate_runner_dry_run(rs);
		if (edata)
		{
			if (edata->sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE && p.st)
				report_lock_failure(&p, edata);
			ReThrowError(edata);
		}
		MemoryContextDelete(p.per_statement);
	}

	/* the dry run's indexes are of "run"; give them the plan's */
	foreach(lc, p.rows)
	{
		LockRow    *row = lfirst(lc);

		if (row->duration_ms >= 0)
			row->i = plan_index(plan, list_nth(run, row->i));
	}
	list_sort(p.rows, lock_row_cmp);

	foreach(lc, p.rows)
	{
		LockRow    *row = lfirst(lc);
		Migration  *m = list_nth(plan, row->i);
		Datum		values[7];
		bool		nulls[7] = {false};

		values[0] = CStringGetTextDatum(m->project);
		if (m->version)
			values[1] = migrate_version_datum(m->version, strlen(m->version));
		else
			nulls[1] = true;
		values[2] = Int32GetDatum(row->k);
		if (OidIsValid(row->relid))
			values[3] = ObjectIdGetDatum(row->relid);
		else
			nulls[3] = true;
		values[4] = CStringGetTextDatum(GetLockmodeName(DEFAULT_LOCKMETHOD,
														row->mode));
		if (row->rewritten >= 0)
			values[5] = BoolGetDatum(row->rewritten == 1);
		else
			nulls[5] = true;
		if (row->duration_ms >= 0)
			values[6] = Float8GetDatum(row->duration_ms);
		else
			nulls[6] = true;
		tuplestore_putvalues(tupstore, tupdesc, values, nulls);
	}
}

/*
 * The observer, around each statement: before, what this backend holds
 * (a relation it does not hold cannot have been rewritten by the dry run
 * so far: its relfilenode is the one it had before); after, what the
 * statement locked anew, and whether those relations were rewritten.
 */
static void
observe(void *arg, int i, int k, const ScriptStatement *st, bool after)
{
	LockProbe  *p = (LockProbe *) arg;
	MemoryContext oldcontext;
	HeldLock   *now;
	int			nnow;
	instr_time	elapsed;
	double		ms;
	int			a;

	if (!after)
	{
		MemoryContextReset(p->per_statement);
		oldcontext = MemoryContextSwitchTo(p->per_statement);
		p->i = i;
		p->k = k;
		p->st = st;
		p->held = held_locks(&p->nheld);
		for (a = 0; a < p->nheld; a++)
			p->held[a].filenode = current_filenode(p->held[a].relid);
		MemoryContextSwitchTo(oldcontext);
		INSTR_TIME_SET_CURRENT(p->start);
		return;
	}

	INSTR_TIME_SET_CURRENT(elapsed);
	INSTR_TIME_SUBTRACT(elapsed, p->start);
	ms = INSTR_TIME_GET_MILLISEC(elapsed);
	oldcontext = MemoryContextSwitchTo(p->per_statement);
	now = held_locks(&nnow);
	MemoryContextSwitchTo(p->rows_context);
	for (a = 0; a < nnow; a++)
	{
		const RelFilenode *first = first_filenode(p, now[a].relid);
		LOCKMASK	before = 0;
		Oid			filenode;
		Oid			now_filenode;
		LOCKMODE	mode;
		int			b;

		if (first == NULL)
			continue;			/* new, or a system catalog */
		filenode = first->filenode;
		for (b = 0; b < p->nheld; b++)
		{
			if (p->held[b].relid == now[a].relid)
			{
				before = p->held[b].modes;
				filenode = p->held[b].filenode;
			}
		}
		/* a relation the statement dropped was not rewritten */
		now_filenode = current_filenode(now[a].relid);
		for (mode = 1; mode <= MaxLockMode; mode++)
		{
			LockRow    *row;

			if (!(now[a].modes & LOCKBIT_ON(mode)) ||
				(before & LOCKBIT_ON(mode)))
				continue;
			row = palloc0(sizeof(LockRow));
			row->i = i;
			row->k = k;
			row->relid = now[a].relid;
			row->mode = mode;
			row->rewritten = filenode != InvalidOid &&
				now_filenode != InvalidOid && filenode != now_filenode ? 1 : 0;
			row->duration_ms = ms;
			p->rows = lappend(p->rows, row);
		}
	}
	MemoryContextSwitchTo(oldcontext);
	p->st = NULL;
}

/* This backend's relation locks in this database, fast-path ones too. */
static HeldLock *
held_locks(int *n)
{
	LockData   *data = GetLockStatusData();
	HeldLock   *result = palloc(sizeof(HeldLock) * Max(data->nelements, 1));
	int			i;

	*n = 0;
	for (i = 0; i < data->nelements; i++)
	{
		LockInstanceData *inst = &data->locks[i];
		int			j;

		if (inst->pid != MyProcPid ||
			inst->locktag.locktag_type != LOCKTAG_RELATION ||
			inst->locktag.locktag_field1 != MyDatabaseId)
			continue;
		for (j = 0; j < *n; j++)
			if (result[j].relid == inst->locktag.locktag_field2)
				break;
		if (j == *n)
		{
			result[j].relid = inst->locktag.locktag_field2;
			result[j].modes = 0;
			(*n)++;
		}
		result[j].modes |= inst->holdMask;
	}
	return result;
}

/*
 * The relfilenode of every relation of the database's own (not a system
 * catalog) before the dry run, sorted by OID.
 */
static void
first_filenodes(LockProbe *p)
{
	Relation	classrel = table_open(RelationRelationId, AccessShareLock);
	SysScanDesc scan = systable_beginscan(classrel, InvalidOid, false, NULL,
										  0, NULL);
	HeapTuple	tup;
	int			cap = 64;

	p->nfirst = 0;
	p->first = palloc(sizeof(RelFilenode) * cap);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_class c = (Form_pg_class) GETSTRUCT(tup);

		if (c->oid < FirstNormalObjectId)
			continue;
		if (p->nfirst == cap)
		{
			cap *= 2;
			p->first = repalloc(p->first, sizeof(RelFilenode) * cap);
		}
		p->first[p->nfirst].relid = c->oid;
		p->first[p->nfirst].filenode = c->relfilenode;
		p->nfirst++;
	}
	systable_endscan(scan);
	table_close(classrel, AccessShareLock);
	qsort(p->first, p->nfirst, sizeof(RelFilenode), relfilenode_cmp);
}

static int
relfilenode_cmp(const void *a, const void *b)
{
	Oid			x = ((const RelFilenode *) a)->relid;
	Oid			y = ((const RelFilenode *) b)->relid;

	return x < y ? -1 : x > y ? 1 : 0;
}

/* relid as it was before the dry run, or NULL if it did not exist. */
static const RelFilenode *
first_filenode(const LockProbe *p, Oid relid)
{
	RelFilenode key;

	key.relid = relid;
	return bsearch(&key, p->first, p->nfirst, sizeof(RelFilenode),
				   relfilenode_cmp);
}

static int
lock_row_cmp(const ListCell *a, const ListCell *b)
{
	const LockRow *x = lfirst(a);
	const LockRow *y = lfirst(b);

	if (x->i != y->i)
		return x->i < y->i ? -1 : 1;
	if (x->k != y->k)
		return x->k < y->k ? -1 : 1;
	if (x->relid != y->relid)
		return x->relid < y->relid ? -1 : 1;
	return x->mode < y->mode ? -1 : x->mode > y->mode ? 1 : 0;
}

/*
 * A lock not had within lock_timeout: the error names the statement and a
 * backend holding a lock on the relation it locks.
 */
static void
report_lock_failure(LockProbe *p, ErrorData *edata)
{
	RangeVar   *rv;
	LOCKMODE	wanted;
	Oid			relid;
	LockData   *data;
	int			holder = 0;
	LOCKMODE	held = NoLock;
	int			i;

	edata->message = psprintf(_("statement %d of migration %s could not get its lock within lock_timeout"),
							  p->k,
							  migrate_migration_describe(list_nth(p->run, p->i)));
	edata->hint = pstrdup(_("Run migrate.locks() again when the backend holding the lock is done, or with a longer lock_timeout."));
	edata->detail = NULL;
	if (!migrate_lint_statement_lock(p->st->parsetree, &rv, &wanted) ||
		!OidIsValid(relid = RangeVarGetRelid(rv, NoLock, true)))
		return;

	data = GetLockStatusData();
	for (i = 0; holder == 0 && i < data->nelements; i++)
	{
		LockInstanceData *inst = &data->locks[i];

		LOCKMODE	mode;

		if (inst->pid == MyProcPid || inst->holdMask == 0 ||
			inst->locktag.locktag_type != LOCKTAG_RELATION ||
			inst->locktag.locktag_field1 != MyDatabaseId ||
			inst->locktag.locktag_field2 != relid)
			continue;
		/* a mode it holds that conflicts with the one wanted */
		for (mode = MaxLockMode; mode > NoLock; mode--)
			if ((inst->holdMask & LOCKBIT_ON(mode)) &&
				DoLockModesConflict(mode, wanted))
				break;
		if (mode == NoLock)
			continue;
		holder = inst->pid;
		held = mode;
	}
	if (holder != 0)
		edata->detail = psprintf(_("Backend %d holds %s on relation \"%s\"."),
								 holder,
								 GetLockmodeName(DEFAULT_LOCKMETHOD, held),
								 get_rel_name(relid));
}

/* relid's relfilenode now, as this transaction sees it. */
static Oid
current_filenode(Oid relid)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Oid			result = InvalidOid;

	if (HeapTupleIsValid(tup))
	{
		result = ((Form_pg_class) GETSTRUCT(tup))->relfilenode;
		ReleaseSysCache(tup);
	}
	return result;
}

/* The index of m in plan. */
static int
plan_index(List *plan, const Migration *m)
{
	ListCell   *lc;

	foreach(lc, plan)
		if (lfirst(lc) == m)
		return foreach_current_index(lc);
	elog(ERROR, "migration not in its plan");
	return -1;					/* keep compiler quiet */
}
