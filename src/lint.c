/*-------------------------------------------------------------------------
 *
 * lint.c
 *	  migrate.lint(): what the pending migrations will lock, rewrite and
 *	  break, from the server's parse tree and the live catalog.
 *
 * Each statement of each pending migration (versioned ones by project and
 * version, then the repeatable ones due) is looked at once, as the raw
 * parse tree the server's parser gives (script.c), against the catalog as
 * it is now.  A finding names a stable rule, a severity, the relation and
 * its size (pg_class's estimates: reltuples and relpages, as the last
 * VACUUM or ANALYZE left them), and the lock PostgreSQL takes on it: for
 * ALTER TABLE the server's own AlterTableGetLockLevel(), which
 * ProcessUtility calls on the same raw statement; for the other commands
 * the mode their code takes (named where it is chosen below).
 *
 * A relation created by an earlier statement of the same lint (earlier in
 * the migration, or by an earlier pending migration), or one that does not
 * exist yet, is new and empty: a hazard on it is at most "info".  So is one
 * whose statistics say it has no rows.
 *
 * Whether an ALTER COLUMN ... TYPE rewrites follows the server's rule
 * (ATPrepAlterColumnType and ATColumnChangeRequiresRewrite in tablecmds.c):
 * the column's value coerced to the new type, simplified by the planner,
 * needs no rewrite only if what is left is the column itself under
 * binary-compatible relabelings (and a domain without constraints, or the
 * timestamp/timestamptz conversions when the time zone is UTC).
 *
 * Policy, the setting migrate.lint: "off", "warn" (the default: register()
 * raises a WARNING per error finding of the migration it registers, judged
 * alone) or "error" (the same, and run() and the deploy procedure refuse a
 * plan with an error finding, judged in the plan's order, before anything
 * runs).
 *
 * Invariants: lint() is a reader.  It writes nothing, takes no lock on
 * the tables it judges (lookups are NoLock; sizes come from pg_class, and
 * the statistics collector for a table never analyzed, summed over the
 * partitions of a partitioned table, never from the relations' files;
 * pg_constraint is read as any catalog lookup reads it), and works in a
 * read-only transaction.  Each statement is judged in a subtransaction: a
 * relation, type or function that does not exist yet, or a statement the
 * catalog cannot answer, leaves that statement unjudged rather than
 * failing register() or lint().  A script's own SET search_path (and
 * TimeZone) is followed, as the runner would.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "catalog/pg_inherits.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_index.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "commands/tablecmds.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "pgstat.h"
#include "parser/parse_coerce.h"
#include "parser/parse_func.h"
#include "parser/parse_type.h"
#include "storage/lock.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/formatting.h"
#include "utils/guc.h"
#include "utils/resowner.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"

#include "catalog.h"
#include "lint.h"
#include "script.h"
#include "version.h"

/* migrate.lint_big_rows: an UPDATE or DELETE of all rows above this warns */
int			migrate_lint_big_rows = 100000;

/* migrate.lint: what error findings do to register(), run() and deploy */
typedef enum LintPolicy
{
	LINT_POLICY_OFF,
	LINT_POLICY_WARN,
	LINT_POLICY_ERROR
} LintPolicy;

static int	lint_policy = LINT_POLICY_WARN;

static const struct config_enum_entry lint_policy_options[] = {
	{"off", LINT_POLICY_OFF, false},
	{"warn", LINT_POLICY_WARN, false},
	{"error", LINT_POLICY_ERROR, false},
	{NULL, 0, false}
};

/* What report() does with a finding. */
typedef enum LintOutput
{
	LINT_ROWS,					/* a row of lint()'s result */
	LINT_WARN,					/* a WARNING for an error finding */
	LINT_ERROR					/* an ERROR for an error finding */
} LintOutput;

/* What lint knows of a relation a statement names. */
typedef struct LintRelation
{
	RangeVar   *rv;				/* as the statement names it */
	Oid			relid;			/* InvalidOid: new, or does not exist yet */
	bool		has_size;		/* rows and bytes known */
	int64		rows;
	int64		bytes;
	bool		has_rows;		/* not new, and not known to be empty */
} LintRelation;

/* A CHECK (col IS NOT NULL) added by an earlier statement. */
typedef struct NotNullCheck
{
	RangeVar   *rv;
	char	   *column;
	char	   *name;			/* the constraint's name, NULL if unnamed */
	bool		validated;
} NotNullCheck;

typedef struct Linter
{
	LintOutput	output;
	Tuplestorestate *tupstore;
	TupleDesc	tupdesc;
	List	   *created;		/* RangeVars of relations made by earlier
								 * statements */
	List	   *checks;			/* NotNullCheck, from earlier statements */
	List	   *validated;		/* OIDs of catalog constraints an earlier
								 * statement validates */
	/* the statement being linted */
	const Migration *m;
	const char *script;
	const ScriptStatement *st;
	int			stmtno;
	List	   *allowed;		/* rule names its -- migrate:allow silences */
	bool		reporting_error;	/* report() is throwing a finding */
} Linter;

static void lint_migration(Linter *l, const Migration *m);
static void lint_script(Linter *l, const Migration *m, const char *script,
						List *stmts);
static void follow_setting(VariableSetStmt *stmt);
static void lint_statement_guarded(Linter *l);
static bool option_is_true(DefElem *opt);
static void lint_statement(Linter *l, Node *stmt);
static void lint_alter_table(Linter *l, AlterTableStmt *stmt);
static void lint_alter_type(Linter *l, LintRelation *rel, LOCKMODE mode,
							AlterTableCmd *cmd);
static bool using_is_column(Node *expr, const char *column,
							bool *explicit_cast);
static void lint_add_column(Linter *l, LintRelation *rel, LOCKMODE mode,
							ColumnDef *col);
static void lint_column_types(Linter *l, LintRelation *rel, List *elts);
static void lint_set_not_null(Linter *l, LintRelation *rel, LOCKMODE mode,
							  const char *column);
static void remember_check(Linter *l, RangeVar *rv, Constraint *con);
static void lookup(Linter *l, RangeVar *rv, LintRelation *rel);
static void add_relation_size(LintRelation *rel, Oid relid);
static bool same_relation(const RangeVar *a, const RangeVar *b);
static const char *hazard(const LintRelation *rel);
static void report(Linter *l, const char *rule, const char *severity,
				   const LintRelation *rel, LOCKMODE mode, char *message,
				   char *hint);
static bool raw_default_is_volatile(Node *expr, void *context);
static bool not_null_implied(Oid relid, const char *column,
							 List *validated);
static bool is_not_null_check(Node *raw_expr, char **column);

/*
 * migrate_lint_init
 *		Called once from _PG_init: defines the settings.
 */
void
migrate_lint_init(void)
{
	DefineCustomEnumVariable("migrate.lint",
							 gettext_noop("What an error finding of migrate.lint() does: off, warn (register() warns) or error (run() and deploy also refuse)."),
							 NULL,
							 &lint_policy,
							 LINT_POLICY_WARN,
							 lint_policy_options,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);
	DefineCustomIntVariable("migrate.lint_big_rows",
							gettext_noop("Estimated rows above which lint() warns of an UPDATE or DELETE without WHERE."),
							NULL,
							&migrate_lint_big_rows,
							100000, 0, INT_MAX,
							PGC_USERSET, 0,
							NULL, NULL, NULL);
	MarkGUCPrefixReserved("migrate");
}

/*
 * migrate_lint
 *		Adds to tupstore a row per finding in the pending migrations of
 *		project (NULL: every project).
 */
void
migrate_lint(const char *project, Tuplestorestate *tupstore,
			 TupleDesc tupdesc)
{
	Linter		l = {0};
	List	   *pending;
	ListCell   *lc;
	int			rc;

	if ((rc = SPI_connect()) != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed: %s", SPI_result_code_string(rc));
	pending = migrate_catalog_registrations(project, true);
	l.output = LINT_ROWS;
	l.tupstore = tupstore;
	l.tupdesc = tupdesc;
	foreach(lc, pending)
	{
		Migration  *m = lfirst(lc);

		lint_migration(&l, m);
	}
	if ((rc = SPI_finish()) != SPI_OK_FINISH)
		elog(ERROR, "SPI_finish failed: %s", SPI_result_code_string(rc));
}

/*
 * migrate_lint_registered
 *		After register() stored m, whose up script is up, split into stmts
 *		when it was checked (script.c): unless
 *		migrate.lint is off, a WARNING for each error finding of m.  It is
 *		judged alone: a bundle registers thousands of migrations in one
 *		statement, and judging each after all the pending ones before it
 *		would cost the square of their number.  A table an earlier pending
 *		migration creates does not exist yet, so it is new here too; a CHECK
 *		an earlier one validates is not seen (lint() sees it).
 */
void
migrate_lint_registered(const Migration *m, const char *up, List *stmts)
{
	Linter		l = {0};

	if (lint_policy == LINT_POLICY_OFF)
		return;
	l.output = LINT_WARN;
	lint_script(&l, m, up, stmts);
}

/*
 * migrate_lint_plan
 *		Before a plan of migrations to apply runs: with migrate.lint set to
 *		error, throws at its first error finding, judged in the plan's
 *		order.  The caller is connected to SPI.
 */
void
migrate_lint_plan(List *plan)
{
	Linter		l = {0};
	ListCell   *lc;

	if (lint_policy != LINT_POLICY_ERROR)
		return;
	l.output = LINT_ERROR;
	foreach(lc, plan)
	{
		Migration  *m = lfirst(lc);

		lint_migration(&l, m);
	}
}

/*
 * migrate_lint_statement_lock
 *		The relation stmt locks first and the mode PostgreSQL takes on it
 *		(see the file header for where each comes from); false for a
 *		statement that locks no relation, or one not known here.
 */
bool
migrate_lint_statement_lock(Node *stmt, RangeVar **rv, LOCKMODE *mode)
{
	ListCell   *lc;

	switch (nodeTag(stmt))
	{
		case T_AlterTableStmt:
			*rv = ((AlterTableStmt *) stmt)->relation;
			*mode = AlterTableGetLockLevel(((AlterTableStmt *) stmt)->cmds);
			return true;
		case T_IndexStmt:
			*rv = ((IndexStmt *) stmt)->relation;
			*mode = ((IndexStmt *) stmt)->concurrent ?
				ShareUpdateExclusiveLock : ShareLock;
			return true;
		case T_ReindexStmt:
			{
				ReindexStmt *rs = (ReindexStmt *) stmt;
				bool		concurrent = false;

				if (rs->relation == NULL)
					return false;
				foreach(lc, rs->params)
				{
					DefElem    *opt = lfirst_node(DefElem, lc);

					if (strcmp(opt->defname, "concurrently") == 0)
						concurrent = option_is_true(opt);
				}
				*rv = rs->relation;
				*mode = concurrent ? ShareUpdateExclusiveLock :
					rs->kind == REINDEX_OBJECT_INDEX ? AccessExclusiveLock :
					ShareLock;
				return true;
			}
		case T_DropStmt:
			{
				DropStmt   *ds = (DropStmt *) stmt;

				if ((ds->removeType != OBJECT_INDEX &&
					 ds->removeType != OBJECT_TABLE) || ds->objects == NIL)
					return false;
				*rv = makeRangeVarFromNameList(linitial(ds->objects));
				*mode = ds->concurrent ? ShareUpdateExclusiveLock :
					AccessExclusiveLock;
				return true;
			}
		case T_VacuumStmt:
			{
				VacuumStmt *vs = (VacuumStmt *) stmt;
				bool		full = false;

				if (vs->rels == NIL)
					return false;
				foreach(lc, vs->options)
				{
					DefElem    *opt = lfirst_node(DefElem, lc);

					if (strcmp(opt->defname, "full") == 0)
						full = option_is_true(opt);
				}
				*rv = lfirst_node(VacuumRelation, list_head(vs->rels))->relation;
				*mode = !vs->is_vacuumcmd ? ShareUpdateExclusiveLock :
					full ? AccessExclusiveLock : ShareUpdateExclusiveLock;
				return true;
			}
		case T_ClusterStmt:
			*rv = ((ClusterStmt *) stmt)->relation;
			*mode = AccessExclusiveLock;
			return *rv != NULL;
		case T_LockStmt:
			*rv = linitial_node(RangeVar, ((LockStmt *) stmt)->relations);
			*mode = ((LockStmt *) stmt)->mode;
			return true;
		case T_RenameStmt:
			*rv = ((RenameStmt *) stmt)->relation;
			/* RenameRelation: an index's rename takes less (PostgreSQL 12+) */
			*mode = ((RenameStmt *) stmt)->renameType == OBJECT_INDEX ?
				ShareUpdateExclusiveLock : AccessExclusiveLock;
			return *rv != NULL;
		case T_TruncateStmt:
			*rv = linitial_node(RangeVar, ((TruncateStmt *) stmt)->relations);
			*mode = AccessExclusiveLock;
			return true;
		case T_CreateTrigStmt:
			*rv = ((CreateTrigStmt *) stmt)->relation;
			*mode = ShareRowExclusiveLock;
			return true;
		case T_RefreshMatViewStmt:
			*rv = ((RefreshMatViewStmt *) stmt)->relation;
			*mode = ((RefreshMatViewStmt *) stmt)->concurrent ?
				ExclusiveLock : AccessExclusiveLock;
			return true;
		case T_InsertStmt:
			*rv = ((InsertStmt *) stmt)->relation;
			*mode = RowExclusiveLock;
			return true;
		case T_UpdateStmt:
			*rv = ((UpdateStmt *) stmt)->relation;
			*mode = RowExclusiveLock;
			return true;
		case T_DeleteStmt:
			*rv = ((DeleteStmt *) stmt)->relation;
			*mode = RowExclusiveLock;
			return true;
		default:
			return false;
	}
}

/* A migration read from the catalog: its up (or repeatable) script. */
static void
lint_migration(Linter *l, const Migration *m)
{
	char	   *script = migrate_catalog_script(m, m->repeatable ?
												SCRIPT_REPEATABLE : SCRIPT_UP);

	lint_script(l, m, script, migrate_script_statements(script));
}

/*
 * Every statement of one migration's script, with the search_path the
 * script itself sets (as the runner would run it).
 */
static void
lint_script(Linter *l, const Migration *m, const char *script, List *stmts)
{
	ListCell   *lc;
	int			nestlevel = NewGUCNestLevel();

	l->m = m;
	l->script = script;
	foreach(lc, stmts)
	{
		CHECK_FOR_INTERRUPTS();
		l->st = lfirst(lc);
		l->stmtno = foreach_current_index(lc) + 1;
		l->allowed = migrate_script_allowed_rules(script, l->st);
		if (IsA(l->st->parsetree, VariableSetStmt))
			follow_setting((VariableSetStmt *) l->st->parsetree);
		else
			lint_statement_guarded(l);
	}
	AtEOXact_GUC(false, nestlevel);
}

/*
 * A SET (or RESET) of search_path or TimeZone in the script, which the
 * names and the timestamp rule of later statements depend on.  A value the
 * server would refuse is ignored here: running the script will say so.
 */
static void
follow_setting(VariableSetStmt *stmt)
{
	char	   *value;

	if (stmt->name == NULL ||
		(strcmp(stmt->name, "search_path") != 0 &&
		 strcmp(stmt->name, "timezone") != 0))
		return;
	if (stmt->kind == VAR_SET_VALUE)
		value = ExtractSetVariableArgs(stmt);
	else if (stmt->kind == VAR_SET_DEFAULT || stmt->kind == VAR_RESET)
		value = NULL;
	else
		return;
	(void) set_config_option(stmt->name, value, PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, DEBUG1, false);
}

/*
 * lint_statement_guarded
 *		lint_statement in a subtransaction: what the catalog cannot answer
 *		for an odd statement (a name of another database, a type modifier
 *		the type refuses, an option that is no boolean) leaves that
 *		statement unjudged instead of failing register() or lint().  A
 *		cancel, or any error raised for a finding (migrate.lint = error), is
 *		thrown on.
 */
static void
lint_statement_guarded(Linter *l)
{
	MemoryContext oldcontext = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcontext);
	PG_TRY();
	{
		lint_statement(l, l->st->parsetree);
		ReleaseCurrentSubTransaction();
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcontext);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcontext);
		CurrentResourceOwner = oldowner;
		if (l->reporting_error || edata->sqlerrcode == ERRCODE_QUERY_CANCELED ||
			edata->sqlerrcode == ERRCODE_ADMIN_SHUTDOWN)
			ReThrowError(edata);
		ereport(DEBUG1,
				(errmsg_internal("lint skipped statement %d of migration %s: %s",
								 l->stmtno, migrate_migration_describe(l->m),
								 edata->message)));
		FreeErrorData(edata);
		l->reporting_error = false;
		return;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(oldcontext);
	CurrentResourceOwner = oldowner;
}

/* A boolean option of a utility statement, false if it is no boolean. */
static bool
option_is_true(DefElem *opt)
{
	bool		result = true;

	if (opt->arg == NULL)
		return true;
	if (IsA(opt->arg, Boolean))
		return boolVal(opt->arg);
	if (IsA(opt->arg, Integer))
		return intVal(opt->arg) != 0;
	if (IsA(opt->arg, String) && parse_bool(strVal(opt->arg), &result))
		return result;
	return false;
}

/* One statement: the rules of its command. */
static void
lint_statement(Linter *l, Node *stmt)
{
	LintRelation rel;
	ListCell   *lc;
	RangeVar   *lock_rv = NULL;
	LOCKMODE	mode = NoLock;

	/* the lock the command takes, one rule for lint() and locks() alike */
	(void) migrate_lint_statement_lock(stmt, &lock_rv, &mode);

	switch (nodeTag(stmt))
	{
		case T_CreateStmt:
			{
				CreateStmt *cs = (CreateStmt *) stmt;

				/* IF NOT EXISTS on a table that exists creates nothing */
				if (cs->if_not_exists &&
					OidIsValid(RangeVarGetRelid(cs->relation, NoLock, true)))
					break;
				/* the new table's columns, judged as a new table's */
				memset(&rel, 0, sizeof(rel));
				rel.rv = cs->relation;
				lint_column_types(l, &rel, cs->tableElts);
				l->created = lappend(l->created, cs->relation);
			}
			break;
		case T_CreateTableAsStmt:
			if (((CreateTableAsStmt *) stmt)->if_not_exists &&
				OidIsValid(RangeVarGetRelid(((CreateTableAsStmt *) stmt)->into->rel,
											NoLock, true)))
				break;
			l->created = lappend(l->created,
								 ((CreateTableAsStmt *) stmt)->into->rel);
			break;
		case T_SelectStmt:
			if (((SelectStmt *) stmt)->intoClause)
				l->created = lappend(l->created,
									 ((SelectStmt *) stmt)->intoClause->rel);
			break;
		case T_AlterTableStmt:
			lint_alter_table(l, (AlterTableStmt *) stmt);
			break;
		case T_IndexStmt:
			if (mode != ShareLock)
				break;			/* CONCURRENTLY */
			lookup(l, lock_rv, &rel);
			report(l, "index-not-concurrent", hazard(&rel), &rel, mode,
				   psprintf(_("Building index on table \"%s\" blocks its writes until the index is built."),
							lock_rv->relname),
				   pstrdup(_("Use CREATE INDEX CONCURRENTLY in a migration registered with transactional => false.")));
			break;
		case T_ReindexStmt:
			if (mode == NoLock || mode == ShareUpdateExclusiveLock)
				break;			/* CONCURRENTLY, or a schema or database */
			lookup(l, lock_rv, &rel);
			if (((ReindexStmt *) stmt)->kind == REINDEX_OBJECT_INDEX)
				report(l, "index-not-concurrent", hazard(&rel), &rel, mode,
					   psprintf(_("Rebuilding index \"%s\" blocks the reads that use it, and the writes of its table, until it is built."),
								lock_rv->relname),
					   pstrdup(_("Use REINDEX CONCURRENTLY in a migration registered with transactional => false.")));
			else
				report(l, "index-not-concurrent", hazard(&rel), &rel, mode,
					   psprintf(_("Rebuilding indexes of table \"%s\" blocks its writes, and reads that use them, until they are built."),
								lock_rv->relname),
					   pstrdup(_("Use REINDEX CONCURRENTLY in a migration registered with transactional => false.")));
			break;
		case T_DropStmt:
			{
				DropStmt   *ds = (DropStmt *) stmt;

				if (mode == NoLock)
					break;		/* neither a table nor an index */
				foreach(lc, ds->objects)
				{
					RangeVar   *rv = makeRangeVarFromNameList((List *) lfirst(lc));

					if (ds->removeType == OBJECT_TABLE)
					{
						lookup(l, rv, &rel);
						if (!OidIsValid(rel.relid))
							continue;
						report(l, "drop-table", "warning", &rel, mode,
							   psprintf(_("Dropping table \"%s\" breaks the application code that still uses it."),
										rv->relname),
							   pstrdup(_("First deploy application code that no longer uses the table, then drop it in a later migration.")));
					}
					else if (mode == AccessExclusiveLock)
					{
						Oid			index = RangeVarGetRelid(rv, NoLock, true);
						Oid			table = OidIsValid(index) ?
						IndexGetRelation(index, true) : InvalidOid;

						if (!OidIsValid(table))
							continue;
						/* RemoveRelations locks the table as the index */
						lookup(l, makeRangeVar(get_namespace_name(get_rel_namespace(table)),
											   get_rel_name(table), -1), &rel);
						report(l, "index-not-concurrent", hazard(&rel), &rel,
							   mode,
							   psprintf(_("Dropping index \"%s\" blocks reads and writes of table \"%s\" until it is dropped, and waits for every query on the table to end first."),
										rv->relname, rel.rv->relname),
							   pstrdup(_("Use DROP INDEX CONCURRENTLY in a migration registered with transactional => false.")));
					}
				}
			}
			break;
		case T_RenameStmt:
			{
				RenameStmt *rs = (RenameStmt *) stmt;

				if (rs->relation == NULL ||
					(rs->renameType != OBJECT_TABLE &&
					 rs->renameType != OBJECT_COLUMN))
					break;
				lookup(l, rs->relation, &rel);
				if (!OidIsValid(rel.relid))
					break;
				if (rs->renameType == OBJECT_TABLE)
					report(l, "rename-table", "warning", &rel, mode,
						   psprintf(_("Renaming table \"%s\" to \"%s\" breaks the application code that still uses the old name."),
									rs->relation->relname, rs->newname),
						   pstrdup(_("Create the new table or a view under the new name, move the application over, then drop the old name in a later migration.")));
				else
					report(l, "rename-column", "warning", &rel, mode,
						   psprintf(_("Renaming column \"%s\" of table \"%s\" to \"%s\" breaks the application code that still uses the old name."),
									rs->subname, rs->relation->relname,
									rs->newname),
						   pstrdup(_("Add the new column, write both from the application, backfill, move the reads over, then drop the old column in a later migration.")));
			}
			break;
		case T_VacuumStmt:
			if (!((VacuumStmt *) stmt)->is_vacuumcmd ||
				mode != AccessExclusiveLock)
				break;			/* ANALYZE, or VACUUM without FULL */
			foreach(lc, ((VacuumStmt *) stmt)->rels)
			{
				VacuumRelation *vr = lfirst_node(VacuumRelation, lc);

				lookup(l, vr->relation, &rel);
				report(l, "table-rewrite", hazard(&rel), &rel, mode,
					   psprintf(_("VACUUM FULL rewrites table \"%s\", blocking its reads and writes until it is done."),
								vr->relation->relname),
					   pstrdup(_("Use plain VACUUM, or pg_repack, which rebuilds the table without a long exclusive lock.")));
			}
			break;
		case T_ClusterStmt:
			{
				ClusterStmt *cs = (ClusterStmt *) stmt;

				if (cs->relation == NULL)
					break;
				lookup(l, cs->relation, &rel);
				report(l, "table-rewrite", hazard(&rel), &rel, mode,
					   psprintf(_("CLUSTER rewrites table \"%s\", blocking its reads and writes until it is done."),
								cs->relation->relname),
					   pstrdup(_("Use pg_repack, which reorders the table without a long exclusive lock.")));
			}
			break;
		case T_LockStmt:
			{
				LockStmt   *ls = (LockStmt *) stmt;

				foreach(lc, ls->relations)
				{
					RangeVar   *rv = lfirst_node(RangeVar, lc);

					lookup(l, rv, &rel);
					report(l, "lock-table", hazard(&rel), &rel, mode,
						   psprintf(_("LOCK TABLE holds %s on table \"%s\" until the migration's transaction ends."),
									GetLockmodeName(DEFAULT_LOCKMETHOD, mode),
									rv->relname),
						   pstrdup(_("Let each statement take the lock it needs, with a short lock_timeout; keep the migration short.")));
				}
			}
			break;
		case T_UpdateStmt:
		case T_DeleteStmt:
			{
				RangeVar   *rv;
				Node	   *where;

				if (IsA(stmt, UpdateStmt))
				{
					rv = ((UpdateStmt *) stmt)->relation;
					where = ((UpdateStmt *) stmt)->whereClause;
				}
				else
				{
					rv = ((DeleteStmt *) stmt)->relation;
					where = ((DeleteStmt *) stmt)->whereClause;
				}
				if (where != NULL)
					break;
				lookup(l, rv, &rel);
				if (!rel.has_rows || rel.rows <= migrate_lint_big_rows)
					break;
				/* and every row's lock, until the transaction ends */
				report(l, "unbounded-dml", "warning", &rel, mode,
					   IsA(stmt, UpdateStmt) ?
					   psprintf(_("UPDATE without WHERE writes every row of table \"%s\" in one transaction, locking each row until it ends."),
								rv->relname) :
					   psprintf(_("DELETE without WHERE deletes every row of table \"%s\" in one transaction, locking each row until it ends."),
								rv->relname),
					   pstrdup(_("Work in batches (a non-transactional migration, or a procedure that commits between batches).")));
			}
			break;
		default:
			break;
	}
}

/*
 * ALTER TABLE: the lock is the server's own (AlterTableGetLockLevel, on
 * the raw commands, as ProcessUtility computes it), then each command.
 */
static void
lint_alter_table(Linter *l, AlterTableStmt *stmt)
{
	LintRelation rel;
	LOCKMODE	mode;
	ListCell   *lc;

	if (stmt->objtype != OBJECT_TABLE)
		return;
	mode = AlterTableGetLockLevel(stmt->cmds);
	lookup(l, stmt->relation, &rel);

	foreach(lc, stmt->cmds)
	{
		AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);

		switch (cmd->subtype)
		{
			case AT_AlterColumnType:
				lint_alter_type(l, &rel, mode, cmd);
				break;
			case AT_AddColumn:
				lint_add_column(l, &rel, mode, (ColumnDef *) cmd->def);
				break;
			case AT_SetNotNull:
				lint_set_not_null(l, &rel, mode, cmd->name);
				break;
			case AT_SetLogged:
			case AT_SetUnLogged:
				if (OidIsValid(rel.relid) &&
					get_rel_persistence(rel.relid) ==
					(cmd->subtype == AT_SetLogged ? RELPERSISTENCE_PERMANENT :
					 RELPERSISTENCE_UNLOGGED))
					break;		/* nothing to change: no rewrite */
				report(l, "table-rewrite", hazard(&rel), &rel, mode,
					   psprintf(cmd->subtype == AT_SetLogged ?
								_("SET LOGGED rewrites table \"%s\", blocking its reads and writes until it is done.") :
								_("SET UNLOGGED rewrites table \"%s\", blocking its reads and writes until it is done."),
								stmt->relation->relname),
					   pstrdup(_("Create the table with the persistence it needs, or change it while the table is small.")));
				break;
			case AT_SetTableSpace:
				report(l, "table-rewrite", hazard(&rel), &rel, mode,
					   psprintf(_("SET TABLESPACE copies every block of table \"%s\", blocking its reads and writes until it is done."),
								stmt->relation->relname),
					   pstrdup(_("Create the table in the tablespace it needs, or move it while it is small.")));
				break;
			case AT_SetAccessMethod:
				report(l, "table-rewrite", hazard(&rel), &rel, mode,
					   psprintf(_("SET ACCESS METHOD rewrites table \"%s\", blocking its reads and writes until it is done."),
								stmt->relation->relname),
					   pstrdup(_("Create a new table with the access method, copy the rows in batches, and switch to it.")));
				break;
			case AT_AddConstraint:
				{
					Constraint *con = (Constraint *) cmd->def;

					if (!IsA(con, Constraint))
						break;
					if (con->contype == CONSTR_CHECK)
						remember_check(l, stmt->relation, con);
					if ((con->contype == CONSTR_FOREIGN ||
						 con->contype == CONSTR_CHECK) &&
						!con->skip_validation)
						report(l, "constraint-not-valid", hazard(&rel), &rel,
							   mode,
							   con->contype == CONSTR_FOREIGN ?
							   psprintf(_("Adding a foreign key to table \"%s\" checks every row while it holds %s on it and on the referenced table."),
										stmt->relation->relname,
										GetLockmodeName(DEFAULT_LOCKMETHOD, mode)) :
							   psprintf(_("Adding a CHECK constraint to table \"%s\" checks every row while it holds %s on it."),
										stmt->relation->relname,
										GetLockmodeName(DEFAULT_LOCKMETHOD, mode)),
							   pstrdup(_("Add it NOT VALID, then VALIDATE CONSTRAINT in a later migration: validating takes only a ShareUpdateExclusiveLock.")));
					if ((con->contype == CONSTR_UNIQUE ||
						 con->contype == CONSTR_PRIMARY ||
						 con->contype == CONSTR_EXCLUSION) &&
						con->indexname == NULL)
						report(l, "unique-without-index", hazard(&rel), &rel,
							   mode,
							   psprintf(_("Adding a unique, primary key or exclusion constraint to table \"%s\" builds its index while it holds %s on it."),
										stmt->relation->relname,
										GetLockmodeName(DEFAULT_LOCKMETHOD, mode)),
							   pstrdup(_("Build a unique index CONCURRENTLY first (transactional => false), then add the constraint USING INDEX.")));
				}
				break;
			case AT_ValidateConstraint:
				{
					ListCell   *cc;
					bool		pending = false;

					foreach(cc, l->checks)
					{
						NotNullCheck *check = lfirst(cc);

						if (check->name && cmd->name &&
							strcmp(check->name, cmd->name) == 0 &&
							same_relation(check->rv, stmt->relation))
							check->validated = pending = true;
					}
					/* one the catalog has NOT VALID */
					if (!pending && OidIsValid(rel.relid) && cmd->name)
					{
						Oid			conid = get_relation_constraint_oid(rel.relid,
																		cmd->name,
																		true);

						if (OidIsValid(conid))
							l->validated = lappend_oid(l->validated, conid);
					}
				}
				break;
			case AT_DropColumn:
				if (!OidIsValid(rel.relid))
					break;
				report(l, "drop-column", "warning", &rel, mode,
					   psprintf(_("Dropping column \"%s\" of table \"%s\" breaks the application code that still uses it."),
								cmd->name, stmt->relation->relname),
					   pstrdup(_("First deploy application code that no longer uses the column, then drop it in a later migration.")));
				break;
			default:
				break;
		}
	}
}

/*
 * ALTER COLUMN ... TYPE: whether it rewrites, by the server's rule (see
 * the file header).  A column, type or table that does not exist yet, and
 * a USING expression, are judged as a rewrite only if the table has rows
 * and the rule can be applied; otherwise nothing is said.
 */
static void
lint_alter_type(Linter *l, LintRelation *rel, LOCKMODE mode,
				AlterTableCmd *cmd)
{
	ColumnDef  *def = (ColumnDef *) cmd->def;
	Oid			newtype;
	int32		newtypmod;
	HeapTuple	atttup;
	Type		newtypetup;
	Form_pg_attribute att;
	Node	   *expr;
	bool		rewrite = true;
	bool		using_column;
	bool		explicit_cast = false;
	char	   *oldname;
	char	   *newname;

	if (!OidIsValid(rel->relid))
		return;
	atttup = SearchSysCacheAttName(rel->relid, cmd->name);
	if (!HeapTupleIsValid(atttup))
		return;
	att = (Form_pg_attribute) GETSTRUCT(atttup);
	newtypetup = LookupTypeName(NULL, def->typeName, &newtypmod, true);
	if (newtypetup == NULL)
	{
		ReleaseSysCache(atttup);
		return;
	}
	newtype = typeTypeId(newtypetup);
	ReleaseSysCache(newtypetup);

	/*
	 * No USING, or USING the column itself, cast to the new type or not: the
	 * column's value coerced (explicitly for a cast), as the server builds
	 * it.  Any other USING expression is judged a rewrite.
	 */
	using_column = using_is_column(def->raw_default, cmd->name, &explicit_cast);
	if (def->raw_default == NULL || using_column)
	{
		expr = (Node *) makeVar(1, att->attnum, att->atttypid, att->atttypmod,
								att->attcollation, 0);
		expr = coerce_to_target_type(NULL, expr, att->atttypid, newtype,
									 newtypmod,
									 explicit_cast ? COERCION_EXPLICIT :
									 COERCION_ASSIGNMENT,
									 explicit_cast ? COERCE_EXPLICIT_CAST :
									 COERCE_IMPLICIT_CAST, -1);
		if (expr == NULL)
		{
			/* no implicit coercion: the command needs USING, or fails */
			ReleaseSysCache(atttup);
			return;
		}
		{
			expr = (Node *) expression_planner((Expr *) expr);
			rewrite = false;
			for (;;)
			{
				if (IsA(expr, Var) && ((Var *) expr)->varattno == att->attnum)
					break;
				else if (IsA(expr, RelabelType))
					expr = (Node *) ((RelabelType *) expr)->arg;
				else if (IsA(expr, CoerceToDomain) &&
						 !DomainHasConstraints(((CoerceToDomain *) expr)->resulttype))
					expr = (Node *) ((CoerceToDomain *) expr)->arg;
				else if (IsA(expr, FuncExpr) &&
						 (((FuncExpr *) expr)->funcid == F_TIMESTAMPTZ_TIMESTAMP ||
						  ((FuncExpr *) expr)->funcid == F_TIMESTAMP_TIMESTAMPTZ) &&
						 !TimestampTimestampTzRequiresRewrite())
					expr = linitial(((FuncExpr *) expr)->args);
				else
				{
					rewrite = true;
					break;
				}
			}
		}
	}
	oldname = format_type_with_typemod(att->atttypid, att->atttypmod);
	newname = format_type_with_typemod(newtype, newtypmod);
	ReleaseSysCache(atttup);

	if (rewrite)
		report(l, "table-rewrite", hazard(rel), rel, mode,
			   psprintf(_("Changing column \"%s\" of table \"%s\" from %s to %s rewrites the table, blocking its reads and writes until it is done."),
						cmd->name, rel->rv->relname, oldname, newname),
			   pstrdup(_("Add a column of the new type, fill it in batches, switch the application to it, then drop the old column.")));
}

/*
 * Whether a USING expression is the column itself, or the column cast to
 * the new type (*explicit_cast then): USING col, USING col::type.
 */
static bool
using_is_column(Node *expr, const char *column, bool *explicit_cast)
{
	ColumnRef  *cr;

	*explicit_cast = false;
	if (expr != NULL && IsA(expr, TypeCast))
	{
		*explicit_cast = true;
		expr = ((TypeCast *) expr)->arg;
	}
	if (expr == NULL || !IsA(expr, ColumnRef))
		return false;
	cr = (ColumnRef *) expr;
	return list_length(cr->fields) == 1 && IsA(linitial(cr->fields), String) &&
		strcmp(strVal(linitial(cr->fields)), column) == 0;
}

/*
 * ADD COLUMN: NOT NULL without a default on a table with rows fails; a
 * volatile default, an identity or a stored generated column rewrites.
 */
static void
lint_add_column(Linter *l, LintRelation *rel, LOCKMODE mode, ColumnDef *col)
{
	bool		not_null = col->is_not_null;
	bool		has_default = false;
	bool		rewrites = false;
	bool		unique = false;
	Type		type;
	ListCell   *lc;

	foreach(lc, col->constraints)
	{
		Constraint *con = lfirst_node(Constraint, lc);

		switch (con->contype)
		{
			case CONSTR_NOTNULL:
				not_null = true;
				break;
			case CONSTR_PRIMARY:
				not_null = unique = true;
				break;
			case CONSTR_UNIQUE:
				unique = true;
				break;
			case CONSTR_DEFAULT:
				/* DEFAULT NULL is no default */
				if (con->raw_expr && IsA(con->raw_expr, A_Const) &&
					((A_Const *) con->raw_expr)->isnull)
					break;
				has_default = true;
				if (raw_default_is_volatile(con->raw_expr, NULL))
					rewrites = true;
				break;
			case CONSTR_IDENTITY:
			case CONSTR_GENERATED:
				has_default = true;
				rewrites = true;
				break;
			default:
				break;
		}
	}
	/* serial and bigserial: a nextval() default */
	if (col->typeName && list_length(col->typeName->names) == 1)
	{
		const char *name = strVal(linitial(col->typeName->names));

		if (strcmp(name, "serial") == 0 || strcmp(name, "bigserial") == 0 ||
			strcmp(name, "smallserial") == 0 || strcmp(name, "serial4") == 0 ||
			strcmp(name, "serial8") == 0 || strcmp(name, "serial2") == 0)
			has_default = rewrites = true;
	}

	/*
	 * A domain: its constraints are checked on every row (tablecmds.c
	 * rewrites then), its NOT NULL and its default are the column's.
	 */
	if (col->typeName &&
		(type = LookupTypeName(NULL, col->typeName, NULL, true)) != NULL)
	{
		Oid			typid = typeTypeId(type);

		ReleaseSysCache(type);
		if (get_typtype(typid) == TYPTYPE_DOMAIN)
		{
			Node	   *dflt = get_typdefault(typid);
			Oid			base = typid;

			if (DomainHasConstraints(typid))
				rewrites = true;
			while (get_typtype(base) == TYPTYPE_DOMAIN)
			{
				HeapTuple	tup = SearchSysCache1(TYPEOID,
												  ObjectIdGetDatum(base));

				if (!HeapTupleIsValid(tup))
					break;
				if (((Form_pg_type) GETSTRUCT(tup))->typnotnull)
					not_null = true;
				base = ((Form_pg_type) GETSTRUCT(tup))->typbasetype;
				ReleaseSysCache(tup);
			}
			if (!has_default && dflt != NULL)
			{
				has_default = true;
				if (contain_volatile_functions(dflt))
					rewrites = true;
			}
		}
	}

	if (not_null && !has_default)
		report(l, "not-null-without-default", hazard(rel), rel, mode,
			   psprintf(_("Adding column \"%s\" NOT NULL without a default to table \"%s\" fails if the table has rows."),
						col->colname, rel->rv->relname),
			   pstrdup(_("Add the column with a constant default, or add it nullable, backfill it, then set NOT NULL.")));
	if (rewrites)
		report(l, "table-rewrite", hazard(rel), rel, mode,
			   psprintf(_("Adding column \"%s\" to table \"%s\" with a volatile default, an identity, a generated value or a domain with constraints rewrites the table."),
						col->colname, rel->rv->relname),
			   pstrdup(_("Add the column without a default (or with a constant one), backfill it in batches, then set its default.")));
	if (unique)
		report(l, "unique-without-index", hazard(rel), rel, mode,
			   psprintf(_("Adding column \"%s\" UNIQUE or PRIMARY KEY to table \"%s\" builds its index while it holds %s on it."),
						col->colname, rel->rv->relname,
						GetLockmodeName(DEFAULT_LOCKMETHOD, mode)),
			   pstrdup(_("Add the column, build a unique index CONCURRENTLY (transactional => false), then add the constraint USING INDEX.")));
	lint_column_types(l, rel, list_make1(col));
}

/*
 * The column types that age badly: integer primary keys (the sequence runs
 * out at 2^31), varchar(n) (a length change may rewrite), timestamp without
 * time zone.
 */
static void
lint_column_types(Linter *l, LintRelation *rel, List *elts)
{
	List	   *pk_columns = NIL;
	ListCell   *lc;

	/* table constraints PRIMARY KEY (a) */
	foreach(lc, elts)
	{
		Node	   *elt = lfirst(lc);

		if (IsA(elt, Constraint) &&
			((Constraint *) elt)->contype == CONSTR_PRIMARY)
		{
			/* a key of one column: the kind a sequence fills */
			if (list_length(((Constraint *) elt)->keys) == 1)
				pk_columns = lappend(pk_columns,
									 strVal(linitial(((Constraint *) elt)->keys)));
		}
	}

	foreach(lc, elts)
	{
		ColumnDef  *col = lfirst(lc);
		const char *type;
		bool		pk = false;
		ListCell   *cc;

		if (!IsA(col, ColumnDef) || col->typeName == NULL)
			continue;
		type = strVal(llast(col->typeName->names));
		foreach(cc, col->constraints)
			if (lfirst_node(Constraint, cc)->contype == CONSTR_PRIMARY)
			pk = true;
		foreach(cc, pk_columns)
			if (strcmp((char *) lfirst(cc), col->colname) == 0)
			pk = true;

		if (pk && (strcmp(type, "int4") == 0 || strcmp(type, "int2") == 0 ||
				   strcmp(type, "serial") == 0 ||
				   strcmp(type, "serial4") == 0 ||
				   strcmp(type, "smallserial") == 0 ||
				   strcmp(type, "serial2") == 0))
			report(l, "integer-primary-key", "warning", rel, NoLock,
				   psprintf(_("Primary key column \"%s\" of table \"%s\" is a 32-bit integer: its values run out at 2,147,483,647."),
							col->colname, rel->rv->relname),
				   pstrdup(_("Use bigint (or bigserial, or bigint GENERATED ALWAYS AS IDENTITY).")));
		if (strcmp(type, "varchar") == 0 && col->typeName->typmods != NIL)
			report(l, "varchar-length", "info", rel, NoLock,
				   psprintf(_("Column \"%s\" of table \"%s\" is varchar(n): its length is a constraint that only a migration can change."),
							col->colname, rel->rv->relname),
				   pstrdup(_("Use text, with a CHECK constraint on its length if one is needed.")));
		if (strcmp(type, "timestamp") == 0)
			report(l, "timestamp-without-time-zone", "info", rel, NoLock,
				   psprintf(_("Column \"%s\" of table \"%s\" is timestamp without time zone: its values mean different instants in different time zones."),
							col->colname, rel->rv->relname),
				   pstrdup(_("Use timestamptz (timestamp with time zone).")));
	}
}

/*
 * SET NOT NULL scans the whole table under its lock, unless a validated
 * CHECK (col IS NOT NULL) proves it (NotNullImpliedByRelConstraints): one
 * in the catalog, or added and validated by an earlier statement.
 */
static void
lint_set_not_null(Linter *l, LintRelation *rel, LOCKMODE mode,
				  const char *column)
{
	ListCell   *lc;

	foreach(lc, l->checks)
	{
		NotNullCheck *check = lfirst(lc);

		if (check->validated && strcmp(check->column, column) == 0 &&
			same_relation(check->rv, rel->rv))
			return;
	}
	if (OidIsValid(rel->relid) &&
		not_null_implied(rel->relid, column, l->validated))
		return;
	report(l, "set-not-null", hazard(rel), rel, mode,
		   psprintf(_("SET NOT NULL on column \"%s\" of table \"%s\" scans every row while it holds %s on the table."),
					column, rel->rv->relname,
					GetLockmodeName(DEFAULT_LOCKMETHOD, mode)),
		   pstrdup(_("First add CHECK (column IS NOT NULL) NOT VALID and VALIDATE it, then SET NOT NULL uses it and skips the scan.")));
}

/* An earlier statement's CHECK (col IS NOT NULL), for SET NOT NULL. */
static void
remember_check(Linter *l, RangeVar *rv, Constraint *con)
{
	NotNullCheck *check;
	char	   *column;

	if (!is_not_null_check(con->raw_expr, &column))
		return;
	check = palloc0(sizeof(NotNullCheck));
	check->rv = rv;
	check->column = column;
	check->name = con->conname;
	check->validated = !con->skip_validation;
	l->checks = lappend(l->checks, check);
}

/* Whether raw_expr is "col IS NOT NULL"; sets *column. */
static bool
is_not_null_check(Node *raw_expr, char **column)
{
	NullTest   *nt = (NullTest *) raw_expr;
	ColumnRef  *cr;

	if (raw_expr == NULL || !IsA(raw_expr, NullTest) ||
		nt->nulltesttype != IS_NOT_NULL || !IsA(nt->arg, ColumnRef))
		return false;
	cr = (ColumnRef *) nt->arg;
	if (list_length(cr->fields) != 1 || !IsA(linitial(cr->fields), String))
		return false;
	*column = strVal(linitial(cr->fields));
	return true;
}

/*
 * Whether a validated CHECK constraint of relid in the catalog says
 * "column IS NOT NULL".
 */
static bool
not_null_implied(Oid relid, const char *column, List *validated)
{
	AttrNumber	attnum = get_attnum(relid, column);
	HeapTuple	atttup;
	bool		notnull;
	Relation	conrel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	List	   *checks = NIL;
	NullTest   *nt;

	if (attnum == InvalidAttrNumber)
		return false;
	/* already NOT NULL: SET NOT NULL does nothing */
	atttup = SearchSysCache2(ATTNUM, ObjectIdGetDatum(relid),
							 Int16GetDatum(attnum));
	if (!HeapTupleIsValid(atttup))
		return false;
	notnull = ((Form_pg_attribute) GETSTRUCT(atttup))->attnotnull;
	ReleaseSysCache(atttup);
	if (notnull)
		return true;

	/* the validated CHECK constraints, and those a pending VALIDATE makes so */
	conrel = table_open(ConstraintRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_constraint_conrelid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(relid));
	scan = systable_beginscan(conrel, ConstraintRelidTypidNameIndexId,
							  true, NULL, 1, &key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_constraint con = (Form_pg_constraint) GETSTRUCT(tup);
		bool		isnull;
		Datum		bin;

		if (con->contype != CONSTRAINT_CHECK ||
			(!con->convalidated &&
			 !list_member_oid(validated, con->oid)))
			continue;
		bin = heap_getattr(tup, Anum_pg_constraint_conbin,
						   RelationGetDescr(conrel), &isnull);
		if (!isnull)
			checks = lappend(checks,
							 stringToNode(TextDatumGetCString(bin)));
	}
	systable_endscan(scan);
	table_close(conrel, AccessShareLock);

	/* as NotNullImpliedByRelConstraints decides: weakly implied */
	nt = makeNode(NullTest);
	nt->arg = (Expr *) makeVar(1, attnum, get_atttype(relid, attnum), -1,
							   InvalidOid, 0);
	nt->nulltesttype = IS_NOT_NULL;
	nt->argisrow = false;
	nt->location = -1;
	return checks != NIL &&
		predicate_implied_by(list_make1(nt), checks, true);
}

/*
 * Whether a raw default expression calls a volatile function: every
 * function of that name is looked at (the arguments' types are not known
 * before the expression is analyzed), so a name that has a volatile
 * overload counts as volatile.  nextval() is.
 */
static bool
raw_default_is_volatile(Node *expr, void *context)
{
	if (expr == NULL)
		return false;
	if (IsA(expr, FuncCall))
	{
		FuncCall   *fc = (FuncCall *) expr;
		FuncCandidateList c;

		for (c = FuncnameGetCandidates(fc->funcname, -1, NIL, false, false,
									   false, true);
			 c != NULL; c = c->next)
			if (func_volatile(c->oid) == PROVOLATILE_VOLATILE)
				return true;
	}
	return raw_expression_tree_walker(expr, raw_default_is_volatile, context);
}

/*
 * What lint knows of rv: new (created by an earlier statement, or does not
 * exist yet: no size, no rows), or its OID and pg_class's estimates.
 */
static void
lookup(Linter *l, RangeVar *rv, LintRelation *rel)
{
	ListCell   *lc;
	HeapTuple	tup;

	memset(rel, 0, sizeof(*rel));
	rel->rv = rv;
	rel->rows = -1;
	foreach(lc, l->created)
		if (same_relation(lfirst(lc), rv))
		return;
	rel->relid = RangeVarGetRelid(rv, NoLock, true);
	if (!OidIsValid(rel->relid))
		return;
	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(rel->relid));
	if (!HeapTupleIsValid(tup))
	{
		rel->relid = InvalidOid;
		return;
	}
	{
		Form_pg_class c = (Form_pg_class) GETSTRUCT(tup);
		bool		tree = c->relkind == RELKIND_PARTITIONED_TABLE ||
		(c->relhassubclass && rv->inh);

		ReleaseSysCache(tup);
		rel->has_size = true;
		if (tree)
		{
			/* a parent's own pages are none: its partitions' count */
			foreach(lc, find_all_inheritors(rel->relid, NoLock, NULL))
				add_relation_size(rel, lfirst_oid(lc));
		}
		else
			add_relation_size(rel, rel->relid);
	}
}

/*
 * Adds relid's estimates to rel: pg_class's, as the last VACUUM or ANALYZE
 * left them, or if it has none (-1: never vacuumed nor analyzed) the
 * statistics collector's live rows.  Rows stay -1 while nothing is known.
 */
static void
add_relation_size(LintRelation *rel, Oid relid)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Form_pg_class c;
	int64		rows;

	if (!HeapTupleIsValid(tup))
		return;
	c = (Form_pg_class) GETSTRUCT(tup);
	rows = c->reltuples < 0 ? -1 : (int64) c->reltuples;
	if (rows < 0)
	{
		PgStat_StatTabEntry *stat = pgstat_fetch_stat_tabentry(relid);

		if (stat != NULL)
			rows = stat->n_live_tuples;
	}
	if (c->relkind != RELKIND_PARTITIONED_TABLE)
	{
		rel->bytes += (int64) c->relpages * BLCKSZ;
		if (rows > 0 || c->relpages > 0)
			rel->has_rows = true;
		if (rows >= 0)
			rel->rows = Max(rel->rows, 0) + rows;
	}
	ReleaseSysCache(tup);
}

/*
 * Whether two names are the same relation: the same name, and the same
 * schema where both say one (a relation created unqualified and then
 * named qualified, or the other way round, is taken as the same).
 */
static bool
same_relation(const RangeVar *a, const RangeVar *b)
{
	if (a->relname == NULL || b->relname == NULL ||
		strcmp(a->relname, b->relname) != 0)
		return false;
	return a->schemaname == NULL || b->schemaname == NULL ||
		strcmp(a->schemaname, b->schemaname) == 0;
}

/* The severity of a hazard on rel: error if it has rows, else info. */
static const char *
hazard(const LintRelation *rel)
{
	return rel->has_rows ? "error" : "info";
}

/* One finding, unless the statement allows its rule. */
static void
report(Linter *l, const char *rule, const char *severity,
	   const LintRelation *rel, LOCKMODE mode, char *message, char *hint)
{
	Datum		values[13];
	bool		nulls[13] = {false};
	ListCell   *lc;

	foreach(lc, l->allowed)
	{
		if (strcmp((char *) lfirst(lc), rule) == 0)
			return;
	}

	if (l->output == LINT_WARN || l->output == LINT_ERROR)
	{
		if (strcmp(severity, "error") != 0)
			return;
		l->reporting_error = l->output == LINT_ERROR;
		ereport(l->output == LINT_ERROR ? ERROR : WARNING,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("statement %d of migration %s breaks lint rule \"%s\"",
						l->stmtno, migrate_migration_describe(l->m), rule),
				 errdetail_internal("%s", message),
				 errhint("%s", hint),
				 l->m->repeatable ?
				 errcontext("repeatable script of migration %s, line %d",
							migrate_migration_describe(l->m), l->st->line) :
				 errcontext("up script of migration %s, line %d",
							migrate_migration_describe(l->m), l->st->line)));
		return;
	}

	values[0] = CStringGetTextDatum(l->m->project);
	if (l->m->version)
		values[1] = migrate_version_datum(l->m->version,
										  strlen(l->m->version));
	else
		nulls[1] = true;
	values[2] = CStringGetTextDatum(l->m->name);
	values[3] = Int32GetDatum(l->stmtno);
	values[4] = Int32GetDatum(l->st->line);
	values[5] = CStringGetTextDatum(rule);
	values[6] = CStringGetTextDatum(severity);
	if (rel && OidIsValid(rel->relid))
		values[7] = ObjectIdGetDatum(rel->relid);
	else
		nulls[7] = true;
	if (rel && rel->has_size && rel->rows >= 0)
		values[8] = Int64GetDatum(rel->rows);
	else
		nulls[8] = true;
	if (rel && rel->has_size)
		values[9] = Int64GetDatum(rel->bytes);
	else
		nulls[9] = true;
	if (mode != NoLock)
		values[10] = CStringGetTextDatum(GetLockmodeName(DEFAULT_LOCKMETHOD,
														 mode));
	else
		nulls[10] = true;
	values[11] = CStringGetTextDatum(message);
	values[12] = CStringGetTextDatum(hint);
	tuplestore_putvalues(l->tupstore, l->tupdesc, values, nulls);
}
