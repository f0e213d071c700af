/*-------------------------------------------------------------------------
 *
 * runner.c
 *	  Running a plan: each migration's script, statement by statement, with
 *	  its bookkeeping.
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
 * - the guards (guard.c), told that a migration runs, refuse changes to
 *	 migrate's own objects, and the change protocol (change.c) refuses
 *	 calls that change the catalog.
 *
 * After each script the migration's history row and state are recorded
 * (catalog.c) and NOTIFY migrate is queued.  How failures end depends on
 * the call: atomic (the first error propagates, with the migration named
 * in its message), atomic => false (each migration in a subtransaction; a
 * failure is rolled back, recorded and reported as a row), or a dry run
 * (everything in one subtransaction that is always rolled back).  Errors
 * that are not the migration's own fault always propagate.  One helper,
 * in_subtransaction, is the subtransaction protocol for both.
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
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/timestamp.h"

#include "catalog.h"
#include "guard.h"
#include "runner.h"

typedef struct RunnerErrorArg
{
	const ScriptLabel *label;
	int			stmtno;
	int			line;
} RunnerErrorArg;

static void runner_error_callback(void *arg);
static void execute_script(const char *script, const ScriptLabel *label,
						   Oid run_as);
static void execute_statement(const char *sql);

/*
 * execute_script
 *		Runs script (one that passed migrate_script_check) as role run_as.
 *
 * The caller is connected to SPI.  On error, throws; the caller's
 * (sub)transaction abort cleans up.  Memory is allocated in the current
 * context: the caller resets it between migrations.
 */
static void
execute_script(const char *script, const ScriptLabel *label, Oid run_as)
{
	Oid			save_userid;
	int			save_sec_context;
	List	   *stmts;
	ListCell   *lc;
	RunnerErrorArg errarg;
	ErrorContextCallback errcallback;
	int			nstmts;
	int			nestlevel;
	char	   *name = migrate_migration_name(label->project, label->version,
											  label->name);

	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	errarg.label = label;
	errarg.stmtno = 0;
	errarg.line = 0;

	PG_TRY();
	{
		migrate_guard_enter_migration();
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
								migrate_script_part_name(label->part), name,
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
		migrate_guard_leave_migration();
	}
	PG_CATCH();
	{
		migrate_guard_leave_migration();
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
	char	   *name = migrate_migration_name(ea->label->project,
											  ea->label->version,
											  ea->label->name);

	switch (ea->label->part)
	{
		case SCRIPT_UP:
			errcontext("statement %d of up script of migration %s, line %d",
					   ea->stmtno, name, ea->line);
			break;
		case SCRIPT_DOWN:
			errcontext("statement %d of down script of migration %s, line %d",
					   ea->stmtno, name, ea->line);
			break;
		case SCRIPT_REPEATABLE:
			errcontext("statement %d of repeatable script of migration %s, line %d",
					   ea->stmtno, name, ea->line);
			break;
	}
}

/*
 * Running a plan: one migration after another.
 */

/* State of one call of migrate_runner_run; palloc'd, so PG_TRY-safe. */
typedef struct RunState
{
	Migration **plan;
	Oid		   *run_as;			/* each one's registrant, checked up front */
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

static void run_all(RunState *rs);
static void run_one(RunState *rs);
static ErrorData *in_subtransaction(void (*fn) (RunState *), RunState *rs,
									bool rollback);
static RunResult *add_failure(RunState *rs, ErrorData *edata);
static void record(RunState *rs, bool ok, ErrorData *edata,
				   double duration_ms);
static bool error_is_migrations_fault(const ErrorData *edata);
static const char *action_of(RunState *rs, const Migration *m);
static double elapsed_ms(RunState *rs);
static void notify(const MigrationEvent *ev);
static char *failure_message(RunState *rs, ErrorData *edata);

/*
 * migrate_runner_run
 *		Applies (or, with revert, reverts) the migrations of plan in order,
 *		recording each in the history under a new run id (*run_id).
 *		Returns a RunResult per migration attempted, in the current memory
 *		context; NIL, and no run id, for an empty plan.
 *
 * Refused as a whole, before anything runs, if the current user cannot act
 * as the registrant of one of the migrations.
 *
 * atomic: the first failure throws, and the caller's transaction is lost.
 * !atomic: each migration runs in a subtransaction; a failing one is
 * rolled back and recorded as failed, later ones are not attempted.
 * dry_run: everything runs in one subtransaction that is rolled back at
 * the end; a failure ends the run as a failed result, without throwing.
 *
 * The caller holds the migration lock (change.c).  Errors that are not the
 * migration's own fault (cancel, shutdown, lack of memory or lock space,
 * serialization failures and deadlocks) always propagate: a client never
 * commits half a run believing it succeeded.
 */
List *
migrate_runner_run(List *plan, bool revert, bool atomic, bool dry_run,
				   int64 *run_id)
{
	RunState   *rs;
	ListCell   *lc;

	*run_id = 0;
	if (plan == NIL)
		return NIL;

	rs = palloc0(sizeof(RunState));
	rs->n = list_length(plan);
	rs->plan = palloc(sizeof(Migration *) * rs->n);
	rs->run_as = palloc(sizeof(Oid) * rs->n);
	foreach(lc, plan)
	{
		int			i = foreach_current_index(lc);

		rs->plan[i] = (Migration *) lfirst(lc);
		rs->run_as[i] = migrate_registrant_check(rs->plan[i], REGISTRANT_RUN);
	}
	*run_id = migrate_catalog_next_run_id();
	rs->revert = revert;
	rs->run_id = *run_id;
	rs->role = GetUserNameFromId(GetUserId(), false);
	rs->outer = CurrentMemoryContext;
	rs->per_migration = AllocSetContextCreate(CurrentMemoryContext,
											  "migrate migration",
											  ALLOCSET_DEFAULT_SIZES);
	rs->current = -1;

	if (dry_run)
	{
		ErrorData  *edata = in_subtransaction(run_all, rs, true);

		if (edata)
			(void) add_failure(rs, edata);
	}
	else if (atomic)
	{
		PG_TRY();
		{
			run_all(rs);
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
		for (rs->current = 0; rs->current < rs->n; rs->current++)
		{
			ErrorData  *edata = in_subtransaction(run_one, rs, false);

			if (edata)
			{
				RunResult  *res = add_failure(rs, edata);
				char	   *message;

				record(rs, false, edata, res->duration_ms);
				message = failure_message(rs, edata);
				ereport(WARNING,
						(errcode(edata->sqlerrcode),
						 errmsg_internal("%s", message),
						 edata->detail ? errdetail_internal("%s", edata->detail) : 0,
						 edata->hint ? errhint("%s", edata->hint) :
						 errhint("The failure is recorded in migrate.history; later migrations were not attempted.")));
				break;
			}
		}
	}

	MemoryContextDelete(rs->per_migration);
	return rs->results;
}

/* Runs every migration of the plan, throwing at the first failure. */
static void
run_all(RunState *rs)
{
	for (rs->current = 0; rs->current < rs->n; rs->current++)
		run_one(rs);
}

/*
 * in_subtransaction
 *		Calls fn(rs) in a subtransaction: the protocol of plpy_spi.c and
 *		pltcl.c, written once.
 *
 * On success the subtransaction is committed, or with rollback rolled
 * back, and the result is NULL.  On an error that is the migration's own
 * fault the subtransaction is rolled back and the error returned, copied
 * into the caller's context; any other error propagates after the
 * rollback, with the migration named in its message.  Either way the
 * caller's memory context and resource owner are restored.
 */
static ErrorData *
in_subtransaction(void (*fn) (RunState *), RunState *rs, bool rollback)
{
	MemoryContext oldcontext = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	ErrorData  *volatile edata = NULL;

	BeginInternalSubTransaction(NULL);
	/* BeginInternalSubTransaction switches to the transaction's context */
	MemoryContextSwitchTo(oldcontext);
	PG_TRY();
	{
		fn(rs);
		if (rollback)
			RollbackAndReleaseCurrentSubTransaction();
		else
			ReleaseCurrentSubTransaction();
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(oldcontext);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(oldcontext);
	CurrentResourceOwner = oldowner;

	if (edata && !error_is_migrations_fault(edata))
	{
		edata->message = failure_message(rs, edata);
		ReThrowError(edata);
	}
	return edata;
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
	rs->revert ? SCRIPT_DOWN : m->repeatable ? SCRIPT_REPEATABLE : SCRIPT_UP};
	MemoryContext oldcontext;
	RunResult  *res;
	double		duration_ms;
	MigrateSequences before;

	if (rs->revert)
		ereport(NOTICE,
				(errmsg("reverting %d/%d: %s",
						rs->current + 1, rs->n,
						migrate_migration_describe(m))));
	else
		ereport(NOTICE,
				(errmsg("applying %d/%d: %s",
						rs->current + 1, rs->n,
						migrate_migration_describe(m))));

	MemoryContextReset(rs->per_migration);
	oldcontext = MemoryContextSwitchTo(rs->per_migration);

	rs->started_at = GetCurrentTimestamp();
	INSTR_TIME_SET_CURRENT(rs->start);
	before = migrate_guard_sequences();
	execute_script(migrate_catalog_script(m, rs->revert), &label,
				   rs->run_as[rs->current]);
	migrate_guard_check_sequences(&before);
	duration_ms = elapsed_ms(rs);
	record(rs, true, NULL, duration_ms);

	MemoryContextSwitchTo(rs->outer);
	res = palloc0(sizeof(RunResult));
	res->migration = m;
	res->action = action_of(rs, m);
	res->ok = true;
	res->duration_ms = duration_ms;
	rs->results = lappend(rs->results, res);
	MemoryContextSwitchTo(oldcontext);
}

/* Adds the failed result of migration rs->current, in rs->outer. */
static RunResult *
add_failure(RunState *rs, ErrorData *edata)
{
	MemoryContext oldcontext = MemoryContextSwitchTo(rs->outer);
	RunResult  *res = palloc0(sizeof(RunResult));

	res->migration = rs->plan[rs->current];
	res->action = action_of(rs, res->migration);
	res->ok = false;
	res->duration_ms = elapsed_ms(rs);
	res->message = edata->message;
	rs->results = lappend(rs->results, res);
	MemoryContextSwitchTo(oldcontext);
	return res;
}

/* Milliseconds since migration rs->current started. */
static double
elapsed_ms(RunState *rs)
{
	instr_time	elapsed;

	INSTR_TIME_SET_CURRENT(elapsed);
	INSTR_TIME_SUBTRACT(elapsed, rs->start);
	return INSTR_TIME_GET_MILLISEC(elapsed);
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
 *		migration named first.  Also adds a hint, chosen by SQLSTATE, where
 *		the server's own message would mislead.
 *
 * Every 42501 inside a migration comes from the registrant's rights or
 * from the security-restricted operation the script runs in (a role
 * change, a temporary table or type, a deferred trigger event); the
 * server's message names neither.
 */
static char *
failure_message(RunState *rs, ErrorData *edata)
{
	Migration  *m;

	if (rs->current < 0)
		return edata->message;	/* no migration had started */
	m = rs->plan[rs->current];

	if (edata->sqlerrcode == ERRCODE_INSUFFICIENT_PRIVILEGE &&
		edata->hint == NULL)
		edata->hint = pstrdup(_("A migration runs as the role that registered it, in a security-restricted operation: it cannot change its role, create temporary tables or types, or leave deferred trigger events for the commit."));

	if (rs->revert)
		return psprintf(_("reverting migration %s failed: %s"),
						migrate_migration_describe(m), edata->message);
	return psprintf(_("migration %s failed: %s"),
					migrate_migration_describe(m), edata->message);
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
