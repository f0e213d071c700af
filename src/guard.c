/*-------------------------------------------------------------------------
 *
 * guard.c
 *	  Triggers, a hook and a fingerprint that keep migrations away from
 *	  migrate's own objects.
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
 * - migrate_guard_sequences and migrate_guard_check_sequences, around
 *	 every script the runner runs: a fingerprint of migrate's sequences
 *	 (their last values), compared before and after.  A migration that
 *	 moved one (nextval, setval) is refused like any other write to the
 *	 catalog, and the sequences are put back, since sequences ignore
 *	 rollbacks.
 *
 * The runner says when a migration script starts and ends
 * (migrate_guard_enter_migration, migrate_guard_leave_migration); the
 * triggers and the hook act only in between.  The catalog triggers are
 * ENABLE ALWAYS, so session_replication_role does not switch them off.
 * What no guard stops: a superuser outside migrations disabling the
 * triggers on purpose.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/event_trigger.h"
#include "commands/sequence.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/parsenodes.h"
#include "parser/parse_func.h"
#include "parser/parse_type.h"
#include "tcop/cmdtag.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "catalog.h"
#include "guard.h"

PG_FUNCTION_INFO_V1(migrate_catalog_guard);
PG_FUNCTION_INFO_V1(migrate_ddl_guard);

static ProcessUtility_hook_type prev_ProcessUtility = NULL;

/* True while the runner runs a migration script in this backend. */
static bool in_migration = false;

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

static SPIPlanPtr keep_plan(SPIPlanPtr *cache, const char *sql);
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

	if (migrate_guard_in_migration())
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
	if (!migrate_guard_in_migration())
		PG_RETURN_VOID();

	/* Planned once per backend: this runs after every DDL of a migration. */
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (strcmp(trigdata->event, "sql_drop") == 0)
		plan = keep_plan(&drop_plan,
						 "SELECT FROM pg_catalog.pg_event_trigger_dropped_objects()" GUARD_QUAL);
	else
		plan = keep_plan(&ddl_plan,
						 "SELECT FROM pg_catalog.pg_event_trigger_ddl_commands()" GUARD_QUAL);
	rc = SPI_execute_plan(plan, NULL, NULL, true, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(rc));
	if (SPI_processed > 0)
		refuse(trigdata->tag);
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * keep_plan
 *		Prepares sql once per backend and keeps it in *cache.  The queries
 *		name pg_catalog functions only, schema-qualified.
 */
static SPIPlanPtr
keep_plan(SPIPlanPtr *cache, const char *sql)
{
	if (*cache == NULL)
	{
		SPIPlanPtr	plan = SPI_prepare(sql, 0, NULL);

		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed for \"%s\": %s",
				 sql, SPI_result_code_string(SPI_result));
		if (SPI_keepplan(plan) != 0)
			elog(ERROR, "SPI_keepplan failed");
		*cache = plan;
	}
	return *cache;
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
					{
						if (IsA(lfirst(lc), String) &&
							guard_trigger_name(strVal(lfirst(lc))))
							return true;
					}
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
	if (migrate_guard_in_migration() && targets_migrate(pstmt->utilityStmt))
		refuse(CreateCommandTag(pstmt->utilityStmt));

	if (prev_ProcessUtility)
		prev_ProcessUtility(pstmt, queryString, readOnlyTree, context,
							params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);
}

/*
 * migrate_guard_enter_migration, migrate_guard_leave_migration
 *		The runner's brackets around a migration script: the guards act
 *		only between them.  The runner leaves on every way out, errors
 *		included (its PG_CATCH).
 */
void
migrate_guard_enter_migration(void)
{
	in_migration = true;
}

void
migrate_guard_leave_migration(void)
{
	in_migration = false;
}

/*
 * migrate_guard_in_migration
 *		Whether a migration script runs in this backend now.
 */
bool
migrate_guard_in_migration(void)
{
	return in_migration;
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

/*
 * The sequences of schema migrate, in the order of a fingerprint's slots.
 */
static const char *const sequence_names[] = {"migration_id_seq",
"event_id_seq", "run_id_seq"};

/*
 * migrate_guard_sequences
 *		The last values of migrate's sequences (-1: never used), read as the
 *		catalog's owner, without SPI: it runs around every migration.
 */
MigrateSequences
migrate_guard_sequences(void)
{
	MigrateSequences result;
	Oid			save_userid;
	int			save_sec_context;
	int			i;

	StaticAssertStmt(lengthof(sequence_names) == lengthof(result.last_value),
					 "one fingerprint slot per sequence");
	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(migrate_catalog_owner(),
						   save_sec_context | SECURITY_LOCAL_USERID_CHANGE);
	for (i = 0; i < lengthof(sequence_names); i++)
	{
		LOCAL_FCINFO(fcinfo, 1);
		Datum		value;

		InitFunctionCallInfoData(*fcinfo, NULL, 1, InvalidOid, NULL, NULL);
		fcinfo->args[0].value =
			ObjectIdGetDatum(migrate_catalog_relid(sequence_names[i]));
		fcinfo->args[0].isnull = false;
		value = pg_sequence_last_value(fcinfo);
		result.last_value[i] = fcinfo->isnull ? -1 : DatumGetInt64(value);
	}
	SetUserIdAndSecContext(save_userid, save_sec_context);
	return result;
}

/*
 * migrate_guard_check_sequences
 *		Throws if migrate's sequences moved since the fingerprint before was
 *		taken, after putting them back.
 */
void
migrate_guard_check_sequences(const MigrateSequences *before)
{
	MigrateSequences after = migrate_guard_sequences();
	Oid			save_userid;
	int			save_sec_context;
	int			i;

	if (memcmp(before, &after, sizeof(after)) == 0)
		return;

	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(migrate_catalog_owner(),
						   save_sec_context | SECURITY_LOCAL_USERID_CHANGE);
	for (i = 0; i < lengthof(sequence_names); i++)
	{
		int64		value = before->last_value[i];

		/* -1: never used; setval(seq, 1, false) makes nextval return 1 */
		DirectFunctionCall3(setval3_oid,
							ObjectIdGetDatum(migrate_catalog_relid(sequence_names[i])),
							Int64GetDatum(value < 0 ? 1 : value),
							BoolGetDatum(value >= 0));
	}
	SetUserIdAndSecContext(save_userid, save_sec_context);
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("a migration cannot change the migrate catalog"),
			 errdetail("The migration moved a sequence of schema migrate."),
			 errhint("migrate records migrations itself; use its functions, outside migrations.")));
}
