/*-------------------------------------------------------------------------
 *
 * guard.c
 *	  Triggers that keep migrations away from migrate's own objects.
 *
 * A migration runs SQL of its registrant's choosing.  A registrant without
 * privileges on the catalog cannot touch it anyway; these guards are for
 * the registrant that could (a superuser, the extension owner), so that a
 * migration cannot, by mistake or on purpose, forge the record of what was
 * applied:
 *
 * - migrate_catalog_guard, a statement-level trigger on every catalog
 *	 table: while a migration runs, no INSERT, UPDATE, DELETE or TRUNCATE;
 *	 with the argument "append-only" (on migrate.event), UPDATE, DELETE and
 *	 TRUNCATE are refused always: the history only grows.  Our own
 *	 bookkeeping runs between migrations, never during one.
 * - guard_utility, a ProcessUtility hook (installed when the library
 *	 loads, which it is in any backend running a migration): while a
 *	 migration runs, it refuses by parse tree the utility statements that
 *	 would drop, rename or alter the extension or its schema, grant on or
 *	 set default privileges in schema migrate, add triggers, rules or
 *	 policies to its tables, alter its tables, or touch migrate's event
 *	 triggers (event triggers never fire for event trigger commands).
 * - migrate_ddl_guard, an event trigger on ddl_command_end and sql_drop:
 *	 the catch-all for any other DDL whose objects turn out to be in schema
 *	 migrate (ALTER FUNCTION migrate.run ..., CREATE INDEX on a catalog
 *	 table, cascaded drops).  Outside migrations it returns at once.
 *
 * The catalog triggers are ENABLE ALWAYS, so session_replication_role does
 * not switch them off.  What no guard stops: a superuser migration calling
 * setval() on our sequences (the next run then fails on a duplicate key,
 * leaving the history intact), or a superuser outside migrations disabling
 * the triggers on purpose.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/event_trigger.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "nodes/makefuncs.h"
#include "nodes/parsenodes.h"
#include "parser/parse_func.h"
#include "parser/parse_type.h"
#include "tcop/cmdtag.h"
#include "tcop/utility.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "catalog.h"
#include "guard.h"
#include "runner.h"

PG_FUNCTION_INFO_V1(migrate_catalog_guard);
PG_FUNCTION_INFO_V1(migrate_ddl_guard);

static ProcessUtility_hook_type prev_ProcessUtility = NULL;

/* What the event trigger looks for among the objects a command touched. */
#define GUARD_QUAL \
	" WHERE schema_name OPERATOR(pg_catalog.=) 'migrate'" \
	" OR (object_type OPERATOR(pg_catalog.=) 'schema'" \
	"  AND object_identity OPERATOR(pg_catalog.=) 'migrate')" \
	" OR (object_type OPERATOR(pg_catalog.=) 'extension'" \
	"  AND object_identity OPERATOR(pg_catalog.=) 'migrate')" \
	" LIMIT 1"

static SPIPlanPtr ddl_plan = NULL;
static SPIPlanPtr drop_plan = NULL;

static void refuse(CommandTag tag) pg_attribute_noreturn();
static bool names_migrate(List *names);
static bool relation_in_migrate(RangeVar *rv);
static bool guard_trigger_name(const char *name);
static Oid	type_namespace(Oid typid);
static bool grant_targets_migrate(GrantStmt *grant);
static bool targets_migrate(Node *parsetree);
static void guard_utility(PlannedStmt *pstmt, const char *queryString,
						  bool readOnlyTree, ProcessUtilityContext context,
						  ParamListInfo params, QueryEnvironment *queryEnv,
						  DestReceiver *dest, QueryCompletion *qc);

/*
 * migrate_catalog_guard
 *		BEFORE ... FOR EACH STATEMENT trigger on the catalog tables.
 */
Datum
migrate_catalog_guard(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	const char *table;

	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "migrate_catalog_guard: not called by trigger manager");
	table = RelationGetRelationName(trigdata->tg_relation);

	if (migrate_runner_in_migration())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("a migration cannot change the migrate catalog"),
				 errdetail("A migration tried to change table migrate.%s.",
						   table),
				 errhint("migrate records migrations itself; use its functions, outside migrations.")));

	if (trigdata->tg_trigger->tgnargs > 0 &&
		strcmp(trigdata->tg_trigger->tgargs[0], "append-only") == 0 &&
		!TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("the migration history is append-only"),
				 errdetail("Rows of migrate.%s cannot be updated, deleted or truncated.",
						   table)));

	return PointerGetDatum(NULL);
}

/*
 * migrate_ddl_guard
 *		Event trigger on ddl_command_end and sql_drop: refuses, during a
 *		migration, DDL whose objects are in schema migrate, or the schema or
 *		the extension themselves.
 */
Datum
migrate_ddl_guard(PG_FUNCTION_ARGS)
{
	EventTriggerData *trigdata = (EventTriggerData *) fcinfo->context;
	SPIPlanPtr	plan;
	int			rc;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		elog(ERROR, "migrate_ddl_guard: not called by event trigger manager");
	if (!migrate_runner_in_migration())
		PG_RETURN_VOID();

	/* Planned once per backend: this runs after every DDL of a migration. */
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (strcmp(trigdata->event, "sql_drop") == 0)
		plan = migrate_prepare_kept(&drop_plan,
									"SELECT FROM pg_catalog.pg_event_trigger_dropped_objects()" GUARD_QUAL,
									0, NULL);
	else
		plan = migrate_prepare_kept(&ddl_plan,
									"SELECT FROM pg_catalog.pg_event_trigger_ddl_commands()" GUARD_QUAL,
									0, NULL);
	rc = SPI_execute_plan(plan, NULL, NULL, true, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(rc));
	if (SPI_processed > 0)
		refuse(trigdata->tag);
	SPI_finish();
	PG_RETURN_VOID();
}

static void
refuse(CommandTag tag)
{
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("a migration cannot change the migrate extension"),
			 errdetail("%s would touch schema migrate, its objects or the extension itself.",
					   GetCommandTagName(tag)),
			 errhint("Change migrate outside migrations, with ALTER EXTENSION.")));
}

/* Whether a list of String nodes names "migrate". */
static bool
names_migrate(List *names)
{
	ListCell   *lc;

	foreach(lc, names)
	{
		Node	   *name = (Node *) lfirst(lc);

		if (IsA(name, String) && strcmp(strVal(name), "migrate") == 0)
			return true;
	}
	return false;
}

/* Whether a relation named in a statement is in schema migrate. */
static bool
relation_in_migrate(RangeVar *rv)
{
	Oid			nspid = get_namespace_oid("migrate", true);
	Oid			relid;

	if (rv == NULL || !OidIsValid(nspid))
		return false;
	relid = RangeVarGetRelid(rv, NoLock, true);
	return OidIsValid(relid) && get_rel_namespace(relid) == nspid;
}

/* Whether one of migrate's own event triggers is named. */
static bool
guard_trigger_name(const char *name)
{
	return name != NULL &&
		(strcmp(name, "migrate_ddl_guard") == 0 ||
		 strcmp(name, "migrate_drop_guard") == 0);
}

/* The schema of a type. */
static Oid
type_namespace(Oid typid)
{
	HeapTuple	tuple = SearchSysCache1(TYPEOID, ObjectIdGetDatum(typid));
	Oid			nspid;

	if (!HeapTupleIsValid(tuple))
		return InvalidOid;
	nspid = ((Form_pg_type) GETSTRUCT(tuple))->typnamespace;
	ReleaseSysCache(tuple);
	return nspid;
}

/* Whether the objects of a GRANT or REVOKE are in schema migrate. */
static bool
grant_targets_migrate(GrantStmt *grant)
{
	Oid			nspid = get_namespace_oid("migrate", true);
	ListCell   *lc;

	if (grant->targtype == ACL_TARGET_ALL_IN_SCHEMA ||
		grant->objtype == OBJECT_SCHEMA)
		return names_migrate(grant->objects);
	if (grant->targtype != ACL_TARGET_OBJECT)
		return false;

	foreach(lc, grant->objects)
	{
		Node	   *object = (Node *) lfirst(lc);

		if (IsA(object, RangeVar))
		{
			if (relation_in_migrate((RangeVar *) object))
				return true;
		}
		else if (IsA(object, ObjectWithArgs))
		{
			Oid			funcid = LookupFuncWithArgs(grant->objtype,
													(ObjectWithArgs *) object,
													true);

			if (OidIsValid(funcid) && get_func_namespace(funcid) == nspid)
				return true;
		}
		else if (IsA(object, List) && grant->objtype == OBJECT_TYPE)
		{
			TypeName   *tn = makeTypeNameFromNameList((List *) object);
			Oid			typid = LookupTypeNameOid(NULL, tn, true);

			if (OidIsValid(typid) && type_namespace(typid) == nspid)
				return true;
		}
	}
	return false;
}

/*
 * targets_migrate
 *		Whether a utility statement would change migrate's own objects in a
 *		way the event triggers cannot see, or before they could see it.
 */
static bool
targets_migrate(Node *parsetree)
{
	ListCell   *lc;

	if (parsetree == NULL)
		return false;
	switch (nodeTag(parsetree))
	{
		case T_DropStmt:
			{
				DropStmt   *drop = (DropStmt *) parsetree;

				if (drop->removeType == OBJECT_EXTENSION ||
					drop->removeType == OBJECT_SCHEMA)
					return names_migrate(drop->objects);
				if (drop->removeType == OBJECT_EVENT_TRIGGER)
				{
					foreach(lc, drop->objects)
						if (IsA(lfirst(lc), String) &&
							guard_trigger_name(strVal(lfirst(lc))))
							return true;
				}
				return false;
			}
		case T_RenameStmt:
			{
				RenameStmt *rename = (RenameStmt *) parsetree;

				if (rename->renameType == OBJECT_SCHEMA)
					return strcmp(rename->subname, "migrate") == 0;
				if (rename->renameType == OBJECT_EVENT_TRIGGER)
					return guard_trigger_name(rename->subname);
				return relation_in_migrate(rename->relation);
			}
		case T_AlterOwnerStmt:
			{
				AlterOwnerStmt *owner = (AlterOwnerStmt *) parsetree;

				if (owner->objectType == OBJECT_SCHEMA &&
					IsA(owner->object, String))
					return strcmp(strVal(owner->object), "migrate") == 0;
				if (owner->objectType == OBJECT_EVENT_TRIGGER &&
					IsA(owner->object, String))
					return guard_trigger_name(strVal(owner->object));
				return relation_in_migrate(owner->relation);
			}
		case T_AlterEventTrigStmt:
			return guard_trigger_name(((AlterEventTrigStmt *) parsetree)->trigname);
		case T_AlterExtensionStmt:
			return strcmp(((AlterExtensionStmt *) parsetree)->extname,
						  "migrate") == 0;
		case T_AlterExtensionContentsStmt:
			return strcmp(((AlterExtensionContentsStmt *) parsetree)->extname,
						  "migrate") == 0;
		case T_AlterObjectSchemaStmt:
			{
				AlterObjectSchemaStmt *move = (AlterObjectSchemaStmt *) parsetree;

				if (move->objectType == OBJECT_EXTENSION &&
					IsA(move->object, String))
					return strcmp(strVal(move->object), "migrate") == 0;
				return relation_in_migrate(move->relation) ||
					strcmp(move->newschema, "migrate") == 0;
			}
		case T_GrantStmt:
			return grant_targets_migrate((GrantStmt *) parsetree);
		case T_AlterDefaultPrivilegesStmt:
			foreach(lc, ((AlterDefaultPrivilegesStmt *) parsetree)->options)
			{
				DefElem    *opt = lfirst_node(DefElem, lc);

				if (strcmp(opt->defname, "schemas") == 0 &&
					names_migrate((List *) opt->arg))
					return true;
			}
			return false;
		case T_AlterTableStmt:
			return relation_in_migrate(((AlterTableStmt *) parsetree)->relation);
		case T_CreateTrigStmt:
			return relation_in_migrate(((CreateTrigStmt *) parsetree)->relation);
		case T_RuleStmt:
			return relation_in_migrate(((RuleStmt *) parsetree)->relation);
		case T_CreatePolicyStmt:
			return relation_in_migrate(((CreatePolicyStmt *) parsetree)->table);
		case T_AlterPolicyStmt:
			return relation_in_migrate(((AlterPolicyStmt *) parsetree)->table);
		default:
			return false;
	}
}

/*
 * guard_utility
 *		The ProcessUtility hook: during a migration, refuses statements that
 *		target migrate's own objects (targets_migrate), then hands over.
 */
static void
guard_utility(PlannedStmt *pstmt, const char *queryString,
			  bool readOnlyTree, ProcessUtilityContext context,
			  ParamListInfo params, QueryEnvironment *queryEnv,
			  DestReceiver *dest, QueryCompletion *qc)
{
	if (migrate_runner_in_migration() && targets_migrate(pstmt->utilityStmt))
		refuse(CreateCommandTag(pstmt->utilityStmt));

	if (prev_ProcessUtility)
		prev_ProcessUtility(pstmt, queryString, readOnlyTree, context,
							params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);
}

/*
 * migrate_guard_init
 *		Called once from _PG_init: installs the ProcessUtility hook.
 */
void
migrate_guard_init(void)
{
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = guard_utility;
}
