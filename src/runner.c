/*-------------------------------------------------------------------------
 *
 * runner.c
 *	  Executing one migration script.
 *
 * A script runs statement by statement through SPI, in the caller's
 * transaction, like an extension script in extension.c: each statement is
 * parsed, planned and executed after the previous one, so it sees what the
 * previous ones did.  While it runs:
 *
 * - the current user is the migration's registrant, in a
 *	 security-restricted operation (SECURITY_RESTRICTED_OPERATION, as for
 *	 REFRESH MATERIALIZED VIEW), so SET ROLE and SET SESSION AUTHORIZATION
 *	 fail, and nothing the script leaves behind can run later with the
 *	 caller's rights: the server refuses temporary tables and types (which
 *	 would shadow the caller's names for the rest of its session) and
 *	 deferred trigger events (which would fire at the caller's commit, as
 *	 the caller);
 * - a new GUC nest level isolates settings: whatever the script SETs
 *	 (search_path included, LOCAL or not) is rolled back when it ends, so
 *	 the next migration and the caller start from the caller's settings;
 * - an error context names the migration, the statement number and its
 *	 line, and pg_stat_activity.query shows the statement being run;
 * - the migrate functions that change the catalog refuse to run (no
 *	 re-entry).
 *
 * An error propagates with its message and SQLSTATE unchanged (the error
 * context names the migration); unwinding it is the job of the
 * (sub)transaction abort the caller arranges, which also restores the user
 * id, the GUC nest level and the security context.  Where an error leaves
 * migrate_runner_run for the caller, its message is prefixed with the
 * migration's name; history rows keep the original message.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "commands/async.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "tcop/dest.h"
#include "tcop/tcopprot.h"
#include "utils/backend_status.h"
#include "utils/acl.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "catalog.h"
#include "runner.h"

/* True while a migration script runs in this backend. */
static bool in_migration = false;

typedef struct RunnerErrorArg
{
	const ScriptLabel *label;
	int			stmtno;
	int			line;
} RunnerErrorArg;

static void runner_error_callback(void *arg);
static void runner_xact_callback(XactEvent event, void *arg);
static void execute_statement(const char *sql);

/*
 * migrate_runner_init
 *		Called once from _PG_init.
 */
void
migrate_runner_init(void)
{
	RegisterXactCallback(runner_xact_callback, NULL);
}

/* A safety net: nothing can leave the flag set past its transaction. */
static void
runner_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_COMMIT ||
		event == XACT_EVENT_PARALLEL_ABORT ||
		event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PREPARE)
		in_migration = false;
}

/*
 * migrate_runner_in_migration
 *		Whether a migration script is running in this backend now.
 */
bool
migrate_runner_in_migration(void)
{
	return in_migration;
}

/*
 * migrate_runner_prevent_reentry
 *		Refuses to let a migration call a migrate function that changes the
 *		catalog (function names it in the message).
 */
void
migrate_runner_prevent_reentry(const char *function)
{
	if (in_migration)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s cannot be called from inside a migration",
						function),
				 errdetail("A migration may not register, run or revert migrations.")));
}

/*
 * migrate_runner_execute
 *		Runs script (one that passed migrate_script_check) as role run_as.
 *
 * The caller is connected to SPI.  On error, throws; the caller's
 * (sub)transaction abort cleans up.  Memory is allocated in the current
 * context: the caller resets it between migrations.
 */
void
migrate_runner_execute(const char *script, const ScriptLabel *label,
					   Oid run_as)
{
	Oid			save_userid;
	int			save_sec_context;
	List	   *stmts;
	ListCell   *lc;
	RunnerErrorArg errarg;
	ErrorContextCallback errcallback;
	int			nstmts;
	int			nestlevel;

	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	errarg.label = label;
	errarg.stmtno = 0;
	errarg.line = 0;

	PG_TRY();
	{
		in_migration = true;
		stmts = migrate_script_statements(script);
		nstmts = list_length(stmts);

		SetUserIdAndSecContext(run_as,
							   save_sec_context |
							   SECURITY_LOCAL_USERID_CHANGE |
							   SECURITY_RESTRICTED_OPERATION);
		nestlevel = NewGUCNestLevel();

		errcallback.callback = runner_error_callback;
		errcallback.arg = &errarg;
		errcallback.previous = error_context_stack;
		error_context_stack = &errcallback;

		foreach(lc, stmts)
		{
			ScriptStatement *st = (ScriptStatement *) lfirst(lc);
			char	   *sql = pnstrdup(script + st->offset, st->length);
			char	   *activity;

			errarg.stmtno = foreach_current_index(lc) + 1;
			errarg.line = st->line;
			/* pg_stat_activity keeps track_activity_query_size bytes */
			activity = psprintf("/* migrate: %s of %s, statement %d of %d */ %.*s",
								label->part, migrate_script_describe(label),
								errarg.stmtno, nstmts,
								pg_mbcliplen(sql, st->length,
											 pgstat_track_activity_query_size),
								sql);
			pgstat_report_activity(STATE_RUNNING, activity);
			execute_statement(sql);
			pfree(activity);
			pfree(sql);
		}

		error_context_stack = errcallback.previous;
		AtEOXact_GUC(false, nestlevel);
		SetUserIdAndSecContext(save_userid, save_sec_context);
		in_migration = false;
	}
	PG_CATCH();
	{
		in_migration = false;
		pgstat_report_activity(STATE_RUNNING, debug_query_string);
		PG_RE_THROW();
	}
	PG_END_TRY();

	pgstat_report_activity(STATE_RUNNING, debug_query_string);
}

/* Executes one statement, discarding any rows it returns. */
static void
execute_statement(const char *sql)
{
	MemoryContext oldcontext = CurrentMemoryContext;
	SPIExecuteOptions options;
	int			rc;

	memset(&options, 0, sizeof(options));
	options.read_only = false;
	options.dest = None_Receiver;

	rc = SPI_execute_extended(sql, &options);
	/* SPI returns in its own procedure context: go back to the caller's */
	MemoryContextSwitchTo(oldcontext);
	if (rc == SPI_ERROR_TRANSACTION)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TRANSACTION_TERMINATION),
				 errmsg("transaction control statements are not allowed in migration scripts")));
	if (rc == SPI_ERROR_COPY)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("COPY to or from the client is not supported in migration scripts")));
	if (rc < 0)
		elog(ERROR, "SPI_execute_extended failed: %s",
			 SPI_result_code_string(rc));
}

static void
runner_error_callback(void *arg)
{
	RunnerErrorArg *ea = (RunnerErrorArg *) arg;

	errcontext("statement %d of %s script of migration %s, line %d",
			   ea->stmtno, ea->label->part,
			   migrate_script_describe(ea->label), ea->line);
}

/*
 * Running a plan: one migration after another.
 */

/* State of one call of migrate_runner_run; palloc'd, so PG_TRY-safe. */
typedef struct RunState
{
	Migration **plan;
	int			n;
	bool		revert;
	int64		run_id;
	char	   *role;			/* the caller, for the history */
	MemoryContext outer;		/* where results go */
	MemoryContext per_migration;	/* reset before each migration */
	int			current;		/* index of the migration being run */
	TimestampTz started_at;
	instr_time	start;
	List	   *results;		/* of RunResult * */
} RunState;

static void run_one(RunState *rs);
static void run_one_in_subxact(RunState *rs, bool *failed);
static void record(RunState *rs, bool ok, ErrorData *edata,
				   double duration_ms);
static bool error_is_migrations_fault(const ErrorData *edata);
static const char *action_of(RunState *rs, const Migration *m);
static void notify(const MigrationEvent *ev);
static char *failure_message(RunState *rs, ErrorData *edata);

/*
 * migrate_runner_check_roles
 *		Refuses the whole plan, before anything runs, if the current user
 *		cannot act as the registrant of one of its migrations.
 */
void
migrate_runner_check_roles(List *plan)
{
	ListCell   *lc;

	foreach(lc, plan)
	{
		Migration  *m = (Migration *) lfirst(lc);
		ScriptLabel label = {m->project, m->version, m->name, NULL};
		Oid			role = get_role_oid(m->registered_by, true);

		if (!OidIsValid(role))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("role \"%s\" that registered migration %s does not exist",
							m->registered_by, migrate_script_describe(&label)),
					 errhint("Register the migration again as an existing role.")));
		if (!is_member_of_role(GetUserId(), role))
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("permission denied to run migration %s as role \"%s\"",
							migrate_script_describe(&label), m->registered_by),
					 errdetail("A migration runs as the role that registered it, and role \"%s\" is not a member of role \"%s\".",
							   GetUserNameFromId(GetUserId(), false),
							   m->registered_by),
					 errhint("Run migrations as a member of the role that registered them.")));
	}
}

/*
 * migrate_runner_run
 *		Applies (or, with revert, reverts) the migrations of plan in order,
 *		recording each in the history.  Returns a RunResult per migration
 *		attempted, in the current memory context.
 *
 * atomic: the first failure throws, and the caller's transaction is lost.
 * !atomic: each migration runs in a subtransaction; a failing one is
 * rolled back and recorded as failed, later ones are not attempted.
 * dry_run: everything runs in one subtransaction that is rolled back at
 * the end; a failure ends the run as a failed result, without throwing.
 *
 * The caller holds the migration lock; this bumps the catalog generation
 * (migrate_catalog_touch) before running anything, inside the dry run's
 * subtransaction for a dry run.
 *
 * Errors that are not the migration's own fault (cancel, shutdown, lack
 * of memory or lock space, serialization failures and deadlocks) always
 * propagate: a client never commits half a run believing it succeeded.
 */
List *
migrate_runner_run(List *plan, bool revert, bool atomic, bool dry_run,
				   int64 run_id)
{
	RunState   *rs = palloc0(sizeof(RunState));
	ListCell   *lc;

	rs->n = list_length(plan);
	rs->plan = palloc(sizeof(Migration *) * Max(rs->n, 1));
	foreach(lc, plan)
		rs->plan[foreach_current_index(lc)] = (Migration *) lfirst(lc);
	rs->revert = revert;
	rs->run_id = run_id;
	rs->role = GetUserNameFromId(GetUserId(), false);
	rs->outer = CurrentMemoryContext;
	rs->per_migration = AllocSetContextCreate(CurrentMemoryContext,
											  "migrate migration",
											  ALLOCSET_DEFAULT_SIZES);

	if (dry_run)
	{
		ResourceOwner oldowner = CurrentResourceOwner;

		BeginInternalSubTransaction(NULL);
		MemoryContextSwitchTo(rs->outer);
		PG_TRY();
		{
			/* inside: a dry run must not leave even the generation bump */
			rs->current = -1;
			migrate_catalog_touch();
			for (rs->current = 0; rs->current < rs->n; rs->current++)
				run_one(rs);
			RollbackAndReleaseCurrentSubTransaction();
			MemoryContextSwitchTo(rs->outer);
			CurrentResourceOwner = oldowner;
		}
		PG_CATCH();
		{
			ErrorData  *edata;
			RunResult  *res;
			instr_time	elapsed;

			MemoryContextSwitchTo(rs->outer);
			edata = CopyErrorData();
			FlushErrorState();
			RollbackAndReleaseCurrentSubTransaction();
			MemoryContextSwitchTo(rs->outer);
			CurrentResourceOwner = oldowner;
			if (rs->current < 0 || !error_is_migrations_fault(edata))
			{
				edata->message = failure_message(rs, edata);
				ReThrowError(edata);
			}

			res = palloc0(sizeof(RunResult));
			res->migration = rs->plan[rs->current];
			res->action = action_of(rs, res->migration);
			res->ok = false;
			res->message = edata->message;
			INSTR_TIME_SET_CURRENT(elapsed);
			INSTR_TIME_SUBTRACT(elapsed, rs->start);
			res->duration_ms = INSTR_TIME_GET_MILLISEC(elapsed);
			rs->results = lappend(rs->results, res);
		}
		PG_END_TRY();
	}
	else if (atomic)
	{
		migrate_catalog_touch();
		PG_TRY();
		{
			for (rs->current = 0; rs->current < rs->n; rs->current++)
				run_one(rs);
		}
		PG_CATCH();
		{
			ErrorData  *edata;

			/* No database work here: only rename the error and go on. */
			MemoryContextSwitchTo(rs->outer);
			edata = CopyErrorData();
			FlushErrorState();
			edata->message = failure_message(rs, edata);
			ReThrowError(edata);
		}
		PG_END_TRY();
	}
	else
	{
		migrate_catalog_touch();
		for (rs->current = 0; rs->current < rs->n; rs->current++)
		{
			bool		failed = false;

			run_one_in_subxact(rs, &failed);
			if (failed)
				break;
		}
	}

	MemoryContextDelete(rs->per_migration);
	return rs->results;
}

/*
 * run_one
 *		Runs migration rs->current and records it; throws on failure.
 */
static void
run_one(RunState *rs)
{
	Migration  *m = rs->plan[rs->current];
	ScriptLabel label = {m->project, m->version, m->name,
	rs->revert ? "down" : m->repeatable ? "repeatable" : "up"};
	MemoryContext oldcontext;
	RunResult  *res;
	instr_time	elapsed;
	MigrateSequences before;
	MigrateSequences after;

	if (m->repeatable)
		ereport(NOTICE,
				(errmsg("applying %d/%d: %s repeatable %s",
						rs->current + 1, rs->n, m->project, m->name)));
	else
		ereport(NOTICE,
				(errmsg("%s %d/%d: %s %s %s",
						rs->revert ? "reverting" : "applying",
						rs->current + 1, rs->n, m->project, m->version,
						m->name)));

	MemoryContextReset(rs->per_migration);
	oldcontext = MemoryContextSwitchTo(rs->per_migration);

	rs->started_at = GetCurrentTimestamp();
	INSTR_TIME_SET_CURRENT(rs->start);
	before = migrate_catalog_sequences();
	migrate_runner_execute(migrate_catalog_script(m, rs->revert), &label,
						   get_role_oid(m->registered_by, false));
	after = migrate_catalog_sequences();
	if (memcmp(&before, &after, sizeof(before)) != 0)
	{
		migrate_catalog_restore_sequences(&before);
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("a migration cannot change the migrate catalog"),
				 errdetail("The migration moved a sequence of schema migrate.")));
	}
	INSTR_TIME_SET_CURRENT(elapsed);
	INSTR_TIME_SUBTRACT(elapsed, rs->start);
	record(rs, true, NULL, INSTR_TIME_GET_MILLISEC(elapsed));

	MemoryContextSwitchTo(rs->outer);
	res = palloc0(sizeof(RunResult));
	res->migration = m;
	res->action = action_of(rs, m);
	res->ok = true;
	res->duration_ms = INSTR_TIME_GET_MILLISEC(elapsed);
	rs->results = lappend(rs->results, res);
	MemoryContextSwitchTo(oldcontext);
}

/*
 * run_one_in_subxact
 *		run_one in a subtransaction (atomic => false).  On a failure that is
 *		the migration's own, rolls it back, records it as failed, warns and
 *		sets *failed; any other error propagates.
 */
static void
run_one_in_subxact(RunState *rs, bool *failed)
{
	MemoryContext oldcontext = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcontext);
	PG_TRY();
	{
		run_one(rs);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcontext);
		CurrentResourceOwner = oldowner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;
		RunResult  *res;
		instr_time	elapsed;
		char	   *message;

		MemoryContextSwitchTo(oldcontext);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcontext);
		CurrentResourceOwner = oldowner;
		if (!error_is_migrations_fault(edata))
		{
			edata->message = failure_message(rs, edata);
			ReThrowError(edata);
		}

		INSTR_TIME_SET_CURRENT(elapsed);
		INSTR_TIME_SUBTRACT(elapsed, rs->start);
		res = palloc0(sizeof(RunResult));
		res->migration = rs->plan[rs->current];
		res->action = action_of(rs, res->migration);
		res->ok = false;
		res->duration_ms = INSTR_TIME_GET_MILLISEC(elapsed);
		res->message = edata->message;
		rs->results = lappend(rs->results, res);

		record(rs, false, edata, res->duration_ms);
		message = failure_message(rs, edata);
		ereport(WARNING,
				(errcode(edata->sqlerrcode),
				 errmsg_internal("%s", message),
				 edata->detail ? errdetail_internal("%s", edata->detail) : 0,
				 edata->hint ? errhint("%s", edata->hint) :
				 errhint("The failure is recorded in migrate.history; later migrations were not attempted.")));
		*failed = true;
	}
	PG_END_TRY();
}

/* Appends the history row of migration rs->current and sets its state. */
static void
record(RunState *rs, bool ok, ErrorData *edata, double duration_ms)
{
	Migration  *m = rs->plan[rs->current];
	MigrationEvent ev;
	const char *state;
	const char *applied_checksum;

	ev.run_id = rs->run_id;
	ev.migration = m;
	ev.action = action_of(rs, m);
	ev.ok = ok;
	ev.started_at = rs->started_at;
	ev.duration_ms = duration_ms;
	ev.role = rs->role;
	ev.ran_as = m->registered_by;
	ev.checksum = m->checksum;
	ev.error = edata;

	if (!ok)
	{
		state = "failed";
		applied_checksum = m->applied_checksum;
	}
	else if (rs->revert)
	{
		state = "pending";
		applied_checksum = NULL;
	}
	else
	{
		state = "applied";
		applied_checksum = m->checksum;
	}
	migrate_catalog_record(&ev, state, applied_checksum);
	notify(&ev);
}

/* What a run does to a migration: "up", "down" or "repeat". */
static const char *
action_of(RunState *rs, const Migration *m)
{
	if (rs->revert)
		return "down";
	return m->repeatable ? "repeat" : "up";
}

/*
 * notify
 *		NOTIFY migrate, '<json>' for an applied, reverted or failed
 *		migration.  Listeners get it when the caller commits; a dry run or
 *		a rolled back subtransaction discards it with everything else.
 *		The payload identifies the event; migrate.history has the rest.
 */
static void
notify(const MigrationEvent *ev)
{
	const Migration *m = ev->migration;
	StringInfoData payload;
	char	   *name = m->name;

	/* NOTIFY payloads are short: keep the name under 1000 bytes. */
	if (strlen(name) > 1000)
		name = pnstrdup(name, pg_mbcliplen(name, strlen(name), 1000));

	initStringInfo(&payload);
	appendStringInfo(&payload, "{\"run_id\": " INT64_FORMAT ", \"project\": ",
					 ev->run_id);
	escape_json(&payload, m->project);
	appendStringInfoString(&payload, ", \"version\": ");
	if (m->version)
		escape_json(&payload, m->version);
	else
		appendStringInfoString(&payload, "null");
	appendStringInfoString(&payload, ", \"name\": ");
	escape_json(&payload, name);
	appendStringInfo(&payload, ", \"action\": \"%s\", \"status\": \"%s\"",
					 ev->action, ev->ok ? "ok" : "failed");
	if (ev->error)
		appendStringInfo(&payload, ", \"sqlstate\": \"%s\"",
						 unpack_sql_state(ev->error->sqlerrcode));
	appendStringInfoChar(&payload, '}');
	Async_Notify("migrate", payload.data);
}

/*
 * migrate_runner_baseline
 *		Marks the migrations of plan applied without running them, with a
 *		"baseline" history row each.  Returns how many.
 */
int
migrate_runner_baseline(List *plan, int64 run_id)
{
	char	   *role = GetUserNameFromId(GetUserId(), false);
	TimestampTz now = GetCurrentTimestamp();
	ListCell   *lc;

	foreach(lc, plan)
	{
		Migration  *m = (Migration *) lfirst(lc);
		MigrationEvent ev;

		memset(&ev, 0, sizeof(ev));
		ev.run_id = run_id;
		ev.migration = m;
		ev.action = "baseline";
		ev.ok = true;
		ev.started_at = now;
		ev.duration_ms = 0;
		ev.role = role;
		ev.ran_as = NULL;
		ev.checksum = m->checksum;
		migrate_catalog_record(&ev, "applied", m->checksum);
	}
	return list_length(plan);
}

/*
 * failure_message
 *		The message of a migration's error as the caller sees it: the
 *		migration named first.  Also adds a hint where the server's own
 *		message would mislead.
 */
static char *
failure_message(RunState *rs, ErrorData *edata)
{
	Migration  *m;
	ScriptLabel label;

	if (rs->current < 0)
		return edata->message;	/* no migration had started */
	m = rs->plan[rs->current];
	label.project = m->project;
	label.version = m->version;
	label.name = m->name;
	label.part = NULL;

	if (edata->sqlerrcode == ERRCODE_INSUFFICIENT_PRIVILEGE &&
		edata->hint == NULL)
	{
		if (strstr(edata->message, "\"role\"") ||
			strstr(edata->message, "\"session_authorization\""))
			edata->hint = pstrdup("A migration runs as the role that registered it and cannot change its role.");
		else if (strstr(edata->message, "deferred trigger"))
			edata->hint = pstrdup("A migration cannot leave deferred trigger events for the caller's commit: make such constraints IMMEDIATE inside the migration (SET CONSTRAINTS ... IMMEDIATE).");
		else if (strstr(edata->message, "temporary"))
			edata->hint = pstrdup("A migration cannot create temporary tables or types; use an ordinary table and drop it before the migration ends.");
	}

	return psprintf("%s %s failed: %s",
					rs->revert ? "reverting migration" : "migration",
					migrate_script_describe(&label), edata->message);
}

/*
 * Whether an error is the migration's own failure, which atomic => false
 * and dry runs turn into a failed result, or something that must abort the
 * caller's transaction whatever the options say.
 */
static bool
error_is_migrations_fault(const ErrorData *edata)
{
	int			category = ERRCODE_TO_CATEGORY(edata->sqlerrcode);

	return !(category == ERRCODE_TRANSACTION_ROLLBACK ||
			 category == ERRCODE_INSUFFICIENT_RESOURCES ||
			 category == ERRCODE_OPERATOR_INTERVENTION ||
			 category == ERRCODE_SYSTEM_ERROR ||
			 category == ERRCODE_INTERNAL_ERROR);
}
