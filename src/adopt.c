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
 * script) throws, so that nothing is adopted.  The peer's table is read
 * with the caller's privileges.  Migrations already applied are left as
 * they are: adopting twice adopts nothing the second time.
 *
 * Flyway checksums: CRC-32 of the file's lines, as Flyway's
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
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/pg_crc.h"
#include "utils/regproc.h"
#include "utils/timestamp.h"

#include "adopt.h"
#include "catalog.h"
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
	char	   *label;			/* the row, for messages and the history */
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
	const char *table;			/* qualified and quoted, for queries */
	const char *table_name;		/* as messages name it */
	Candidate  *cand;
	int			ncand;
	List	   *rows;			/* of PeerRow */
} Adoption;

static const struct
{
	const char *name;			/* as adopt()'s tool argument spells it */
	const char *title;			/* as messages name the tool */
	const char *table;			/* its history table, by default */
}			tools[] = {
	[ADOPT_FLYWAY] = {"flyway", "Flyway", "flyway_schema_history"},
	[ADOPT_GOLANG_MIGRATE] = {"golang-migrate", "golang-migrate", "schema_migrations"},
	[ADOPT_DBMATE] = {"dbmate", "dbmate", "schema_migrations"},
	[ADOPT_SQITCH] = {"sqitch", "Sqitch", "sqitch.changes"},
	[ADOPT_NODE_PG_MIGRATE] = {"node-pg-migrate", "node-pg-migrate", "pgmigrations"}
};

static Oid	history_table(AdoptTool tool, Oid relid);
static SPITupleTable *read_history(Adoption *a, const char *columns,
								   const char *where, const char *order);
static char *column_text(SPITupleTable *tt, uint64 row, int col);
static bool column_timestamptz(SPITupleTable *tt, uint64 row, int col,
							   TimestampTz *at);
static void read_flyway(Adoption *a);
static void read_golang_migrate(Adoption *a);
static void read_dbmate(Adoption *a);
static void read_sqitch(Adoption *a);
static void read_node_pg_migrate(Adoption *a);
static PeerRow *new_row(Adoption *a, const char *version, const char *label);
static PeerRow *find_version_row(List *rows, const char *version);
static void match_rows(Adoption *a);
static bool versions_equal(const char *a, const char *b);
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
	int			count = 0;
	int			i;

	relid = history_table(tool, relid);
	a.tool = tool;
	a.project = project;
	a.table = quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
										 get_rel_name(relid));
	a.table_name = get_rel_name(relid);

	registered = migrate_catalog_project(project);
	a.ncand = list_length(registered);
	a.cand = palloc0(sizeof(Candidate) * Max(a.ncand, 1));
	foreach(lc, registered)
		a.cand[foreach_current_index(lc)].m = lfirst(lc);

	switch (tool)
	{
		case ADOPT_FLYWAY:
			read_flyway(&a);
			break;
		case ADOPT_GOLANG_MIGRATE:
			read_golang_migrate(&a);
			break;
		case ADOPT_DBMATE:
			read_dbmate(&a);
			break;
		case ADOPT_SQITCH:
			read_sqitch(&a);
			break;
		case ADOPT_NODE_PG_MIGRATE:
			read_node_pg_migrate(&a);
			break;
	}
	match_rows(&a);

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
		ev.checksum = c->m->checksum;
		ev.note = psprintf("%s %s", a.table_name, c->row->label);
		migrate_catalog_record(&ev, "applied", c->applied_checksum, 0);

		values[0] = CStringGetTextDatum(c->m->project);
		if (c->m->version)
			values[1] = migrate_version_datum(c->m->version,
											  strlen(c->m->version));
		else
			nulls[1] = true;
		values[2] = CStringGetTextDatum(c->m->name);
		values[3] = TimestampTzGetDatum(ev.started_at);
		values[4] = CStringGetTextDatum(ev.role);
		tuplestore_putvalues(tupstore, tupdesc, values, nulls);
		count++;
	}
	return count;
}

/*
 * The history table: relid if given, else the tool's default name looked
 * up in the search_path (42P01 if there is none).
 */
static Oid
history_table(AdoptTool tool, Oid relid)
{
	if (!OidIsValid(relid))
	{
		List	   *names = stringToQualifiedNameList(tools[tool].table);

		relid = RangeVarGetRelid(makeRangeVarFromNameList(names), NoLock,
								 true);
		if (!OidIsValid(relid))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_TABLE),
					 errmsg("history table \"%s\" of %s does not exist",
							tools[tool].table, tools[tool].title),
					 errhint("Name the table with the argument history, for example history => 'myschema.%s'.",
							 tools[tool].table)));
	}
	return relid;
}

/*
 * read_history
 *		SELECT columns FROM the history table [WHERE where] [ORDER BY
 *		order], as the caller (with the caller's privileges).  The rows stay
 *		in SPI's memory until the change ends.
 */
static SPITupleTable *
read_history(Adoption *a, const char *columns, const char *where,
			 const char *order)
{
	char	   *sql = psprintf("SELECT %s FROM %s%s%s%s%s", columns, a->table,
							   where ? " WHERE " : "", where ? where : "",
							   order ? " ORDER BY " : "", order ? order : "");
	int			rc = SPI_execute(sql, true, 0);

	if (rc != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed for \"%s\": %s", sql,
			 SPI_result_code_string(rc));
	return SPI_tuptable;
}

/* Column col (from 1) of row as text, NULL if NULL; palloc'd. */
static char *
column_text(SPITupleTable *tt, uint64 row, int col)
{
	return SPI_getvalue(tt->vals[row], tt->tupdesc, col);
}

/* A timestamptz column, if not NULL. */
static bool
column_timestamptz(SPITupleTable *tt, uint64 row, int col, TimestampTz *at)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tt->vals[row], tt->tupdesc, col, &isnull);

	if (!isnull)
		*at = DatumGetTimestampTz(d);
	return !isnull;
}

static PeerRow *
new_row(Adoption *a, const char *version, const char *label)
{
	PeerRow    *row = palloc0(sizeof(PeerRow));

	row->version = version ? pstrdup(version) : NULL;
	row->applied = true;
	row->label = pstrdup(label);
	a->rows = lappend(a->rows, row);
	return row;
}

/* The row of rows for version (naturally equal), or NULL. */
static PeerRow *
find_version_row(List *rows, const char *version)
{
	ListCell   *lc;

	foreach(lc, rows)
	{
		PeerRow    *row = lfirst(lc);

		if (row->version && !row->up_to && versions_equal(row->version, version))
			return row;
	}
	return NULL;
}

/*
 * Flyway: the effective state per version and per repeatable description,
 * and the highest baseline.
 */
static void
read_flyway(Adoption *a)
{
	SPITupleTable *tt = read_history(a,
									 "installed_rank, version, description, type,"
									 " checksum, installed_by,"
									 " installed_on::pg_catalog.timestamptz, success",
									 NULL, "installed_rank");
	PeerRow    *baseline = NULL;
	uint64		i;

	for (i = 0; i < SPI_processed; i++)
	{
		char	   *rank = column_text(tt, i, 1);
		char	   *version = column_text(tt, i, 2);
		char	   *description = column_text(tt, i, 3);
		char	   *type = column_text(tt, i, 4);
		char	   *checksum = column_text(tt, i, 5);
		bool		success = strcmp(column_text(tt, i, 8), "t") == 0;
		char	   *label = psprintf("installed_rank %s", rank);
		bool		undo = (strncmp(type, "UNDO_", 5) == 0 ||
							strcmp(type, "DELETE") == 0);
		PeerRow    *row;

		if (!success)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("Flyway history row %s of table \"%s\" records a failed migration",
							label, a->table_name),
					 errdetail("Version %s (\"%s\") did not complete: the schema may hold part of it.",
							   version ? version : "(repeatable)", description),
					 errhint("Finish or undo that migration by hand and repair the history with Flyway, then adopt.")));
		if (strcmp(type, "SCHEMA") == 0)
			continue;

		if (version == NULL)
		{
			/* repeatable: the latest row per description */
			ListCell   *lc;

			foreach(lc, a->rows)
			{
				PeerRow    *old = lfirst(lc);

				if (old->version == NULL && strcmp(old->name, description) == 0)
					old->applied = false;
			}
			if (undo)
				continue;
			row = new_row(a, NULL, label);
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
				baseline = new_row(a, version, label);
				baseline->up_to = true;
				baseline->user = column_text(tt, i, 6);
				baseline->has_at = column_timestamptz(tt, i, 7, &baseline->at);
			}
			if (strcmp(type, "BASELINE") == 0)
				continue;
			/* a baseline migration (B script) ran: also its own row */
			row = new_row(a, version, label);
		}
		else
		{
			PeerRow    *old = find_version_row(a->rows, version);

			if (old)
				old->applied = false;
			if (undo)
				continue;
			row = new_row(a, version, label);
		}
		row->user = column_text(tt, i, 6);
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
									 NULL, NULL);
	PeerRow    *row;
	char	   *version;

	if (SPI_processed == 0)
		return;
	version = column_text(tt, 0, 1);
	if (SPI_processed > 1)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("golang-migrate history table \"%s\" has %llu rows",
						a->table_name, (unsigned long long) SPI_processed),
				 errdetail("golang-migrate keeps one row, its current version.")));
	if (strcmp(column_text(tt, 0, 2), "t") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("golang-migrate history table \"%s\" is dirty at version %s",
						a->table_name, version),
				 errdetail("A migration started and did not finish: the schema may hold part of it."),
				 errhint("Finish or undo that migration by hand and mark the version clean with golang-migrate's force command, then adopt.")));
	if (strcmp(version, "-1") == 0)
		return;					/* golang-migrate's "nothing applied" */

	/* the current version must itself be registered */
	row = new_row(a, version, psprintf("version %s", version));
	/* and it stands for every version at or below it */
	new_row(a, version, row->label)->up_to = true;
}

/* dbmate: one row per applied version. */
static void
read_dbmate(Adoption *a)
{
	SPITupleTable *tt = read_history(a, "version::pg_catalog.text", NULL, "1");
	uint64		i;

	for (i = 0; i < SPI_processed; i++)
	{
		char	   *version = column_text(tt, i, 1);

		new_row(a, version, psprintf("version %s", version));
	}
}

/*
 * Sqitch: the deployed changes of one Sqitch project, oldest first: the
 * project named like ours if the registry holds several.
 */
static void
read_sqitch(Adoption *a)
{
	SPITupleTable *tt = read_history(a, "DISTINCT project", NULL, "1");
	char	   *sqitch_project = NULL;
	uint64		i;

	if (SPI_processed == 0)
		return;
	if (SPI_processed == 1)
		sqitch_project = column_text(tt, 0, 1);
	for (i = 0; i < SPI_processed && sqitch_project == NULL; i++)
		if (strcmp(column_text(tt, i, 1), a->project) == 0)
			sqitch_project = column_text(tt, i, 1);
	if (sqitch_project == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("Sqitch registry table \"%s\" holds several projects, none of them named \"%s\"",
						a->table_name, a->project),
				 errhint("Adopt into the migrate project named like the Sqitch project.")));

	tt = read_history(a, "change, committed_at, committer_name",
					  psprintf("project OPERATOR(pg_catalog.=) %s",
							   quote_literal_cstr(sqitch_project)),
					  "committed_at, change_id");
	for (i = 0; i < SPI_processed; i++)
	{
		PeerRow    *row = new_row(a, NULL,
								  psprintf("change \"%s\"",
										   column_text(tt, i, 1)));

		row->name = column_text(tt, i, 1);
		row->has_at = column_timestamptz(tt, i, 2, &row->at);
		row->user = column_text(tt, i, 3);
	}
}

/* node-pg-migrate: one row per applied file, <version>_<name>. */
static void
read_node_pg_migrate(Adoption *a)
{
	SPITupleTable *tt = read_history(a,
									 "name, run_on::pg_catalog.timestamptz",
									 NULL, "run_on, id");
	uint64		i;

	for (i = 0; i < SPI_processed; i++)
	{
		char	   *name = column_text(tt, i, 1);
		char	   *version;
		int			len = 0;
		PeerRow    *row;

		while (isdigit((unsigned char) name[len]))
			len++;
		if (len == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("node-pg-migrate history row \"%s\" of table \"%s\" has no version",
							name, a->table_name),
					 errdetail("A migration's name starts with its version, a number.")));
		version = pnstrdup(name, len);
		row = new_row(a, version, psprintf("name %s", name));
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

static bool
versions_equal(const char *a, const char *b)
{
	return migrate_version_compare(a, strlen(a), b, strlen(b)) == 0;
}

/* Throws: row lists a migration that is not registered. */
static void
not_registered(const Adoption *a, const PeerRow *row)
{
	if (row->version)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("%s history row %s of table \"%s\" lists version %s, which is not registered in project \"%s\"",
						tools[a->tool].title, row->label, a->table_name,
						row->version, a->project),
				 errhint("Register every migration of the folder first, for example with migrate-bundle, then adopt.")));
	else if (a->tool == ADOPT_SQITCH)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("Sqitch history row %s of table \"%s\" lists a change that is not registered in project \"%s\"",
						row->label, a->table_name, a->project),
				 errhint("Register every migration of the folder first, for example with migrate-bundle, then adopt.")));
	else
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("%s history row %s of table \"%s\" lists repeatable migration \"%s\", which is not registered in project \"%s\"",
						tools[a->tool].title, row->label, a->table_name,
						row->name, a->project),
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
		registered = pg_strtoint32(pnstrdup(up + strlen(ADOPT_FLYWAY_MARK),
											strcspn(up + strlen(ADOPT_FLYWAY_MARK),
													" \r\n")));
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
			 errmsg("Flyway history row %s of table \"%s\" does not match migration %s",
					c->row->label, a->table_name,
					migrate_migration_describe(c->m)),
			 errdetail("Flyway applied a file with checksum %d; the registered up script has checksum %d.",
					   (int) c->row->checksum, (int) registered),
			 errhint("Register the file Flyway applied, unchanged; migrate-bundle keeps Flyway's checksum of a file whose placeholders it substitutes.")));
}

/*
 * Flyway's checksum of a text: CRC-32 of its lines without their
 * terminators, a byte order mark at the start left out.
 */
static int32
flyway_checksum(const char *text)
{
	pg_crc32	crc;
	const char *p = text;

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
