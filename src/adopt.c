/*-------------------------------------------------------------------------
 *
 * adopt.c
 *	  Taking over another tool's history: migrate.adopt(tool, project,
 *	  history) reads the history table Flyway, golang-migrate, dbmate,
 *	  Sqitch or node-pg-migrate left in the database and marks the
 *	  registered migrations it lists applied, without running them.
 *
 * How each tool says what is applied (as their sources write it):
 *
 *	- Flyway (flyway_schema_history): rows by installed_rank; per version
 *	  the latest row wins, a DELETE or UNDO_* row making it unapplied; the
 *	  highest BASELINE (or *_BASELINE) version covers every version at or
 *	  below it; version NULL is a repeatable migration, its latest row per
 *	  description wins.  A row with success = false is a failure.
 *	- golang-migrate (schema_migrations: version bigint, dirty boolean):
 *	  one row, the current version; everything at or below it is applied;
 *	  dirty means a migration was left half done.
 *	- dbmate (schema_migrations: version varchar): one row per applied
 *	  version.
 *	- Sqitch (sqitch.changes): one row per deployed change, by change
 *	  name; a reworked change has a row per deployed instance, matched to
 *	  its registrations in version order.
 *	- node-pg-migrate (pgmigrations: name, run_on): one row per applied
 *	  file, named <version>_<name>.
 *
 * Invariants: everything is decided before anything is written, and any
 * refusal (a failed or dirty peer history, a version that is not
 * registered, a Flyway checksum that does not match the registered up
 * script, a migration migrate itself attempted, a requirement that would
 * not be applied) throws, so that nothing is adopted.  The peer's table is
 * read with the caller's privileges, under an AccessShareLock, as in a
 * migration (migrate's own functions refuse to run from a view or a
 * function it calls).  Migrations already applied are left as they are:
 * adopting twice adopts nothing the second time.
 *
 * Flyway checksums: CRC-32 of the file's lines in UTF-8, as Flyway's
 * ChecksumCalculator reads them (a leading byte order mark and the line
 * terminators left out).  Flyway checksums a versioned file before it
 * substitutes placeholders; migrate-bundle then records that checksum in
 * the first line of the up script it registers (ADOPT_FLYWAY_MARK), which
 * is a comment and changes nothing else.
 *
 * The caller has begun a change (change.c): it holds the migration lock
 * and is connected to SPI.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/pg_crc.h"
#include "utils/regproc.h"
#include "utils/timestamp.h"

#include "adopt.h"
#include "catalog.h"
#include "guard.h"
#include "version.h"
#include "version_order.h"

/* The first line migrate-bundle gives a Flyway file it substituted. */
#define ADOPT_FLYWAY_MARK "-- migrate-bundle: Flyway checksum "

/* What one row of the peer's history says. */
typedef struct PeerRow
{
	char	   *version;		/* NULL: a repeatable migration (Flyway) or a
								 * change (Sqitch), named by name */
	char	   *name;
	bool		up_to;			/* every registered version at or below */
	bool		applied;		/* false: a later row undid it (Flyway) */
	bool		has_at;
	TimestampTz at;
	char	   *user;			/* NULL: not recorded */
	bool		has_checksum;
	int32		checksum;
	char	   *key;			/* the value that identifies the row (see
								 * tools[].key) */
} PeerRow;

/* One registered migration of the project, and the row that adopts it. */
typedef struct Candidate
{
	Migration  *m;
	PeerRow    *row;			/* NULL: not adopted */
	const char *applied_checksum;
} Candidate;

typedef struct Adoption
{
	AdoptTool	tool;
	const char *project;
	Oid			relid;
	const char *table;			/* qualified and quoted, for queries */
	const char *table_name;		/* schema.table, for messages */
	Candidate  *cand;
	int			ncand;
	List	   *rows;			/* of PeerRow */
} Adoption;

static const struct
{
	const char *name;			/* as adopt()'s tool argument spells it */
	const char *table;			/* its history table, by default */
	const char *example;		/* that table elsewhere, for a hint */
	const char *key;			/* the column that identifies a row */
}			tools[] = {
	[ADOPT_FLYWAY] = {"flyway", "flyway_schema_history", "myschema.flyway_schema_history", "installed_rank"},
	[ADOPT_GOLANG_MIGRATE] = {"golang-migrate", "schema_migrations", "myschema.schema_migrations", "version"},
	[ADOPT_DBMATE] = {"dbmate", "schema_migrations", "myschema.schema_migrations", "version"},
	[ADOPT_SQITCH] = {"sqitch", "sqitch.changes", "myregistry.changes", "change"},
	[ADOPT_NODE_PG_MIGRATE] = {"node-pg-migrate", "pgmigrations", "myschema.pgmigrations", "name"}
};

static Oid	history_table(AdoptTool tool, Oid relid);
static void check_shape(const Adoption *a);
static SPITupleTable *read_history(Adoption *a, const char *columns,
								   const char *where, const char *arg,
								   const char *order);
static char *column_text(const Adoption *a, SPITupleTable *tt, uint64 row,
						 int col, const char *key);
static char *column_text_or_null(SPITupleTable *tt, uint64 row, int col);
static bool column_timestamptz(SPITupleTable *tt, uint64 row, int col,
							   TimestampTz *at);
static void read_peer(Adoption *a);
static void read_flyway(Adoption *a);
static void read_golang_migrate(Adoption *a);
static void read_dbmate(Adoption *a);
static void read_sqitch(Adoption *a);
static void read_node_pg_migrate(Adoption *a);
static PeerRow *new_row(Adoption *a, const char *version, const char *key);
static void undo_earlier(List *rows, const char *version, const char *name);
static void match_rows(Adoption *a);
static void check_candidates(const Adoption *a);
static bool versions_equal(const char *a, const char *b);
static int	errdetail_row(const Adoption *a, const PeerRow *row);
static void not_registered(const Adoption *a, const PeerRow *row);
static void check_flyway_checksum(Adoption *a, Candidate *c);
static int32 flyway_checksum(const char *text);

/*
 * migrate_adopt_tool
 *		The tool named name; throws 22023 for any other.
 */
AdoptTool
migrate_adopt_tool(const char *name)
{
	int			i;

	for (i = 0; i < lengthof(tools); i++)
		if (strcmp(tools[i].name, name) == 0)
			return (AdoptTool) i;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown migration tool \"%s\"", name),
			 errhint("The tools are flyway, golang-migrate, dbmate, sqitch and node-pg-migrate.")));
	return ADOPT_FLYWAY;		/* keep compiler quiet */
}

/*
 * migrate_adopt
 *		Marks applied the registered migrations of project that tool's
 *		history table (relid, or InvalidOid for the tool's default) lists,
 *		and adds a row (project, version, name, applied_at, applied_by) to
 *		tupstore for each.  Returns how many.
 */
int
migrate_adopt(AdoptTool tool, const char *project, Oid relid,
			  Tuplestorestate *tupstore, TupleDesc tupdesc)
{
	Adoption	a = {0};
	List	   *registered;
	ListCell   *lc;
	int64		run_id = 0;
	char	   *caller = GetUserNameFromId(GetUserId(), false);
	TimestampTz now = GetCurrentTimestamp();
	char	   *nspname;
	int			count = 0;
	int			i;

	a.tool = tool;
	a.project = project;
	a.relid = history_table(tool, relid);
	nspname = get_namespace_name(get_rel_namespace(a.relid));
	a.table = quote_qualified_identifier(nspname, get_rel_name(a.relid));
	a.table_name = psprintf("%s.%s", nspname, get_rel_name(a.relid));
	check_shape(&a);

	registered = migrate_catalog_registrations(project, false);
	a.ncand = list_length(registered);
	a.cand = palloc0(sizeof(Candidate) * Max(a.ncand, 1));
	foreach(lc, registered)
		a.cand[foreach_current_index(lc)].m = lfirst(lc);

	read_peer(&a);
	match_rows(&a);
	check_candidates(&a);

	/* Everything checked: now write. */
	for (i = 0; i < a.ncand; i++)
	{
		Candidate  *c = &a.cand[i];
		MigrationEvent ev;
		Datum		values[5];
		bool		nulls[5] = {false};

		if (c->row == NULL || migrate_migration_is_applied(c->m))
			continue;
		if (run_id == 0)
			run_id = migrate_catalog_next_run_id();
		memset(&ev, 0, sizeof(ev));
		ev.run_id = run_id;
		ev.migration = c->m;
		ev.action = "adopt";
		ev.status = "ok";
		ev.started_at = c->row->has_at ? c->row->at : now;
		ev.duration_ms = 0;
		ev.role = c->row->user ? c->row->user : caller;
		ev.ran_as = NULL;
		ev.checksum = c->applied_checksum;
		/* where it came from, and who adopted it (data, not a message) */
		ev.note = psprintf("%s %s %s; adopted by %s", a.table_name,
						   tools[tool].key, c->row->key, caller);
		migrate_catalog_record(&ev, "applied", c->applied_checksum, 0);

		values[0] = CStringGetTextDatum(c->m->project);
		if (c->m->version)
			values[1] = migrate_version_datum(c->m->version,
											  strlen(c->m->version));
		else
			nulls[1] = true;
		values[2] = CStringGetTextDatum(c->m->name);
		values[3] = TimestampTzGetDatum(ev.started_at);
		values[4] = DirectFunctionCall1(namein, CStringGetDatum(ev.role));
		tuplestore_putvalues(tupstore, tupdesc, values, nulls);
		count++;
	}
	return count;
}

/*
 * The history table, locked (AccessShareLock) so that it stays while it is
 * read: relid if given, else the tool's default name looked up in the
 * search_path.  42P01 if there is none.
 */
static Oid
history_table(AdoptTool tool, Oid relid)
{
	if (OidIsValid(relid))
	{
		LockRelationOid(relid, AccessShareLock);
		if (get_rel_name(relid) == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_TABLE),
					 errmsg("relation with OID %u does not exist", relid)));
		return relid;
	}

	relid = RangeVarGetRelid(makeRangeVarFromNameList(stringToQualifiedNameList(tools[tool].table)),
							 AccessShareLock, true);
	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("history table \"%s\" of %s does not exist",
						tools[tool].table, tools[tool].name),
				 errhint("Name the table with the argument history, for example history => '%s'.",
						 tools[tool].example)));
	return relid;
}

/*
 * golang-migrate and dbmate name their tables alike: tell them apart by
 * golang-migrate's column "dirty", so that one is never read as the other.
 */
static void
check_shape(const Adoption *a)
{
	bool		dirty = get_attnum(a->relid, "dirty") != InvalidAttrNumber;

	if (a->tool == ADOPT_DBMATE && dirty)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("table \"%s\" is not a history table of dbmate",
						a->table_name),
				 errdetail("It has a column \"dirty\", as golang-migrate's history table has."),
				 errhint("To adopt golang-migrate's history, call migrate.adopt('golang-migrate').")));
	if (a->tool == ADOPT_GOLANG_MIGRATE && !dirty)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("table \"%s\" is not a history table of golang-migrate",
						a->table_name),
				 errdetail("It has no column \"dirty\", which golang-migrate's history table has."),
				 errhint("To adopt dbmate's history, call migrate.adopt('dbmate').")));
}

/*
 * read_peer
 *		The rows of the peer's history, read as the caller, as if in a
 *		migration: a view or function among them cannot call migrate.
 */
static void
read_peer(Adoption *a)
{
	migrate_guard_enter_migration();
	PG_TRY();
	{
		switch (a->tool)
		{
			case ADOPT_FLYWAY:
				read_flyway(a);
				break;
			case ADOPT_GOLANG_MIGRATE:
				read_golang_migrate(a);
				break;
			case ADOPT_DBMATE:
				read_dbmate(a);
				break;
			case ADOPT_SQITCH:
				read_sqitch(a);
				break;
			case ADOPT_NODE_PG_MIGRATE:
				read_node_pg_migrate(a);
				break;
		}
	}
	PG_FINALLY();
	{
		migrate_guard_leave_migration();
	}
	PG_END_TRY();
}

/*
 * read_history
 *		SELECT columns FROM the history table [WHERE where, with arg as $1]
 *		[ORDER BY order], with the caller's privileges.  The rows stay in
 *		SPI's memory until the change ends; the caller's memory context
 *		stays current.
 */
static SPITupleTable *
read_history(Adoption *a, const char *columns, const char *where,
			 const char *arg, const char *order)
{
	MemoryContext oldcontext = CurrentMemoryContext;
	char	   *sql = psprintf("SELECT %s FROM %s%s%s%s%s", columns, a->table,
							   where ? " WHERE " : "", where ? where : "",
							   order ? " ORDER BY " : "", order ? order : "");
	Oid			argtype = TEXTOID;
	Datum		argvalue = arg ? CStringGetTextDatum(arg) : (Datum) 0;
	int			rc;

	rc = SPI_execute_with_args(sql, arg ? 1 : 0, &argtype, &argvalue, NULL,
							   true, 0);
	MemoryContextSwitchTo(oldcontext);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_with_args failed for \"%s\": %s", sql,
			 SPI_result_code_string(rc));
	return SPI_tuptable;
}

/*
 * Column col (from 1) of row as text; a NULL is refused (22004), naming the
 * column and, if known, the row's key.
 */
static char *
column_text(const Adoption *a, SPITupleTable *tt, uint64 row, int col,
			const char *key)
{
	char	   *value = SPI_getvalue(tt->vals[row], tt->tupdesc, col);

	if (value == NULL && key == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("history table \"%s\" has a NULL in column \"%s\"",
						a->table_name, SPI_fname(tt->tupdesc, col))));
	if (value == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("history table \"%s\" has a NULL in column \"%s\"",
						a->table_name, SPI_fname(tt->tupdesc, col)),
				 errdetail("The row has %s %s.", tools[a->tool].key, key)));
	return value;
}

/* Column col (from 1) of row as text, NULL if NULL. */
static char *
column_text_or_null(SPITupleTable *tt, uint64 row, int col)
{
	return SPI_getvalue(tt->vals[row], tt->tupdesc, col);
}

/* A timestamptz column, if not NULL. */
static bool
column_timestamptz(SPITupleTable *tt, uint64 row, int col, TimestampTz *at)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tt->vals[row], tt->tupdesc, col, &isnull);

	Assert(SPI_gettypeid(tt->tupdesc, col) == TIMESTAMPTZOID);
	if (!isnull)
		*at = DatumGetTimestampTz(d);
	return !isnull;
}

static PeerRow *
new_row(Adoption *a, const char *version, const char *key)
{
	PeerRow    *row = palloc0(sizeof(PeerRow));

	row->version = version ? pstrdup(version) : NULL;
	row->applied = true;
	row->key = pstrdup(key);
	a->rows = lappend(a->rows, row);
	return row;
}

/*
 * Every earlier row of version (naturally equal), or of the repeatable
 * migration name if version is NULL, no longer counts: a later row of the
 * same migration wins.
 */
static void
undo_earlier(List *rows, const char *version, const char *name)
{
	ListCell   *lc;

	foreach(lc, rows)
	{
		PeerRow    *row = lfirst(lc);

		if (row->up_to)
			continue;
		if (version ? (row->version && versions_equal(row->version, version)) :
			(row->version == NULL && strcmp(row->name, name) == 0))
			row->applied = false;
	}
}

/*
 * Flyway: the effective state per version and per repeatable description
 * (the latest row wins), and the highest baseline.
 */
static void
read_flyway(Adoption *a)
{
	SPITupleTable *tt = read_history(a,
									 "installed_rank::pg_catalog.text, version,"
									 " description, type, checksum, installed_by,"
									 " installed_on::pg_catalog.timestamptz, success",
									 NULL, NULL, "installed_rank");
	PeerRow    *baseline = NULL;
	uint64		i;

	for (i = 0; i < SPI_processed; i++)
	{
		char	   *rank = column_text(a, tt, i, 1, NULL);
		char	   *version = column_text_or_null(tt, i, 2);
		char	   *description = column_text(a, tt, i, 3, rank);
		char	   *type = column_text(a, tt, i, 4, rank);
		char	   *checksum = column_text_or_null(tt, i, 5);
		bool		success = strcmp(column_text(a, tt, i, 8, rank), "t") == 0;
		bool		undo = (strncmp(type, "UNDO_", 5) == 0 ||
							strcmp(type, "DELETE") == 0);
		PeerRow    *row;

		if (!success && version)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("history table \"%s\" records a failed migration",
							a->table_name),
					 errdetail("The row with installed_rank %s records version %s as failed: the schema may hold part of it.",
							   rank, version),
					 errhint("Finish or undo that migration by hand and repair the history with Flyway, then adopt.")));
		if (!success)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("history table \"%s\" records a failed migration",
							a->table_name),
					 errdetail("The row with installed_rank %s records repeatable migration \"%s\" as failed: the schema may hold part of it.",
							   rank, description),
					 errhint("Finish or undo that migration by hand and repair the history with Flyway, then adopt.")));
		if (strcmp(type, "SCHEMA") == 0)
			continue;

		if (version == NULL)
		{
			/* repeatable: the latest row per description */
			undo_earlier(a->rows, NULL, description);
			if (undo)
				continue;
			row = new_row(a, NULL, rank);
			row->name = description;
		}
		else if (strcmp(type, "BASELINE") == 0 ||
				 strcmp(type, "SQL_BASELINE") == 0 ||
				 strcmp(type, "JDBC_BASELINE") == 0)
		{
			if (baseline == NULL ||
				migrate_version_compare(version, strlen(version),
										baseline->version,
										strlen(baseline->version)) > 0)
			{
				baseline = new_row(a, version, rank);
				baseline->up_to = true;
				baseline->user = column_text_or_null(tt, i, 6);
				baseline->has_at = column_timestamptz(tt, i, 7, &baseline->at);
			}
			if (strcmp(type, "BASELINE") == 0)
				continue;
			/* a baseline migration (B script) ran: also its own row */
			undo_earlier(a->rows, version, NULL);
			row = new_row(a, version, rank);
		}
		else
		{
			undo_earlier(a->rows, version, NULL);
			if (undo)
				continue;
			row = new_row(a, version, rank);
		}
		row->user = column_text_or_null(tt, i, 6);
		row->has_at = column_timestamptz(tt, i, 7, &row->at);
		if (checksum)
		{
			row->has_checksum = true;
			row->checksum = pg_strtoint32(checksum);
		}
	}
}

/* golang-migrate: one row, the current version, everything up to it. */
static void
read_golang_migrate(Adoption *a)
{
	SPITupleTable *tt = read_history(a, "version::pg_catalog.text, dirty",
									 NULL, NULL, NULL);
	char	   *version;

	if (SPI_processed == 0)
		return;
	if (SPI_processed > 1)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("history table \"%s\" has %llu rows",
						a->table_name, (unsigned long long) SPI_processed),
				 errdetail("golang-migrate keeps one row, its current version.")));
	version = column_text(a, tt, 0, 1, NULL);
	if (strcmp(column_text(a, tt, 0, 2, version), "t") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("history table \"%s\" is dirty at version %s",
						a->table_name, version),
				 errdetail("golang-migrate started a migration and did not finish it: the schema may hold part of it."),
				 errhint("Finish or undo that migration by hand and mark the version clean with golang-migrate's force command, then adopt.")));
	if (strcmp(version, "-1") == 0)
		return;					/* golang-migrate's "nothing applied" */

	/* the current version must itself be registered */
	new_row(a, version, version);
	/* and it stands for every version at or below it */
	new_row(a, version, version)->up_to = true;
}

/* dbmate: one row per applied version. */
static void
read_dbmate(Adoption *a)
{
	SPITupleTable *tt = read_history(a, "version::pg_catalog.text", NULL,
									 NULL, "1");
	uint64		i;

	for (i = 0; i < SPI_processed; i++)
	{
		char	   *version = column_text(a, tt, i, 1, NULL);

		new_row(a, version, version);
	}
}

/*
 * Sqitch: the deployed changes of one Sqitch project, oldest first: the
 * project named like ours if the registry holds several.
 */
static void
read_sqitch(Adoption *a)
{
	SPITupleTable *tt = read_history(a, "DISTINCT project", NULL, NULL, "1");
	char	   *sqitch_project = NULL;
	uint64		i;

	if (SPI_processed == 0)
		return;
	if (SPI_processed == 1)
		sqitch_project = column_text(a, tt, 0, 1, NULL);
	for (i = 0; i < SPI_processed && sqitch_project == NULL; i++)
		if (strcmp(column_text(a, tt, i, 1, NULL), a->project) == 0)
			sqitch_project = pstrdup(a->project);
	if (sqitch_project == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("Sqitch registry table \"%s\" holds several projects, none of them named \"%s\"",
						a->table_name, a->project),
				 errhint("Adopt into the migrate project named like the Sqitch project.")));

	tt = read_history(a,
					  "change, committed_at::pg_catalog.timestamptz, committer_name",
					  "project OPERATOR(pg_catalog.=) $1", sqitch_project,
					  "committed_at, change_id");
	for (i = 0; i < SPI_processed; i++)
	{
		char	   *change = column_text(a, tt, i, 1, NULL);
		PeerRow    *row = new_row(a, NULL, change);

		row->name = change;
		row->has_at = column_timestamptz(tt, i, 2, &row->at);
		row->user = column_text_or_null(tt, i, 3);
	}
}

/* node-pg-migrate: one row per applied file, <version>_<name>. */
static void
read_node_pg_migrate(Adoption *a)
{
	SPITupleTable *tt = read_history(a,
									 "name, run_on::pg_catalog.timestamptz",
									 NULL, NULL, "run_on, id");
	uint64		i;

	for (i = 0; i < SPI_processed; i++)
	{
		char	   *name = column_text(a, tt, i, 1, NULL);
		int			len = 0;
		PeerRow    *row;

		while (isdigit((unsigned char) name[len]))
			len++;
		if (len == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("history table \"%s\" lists a migration without a version",
							a->table_name),
					 errdetail("The row has name \"%s\"; node-pg-migrate names a migration <version>_<name>.",
							   name)));
		row = new_row(a, pnstrdup(name, len), name);
		row->has_at = column_timestamptz(tt, i, 2, &row->at);
	}
}

/*
 * Matches the rows that mark something applied with the registered
 * migrations; refuses a row whose migration is not registered, and a
 * Flyway checksum that does not match.
 */
static void
match_rows(Adoption *a)
{
	ListCell   *lc;
	int			i;

	foreach(lc, a->rows)
	{
		PeerRow    *row = lfirst(lc);
		bool		found = false;

		if (!row->applied)
			continue;
		for (i = 0; i < a->ncand; i++)
		{
			Candidate  *c = &a->cand[i];
			Migration  *m = c->m;

			if (row->up_to)
			{
				/* every versioned migration at or below, not listed */
				if (!m->repeatable && c->row == NULL &&
					migrate_version_compare(m->version, strlen(m->version),
											row->version,
											strlen(row->version)) <= 0)
				{
					c->row = row;
					c->applied_checksum = m->checksum;
				}
				found = true;
				continue;
			}
			if (row->version != NULL)
			{
				if (m->repeatable || !versions_equal(m->version, row->version))
					continue;
			}
			else if (a->tool == ADOPT_SQITCH)
			{
				/* a reworked change: its instances in version order */
				if (m->repeatable || strcmp(m->name, row->name) != 0 ||
					(c->row != NULL && c->row != row))
					continue;
			}
			else if (!m->repeatable || strcmp(m->name, row->name) != 0)
				continue;

			c->row = row;
			c->applied_checksum = m->checksum;
			if (a->tool == ADOPT_FLYWAY && row->has_checksum)
				check_flyway_checksum(a, c);
			found = true;
			break;
		}
		if (!found)
			not_registered(a, row);
	}
}

/*
 * Refuses to adopt a migration migrate itself attempted (failed, or left
 * running by a deploy that ended), and one that requires a migration that
 * would not be applied.
 */
static void
check_candidates(const Adoption *a)
{
	int			i;

	for (i = 0; i < a->ncand; i++)
	{
		const Candidate *c = &a->cand[i];
		ListCell   *lc;

		if (c->row == NULL || migrate_migration_is_applied(c->m))
			continue;
		if (strcmp(c->m->state, "failed") == 0)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("cannot adopt migration %s because its last attempt failed",
							migrate_migration_describe(c->m)),
					 errdetail_row(a, c->row),
					 errhint("Both migrate and the other tool applied it: find out what the schema holds, set its state with migrate.resolve(), then adopt.")));
		if (strcmp(c->m->state, "pending") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("cannot adopt migration %s because a deploy started it and did not finish it",
							migrate_migration_describe(c->m)),
					 errdetail_row(a, c->row),
					 errhint("Both migrate and the other tool applied it: find out what the schema holds, set its state with migrate.resolve(), then adopt.")));

		foreach(lc, c->m->requires)
		{
			char	   *project;
			char	   *version;
			bool		applied = false;
			int			j;

			migrate_requirement_split(lfirst(lc), a->project, &project,
									  &version);
			if (strcmp(project, a->project) == 0)
			{
				for (j = 0; j < a->ncand && !applied; j++)
					if (!a->cand[j].m->repeatable &&
						versions_equal(a->cand[j].m->version, version))
						applied = a->cand[j].row != NULL ||
							migrate_migration_is_applied(a->cand[j].m);
			}
			else
			{
				Migration  *r = migrate_catalog_get(project, version, NULL);

				applied = r != NULL && migrate_migration_is_applied(r);
			}
			if (!applied)
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("cannot adopt migration %s because it requires migration %s, which would not be applied",
								migrate_migration_describe(c->m),
								migrate_migration_name(project, version, NULL)),
						 errdetail_row(a, c->row),
						 errhint("Apply or adopt the required migration first.")));
		}
	}
}

static bool
versions_equal(const char *a, const char *b)
{
	return migrate_version_compare(a, strlen(a), b, strlen(b)) == 0;
}

/* The errdetail naming row: one whole sentence per tool. */
static int
errdetail_row(const Adoption *a, const PeerRow *row)
{
	switch (a->tool)
	{
		case ADOPT_FLYWAY:
			return errdetail("The row of Flyway's history has installed_rank %s.",
							 row->key);
		case ADOPT_GOLANG_MIGRATE:
			return errdetail("golang-migrate's history records version %s as its current version.",
							 row->key);
		case ADOPT_DBMATE:
			return errdetail("The row of dbmate's history has version %s.",
							 row->key);
		case ADOPT_SQITCH:
			return errdetail("The row of Sqitch's registry records change \"%s\" as deployed.",
							 row->key);
		case ADOPT_NODE_PG_MIGRATE:
			return errdetail("The row of node-pg-migrate's history has name \"%s\".",
							 row->key);
	}
	return 0;					/* keep compiler quiet */
}

/* Throws: row lists a migration that is not registered. */
static void
not_registered(const Adoption *a, const PeerRow *row)
{
	if (row->version)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("history table \"%s\" lists version %s, which is not registered in project \"%s\"",
						a->table_name, row->version, a->project),
				 errdetail_row(a, row),
				 errhint("Register every migration of the folder first, for example with migrate-bundle, then adopt.")));
	else if (a->tool == ADOPT_SQITCH)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("history table \"%s\" lists change \"%s\", which is not registered in project \"%s\"",
						a->table_name, row->name, a->project),
				 errdetail_row(a, row),
				 errhint("Register every migration of the folder first, for example with migrate-bundle, then adopt.")));
	else
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("history table \"%s\" lists repeatable migration \"%s\", which is not registered in project \"%s\"",
						a->table_name, row->name, a->project),
				 errdetail_row(a, row),
				 errhint("Register every migration of the folder first, for example with migrate-bundle, then adopt.")));
}

/*
 * The Flyway checksum of c's registered up script against its row's.  A
 * versioned migration must match (migrate-bundle's mark, if present, is
 * the file's checksum before placeholders); a repeatable one that does not
 * is adopted as applied with another script, so run() applies it again.
 */
static void
check_flyway_checksum(Adoption *a, Candidate *c)
{
	char	   *up = migrate_catalog_script(c->m, SCRIPT_UP);
	int32		registered;

	if (!c->m->repeatable &&
		strncmp(up, ADOPT_FLYWAY_MARK, strlen(ADOPT_FLYWAY_MARK)) == 0)
	{
		const char *digits = up + strlen(ADOPT_FLYWAY_MARK);
		char	   *end;
		long		value;

		errno = 0;
		value = strtol(digits, &end, 10);
		if (errno != 0 || end == digits || value < PG_INT32_MIN ||
			value > PG_INT32_MAX)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the first line of the up script of migration %s is not a valid checksum mark",
							migrate_migration_describe(c->m)),
					 errdetail("It starts with \"%s\" but no number follows.",
							   ADOPT_FLYWAY_MARK)));
		registered = (int32) value;
	}
	else
		registered = flyway_checksum(up);

	if (registered == c->row->checksum)
		return;
	if (c->m->repeatable)
	{
		c->applied_checksum = psprintf("flyway:%d", (int) c->row->checksum);
		return;
	}
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("migration %s does not match the file Flyway applied",
					migrate_migration_describe(c->m)),
			 errdetail("The row of Flyway's history with installed_rank %s has checksum %d; the registered up script has checksum %d.",
					   c->row->key, (int) c->row->checksum, (int) registered),
			 errhint("Register the file Flyway applied, unchanged; migrate-bundle keeps Flyway's checksum of a file whose placeholders it substitutes.")));
}

/*
 * Flyway's checksum of a text: CRC-32 of its lines in UTF-8 without their
 * terminators, a byte order mark at the start left out.
 */
static int32
flyway_checksum(const char *text)
{
	pg_crc32	crc;
	const char *p = (const char *) pg_server_to_any(text, strlen(text),
													PG_UTF8);

	if ((unsigned char) p[0] == 0xEF && (unsigned char) p[1] == 0xBB &&
		(unsigned char) p[2] == 0xBF)
		p += 3;
	INIT_TRADITIONAL_CRC32(crc);
	while (*p)
	{
		size_t		len = strcspn(p, "\r\n");

		COMP_TRADITIONAL_CRC32(crc, p, len);
		p += len;
		while (*p == '\r' || *p == '\n')
			p++;
	}
	FIN_TRADITIONAL_CRC32(crc);
	return (int32) crc;
}
