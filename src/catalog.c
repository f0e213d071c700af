/*-------------------------------------------------------------------------
 *
 * catalog.c
 *	  The rows of migrations and of their history, and the SPI executor
 *	  that it and catalog_report.c use.
 *
 * Privileges: every query runs as the owner of the catalog tables (the
 * role that created the extension), with SECURITY_LOCAL_USERID_CHANGE
 * set, the way RI triggers check constraints as the table owner.  So a role
 * needs no privilege on the tables to register or run migrations, and no
 * role but the owner can change them except through our functions.
 *
 * search_path: every object, operator and collation is schema-qualified,
 * and every query runs (and is planned) with search_path pinned to
 * pg_catalog, pg_temp, so whatever the caller or a migration puts on its
 * search_path cannot change what these queries mean.  Plans are prepared
 * once per backend and kept; the plan cache re-analyzes them if the
 * extension is dropped and recreated.
 *
 * Snapshots: writers' queries (every query but the reports') take a fresh
 * snapshot under READ COMMITTED and see what a caller that held the
 * migration lock before us committed; under REPEATABLE READ and
 * SERIALIZABLE the change protocol (change.c) refuses a stale snapshot
 * before anything is read.
 *
 * A Migration is read one way: a query selecting MIGRATION_COLUMNS (or
 * MIGRATION_COLUMNS_NO_SCRIPTS) through migrate_catalog_fetch, whose
 * DestReceiver turns each row into one allocation.
 *
 * Catalog versions: a new library is installed before ALTER EXTENSION
 * migrate UPDATE brings the catalog to its version, and meanwhile must
 * keep working on the catalog it finds.  Catalogs before 0.3 lack the
 * columns a deploy writes (last_run_id, last_pid, statements_done), those
 * before 0.4 the verify script (verify, verify_checksum).  A query that
 * names them says what to use instead on an older catalog, as
 * "{{N:current|older}}" in its text, where 0.N is the version that brought
 * them (N one digit); migrate_catalog_prepare chooses, and prepares again
 * after the catalog changes version.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "commands/sequence.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "nodes/params.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "utils/xid8.h"

#include "catalog_internal.h"

#define MIGRATE_SCHEMA "migrate"

/* A Migration's columns that came with catalog version 0.3. */
#define DEPLOY_COLUMNS \
	"{{3:statements_done, last_run_id|0, NULL::pg_catalog.int8}}"

/*
 * The columns of migrate.migration that a Migration holds, in the order
 * migration_receive reads them (COL_* below).
 */
#define MIGRATION_COLUMNS \
	"id, project, kind, version::pg_catalog.text, name, up, down, requires, " \
	"transactional, checksum, down_checksum, registered_by, state, " \
	"applied_checksum, last_event, " DEPLOY_COLUMNS ", " \
	"{{4:verify, verify_checksum|NULL::pg_catalog.text, NULL::pg_catalog.text}}"

/*
 * The same without the scripts and the down checksum, for the lists a plan
 * is made of: a run may plan thousands of migrations, and reads each one's
 * script only when it runs it (migrate_catalog_script).
 */
#define MIGRATION_COLUMNS_NO_SCRIPTS \
	"id, project, kind, version::pg_catalog.text, name, NULL::pg_catalog.text, " \
	"NULL::pg_catalog.text, requires, transactional, checksum, " \
	"NULL::pg_catalog.text, registered_by, state, applied_checksum, last_event, " \
	DEPLOY_COLUMNS ", NULL::pg_catalog.text, " \
	"{{4:verify_checksum|NULL::pg_catalog.text}}"

static void oid_cache_reset(Datum arg, int cacheid, uint32 hashvalue);
static void check_catalog_version(void);
static char *for_catalog_version(const char *sql, int version);
static int	pin_search_path(void);
static Migration *fetch_one(SPIPlanPtr plan, const CatalogArgs *args);
static void content_args(CatalogArgs *args, const Migration *m);
static void exec_one_row(SPIPlanPtr plan, const CatalogArgs *args);
static char *fetch_text(SPIPlanPtr plan, const CatalogArgs *args, int flags);
static void migration_startup(DestReceiver *self, int operation,
							  TupleDesc typeinfo);
static bool migration_receive(TupleTableSlot *slot, DestReceiver *self);
static void migration_nothing(DestReceiver *self);
static Datum text_list_to_array(List *strings);
static List *text_array_to_list(Datum array, MemoryContext target);

/*
 * migrate_catalog_init
 *		Called once from _PG_init.
 */
void
migrate_catalog_init(void)
{
	CacheRegisterSyscacheCallback(RELOID, oid_cache_reset, (Datum) 0);
	CacheRegisterSyscacheCallback(NAMESPACEOID, oid_cache_reset, (Datum) 0);
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

/*
 * The version of the catalog (N for 0.N, 2 for any before 0.3; -1: not
 * known since the last change to pg_class), and the plans kept by
 * migrate_catalog_prepare, prepared for version prepared_for.
 */
static int	catalog_version = -1;
static int	prepared_for = -1;
static SPIPlanPtr *prepared[64];
static int	nprepared;

static void
oid_cache_reset(Datum arg, int cacheid, uint32 hashvalue)
{
	oid_cache.n = 0;
	oid_cache.owner = InvalidOid;
	catalog_version = -1;
}

/*
 * migrate_catalog_relid
 *		The OID of one of our relations (table, index, sequence) in schema
 *		migrate.  relname must be a string constant.
 */
Oid
migrate_catalog_relid(const char *relname)
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

/*
 * migrate_catalog_owner
 *		The role that owns the catalog tables.
 */
Oid
migrate_catalog_owner(void)
{
	Oid			relid;
	HeapTuple	tuple;

	if (OidIsValid(oid_cache.owner))
		return oid_cache.owner;
	relid = migrate_catalog_relid("migration");
	tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	oid_cache.owner = ((Form_pg_class) GETSTRUCT(tuple))->relowner;
	ReleaseSysCache(tuple);
	return oid_cache.owner;
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
 * migrate_catalog_prepare
 *		Prepares sql once per backend, with search_path pinned and the
 *		parameter types of args, and keeps the plan in *cache.
 */
SPIPlanPtr
migrate_catalog_prepare(SPIPlanPtr *cache, const char *sql,
						const CatalogArgs *args)
{
	SPIPlanPtr	plan;
	int			nestlevel;
	MemoryContext oldcontext = CurrentMemoryContext;

	if (catalog_version < 0)
		check_catalog_version();
	if (*cache != NULL)
		return *cache;
	if (strstr(sql, "{{") != NULL)
		sql = for_catalog_version(sql, catalog_version);
	nestlevel = pin_search_path();
	plan = SPI_prepare(sql, args ? args->n : 0,
					   args ? (Oid *) args->types : NULL);
	/* SPI returns in its own procedure context: go back to the caller's */
	MemoryContextSwitchTo(oldcontext);
	AtEOXact_GUC(true, nestlevel);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed for \"%s\": %s",
			 sql, SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "SPI_keepplan failed");
	if (nprepared == lengthof(prepared))
		elog(ERROR, "too many catalog queries");
	prepared[nprepared++] = cache;
	*cache = plan;
	return plan;
}

/*
 * Looks at which version the catalog has; if it is not the one the kept
 * plans were prepared for, forgets them all.
 */
static void
check_catalog_version(void)
{
	Oid			relid = migrate_catalog_relid("migration");
	int			version;
	int			i;

	if (get_attnum(relid, "verify") != InvalidAttrNumber)
		version = 4;
	else if (get_attnum(relid, "statements_done") != InvalidAttrNumber)
		version = 3;
	else
		version = 2;

	if (version != prepared_for)
	{
		for (i = 0; i < nprepared; i++)
		{
			SPI_freeplan(*prepared[i]);
			*prepared[i] = NULL;
		}
		nprepared = 0;
		prepared_for = version;
	}
	catalog_version = version;
}

/*
 * sql with each "{{N:current|older}}" replaced by one of its two texts,
 * the first if the catalog's version is 0.N or later.
 */
static char *
for_catalog_version(const char *sql, int version)
{
	StringInfoData buf;
	const char *p = sql;
	const char *open;

	initStringInfo(&buf);
	while ((open = strstr(p, "{{")) != NULL)
	{
		const char *colon = strchr(open, ':');
		const char *bar = colon ? strchr(colon, '|') : NULL;
		const char *close = bar ? strstr(bar, "}}") : NULL;
		int			since;

		if (close == NULL || !isdigit((unsigned char) open[2]) ||
			colon != open + 3)
			elog(ERROR, "malformed catalog query: %s", sql);
		since = open[2] - '0';
		appendBinaryStringInfo(&buf, p, open - p);
		if (version >= since)
			appendBinaryStringInfo(&buf, colon + 1, bar - colon - 1);
		else
			appendBinaryStringInfo(&buf, bar + 1, close - bar - 1);
		p = close + 2;
	}
	appendStringInfoString(&buf, p);
	return buf.data;
}

/*
 * migrate_catalog_exec
 *		Executes a catalog query as the owner of the catalog, with the
 *		values of args, and returns SPI's result code.  The rows go to
 *		dest, or if it is NULL into SPI_tuptable (at most tcount of them, 0
 *		for all).
 *
 * If the query throws, the user id and settings stay switched: the abort
 * of the (sub)transaction the error unwinds to restores them.
 */
int
migrate_catalog_exec(SPIPlanPtr plan, const CatalogArgs *args, int flags,
					 long tcount, DestReceiver *dest)
{
	MemoryContext oldcontext = CurrentMemoryContext;
	SPIExecuteOptions options = {0};
	int			nargs = args ? args->n : 0;
	Oid			save_userid;
	int			save_sec_context;
	int			nestlevel;
	int			rc;
	int			i;

	Assert(nargs == SPI_getargcount(plan));
	options.params = makeParamList(nargs);
	for (i = 0; i < nargs; i++)
	{
		ParamExternData *prm = &options.params->params[i];

		prm->value = args->values[i];
		prm->isnull = args->nulls[i];
		prm->pflags = PARAM_FLAG_CONST;
		prm->ptype = args->types[i];
	}
	options.read_only = (flags & CATALOG_READ_ONLY) != 0;
	options.tcount = tcount;
	options.dest = dest;

	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(migrate_catalog_owner(),
						   save_sec_context | SECURITY_LOCAL_USERID_CHANGE);
	nestlevel = pin_search_path();
	if (flags & CATALOG_INDEX_ORDER)
		(void) set_config_option("enable_sort", "off", PGC_USERSET,
								 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0,
								 false);
	rc = SPI_execute_plan_extended(plan, &options);
	/* SPI returns in its own procedure context: go back to the caller's */
	MemoryContextSwitchTo(oldcontext);
	AtEOXact_GUC(true, nestlevel);
	SetUserIdAndSecContext(save_userid, save_sec_context);
	if (rc < 0)
		elog(ERROR, "catalog query failed: %s", SPI_result_code_string(rc));
	return rc;
}

/*
 * migrate_catalog_next_run_id
 *		A new run id from migrate.run_id_seq.
 */
int64
migrate_catalog_next_run_id(void)
{
	/* The owner has USAGE; the caller need not. */
	return nextval_internal(migrate_catalog_relid("run_id_seq"), false);
}

/*
 * migrate_catalog_write_generation
 *		Sets migrate.generation.nothing_due, and with bump, adds one to the
 *		generation.  Only change.c calls this.
 */
void
migrate_catalog_write_generation(bool bump, bool nothing_due)
{
	static SPIPlanPtr plan = NULL;
	CatalogArgs args = {0};

	arg_int8(&args, bump ? 1 : 0);
	arg_datum(&args, BOOLOID, BoolGetDatum(nothing_due), false);
	migrate_catalog_prepare(&plan,
							"UPDATE migrate.generation"
							" SET generation = generation OPERATOR(pg_catalog.+) $1,"
							" nothing_due = $2",
							&args);
	exec_one_row(plan, &args);
}

/*
 * migrate_catalog_get
 *		The versioned migration (project, version), or with version NULL the
 *		repeatable migration (project, name); NULL if none is registered.
 *		Versions compare naturally: "1.0" finds "1.00".
 */
Migration *
migrate_catalog_get(const char *project, const char *version,
					const char *name)
{
	static SPIPlanPtr versioned = NULL;
	static SPIPlanPtr repeatable = NULL;
	CatalogArgs args = {0};
	SPIPlanPtr	plan;

	arg_text(&args, project);
	if (version != NULL)
	{
		arg_text(&args, version);
		plan = migrate_catalog_prepare(&versioned,
									   "SELECT " MIGRATION_COLUMNS " FROM migrate.migration"
									   " WHERE kind OPERATOR(pg_catalog.=) 'versioned'"
									   " AND project COLLATE pg_catalog.\"C\" OPERATOR(pg_catalog.=) $1"
									   " AND version OPERATOR(migrate.=) $2::migrate.version",
									   &args);
	}
	else
	{
		arg_text(&args, name);
		plan = migrate_catalog_prepare(&repeatable,
									   "SELECT " MIGRATION_COLUMNS " FROM migrate.migration"
									   " WHERE kind OPERATOR(pg_catalog.=) 'repeatable'"
									   " AND project OPERATOR(pg_catalog.=) $1"
									   " AND name OPERATOR(pg_catalog.=) $2",
									   &args);
	}
	return fetch_one(plan, &args);
}

/* The one registration a plan finds, or NULL. */
static Migration *
fetch_one(SPIPlanPtr plan, const CatalogArgs *args)
{
	List	   *rows = migrate_catalog_fetch(plan, args, 1);
	Migration  *result = NULL;

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
	CatalogArgs args = {0};

	arg_text(&args, m->project);
	arg_text(&args, m->repeatable ? "repeatable" : "versioned");
	arg_text(&args, m->version);
	content_args(&args, m);		/* $4 .. $13 */
	migrate_catalog_prepare(&plan,
							"INSERT INTO migrate.migration (project, kind, version, name,"
							" up, down, requires, transactional, checksum, down_checksum,"
							" registered_at, registered_by, state"
							"{{4:, verify, verify_checksum|}})"
							" VALUES ($1, $2, $3::migrate.version, $4, $5, $6, $7, $8, $9,"
							" $10, pg_catalog.now(), $11, 'pending'{{4:, $12, $13|}})",
							&args);
	migrate_catalog_exec(plan, &args, 0, 0, NULL);
}

/*
 * content_args
 *		Appends the registered content of m, the columns register() may
 *		change: name, up, down, requires, transactional, checksum,
 *		down_checksum, registered_by, verify, verify_checksum.  (A catalog
 *		before 0.4 has no verify columns, but then register() has no
 *		verify argument either.)
 */
static void
content_args(CatalogArgs *args, const Migration *m)
{
	arg_text(args, m->name);
	arg_text(args, m->up);
	arg_text(args, m->down);
	arg_datum(args, TEXTARRAYOID, text_list_to_array(m->requires), false);
	arg_datum(args, BOOLOID, BoolGetDatum(m->transactional), false);
	arg_text(args, m->checksum);
	arg_text(args, m->down_checksum);
	arg_text(args, m->registered_by);
	arg_text(args, m->verify);
	arg_text(args, m->verify_checksum);
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
	CatalogArgs args = {0};

	arg_int8(&args, m->id);
	content_args(&args, m);		/* $2 .. $11 */
	migrate_catalog_prepare(&plan,
							"UPDATE migrate.migration SET name = $2, up = $3, down = $4,"
							" requires = $5, transactional = $6, checksum = $7,"
							" down_checksum = $8, registered_at = pg_catalog.now(),"
							" registered_by = $9{{4:, verify = $10, verify_checksum = $11|}}"
							" WHERE id OPERATOR(pg_catalog.=) $1",
							&args);
	migrate_catalog_exec(plan, &args, 0, 0, NULL);
}

/*
 * migrate_catalog_delete
 *		Removes a registration.  Its history stays.
 */
void
migrate_catalog_delete(int64 id)
{
	static SPIPlanPtr plan = NULL;
	CatalogArgs args = {0};

	arg_int8(&args, id);
	migrate_catalog_prepare(&plan,
							"DELETE FROM migrate.migration"
							" WHERE id OPERATOR(pg_catalog.=) $1",
							&args);
	migrate_catalog_exec(plan, &args, 0, 0, NULL);
}

/*
 * migrate_catalog_unapplied
 *		Every registration that is not applied (pending, failed, running or
 *		interrupted; not reverting, which is applied still), in no
 *		particular order, without scripts.  Uses the partial index
 *		migration_due_idx, so it stays cheap however many migrations are
 *		applied.
 */
List *
migrate_catalog_unapplied(void)
{
	static SPIPlanPtr plan = NULL;

	migrate_catalog_prepare(&plan,
							"SELECT " MIGRATION_COLUMNS_NO_SCRIPTS " FROM migrate.migration"
							" WHERE state OPERATOR(pg_catalog.<>) 'applied'"
							" AND state OPERATOR(pg_catalog.<>) 'reverting'",
							NULL);
	return migrate_catalog_fetch(plan, NULL, 0);
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

	migrate_catalog_prepare(&plan,
							"SELECT " MIGRATION_COLUMNS_NO_SCRIPTS " FROM migrate.migration"
							" WHERE kind OPERATOR(pg_catalog.=) 'repeatable'"
							" AND (state OPERATOR(pg_catalog.<>) 'applied'"
							" OR applied_checksum IS NULL"
							" OR applied_checksum OPERATOR(pg_catalog.<>) checksum)"
							" ORDER BY project COLLATE pg_catalog.\"C\", name COLLATE pg_catalog.\"C\"",
							NULL);
	return migrate_catalog_fetch(plan, NULL, 0);
}

/*
 * migrate_catalog_script
 *		m's up, down or verify script (NULL if it has none), in the
 *		current memory context: read from the catalog if m was loaded
 *		without scripts.  The caller holds the migration lock, so the row is
 *		the one the plan was made from.
 */
char *
migrate_catalog_script(const Migration *m, ScriptPart part)
{
	static SPIPlanPtr plan = NULL;
	CatalogArgs args = {0};
	char	   *result = NULL;
	bool		isnull;
	Datum		d;

	/* up is NOT NULL in the catalog: NULL here means "loaded without" */
	if (m->up != NULL)
		return part == SCRIPT_DOWN ? m->down :
			part == SCRIPT_VERIFY ? m->verify : m->up;
	if (part == SCRIPT_VERIFY && m->verify_checksum == NULL)
		return NULL;

	arg_int8(&args, m->id);
	arg_datum(&args, INT4OID,
			  Int32GetDatum(part == SCRIPT_DOWN ? 1 :
							part == SCRIPT_VERIFY ? 2 : 0), false);
	migrate_catalog_prepare(&plan,
							"SELECT CASE $2 WHEN 1 THEN down"
							" WHEN 2 THEN {{4:verify|NULL}} ELSE up END"
							" FROM migrate.migration"
							" WHERE id OPERATOR(pg_catalog.=) $1",
							&args);
	exec_one_row(plan, &args);
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1,
					  &isnull);
	if (!isnull)
		result = TextDatumGetCString(d);
	SPI_freetuptable(SPI_tuptable);
	return result;
}

/*
 * migrate_catalog_highest_applied
 *		The highest applied version of a project (as written), or NULL; and
 *		if any_applied is not NULL, whether any migration of the project,
 *		versioned or repeatable, is applied.
 */
char *
migrate_catalog_highest_applied(const char *project, bool *any_applied)
{
	static SPIPlanPtr plan = NULL;
	CatalogArgs args = {0};
	char	   *result = NULL;
	bool		isnull;

	arg_text(&args, project);
	migrate_catalog_prepare(&plan,
							"SELECT (SELECT version::pg_catalog.text FROM migrate.migration"
							"  WHERE kind OPERATOR(pg_catalog.=) 'versioned'"
							"  AND project COLLATE pg_catalog.\"C\" OPERATOR(pg_catalog.=) $1"
							"  AND state OPERATOR(pg_catalog.=) ANY ('{applied,reverting}')"
							"  ORDER BY version DESC LIMIT 1),"
							" EXISTS (SELECT FROM migrate.migration"
							"  WHERE project COLLATE pg_catalog.\"C\" OPERATOR(pg_catalog.=) $1"
							"  AND state OPERATOR(pg_catalog.=) ANY ('{applied,reverting}'))",
							&args);
	exec_one_row(plan, &args);
	result = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	if (any_applied)
		*any_applied = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0],
												  SPI_tuptable->tupdesc, 2,
												  &isnull));
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
	CatalogArgs args = {0};

	arg_text(&args, project);
	arg_datum(&args, INT4OID, Int32GetDatum(limit), false);
	migrate_catalog_prepare(&plan,
							"SELECT " MIGRATION_COLUMNS " FROM migrate.migration"
							" WHERE kind OPERATOR(pg_catalog.=) 'versioned'"
							" AND project COLLATE pg_catalog.\"C\" OPERATOR(pg_catalog.=) $1"
							" AND state OPERATOR(pg_catalog.=) ANY ('{applied,reverting}')"
							" ORDER BY last_event DESC LIMIT $2",
							&args);
	return migrate_catalog_fetch(plan, &args, 0);
}

/*
 * migrate_catalog_registrations
 *		The registrations of project (NULL: of every project), without
 *		scripts: the versioned ones by project and version, then the
 *		repeatable ones by project and name.  With pending_only, only those
 *		run() would apply: not applied, or repeatable and changed since.
 */
List *
migrate_catalog_registrations(const char *project, bool pending_only)
{
	static SPIPlanPtr plan = NULL;
	CatalogArgs args = {0};

	arg_text(&args, project);
	arg_datum(&args, BOOLOID, BoolGetDatum(pending_only), false);
	migrate_catalog_prepare(&plan,
							"SELECT " MIGRATION_COLUMNS_NO_SCRIPTS " FROM migrate.migration"
							" WHERE ($1 IS NULL OR project OPERATOR(pg_catalog.=) $1)"
							" AND (NOT $2"
							"  OR (state OPERATOR(pg_catalog.<>) 'applied'"
							"   AND state OPERATOR(pg_catalog.<>) 'reverting')"
							"  OR (kind OPERATOR(pg_catalog.=) 'repeatable'"
							"   AND (applied_checksum IS NULL"
							"    OR applied_checksum OPERATOR(pg_catalog.<>) checksum)))"
							" ORDER BY kind DESC, project COLLATE pg_catalog.\"C\", version,"
							" name COLLATE pg_catalog.\"C\"",
							&args);
	return migrate_catalog_fetch(plan, &args, 0);
}

/*
 * migrate_catalog_with_requires
 *		Every registration that requires something, any project; with
 *		applied_only, only the applied ones.  Without scripts.
 */
List *
migrate_catalog_with_requires(bool applied_only)
{
	static SPIPlanPtr plan = NULL;
	CatalogArgs args = {0};

	arg_datum(&args, BOOLOID, BoolGetDatum(applied_only), false);
	migrate_catalog_prepare(&plan,
							"SELECT " MIGRATION_COLUMNS_NO_SCRIPTS " FROM migrate.migration"
							" WHERE pg_catalog.cardinality(requires) OPERATOR(pg_catalog.>) 0"
							" AND (NOT $1 OR state OPERATOR(pg_catalog.=) ANY ('{applied,reverting}'))"
							" ORDER BY project, version",
							&args);
	return migrate_catalog_fetch(plan, &args, 0);
}

/*
 * migrate_catalog_record
 *		Appends a history row and sets the migration's state, its applied
 *		checksum, its last event and how many of its statements a deploy
 *		has completed, in one statement.
 */
void
migrate_catalog_record(const MigrationEvent *ev, const char *new_state,
					   const char *applied_checksum, int statements_done)
{
	static SPIPlanPtr plan = NULL;
	CatalogArgs args = {0};
	const Migration *m = ev->migration;
	ErrorData  *err = ev->error;

	arg_int8(&args, ev->run_id);	/* $1 */
	arg_text(&args, m->project);
	arg_text(&args, m->version);
	arg_text(&args, m->name);
	arg_text(&args, ev->action);	/* $5 */
	arg_text(&args, ev->status);
	arg_datum(&args, TIMESTAMPTZOID, TimestampTzGetDatum(ev->started_at),
			  false);
	arg_datum(&args, FLOAT8OID, Float8GetDatum(ev->duration_ms), false);
	arg_text(&args, ev->role);
	arg_text(&args, ev->ran_as);	/* $10 */
	arg_datum(&args, INT4OID, Int32GetDatum(MyProcPid), false);
	arg_datum(&args, XID8OID,
			  FullTransactionIdGetDatum(GetTopFullTransactionId()), false);
	arg_text(&args, ev->checksum);
	arg_text(&args, err ? unpack_sql_state(err->sqlerrcode) : NULL);
	arg_text(&args, err ? err->message : ev->note); /* $15 */
	arg_text(&args, err ? err->detail : NULL);
	arg_text(&args, err ? err->context : NULL);
	arg_int8(&args, m->id);
	arg_text(&args, new_state);
	arg_text(&args, applied_checksum);	/* $20 */
	/* the event id first, so that the statement needs no join */
	arg_int8(&args,
			 nextval_internal(migrate_catalog_relid("event_id_seq"), false));
	arg_datum(&args, INT4OID, Int32GetDatum(statements_done), false);

	migrate_catalog_prepare(&plan,
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
							"{{3:, last_run_id = $1, last_pid = $11, statements_done = $22|}}"
							" WHERE id OPERATOR(pg_catalog.=) $18",
							&args);
	exec_one_row(plan, &args);
}

/*
 * migrate_catalog_set_statements_done
 *		Records that a deploy has completed the first n statements of
 *		non-transactional migration m.
 */
void
migrate_catalog_set_statements_done(const Migration *m, int n)
{
	static SPIPlanPtr plan = NULL;
	CatalogArgs args = {0};

	arg_int8(&args, m->id);
	arg_datum(&args, INT4OID, Int32GetDatum(n), false);
	migrate_catalog_prepare(&plan,
							"UPDATE migrate.migration SET statements_done = $2"
							" WHERE id OPERATOR(pg_catalog.=) $1",
							&args);
	exec_one_row(plan, &args);
}

/*
 * migrate_catalog_deploying
 *		The migration that the deploy in process pid has last started, as
 *		committed, and that deploy's run id; NULL if none.
 */
Migration *
migrate_catalog_deploying(int pid, int64 *run_id)
{
	static SPIPlanPtr plan = NULL;
	CatalogArgs args = {0};
	List	   *rows;
	Migration  *m;

	arg_datum(&args, INT4OID, Int32GetDatum(pid), false);
	migrate_catalog_prepare(&plan,
							"SELECT " MIGRATION_COLUMNS_NO_SCRIPTS
							" FROM migrate.migration"
							" WHERE state OPERATOR(pg_catalog.=) ANY ('{running,reverting}')"
							" AND {{3:last_pid OPERATOR(pg_catalog.=) $1|$1 IS NULL}}"
							" ORDER BY last_event DESC LIMIT 1",
							&args);
	rows = migrate_catalog_fetch(plan, &args, 1);
	if (rows == NIL)
		return NULL;
	m = linitial(rows);
	*run_id = m->last_run_id;
	return m;
}

/*
 * migrate_catalog_request_cancel
 *		Records that role asks deploy run_id to stop (once: a second
 *		request keeps the first).
 */
void
migrate_catalog_request_cancel(int64 run_id, const char *role)
{
	static SPIPlanPtr plan = NULL;
	CatalogArgs args = {0};

	arg_int8(&args, run_id);
	arg_text(&args, role);
	migrate_catalog_prepare(&plan,
							"INSERT INTO migrate.cancel_request (run_id, requested_at, requested_by)"
							" VALUES ($1, pg_catalog.now(), $2)"
							" ON CONFLICT (run_id) DO NOTHING",
							&args);
	migrate_catalog_exec(plan, &args, 0, 0, NULL);
}

/*
 * migrate_catalog_cancel_requested
 *		The role that asked deploy run_id to stop, as committed; NULL if
 *		nobody has.
 */
char *
migrate_catalog_cancel_requested(int64 run_id)
{
	static SPIPlanPtr plan = NULL;
	CatalogArgs args = {0};

	arg_int8(&args, run_id);
	migrate_catalog_prepare(&plan,
							"SELECT requested_by FROM migrate.cancel_request"
							" WHERE run_id OPERATOR(pg_catalog.=) $1",
							&args);
	return fetch_text(plan, &args, 0);
}

/*
 * migrate_catalog_forget_cancels
 *		Removes the requests to stop deploys that have ended; the caller is
 *		a deploy that holds the deploy lock, so no other deploy runs.
 */
void
migrate_catalog_forget_cancels(void)
{
	static SPIPlanPtr plan = NULL;

	migrate_catalog_prepare(&plan, "DELETE FROM migrate.cancel_request", NULL);
	migrate_catalog_exec(plan, NULL, 0, 0, NULL);
}

/*
 * migrate_catalog_run_role
 *		The role that made run run_id (its first history row); NULL if the
 *		run has none yet.
 */
char *
migrate_catalog_run_role(int64 run_id)
{
	static SPIPlanPtr plan = NULL;
	CatalogArgs args = {0};

	arg_int8(&args, run_id);
	migrate_catalog_prepare(&plan,
							"SELECT role FROM migrate.event"
							" WHERE run_id OPERATOR(pg_catalog.=) $1"
							" ORDER BY id LIMIT 1",
							&args);
	return fetch_text(plan, &args, CATALOG_READ_ONLY);
}

/*
 * The text in the first column of the first row a catalog query returns,
 * in the caller's context; NULL if it returns none, or NULL.
 */
static char *
fetch_text(SPIPlanPtr plan, const CatalogArgs *args, int flags)
{
	bool		isnull;
	Datum		value;

	migrate_catalog_exec(plan, args, flags, 1, NULL);
	if (SPI_processed == 0)
		return NULL;
	value = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1,
						  &isnull);
	return isnull ? NULL : TextDatumGetCString(value);
}

/*
 * exec_one_row
 *		Executes a catalog query that must read or change exactly one row
 *		(the generation row, or a migration's row while the caller holds the
 *		migration lock); anything else is a damaged catalog.
 */
static void
exec_one_row(SPIPlanPtr plan, const CatalogArgs *args)
{
	migrate_catalog_exec(plan, args, 0, 0, NULL);
	if (SPI_processed != 1)
		elog(ERROR, "catalog query found %llu rows, expected 1",
			 (unsigned long long) SPI_processed);
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
	char	   *free;			/* the unused end of the current block */
	Size		left;			/* its size */
} MigrationReceiver;

/*
 * Rows without scripts are carved one after the other out of blocks of
 * this size: a plan of thousands of migrations would otherwise pay
 * AllocSet's rounding of each one up to a power of two.
 */
#define MIGRATION_BLOCK_SIZE (32 * 1024)

/* Attribute numbers of MIGRATION_COLUMNS. */
enum
{
	COL_ID = 1, COL_PROJECT, COL_KIND, COL_VERSION, COL_NAME, COL_UP,
	COL_DOWN, COL_REQUIRES, COL_TRANSACTIONAL, COL_CHECKSUM,
	COL_DOWN_CHECKSUM, COL_REGISTERED_BY, COL_STATE, COL_APPLIED_CHECKSUM,
	COL_LAST_EVENT, COL_STATEMENTS_DONE, COL_LAST_RUN_ID, COL_VERIFY,
	COL_VERIFY_CHECKSUM,
	MIGRATION_NCOLUMNS = COL_VERIFY_CHECKSUM
};

/* Its string columns, in the order of the Migration fields they fill. */
static const int migration_strings[] = {
	COL_PROJECT, COL_VERSION, COL_NAME, COL_UP, COL_DOWN, COL_CHECKSUM,
	COL_DOWN_CHECKSUM, COL_REGISTERED_BY, COL_STATE, COL_APPLIED_CHECKSUM,
	COL_VERIFY, COL_VERIFY_CHECKSUM
};

/*
 * migrate_catalog_fetch
 *		Runs a plan selecting MIGRATION_COLUMNS (at most tcount rows, 0 for
 *		all) and returns its rows as Migrations, in the caller's context.
 */
List *
migrate_catalog_fetch(SPIPlanPtr plan, const CatalogArgs *args, long tcount)
{
	MigrationReceiver receiver = {0};

	receiver.pub.receiveSlot = migration_receive;
	receiver.pub.rStartup = migration_startup;
	receiver.pub.rShutdown = migration_nothing;
	receiver.pub.rDestroy = migration_nothing;
	receiver.pub.mydest = DestNone;
	receiver.target = CurrentMemoryContext;
	receiver.scratch = AllocSetContextCreate(CurrentMemoryContext,
											 "migrate catalog row",
											 ALLOCSET_SMALL_SIZES);
	migrate_catalog_exec(plan, args, 0, tcount, &receiver.pub);
	MemoryContextDelete(receiver.scratch);
	return receiver.rows;
}

/* Checks that the query's columns are MIGRATION_COLUMNS. */
static void
migration_startup(DestReceiver *self, int operation, TupleDesc typeinfo)
{
	static const Oid types[MIGRATION_NCOLUMNS] = {
		INT8OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID,
		TEXTARRAYOID, BOOLOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID,
		INT8OID, INT4OID, INT8OID, TEXTOID, TEXTOID
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
migration_nothing(DestReceiver *self)
{
}

/*
 * Zeroed memory for one Migration of size bytes, in r->target: carved out
 * of the current block if it fits in a block, else allocated on its own
 * (a row with its scripts can be large).  Never freed on its own: it lives
 * as long as the list.
 */
static void *
migration_alloc(MigrationReceiver *r, Size size)
{
	void	   *p;

	size = MAXALIGN(size);
	if (size > MIGRATION_BLOCK_SIZE / 4)
		return MemoryContextAllocZero(r->target, size);
	if (size > r->left)
	{
		r->free = MemoryContextAlloc(r->target, MIGRATION_BLOCK_SIZE);
		r->left = MIGRATION_BLOCK_SIZE;
	}
	p = r->free;
	r->free += size;
	r->left -= size;
	memset(p, 0, size);
	return p;
}

/* One row: a Migration in one allocation, appended to the list. */
static bool
migration_receive(TupleTableSlot *slot, DestReceiver *self)
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

	m = migration_alloc(r, size);
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
	field[10] = &m->verify;
	field[11] = &m->verify_checksum;
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
	m->statements_done =
		DatumGetInt32(slot->tts_values[COL_STATEMENTS_DONE - 1]);
	if (!slot->tts_isnull[COL_LAST_RUN_ID - 1])
		m->last_run_id = DatumGetInt64(slot->tts_values[COL_LAST_RUN_ID - 1]);

	MemoryContextSwitchTo(r->target);
	r->rows = lappend(r->rows, m);
	MemoryContextSwitchTo(oldcontext);
	MemoryContextReset(r->scratch);
	return true;
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
