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
 * A deploy (deploy.c) drives a run one migration at a time and commits
 * between them: migrate_runner_started records a migration's start,
 * migrate_runner_apply runs a transactional one in a subtransaction (a
 * lock failure there may become a "retry" event instead of a failure),
 * and a non-transactional one goes statement by statement
 * (migrate_runner_statements_begin, migrate_runner_statement,
 * migrate_runner_statements_end), each statement at top level
 * (toplevel.c), as the registrant in a security-restricted operation as
 * above.  A GUC nest level cannot outlive the commits such a statement
 * makes, so there every setting is saved when the migration starts and
 * put back when it ends, however it ends; a concurrent index operation
 * runs with lock_timeout off.  The sequence fingerprint (guard.c) spans
 * each statement, and a deploy's session locks are checked after it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_authid_d.h"
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
#include "utils/guc_tables.h"
#include "utils/json.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/timestamp.h"

#include "catalog.h"
#include "guard.h"
#include "lock.h"
#include "runner.h"
#include "toplevel.h"

typedef struct RunnerErrorArg
{
	const ScriptLabel *label;
	int			stmtno;
	int			line;
} RunnerErrorArg;

/*
 * One script being run, from script_enter to script_leave: as its
 * migration's registrant, guarded, under an error context naming the
 * migration and the statement.
 */
typedef struct ScriptRun
{
	const ScriptLabel *label;
	Oid			run_as;
	char	   *name;			/* the migration's, for pg_stat_activity */
	int			nstmts;
	Oid			save_userid;
	int			save_sec_context;
	RunnerErrorArg errarg;
	ErrorContextCallback errcallback;
} ScriptRun;

/* State of a run; palloc'd, so PG_TRY-safe. */
struct RunState
{
	Migration **plan;
	Oid		   *run_as;			/* each one's registrant, checked up front */
	int			n;
	bool		revert;
	int64		run_id;
	char	   *role;			/* the caller, for the history */
	char	   *lock_timeout;	/* set for each script, or NULL */
	void		(*before_statement) (void *arg);	/* from the second on */
	void	   *before_statement_arg;
	RunObserver observer;		/* around each statement of up scripts */
	void	   *observer_arg;
	MemoryContext outer;		/* where results go */
	MemoryContext per_migration;	/* reset before each migration */
	int			current;		/* index of the migration being run */
	TimestampTz started_at;
	instr_time	start;
	List	   *results;		/* of RunResult * */
};

static void runner_error_callback(void *arg);
static void script_enter(ScriptRun *sr, const ScriptLabel *label,
						 Oid run_as, int nstmts);
static void script_leave(ScriptRun *sr);
static void script_statement(ScriptRun *sr, const char *script,
							 const ScriptStatement *st, int stmtno,
							 bool toplevel);
static void execute_script(const char *script, const ScriptLabel *label,
						   Oid run_as, const RunState *rs);
static void execute_statement(const char *sql);
static void execute_without_lock_timeout(const char *sql);

/*
 * script_enter
 *		Starts running a script of nstmts statements as role run_as: tells
 *		the guards, switches to the registrant in a security-restricted
 *		operation, and pushes the error context.  script_leave undoes it
 *		all; an error unwinding past the caller's (sub)transaction needs
 *		only guard.c told and pg_stat_activity restored (the abort restores
 *		the user and pops nothing else), which the callers do.
 */
static void
script_enter(ScriptRun *sr, const ScriptLabel *label, Oid run_as, int nstmts)
{
	sr->label = label;
	sr->run_as = run_as;
	sr->name = migrate_migration_name(label->project, label->version,
									  label->name);
	sr->nstmts = nstmts;
	sr->errarg.label = label;
	sr->errarg.stmtno = 0;
	sr->errarg.line = 0;

	migrate_guard_enter_migration();
	GetUserIdAndSecContext(&sr->save_userid, &sr->save_sec_context);
	SetUserIdAndSecContext(run_as,
						   sr->save_sec_context |
						   SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);

	sr->errcallback.callback = runner_error_callback;
	sr->errcallback.arg = &sr->errarg;
	sr->errcallback.previous = error_context_stack;
	error_context_stack = &sr->errcallback;
}

static void
script_leave(ScriptRun *sr)
{
	error_context_stack = sr->errcallback.previous;
	SetUserIdAndSecContext(sr->save_userid, sr->save_sec_context);
	migrate_guard_leave_migration();
	pgstat_report_activity(STATE_RUNNING, debug_query_string);
}

/*
 * script_statement
 *		Runs statement stmtno (from 1) of the script: through SPI, or with
 *		toplevel, as a top-level statement (toplevel.c).
 */
static void
script_statement(ScriptRun *sr, const char *script, const ScriptStatement *st,
				 int stmtno, bool toplevel)
{
	char	   *sql = pnstrdup(script + st->offset, st->length);
	char	   *activity;

	sr->errarg.stmtno = stmtno;
	sr->errarg.line = st->line;
	/* pg_stat_activity keeps track_activity_query_size bytes */
	activity = psprintf("/* migrate: %s of %s, statement %d of %d */ %.*s",
						migrate_script_part_name(sr->label->part), sr->name,
						stmtno, sr->nstmts,
						pg_mbcliplen(sql, st->length,
									 pgstat_track_activity_query_size),
						sql);
	pgstat_report_activity(STATE_RUNNING, activity);
	if (toplevel)
	{
		char	   *drop = migrate_toplevel_invalid_index(sql);

		if (drop != NULL)
		{
			ereport(NOTICE,
					(errmsg("dropping the invalid index left by an earlier attempt of statement %d",
							stmtno),
					 errdetail_internal("%s", drop)));
			execute_without_lock_timeout(drop);
		}
		if (migrate_toplevel_waits_for_others(sql))
			execute_without_lock_timeout(sql);
		else
			migrate_toplevel_execute(sql);
	}
	else
		execute_statement(sql);
	pfree(activity);
	pfree(sql);
}

/*
 * Executes a concurrent index operation at top level with lock_timeout
 * off, then sets it back (to the deploy's, or the migration's own).  Such
 * a statement waits, by design, for every older transaction, and its lock
 * queues in front of no read or write: a lock timeout would only make it
 * fail whenever a long transaction runs.
 */
static void
execute_without_lock_timeout(const char *sql)
{
	char	   *saved = pstrdup(GetConfigOption("lock_timeout", false, false));

	(void) set_config_option("lock_timeout", "0", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SET, true, 0, false);
	migrate_toplevel_execute(sql);
	(void) set_config_option("lock_timeout", saved, PGC_USERSET,
							 PGC_S_SESSION, GUC_ACTION_SET, true, 0, false);
}

/*
 * execute_script
 *		Runs script (one that passed migrate_script_check) as role run_as,
 *		with the run's lock_timeout set (unless NULL) for the script, which
 *		may set its own, and the run's before_statement called before each
 *		statement but the first.
 *
 * The caller is connected to SPI.  On error, throws; the caller's
 * (sub)transaction abort cleans up.  Memory is allocated in the current
 * context: the caller resets it between migrations.
 */
static void
execute_script(const char *script, const ScriptLabel *label, Oid run_as,
			   const RunState *rs)
{
	ScriptRun	sr;
	List	   *stmts;
	ListCell   *lc;
	int			nestlevel;

	PG_TRY();
	{
		stmts = migrate_script_statements(script);
		script_enter(&sr, label, run_as, list_length(stmts));
		nestlevel = NewGUCNestLevel();
		if (rs->lock_timeout)
			(void) set_config_option("lock_timeout", rs->lock_timeout,
									 PGC_USERSET, PGC_S_SESSION,
									 GUC_ACTION_SET, true, 0, false);
		foreach(lc, stmts)
		{
			if (rs->before_statement && foreach_current_index(lc) > 0)
				rs->before_statement(rs->before_statement_arg);
			if (rs->observer && label->part != SCRIPT_VERIFY)
				rs->observer(rs->observer_arg, rs->current,
							 foreach_current_index(lc) + 1, lfirst(lc), false);
			script_statement(&sr, script, lfirst(lc),
							 foreach_current_index(lc) + 1, false);
			if (rs->observer && label->part != SCRIPT_VERIFY)
				rs->observer(rs->observer_arg, rs->current,
							 foreach_current_index(lc) + 1, lfirst(lc), true);
		}
		AtEOXact_GUC(false, nestlevel);
		script_leave(&sr);
	}
	PG_CATCH();
	{
		migrate_guard_leave_migration();
		pgstat_report_activity(STATE_RUNNING, debug_query_string);
		PG_RE_THROW();
	}
	PG_END_TRY();
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
		case SCRIPT_VERIFY:
			errcontext("statement %d of verify script of migration %s, line %d",
					   ea->stmtno, name, ea->line);
			break;
	}
}

/*
 * Running a plan: one migration after another.
 */


static void run_all(RunState *rs);
static void run_one(RunState *rs);
static void start_one(RunState *rs);
static void finish_one(RunState *rs, double duration_ms);
static ErrorData *in_subtransaction(void (*fn) (RunState *), RunState *rs,
									bool rollback, bool catch_lock_errors);
static RunResult *add_failure(RunState *rs, ErrorData *edata);
static void record(RunState *rs, const char *status, ErrorData *edata,
				   double duration_ms, int statements_done);
static bool error_is_migrations_fault(const ErrorData *edata);
static const char *action_of(RunState *rs, const Migration *m);
static double elapsed_ms(RunState *rs);
static void notify(const MigrationEvent *ev);
static char *failure_message(RunState *rs, ErrorData *edata);

/*
 * migrate_runner_begin
 *		Starts a run of plan, which applies (or, with revert, reverts) its
 *		migrations in order, recording each in the history under run id
 *		run_id.  lock_timeout, unless NULL, is set for each script.
 *
 * Refused as a whole, before anything runs, if the current user cannot act
 * as the registrant of one of the migrations.  The run and its results
 * live in the current memory context.
 */
RunState *
migrate_runner_begin(List *plan, bool revert, int64 run_id,
					 const char *lock_timeout)
{
	RunState   *rs = palloc0(sizeof(RunState));
	ListCell   *lc;

	rs->n = list_length(plan);
	rs->plan = palloc(sizeof(Migration *) * Max(rs->n, 1));
	rs->run_as = palloc(sizeof(Oid) * Max(rs->n, 1));
	foreach(lc, plan)
	{
		int			i = foreach_current_index(lc);

		rs->plan[i] = (Migration *) lfirst(lc);
		rs->run_as[i] = migrate_registrant_check(rs->plan[i], REGISTRANT_RUN);
	}
	rs->revert = revert;
	rs->run_id = run_id;
	rs->role = GetUserNameFromId(GetUserId(), false);
	rs->lock_timeout = lock_timeout ? pstrdup(lock_timeout) : NULL;
	rs->outer = CurrentMemoryContext;
	rs->per_migration = AllocSetContextCreate(CurrentMemoryContext,
											  "migrate migration",
											  ALLOCSET_DEFAULT_SIZES);
	rs->current = -1;
	return rs;
}

/*
 * migrate_runner_run
 *		Applies (or, with revert, reverts) the migrations of plan in order,
 *		in the caller's transaction, recording each in the history under a
 *		new run id (*run_id).  Returns a RunResult per migration attempted,
 *		in the current memory context; NIL, and no run id, for an empty
 *		plan.
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
	int			i;

	*run_id = 0;
	if (plan == NIL)
		return NIL;

	/* the registrants are checked before the run id is taken */
	rs = migrate_runner_begin(plan, revert, 0, NULL);
	rs->run_id = *run_id = migrate_catalog_next_run_id();

	if (dry_run)
	{
		ErrorData  *edata = in_subtransaction(run_all, rs, true, false);

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
		for (i = 0; i < rs->n; i++)
		{
			bool		retrying;
			ErrorData  *edata = migrate_runner_apply(rs, i, APPLY_ONCE,
													 &retrying);

			if (edata)
			{
				ereport(WARNING,
						(errcode(edata->sqlerrcode),
						 errmsg_internal("%s", edata->message),
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
 * migrate_runner_before_statement
 *		Has fn(arg) called before each statement of a transactional
 *		migration but its first (a deploy looks there whether it was asked
 *		to stop; fn throws to stop it).
 */
void
migrate_runner_before_statement(RunState *rs, void (*fn) (void *arg),
								void *arg)
{
	rs->before_statement = fn;
	rs->before_statement_arg = arg;
}

/*
 * migrate_runner_observe
 *		Has fn called before (after false) and after (after true) each
 *		statement of the up and repeatable scripts rs runs, as the
 *		statement's registrant, inside its migration's subtransaction.  A
 *		run that is observed is measured, not applied: it says nothing of
 *		each migration it starts.
 */
void
migrate_runner_observe(RunState *rs, RunObserver fn, void *arg)
{
	rs->observer = fn;
	rs->observer_arg = arg;
}

/*
 * migrate_runner_dry_run
 *		Runs every migration of rs in a subtransaction rolled back at the
 *		end, recording nothing; returns NULL, or the error that stopped it.
 */
ErrorData *
migrate_runner_dry_run(RunState *rs)
{
	return in_subtransaction(run_all, rs, true, false);
}

/*
 * migrate_runner_count, migrate_runner_migration, migrate_runner_results
 *		How many migrations the run has, its i-th (from 0), and the
 *		results so far.
 */
int
migrate_runner_count(const RunState *rs)
{
	return rs->n;
}

const Migration *
migrate_runner_migration(const RunState *rs, int i)
{
	Assert(i >= 0 && i < rs->n);
	return rs->plan[i];
}

List *
migrate_runner_results(const RunState *rs)
{
	return rs->results;
}

/*
 * migrate_runner_apply
 *		Runs migration i of the run in a subtransaction of the current
 *		transaction and records it.  On success returns NULL.  On a failure
 *		that is the migration's own, rolls it back, records it failed and
 *		returns the error, its message naming the migration; any other
 *		error propagates.
 *
 * mode says what a lock the migration could not get in time, or a
 * deadlock (migrate_runner_error_is_lock_failure), is: a failure that
 * aborts the caller's transaction, as any error that is not the
 * migration's own (APPLY_ONCE, for run()); the migration's failure, for a
 * deploy's last attempt (APPLY_LAST_TRY); or, with APPLY_MAY_RETRY, a
 * "retry" event: the migration stays running, *retrying is set and the
 * error is returned as the server raised it, and the caller commits,
 * waits and applies the migration again.
 */
ErrorData *
migrate_runner_apply(RunState *rs, int i, ApplyMode mode, bool *retrying)
{
	ErrorData  *edata;

	*retrying = false;
	rs->current = i;
	edata = in_subtransaction(run_one, rs, false, mode != APPLY_ONCE);
	if (edata && mode == APPLY_MAY_RETRY &&
		migrate_runner_error_is_lock_failure(edata))
	{
		/* the message stays the server's: the migration goes on */
		record(rs, "retry", edata, elapsed_ms(rs), 0);
		*retrying = true;
	}
	else if (edata)
	{
		RunResult  *res = add_failure(rs, edata);

		record(rs, "failed", edata, res->duration_ms, 0);
		edata->message = failure_message(rs, edata);
	}
	return edata;
}

/*
 * migrate_runner_error_is_lock_failure
 *		Whether an error is one that retrying may cure: a lock not had in
 *		time (lock_timeout, 55P03) or a deadlock (40P01).
 */
bool
migrate_runner_error_is_lock_failure(const ErrorData *edata)
{
	return edata->sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE ||
		edata->sqlerrcode == ERRCODE_T_R_DEADLOCK_DETECTED;
}

/*
 * migrate_runner_started
 *		Records that a deploy starts migration i: a "started" event, and
 *		the state running, to be committed before the migration runs.
 */
void
migrate_runner_started(RunState *rs, int i)
{
	rs->current = i;
	rs->started_at = GetCurrentTimestamp();
	INSTR_TIME_SET_CURRENT(rs->start);
	record(rs, "started", NULL, 0, rs->plan[i]->statements_done);
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
 * rollback, with the migration named in its message, except a lock
 * failure when catch_lock_errors (a deadlock is not the migration's fault,
 * but a deploy retries it).  Either way the caller's memory context and
 * resource owner are restored.
 */
static ErrorData *
in_subtransaction(void (*fn) (RunState *), RunState *rs, bool rollback,
				  bool catch_lock_errors)
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

	if (edata && !error_is_migrations_fault(edata) &&
		!(catch_lock_errors && migrate_runner_error_is_lock_failure(edata)))
	{
		edata->message = failure_message(rs, edata);
		ReThrowError(edata);
	}
	return edata;
}

/*
 * run_one
 *		Runs migration rs->current, and its verify script after up, and
 *		records it; throws on failure.
 */
static void
run_one(RunState *rs)
{
	Migration  *m = rs->plan[rs->current];
	ScriptLabel label = {m->project, m->version, m->name,
	rs->revert ? SCRIPT_DOWN : m->repeatable ? SCRIPT_REPEATABLE : SCRIPT_UP};
	MemoryContext oldcontext;
	MigrateSequences before;

	start_one(rs);
	oldcontext = MemoryContextSwitchTo(rs->per_migration);
	before = migrate_guard_sequences();
	execute_script(migrate_catalog_script(m, label.part), &label,
				   rs->run_as[rs->current], rs);
	if (label.part == SCRIPT_UP && m->verify_checksum != NULL)
	{
		label.part = SCRIPT_VERIFY;
		execute_script(migrate_catalog_script(m, SCRIPT_VERIFY), &label,
					   rs->run_as[rs->current], rs);
	}
	migrate_guard_check_sequences(&before);
	migrate_lock_deploy_check();
	MemoryContextSwitchTo(oldcontext);
	finish_one(rs, elapsed_ms(rs));
}

/*
 * start_one
 *		The start of migration rs->current: its NOTICE, a fresh memory
 *		context, the clock.
 */
static void
start_one(RunState *rs)
{
	Migration  *m = rs->plan[rs->current];

	/* an observed run is measured, not applied: it says nothing */
	if (rs->revert && rs->observer == NULL)
		ereport(NOTICE,
				(errmsg("reverting %d/%d: %s",
						rs->current + 1, rs->n,
						migrate_migration_describe(m))));
	else if (rs->observer == NULL)
		ereport(NOTICE,
				(errmsg("applying %d/%d: %s",
						rs->current + 1, rs->n,
						migrate_migration_describe(m))));
	MemoryContextReset(rs->per_migration);
	rs->started_at = GetCurrentTimestamp();
	INSTR_TIME_SET_CURRENT(rs->start);
}

/*
 * finish_one
 *		The successful end of migration rs->current: its history row and
 *		state, and its result.
 */
static void
finish_one(RunState *rs, double duration_ms)
{
	MemoryContext oldcontext;
	RunResult  *res;
	Migration  *m = rs->plan[rs->current];

	record(rs, "ok", NULL, duration_ms, 0);
	oldcontext = MemoryContextSwitchTo(rs->outer);
	res = palloc0(sizeof(RunResult));
	res->migration = m;
	res->action = action_of(rs, m);
	res->ok = true;
	res->duration_ms = duration_ms;
	rs->results = lappend(rs->results, res);
	MemoryContextSwitchTo(oldcontext);
}

/*
 * Non-transactional migrations, for the deploy procedure: each statement
 * at top level, in transactions of its own, committed by the deploy.
 *
 * Settings: a statement such as CREATE INDEX CONCURRENTLY commits, and a
 * commit makes every SET of the transaction the session's, so a GUC nest
 * level cannot isolate them as it does a transactional script's.  Instead
 * every setting a session can change is saved when the migration starts
 * and restored when it ends, however it ends: a SET (maintenance_work_mem
 * before an index build, say) lasts from its statement to the end of its
 * migration, as it would in psql, and reaches neither the next migration
 * nor the caller.
 */

/* One saved setting. */
typedef struct SavedSetting
{
	const char *name;
	char	   *value;			/* NULL for a string setting that is NULL */
} SavedSetting;

struct RunStatements
{
	RunState   *rs;
	int			i;				/* which migration */
	ScriptLabel label;
	char	   *script;
	ScriptStatement **stmts;
	int			nstmts;
	SavedSetting *settings;		/* sorted by name, as guc.c keeps them */
	int			nsettings;
	char	   *lock_timeout_before;	/* before the current statement */
};

static void save_settings(RunStatements *st);
static void restore_settings(RunStatements *st);
static bool same_value(const char *a, const char *b);
static void put_back_lock_timeout(RunStatements *st);
static int	setting_cmp(const void *a, const void *b);

/*
 * migrate_runner_statements_begin
 *		Starts non-transactional migration i of the run, at its first
 *		statement not completed (m->statements_done): its NOTICE, its
 *		statements, the settings saved and lock_timeout set.  Everything
 *		lives in the run's per-migration context, which outlives
 *		transactions.
 */
RunStatements *
migrate_runner_statements_begin(RunState *rs, int i)
{
	Migration  *m = rs->plan[i];
	MemoryContext oldcontext;
	RunStatements *st;
	List	   *stmts;
	ListCell   *lc;

	rs->current = i;
	start_one(rs);
	oldcontext = MemoryContextSwitchTo(rs->per_migration);
	st = palloc0(sizeof(RunStatements));
	st->rs = rs;
	st->i = i;
	st->label.project = m->project;
	st->label.version = m->version;
	st->label.name = m->name;
	st->label.part = rs->revert ? SCRIPT_DOWN :
		m->repeatable ? SCRIPT_REPEATABLE : SCRIPT_UP;
	st->script = migrate_catalog_script(m, st->label.part);
	stmts = migrate_script_statements(st->script);
	st->nstmts = list_length(stmts);
	st->stmts = palloc(sizeof(ScriptStatement *) * Max(st->nstmts, 1));
	foreach(lc, stmts)
		st->stmts[foreach_current_index(lc)] = lfirst(lc);
	if (m->statements_done > 0 && m->statements_done < st->nstmts)
		ereport(NOTICE,
				(errmsg("resuming migration %s at statement %d of %d",
						migrate_migration_describe(m),
						m->statements_done + 1, st->nstmts)));
	save_settings(st);
	if (rs->lock_timeout)
		(void) set_config_option("lock_timeout", rs->lock_timeout,
								 PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SET, true, 0, false);
	MemoryContextSwitchTo(oldcontext);
	return st;
}

/* How many statements the migration has. */
int
migrate_runner_statements_count(const RunStatements *st)
{
	return st->nstmts;
}

/*
 * migrate_runner_statement
 *		Runs statement k (from 0) of the migration at top level, as its
 *		registrant, guarded.  Returns in the transaction the statement
 *		ended in, still open; throws on error, leaving the caller to abort
 *		the transaction and end the migration.
 *
 * The caller is not connected to SPI (toplevel.c says why).
 */
void
migrate_runner_statement(RunStatements *st, int k)
{
	RunState   *rs = st->rs;
	MemoryContext oldcontext = MemoryContextSwitchTo(rs->per_migration);
	ScriptRun	sr;
	MigrateSequences before;

	st->lock_timeout_before = pstrdup(GetConfigOption("lock_timeout", false,
													  false));
	before = migrate_guard_sequences();
	PG_TRY();
	{
		script_enter(&sr, &st->label, rs->run_as[st->i], st->nstmts);
		script_statement(&sr, st->script, st->stmts[k], k + 1, true);
		script_leave(&sr);
	}
	PG_CATCH();
	{
		/* the transaction may have changed: the abort would not do this */
		SetUserIdAndSecContext(sr.save_userid, sr.save_sec_context);
		migrate_guard_leave_migration();
		pgstat_report_activity(STATE_RUNNING, debug_query_string);
		PG_RE_THROW();
	}
	PG_END_TRY();
	migrate_guard_check_sequences(&before);
	migrate_lock_deploy_check();
	MemoryContextSwitchTo(oldcontext);
}

/*
 * migrate_runner_statements_verify
 *		After the last statement of the migration: its verify script, if it
 *		has one (and is being applied), through SPI in the current
 *		transaction, as its registrant.  Throws on error, like
 *		migrate_runner_statement.
 *
 * The settings the statements changed are put back first: as after a
 * transactional migration's up script, the verify script sees the
 * session's own.
 */
void
migrate_runner_statements_verify(RunStatements *st)
{
	RunState   *rs = st->rs;
	Migration  *m = rs->plan[st->i];
	ScriptLabel label = st->label;
	MemoryContext oldcontext;
	MigrateSequences before;

	if (label.part != SCRIPT_UP || m->verify_checksum == NULL)
		return;
	restore_settings(st);
	label.part = SCRIPT_VERIFY;
	rs->current = st->i;
	oldcontext = MemoryContextSwitchTo(rs->per_migration);
	before = migrate_guard_sequences();
	execute_script(migrate_catalog_script(m, SCRIPT_VERIFY), &label,
				   rs->run_as[st->i], rs);
	migrate_guard_check_sequences(&before);
	migrate_lock_deploy_check();
	MemoryContextSwitchTo(oldcontext);
}

/*
 * migrate_runner_statements_end
 *		Ends the migration: restores the settings, and with ok checks it
 *		and records it applied (in the current transaction, which the
 *		caller commits).  Without ok, the caller goes on with
 *		migrate_runner_statements_failed or rethrows.
 */
void
migrate_runner_statements_end(RunStatements *st, bool ok)
{
	RunState   *rs = st->rs;

	restore_settings(st);
	if (!ok)
		return;
	rs->current = st->i;
	finish_one(rs, elapsed_ms(rs));
}

/*
 * migrate_runner_statements_failed
 *		Records the migration failed at statement k (from 0), keeping the k
 *		statements before it as completed, and returns true; or, if the
 *		error is not the migration's own fault (a cancel, a shutdown),
 *		records nothing and returns false.  A lock failure, which the
 *		deploy no longer retries, is the migration's.  edata's message then
 *		names the migration.
 */
bool
migrate_runner_statements_failed(RunStatements *st, int k, ErrorData *edata)
{
	RunState   *rs = st->rs;
	RunResult  *res;

	rs->current = st->i;
	if (!error_is_migrations_fault(edata) &&
		!migrate_runner_error_is_lock_failure(edata))
	{
		edata->message = failure_message(rs, edata);
		return false;
	}
	res = add_failure(rs, edata);
	record(rs, "failed", edata, res->duration_ms, k);
	edata->message = failure_message(rs, edata);
	return true;
}

/*
 * migrate_runner_statements_retry
 *		Records a "retry" event for statement k (from 0), which failed with
 *		a lock failure (migrate_runner_error_is_lock_failure) and was rolled
 *		back; the k statements before it stay completed, and the migration
 *		running.
 */
void
migrate_runner_statements_retry(RunStatements *st, int k, ErrorData *edata)
{
	RunState   *rs = st->rs;

	rs->current = st->i;
	record(rs, "retry", edata, elapsed_ms(rs), k);
	put_back_lock_timeout(st);
}

/*
 * put_back_lock_timeout
 *		After statement st->k failed and its transaction was rolled back:
 *		lock_timeout as it was before the statement.  A concurrent index
 *		operation sets it to 0 for itself, and its own commits may have
 *		kept that.
 */
static void
put_back_lock_timeout(RunStatements *st)
{
	(void) set_config_option("lock_timeout", st->lock_timeout_before,
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SET,
							 true, 0, false);
}

/* Saves every setting a session can change, in the migration's context. */
static void
save_settings(RunStatements *st)
{
	struct config_generic **vars = get_guc_variables();
	int			n = GetNumConfigOptions();
	int			i;

	st->settings = palloc(sizeof(SavedSetting) * Max(n, 1));
	st->nsettings = 0;
	for (i = 0; i < n; i++)
	{
		struct config_generic *var = vars[i];
		const char *value;

		if ((var->context != PGC_USERSET && var->context != PGC_SUSET) ||
			(var->flags & GUC_NO_RESET_ALL))
			continue;
		value = GetConfigOption(var->name, false, false);
		st->settings[st->nsettings].name = pstrdup(var->name);
		st->settings[st->nsettings].value = value ? pstrdup(value) : NULL;
		st->nsettings++;
	}
	qsort(st->settings, st->nsettings, sizeof(SavedSetting), setting_cmp);
}

/*
 * Restores what save_settings saved: a changed setting gets its saved
 * value back (RESET if that was its reset value), a setting the migration
 * created (a custom one) is reset.  As the superuser, since it puts back
 * what was there.
 */
static void
restore_settings(RunStatements *st)
{
	struct config_generic **vars = get_guc_variables();
	int			n = GetNumConfigOptions();
	int			i;

	for (i = 0; i < n; i++)
	{
		struct config_generic *var = vars[i];
		SavedSetting key = {var->name, NULL};
		SavedSetting *saved;
		const char *value;
		const char *now;

		if ((var->context != PGC_USERSET && var->context != PGC_SUSET) ||
			(var->flags & GUC_NO_RESET_ALL))
			continue;
		saved = bsearch(&key, st->settings, st->nsettings,
						sizeof(SavedSetting), setting_cmp);
		now = GetConfigOption(var->name, false, false);
		if (saved != NULL && same_value(now, saved->value))
			continue;
		value = saved ? saved->value : NULL;
		if (value != NULL &&
			same_value(value, GetConfigOptionResetString(var->name)))
			value = NULL;
		(void) set_config_option_ext(var->name, value, PGC_SUSET,
									 PGC_S_SESSION, BOOTSTRAP_SUPERUSERID,
									 GUC_ACTION_SET, true, WARNING, false);
	}
}

/* Whether two values of a setting are the same; either may be NULL. */
static bool
same_value(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static int
setting_cmp(const void *a, const void *b)
{
	return pg_strcasecmp(((const SavedSetting *) a)->name,
						 ((const SavedSetting *) b)->name);
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

/*
 * Appends the history row of migration rs->current (status "ok", "failed",
 * "started" or "retry") and sets its state.  Allocates in the per-migration
 * context, which a deploy's thousands of migrations would otherwise grow.
 */
static void
record(RunState *rs, const char *status, ErrorData *edata, double duration_ms,
	   int statements_done)
{
	Migration  *m = rs->plan[rs->current];
	MigrationEvent ev;
	const char *state;
	const char *applied_checksum;
	MemoryContext oldcontext = MemoryContextSwitchTo(rs->per_migration);

	memset(&ev, 0, sizeof(ev));
	ev.run_id = rs->run_id;
	ev.migration = m;
	ev.action = action_of(rs, m);
	ev.status = status;
	ev.started_at = rs->started_at;
	ev.duration_ms = duration_ms;
	ev.role = rs->role;
	ev.ran_as = m->registered_by;
	ev.checksum = m->checksum;
	ev.error = edata;

	if (strcmp(status, "started") == 0 || strcmp(status, "retry") == 0)
	{
		/* a deploy applies it, or reverts it (it stays applied till then) */
		state = rs->revert ? "reverting" : "running";
		applied_checksum = m->applied_checksum;
	}
	else if (strcmp(status, "ok") != 0 && rs->revert)
	{
		/*
		 * A failed revert was rolled back: the migration is applied still,
		 * unless a deploy completed statements of its down script, which the
		 * next one resumes.
		 */
		state = statements_done > 0 ? "reverting" : "applied";
		applied_checksum = m->applied_checksum;
	}
	else if (strcmp(status, "ok") != 0)
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
	migrate_catalog_record(&ev, state, applied_checksum, statements_done);
	if (strcmp(status, "started") != 0 && strcmp(status, "retry") != 0)
		notify(&ev);
	MemoryContextSwitchTo(oldcontext);
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
					 ev->action, ev->status);
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
		ev.status = "ok";
		ev.started_at = now;
		ev.duration_ms = 0;
		ev.role = role;
		ev.ran_as = NULL;
		ev.checksum = m->checksum;
		migrate_catalog_record(&ev, "applied", m->checksum, 0);
	}
	return list_length(plan);
}

/*
 * migrate_runner_resolve
 *		Marks migration m applied or pending ("applied" or "pending" in
 *		state) without running anything, with a "resolve" history row that
 *		keeps reason, under run id run_id.
 */
void
migrate_runner_resolve(const Migration *m, const char *state,
					   const char *reason, int64 run_id)
{
	MigrationEvent ev;
	bool		applied = strcmp(state, "applied") == 0;

	memset(&ev, 0, sizeof(ev));
	ev.run_id = run_id;
	ev.migration = m;
	ev.action = "resolve";
	ev.status = "ok";
	ev.started_at = GetCurrentTimestamp();
	ev.duration_ms = 0;
	ev.role = GetUserNameFromId(GetUserId(), false);
	ev.ran_as = NULL;
	ev.checksum = m->checksum;
	ev.note = reason;
	migrate_catalog_record(&ev, state, applied ? m->checksum : NULL, 0);
	notify(&ev);
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
