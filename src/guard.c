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
 * - migrate_ddl_guard, an event trigger on ddl_command_start,
 *	 ddl_command_end and sql_drop: while a migration runs, no DDL on
 *	 anything in schema migrate, nor on the schema or the extension
 *	 itself.  Outside migrations it returns at once.
 *
 * A superuser can still switch the guards off (ALTER TABLE ... DISABLE
 * TRIGGER, ALTER EVENT TRIGGER ... DISABLE): they stop accidents and
 * registrants without that power, not a superuser who means it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "commands/event_trigger.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "nodes/parsenodes.h"
#include "utils/rel.h"

#include "runner.h"

PG_FUNCTION_INFO_V1(migrate_catalog_guard);
PG_FUNCTION_INFO_V1(migrate_ddl_guard);

static void refuse(CommandTag tag) pg_attribute_noreturn();
static bool names_migrate(List *names);
static bool targets_migrate(Node *parsetree);

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
 *		Event trigger on ddl_command_start, ddl_command_end and sql_drop:
 *		refuses, during a migration, DDL on schema migrate, its objects or
 *		the extension.
 */
Datum
migrate_ddl_guard(PG_FUNCTION_ARGS)
{
	EventTriggerData *trigdata = (EventTriggerData *) fcinfo->context;
	const char *query;
	int			rc;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		elog(ERROR, "migrate_ddl_guard: not called by event trigger manager");
	if (!migrate_runner_in_migration())
		PG_RETURN_VOID();

	if (strcmp(trigdata->event, "ddl_command_start") == 0)
	{
		/*
		 * Dropping or renaming the extension or its schema removes this
		 * very guard before ddl_command_end could run: refuse it by its
		 * parse tree, before anything happens.
		 */
		if (targets_migrate(trigdata->parsetree))
			refuse(trigdata->tag);
		PG_RETURN_VOID();
	}

	if (strcmp(trigdata->event, "sql_drop") == 0)
		query = "SELECT FROM pg_catalog.pg_event_trigger_dropped_objects()"
			" WHERE schema_name OPERATOR(pg_catalog.=) 'migrate'"
			" OR (object_type OPERATOR(pg_catalog.=) 'schema'"
			"  AND object_identity OPERATOR(pg_catalog.=) 'migrate')"
			" OR (object_type OPERATOR(pg_catalog.=) 'extension'"
			"  AND object_identity OPERATOR(pg_catalog.=) 'migrate')"
			" LIMIT 1";
	else
		query = "SELECT FROM pg_catalog.pg_event_trigger_ddl_commands()"
			" WHERE schema_name OPERATOR(pg_catalog.=) 'migrate'"
			" OR (object_type OPERATOR(pg_catalog.=) 'schema'"
			"  AND object_identity OPERATOR(pg_catalog.=) 'migrate')"
			" OR (object_type OPERATOR(pg_catalog.=) 'extension'"
			"  AND object_identity OPERATOR(pg_catalog.=) 'migrate')"
			" LIMIT 1";

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	rc = SPI_execute(query, true, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(rc));
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

/*
 * targets_migrate
 *		Whether a DDL parse tree drops, renames or alters the extension
 *		migrate or its schema.
 */
static bool
targets_migrate(Node *parsetree)
{
	if (parsetree == NULL)
		return false;
	switch (nodeTag(parsetree))
	{
		case T_DropStmt:
			{
				DropStmt   *drop = (DropStmt *) parsetree;

				return (drop->removeType == OBJECT_EXTENSION ||
						drop->removeType == OBJECT_SCHEMA) &&
					names_migrate(drop->objects);
			}
		case T_RenameStmt:
			{
				RenameStmt *rename = (RenameStmt *) parsetree;

				return rename->renameType == OBJECT_SCHEMA &&
					strcmp(rename->subname, "migrate") == 0;
			}
		case T_AlterOwnerStmt:
			{
				AlterOwnerStmt *owner = (AlterOwnerStmt *) parsetree;

				return owner->objectType == OBJECT_SCHEMA &&
					IsA(owner->object, String) &&
					strcmp(strVal(owner->object), "migrate") == 0;
			}
		case T_AlterExtensionStmt:
			return strcmp(((AlterExtensionStmt *) parsetree)->extname,
						  "migrate") == 0;
		case T_AlterExtensionContentsStmt:
			return strcmp(((AlterExtensionContentsStmt *) parsetree)->extname,
						  "migrate") == 0;
		case T_AlterObjectSchemaStmt:
			{
				AlterObjectSchemaStmt *move = (AlterObjectSchemaStmt *) parsetree;

				return move->objectType == OBJECT_EXTENSION &&
					IsA(move->object, String) &&
					strcmp(strVal(move->object), "migrate") == 0;
			}
		default:
			return false;
	}
}
