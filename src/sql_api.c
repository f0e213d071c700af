/*-------------------------------------------------------------------------
 *
 * sql_api.c
 *	  The SQL-callable functions of schema migrate.
 *
 * Each function checks its arguments, calls into the modules that do the
 * work and shapes the result; the whole public surface can be read here.
 * None is STRICT: a NULL where a value is required is 22004, never a
 * silent NULL result.
 *
 * Functions that change the catalog (register*, unregister, run,
 * rollback*, baseline, resolve) go through the change protocol of change.c:
 * migrate_change_begin, the work, migrate_change_end; the deploy
 * procedure goes through it in deploy.c.  Readers (status, validate,
 * current_version) take no lock and never wait.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "adopt.h"
#include "catalog.h"
#include "change.h"
#include "deploy.h"
#include "lint.h"
#include "locks.h"
#include "plan.h"
#include "registration.h"
#include "runner.h"
#include "script.h"
#include "version.h"

/* The longest migration name we accept, in bytes. */
#define MIGRATE_NAME_MAX_LEN 1024

PG_FUNCTION_INFO_V1(migrate_register);
PG_FUNCTION_INFO_V1(migrate_register_repeatable);
PG_FUNCTION_INFO_V1(migrate_validate);
PG_FUNCTION_INFO_V1(migrate_unregister);
PG_FUNCTION_INFO_V1(migrate_run);
PG_FUNCTION_INFO_V1(migrate_rollback);
PG_FUNCTION_INFO_V1(migrate_rollback_to);
PG_FUNCTION_INFO_V1(migrate_rollback_all);
PG_FUNCTION_INFO_V1(migrate_baseline);
PG_FUNCTION_INFO_V1(migrate_adopt_history);
PG_FUNCTION_INFO_V1(migrate_lint_pending);
PG_FUNCTION_INFO_V1(migrate_locks_pending);
PG_FUNCTION_INFO_V1(migrate_deploy);
PG_FUNCTION_INFO_V1(migrate_deploy_rollback);
PG_FUNCTION_INFO_V1(migrate_deploy_rollback_to);
PG_FUNCTION_INFO_V1(migrate_deploy_rollback_all);
PG_FUNCTION_INFO_V1(migrate_resolve);
PG_FUNCTION_INFO_V1(migrate_cancel);
PG_FUNCTION_INFO_V1(migrate_status);
PG_FUNCTION_INFO_V1(migrate_current_version);

static char *text_arg(FunctionCallInfo fcinfo, int argno);
static bool bool_arg(FunctionCallInfo fcinfo, int argno);
static int32 int4_arg(FunctionCallInfo fcinfo, int argno);
static void null_argument(FunctionCallInfo fcinfo, int argno);
static void check_project(const char *project);
static void check_version(const char *version);
static void check_name(const char *name);
static void check_target(const char *project, const char *target);
static void check_transactional(List *plan);
static void check_project_and_target(const char *project,
									 const char *target, const char *hint);
static char *lock_timeout_setting(const Interval *timeout);
static void deploy_options(FunctionCallInfo fcinfo, int argno,
						   DeployOptions *options);
static Datum call_deploy(FunctionCallInfo fcinfo,
						 const DeployOptions *options);
static void put_problems(ReturnSetInfo *rsinfo, List *problems,
						 const char *severity, const char *problem);
static void revert(FunctionCallInfo fcinfo, const char *function,
				   const char *procedure, const char *project, int steps,
				   const char *target, bool dry_run, bool wait);
static void return_results(FunctionCallInfo fcinfo, List *results,
						   int64 run_id);

/*
 * What register() returns for each RegistrationResult, and what the call
 * wrote for migrate_change_end: a new registration is pending, so run()
 * has work; a changed one may be applied and stay so.
 */
static const struct
{
	const char *text;
	ChangeOutcome outcome;
}			registration_results[] = {
	[REGISTRATION_REGISTERED] = {"registered", CHANGE_DUE},
	[REGISTRATION_UNCHANGED] = {"unchanged", CHANGE_NONE},
	[REGISTRATION_UPDATED] = {"updated", CHANGE_WRITTEN}
};

/*
 * migrate.register(version, name, up, down, requires, transactional,
 *					project, verify) returns text
 *
 * Returns "registered", "unchanged" or "updated".  transactional NULL lets
 * the scripts decide: a statement that cannot run in a transaction block
 * makes the migration non-transactional.
 */
Datum
migrate_register(PG_FUNCTION_ARGS)
{
	Migration  *m = palloc0(sizeof(Migration));
	ScriptLabel label;
	ScriptFacts up;
	ScriptFacts down = {0};
	ScriptFacts verify = {0};
	bool		decide = PG_ARGISNULL(5);
	MigrateChange call;
	RegistrationResult result;

	migrate_change_check("migrate.register()");
	m->version = text_arg(fcinfo, 0);
	m->name = text_arg(fcinfo, 1);
	m->up = text_arg(fcinfo, 2);
	m->down = PG_ARGISNULL(3) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(3));
	if (PG_ARGISNULL(4))
		null_argument(fcinfo, 4);
	m->transactional = decide ? false : PG_GETARG_BOOL(5);
	m->project = text_arg(fcinfo, 6);
	/* before 0.4, migrate.register() had no verify argument (nor a column) */
	if (PG_NARGS() > 7 && !PG_ARGISNULL(7))
		m->verify = text_to_cstring(PG_GETARG_TEXT_PP(7));

	check_project(m->project);
	check_version(m->version);
	check_name(m->name);
	m->requires = migrate_registration_requires(PG_GETARG_ARRAYTYPE_P(4),
												m->project, m->version);
	m->registered_by = GetUserNameFromId(GetUserId(), false);

	/*
	 * Parse and check the scripts before taking any lock.  Undecided, they
	 * are checked as for a non-transactional migration first, then decide.
	 */
	label.project = m->project;
	label.version = m->version;
	label.name = m->name;
	label.part = SCRIPT_UP;
	m->checksum = migrate_script_check(m->up, m->transactional, &label, &up);
	if (m->down)
	{
		label.part = SCRIPT_DOWN;
		m->down_checksum = migrate_script_check(m->down, m->transactional,
												&label, &down);
	}
	if (decide)
		m->transactional = up.non_transactional == NULL &&
			down.non_transactional == NULL;
	if (m->verify)
	{
		/* it runs in the transaction that records the migration applied */
		label.part = SCRIPT_VERIFY;
		m->verify_checksum = migrate_script_check(m->verify, true, &label,
												  &verify);
	}

	migrate_change_begin(&call, "migrate.register()", true);
	result = migrate_registration_store(m);
	if (result != REGISTRATION_UNCHANGED)
		migrate_lint_registered(m, m->up, up.statements);
	migrate_change_end(&call, registration_results[result].outcome);

	if (result != REGISTRATION_UNCHANGED)
	{
		label.part = SCRIPT_UP;
		if (up.empty)
			migrate_script_report_empty(&label);
		label.part = SCRIPT_DOWN;
		if (down.empty)
			migrate_script_report_empty(&label);
		label.part = SCRIPT_VERIFY;
		if (verify.empty)
			migrate_script_report_empty(&label);
	}
	PG_RETURN_TEXT_P(cstring_to_text(registration_results[result].text));
}

/*
 * migrate.register_repeatable(name, up, project) returns text
 *
 * Returns "registered", "unchanged" or "updated".  A repeatable migration
 * is applied again by run() whenever its checksum changes.
 */
Datum
migrate_register_repeatable(PG_FUNCTION_ARGS)
{
	Migration  *m = palloc0(sizeof(Migration));
	ScriptLabel label;
	ScriptFacts up;
	MigrateChange call;
	RegistrationResult result;

	migrate_change_check("migrate.register_repeatable()");
	m->repeatable = true;
	m->name = text_arg(fcinfo, 0);
	m->up = text_arg(fcinfo, 1);
	m->project = text_arg(fcinfo, 2);
	m->transactional = true;
	check_project(m->project);
	check_name(m->name);
	m->registered_by = GetUserNameFromId(GetUserId(), false);

	label.project = m->project;
	label.version = NULL;
	label.name = m->name;
	label.part = SCRIPT_REPEATABLE;
	m->checksum = migrate_script_check(m->up, true, &label, &up);

	migrate_change_begin(&call, "migrate.register_repeatable()", true);
	result = migrate_registration_store(m);
	if (result != REGISTRATION_UNCHANGED)
		migrate_lint_registered(m, m->up, up.statements);
	migrate_change_end(&call, registration_results[result].outcome);
	if (result != REGISTRATION_UNCHANGED && up.empty)
		migrate_script_report_empty(&label);
	PG_RETURN_TEXT_P(cstring_to_text(registration_results[result].text));
}

/*
 * migrate.unregister(version, project) returns void
 *
 * Removes a registration that is not applied; its history stays.
 */
Datum
migrate_unregister(PG_FUNCTION_ARGS)
{
	char	   *version = text_arg(fcinfo, 0);
	char	   *project = text_arg(fcinfo, 1);
	MigrateChange call;

	check_project(project);
	check_version(version);

	migrate_change_begin(&call, "migrate.unregister()", true);
	migrate_registration_remove(project, version);
	migrate_change_end(&call, CHANGE_WRITTEN);
	PG_RETURN_VOID();
}

/*
 * migrate.run(target, project, dry_run, atomic, wait, out_of_order)
 *		returns setof (run_id, project, version, name, action, status,
 *					   duration_ms, message)
 */
Datum
migrate_run(PG_FUNCTION_ARGS)
{
	char	   *target = PG_ARGISNULL(0) ? NULL : text_arg(fcinfo, 0);
	char	   *project = PG_ARGISNULL(1) ? NULL : text_arg(fcinfo, 1);
	bool		dry_run = bool_arg(fcinfo, 2);
	bool		atomic = bool_arg(fcinfo, 3);
	bool		wait = bool_arg(fcinfo, 4);
	bool		out_of_order = bool_arg(fcinfo, 5);
	MigrateChange call;
	List	   *plan;
	List	   *results;
	int64		run_id;

	check_project_and_target(project, target,
							 _("Call migrate.run(target => '...', project => 'default')."));

	InitMaterializedSRF(fcinfo, 0);

	/* The common case, nothing to do, keeps no lock (change.c). */
	if (target == NULL)
	{
		if (!migrate_change_begin_if_due(&call, "migrate.run()", wait))
			return (Datum) 0;
	}
	else
	{
		migrate_change_begin(&call, "migrate.run()", wait);
		check_target(project, target);
	}

	plan = migrate_plan_apply(project, target, out_of_order);
	check_transactional(plan);
	migrate_lint_plan(plan);
	results = migrate_runner_run(plan, false, atomic, dry_run, &run_id);
	return_results(fcinfo, results, run_id);
	migrate_change_end(&call, results == NIL || dry_run ? CHANGE_NONE :
					   CHANGE_WRITTEN);
	return (Datum) 0;
}

/*
 * run() lives in the caller's transaction: it refuses, before anything
 * runs, a plan with a migration that must run outside any.
 */
static void
check_transactional(List *plan)
{
	ListCell   *lc;

	foreach(lc, plan)
	{
		Migration  *m = (Migration *) lfirst(lc);

		if (!m->transactional)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("migration %s is not transactional and cannot run inside migrate.run()",
							migrate_migration_describe(m)),
					 errdetail("migrate.run() runs in the caller's transaction; this migration must run outside any transaction block."),
					 errhint("Apply it with CALL migrate.deploy(), which runs each of its statements in a transaction of its own.")));
	}
}

/* A target migration must be registered. */
static void
check_target(const char *project, const char *target)
{
	if (migrate_catalog_get(project, target, NULL) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("target migration %s is not registered",
						migrate_migration_name(project, target, NULL))));
}

/*
 * The project and target arguments of run(), locks() and deploy(): each
 * valid if given, and a target only with a project (hint: how to call the
 * function with both, a whole sentence).
 */
static void
check_project_and_target(const char *project, const char *target,
						 const char *hint)
{
	if (project)
		check_project(project);
	if (target)
	{
		if (project == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("a target version needs a project"),
					 errhint("%s", hint)));
		check_version(target);
	}
}

/*
 * migrate.rollback(steps, project, dry_run, wait)
 *		returns the same rows as run
 */
Datum
migrate_rollback(PG_FUNCTION_ARGS)
{
	int32		steps = int4_arg(fcinfo, 0);
	char	   *project = text_arg(fcinfo, 1);
	bool		dry_run = bool_arg(fcinfo, 2);
	bool		wait = bool_arg(fcinfo, 3);

	check_project(project);
	if (steps < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("steps must be at least 1, not %d", steps)));
	revert(fcinfo, "migrate.rollback()", "migrate.deploy_rollback()", project,
		   steps, NULL, dry_run, wait);
	return (Datum) 0;
}

/*
 * migrate.rollback_to(target, project, dry_run, wait)
 *		returns the same rows as run
 *
 * Reverts the applied migrations whose version sorts above target.
 */
Datum
migrate_rollback_to(PG_FUNCTION_ARGS)
{
	char	   *target = text_arg(fcinfo, 0);
	char	   *project = text_arg(fcinfo, 1);
	bool		dry_run = bool_arg(fcinfo, 2);
	bool		wait = bool_arg(fcinfo, 3);

	check_project(project);
	check_version(target);
	revert(fcinfo, "migrate.rollback_to()", "migrate.deploy_rollback_to()",
		   project, INT_MAX, target, dry_run, wait);
	return (Datum) 0;
}

/*
 * migrate.rollback_all(project, dry_run, wait)
 *		returns the same rows as run
 */
Datum
migrate_rollback_all(PG_FUNCTION_ARGS)
{
	char	   *project = text_arg(fcinfo, 0);
	bool		dry_run = bool_arg(fcinfo, 1);
	bool		wait = bool_arg(fcinfo, 2);

	check_project(project);
	revert(fcinfo, "migrate.rollback_all()", "migrate.deploy_rollback_all()",
		   project, INT_MAX, NULL, dry_run, wait);
	return (Datum) 0;
}

/*
 * The body of the rollback functions: revert the plan and return its rows.
 */
static void
revert(FunctionCallInfo fcinfo, const char *function, const char *procedure,
	   const char *project, int steps, const char *target, bool dry_run,
	   bool wait)
{
	MigrateChange call;
	List	   *plan;
	List	   *results;
	ListCell   *lc;
	int64		run_id;

	InitMaterializedSRF(fcinfo, 0);
	migrate_change_begin(&call, function, wait);
	if (target)
		check_target(project, target);

	plan = migrate_plan_revert(project, steps, target);
	foreach(lc, plan)
	{
		Migration  *m = (Migration *) lfirst(lc);

		if (!m->transactional)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("migration %s is not transactional and cannot be reverted inside %s",
							migrate_migration_describe(m), function),
					 errdetail("%s runs in the caller's transaction; the down script of this migration must run outside any transaction block.",
							   function),
					 errhint("Revert it with CALL %s, which runs each statement of its down script in a transaction of its own.",
							 procedure)));
	}
	results = migrate_runner_run(plan, true, true, dry_run, &run_id);
	return_results(fcinfo, results, run_id);
	/* what was reverted is pending again */
	migrate_change_end(&call, results == NIL || dry_run ? CHANGE_NONE :
					   CHANGE_DUE);
}

/*
 * migrate.baseline(version, project) returns integer
 *
 * Marks every registered migration of the project up to version as
 * applied, without running it: adopting a database whose schema already
 * has them.  Refused if any migration of the project is applied.
 */
Datum
migrate_baseline(PG_FUNCTION_ARGS)
{
	char	   *version = text_arg(fcinfo, 0);
	char	   *project = text_arg(fcinfo, 1);
	MigrateChange call;
	List	   *plan;
	int			count = 0;

	check_project(project);
	check_version(version);
	migrate_change_begin(&call, "migrate.baseline()", true);
	plan = migrate_plan_baseline(project, version);
	if (plan != NIL)
		count = migrate_runner_baseline(plan, migrate_catalog_next_run_id());
	migrate_change_end(&call, count > 0 ? CHANGE_WRITTEN : CHANGE_NONE);
	PG_RETURN_INT32(count);
}

/*
 * migrate.adopt(tool, project, history) returns setof (project, version,
 *		name, applied_at, applied_by)
 *
 * Marks applied, without running them, the registered migrations that
 * another tool's history table lists as applied (adopt.c); returns them.
 */
Datum
migrate_adopt_history(PG_FUNCTION_ARGS)
{
	AdoptTool	tool = migrate_adopt_tool(text_arg(fcinfo, 0));
	char	   *project = text_arg(fcinfo, 1);
	Oid			relid = PG_ARGISNULL(2) ? InvalidOid : PG_GETARG_OID(2);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MigrateChange call;
	int			count;

	check_project(project);
	InitMaterializedSRF(fcinfo, 0);
	migrate_change_begin(&call, "migrate.adopt()", true);
	count = migrate_adopt(tool, project, relid, rsinfo->setResult,
						  rsinfo->setDesc);
	migrate_change_end(&call, count > 0 ? CHANGE_WRITTEN : CHANGE_NONE);
	return (Datum) 0;
}

/*
 * migrate.lint(project) returns setof (project, version, name, statement,
 *		line, rule, severity, relation, relation_rows, relation_bytes,
 *		lock_mode, message, hint)
 *
 * The hazards of the pending migrations (lint.c); changes nothing.
 */
Datum
migrate_lint_pending(PG_FUNCTION_ARGS)
{
	char	   *project = PG_ARGISNULL(0) ? NULL : text_arg(fcinfo, 0);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	if (project)
		check_project(project);
	InitMaterializedSRF(fcinfo, 0);
	migrate_lint(project, rsinfo->setResult, rsinfo->setDesc);
	return (Datum) 0;
}

/*
 * migrate.locks(project, target) returns setof (project, version,
 *		statement, relation, mode, rewritten, duration_ms)
 *
 * The locks each statement of the pending migrations takes, measured by a
 * dry run under the migration lock (locks.c).
 */
Datum
migrate_locks_pending(PG_FUNCTION_ARGS)
{
	char	   *project = PG_ARGISNULL(0) ? NULL : text_arg(fcinfo, 0);
	char	   *target = PG_ARGISNULL(1) ? NULL : text_arg(fcinfo, 1);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MigrateChange call;
	List	   *plan;

	check_project_and_target(project, target,
							 _("Call migrate.locks(project => 'default', target => '...')."));
	InitMaterializedSRF(fcinfo, 0);
	migrate_change_begin(&call, "migrate.locks()", true);
	if (target)
		check_target(project, target);
	plan = migrate_plan_apply(project, target, true);
	migrate_locks(plan, rsinfo->setResult, rsinfo->setDesc);
	migrate_change_end(&call, CHANGE_NONE);
	return (Datum) 0;
}

/*
 * migrate.validate(project) returns setof (project, version, severity,
 *		problem, detail)
 *
 * Finds, without changing anything, what would stop or surprise a run:
 * missing requirements and dependency cycles (error), out-of-order
 * pending migrations (warning), then what the catalog alone shows
 * (catalog_report.c).
 */
Datum
migrate_validate(PG_FUNCTION_ARGS)
{
	char	   *project = PG_ARGISNULL(0) ? NULL : text_arg(fcinfo, 0);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	PlanAnalysis *pa;

	if (project)
		check_project(project);
	InitMaterializedSRF(fcinfo, 0);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	pa = migrate_plan_analyze(project, NULL);
	put_problems(rsinfo, pa->missing, "error", "missing requirement");
	put_problems(rsinfo, pa->cycle, "error", "dependency cycle");
	put_problems(rsinfo, pa->late, "warning", "out of order");
	if (SPI_finish() != SPI_OK_FINISH)
		elog(ERROR, "SPI_finish failed");
	migrate_catalog_validate(project, rsinfo->setResult, rsinfo->setDesc);
	return (Datum) 0;
}

/* Adds a validate() row per PlanProblem. */
static void
put_problems(ReturnSetInfo *rsinfo, List *problems, const char *severity,
			 const char *problem)
{
	ListCell   *lc;

	foreach(lc, problems)
	{
		PlanProblem *p = (PlanProblem *) lfirst(lc);
		Datum		values[5];
		bool		nulls[5] = {false};

		values[0] = CStringGetTextDatum(p->migration->project);
		values[1] = migrate_version_datum(p->migration->version,
										  strlen(p->migration->version));
		values[2] = CStringGetTextDatum(severity);
		values[3] = CStringGetTextDatum(problem);
		values[4] = CStringGetTextDatum(p->detail);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc,
							 values, nulls);
	}
}

/*
 * migrate.resolve(version, state, reason, project) returns void
 *
 * The operator's way out, for a migration a person fixed by hand: marks it
 * applied without running it, or pending again, with a history row that
 * keeps the reason and the role.
 */
Datum
migrate_resolve(PG_FUNCTION_ARGS)
{
	char	   *version = text_arg(fcinfo, 0);
	char	   *state = text_arg(fcinfo, 1);
	char	   *reason = text_arg(fcinfo, 2);
	char	   *project = text_arg(fcinfo, 3);
	MigrateChange call;
	Migration  *m;

	check_project(project);
	check_version(version);
	if (strcmp(state, "applied") != 0 && strcmp(state, "pending") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid state \"%s\"", state),
				 errdetail("A migration is resolved as \"applied\" or as \"pending\".")));
	if (strspn(reason, " \t\r\n") == strlen(reason))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a resolution needs a reason"),
				 errhint("Say what was done by hand: the history keeps it.")));

	migrate_change_begin(&call, "migrate.resolve()", true);
	m = migrate_plan_resolve(project, version, state);
	migrate_runner_resolve(m, state, reason, migrate_catalog_next_run_id());
	migrate_change_end(&call, CHANGE_WRITTEN);
	PG_RETURN_VOID();
}

/*
 * CALL migrate.deploy(target, project, lock_timeout, retries, out_of_order,
 *					   wait, INOUT run_id, INOUT applied)
 */
Datum
migrate_deploy(PG_FUNCTION_ARGS)
{
	DeployOptions options = {0};

	options.procedure = "migrate.deploy()";
	options.target = PG_ARGISNULL(0) ? NULL : text_arg(fcinfo, 0);
	options.project = PG_ARGISNULL(1) ? NULL : text_arg(fcinfo, 1);
	check_project_and_target(options.project, options.target,
							 _("Call migrate.deploy(target => '...', project => 'default')."));
	deploy_options(fcinfo, 2, &options);
	options.out_of_order = bool_arg(fcinfo, 4);
	options.wait = bool_arg(fcinfo, 5);
	return call_deploy(fcinfo, &options);
}

/*
 * CALL migrate.deploy_rollback(steps, project, lock_timeout, retries, wait,
 *								INOUT run_id, INOUT reverted)
 * and the same for deploy_rollback_to(target, ...) and
 * deploy_rollback_all(project, ...): the procedure counterparts of
 * rollback*, with deploy's transactions.
 */
Datum
migrate_deploy_rollback(PG_FUNCTION_ARGS)
{
	DeployOptions options = {0};

	options.procedure = "migrate.deploy_rollback()";
	options.revert = true;
	options.steps = int4_arg(fcinfo, 0);
	options.project = text_arg(fcinfo, 1);
	check_project(options.project);
	if (options.steps < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("steps must be at least 1, not %d", options.steps)));
	deploy_options(fcinfo, 2, &options);
	options.wait = bool_arg(fcinfo, 4);
	return call_deploy(fcinfo, &options);
}

Datum
migrate_deploy_rollback_to(PG_FUNCTION_ARGS)
{
	DeployOptions options = {0};

	options.procedure = "migrate.deploy_rollback_to()";
	options.revert = true;
	options.steps = INT_MAX;
	options.target = text_arg(fcinfo, 0);
	options.project = text_arg(fcinfo, 1);
	check_project(options.project);
	check_version(options.target);
	deploy_options(fcinfo, 2, &options);
	options.wait = bool_arg(fcinfo, 4);
	return call_deploy(fcinfo, &options);
}

Datum
migrate_deploy_rollback_all(PG_FUNCTION_ARGS)
{
	DeployOptions options = {0};

	options.procedure = "migrate.deploy_rollback_all()";
	options.revert = true;
	options.steps = INT_MAX;
	options.project = text_arg(fcinfo, 0);
	check_project(options.project);
	deploy_options(fcinfo, 1, &options);
	options.wait = bool_arg(fcinfo, 3);
	return call_deploy(fcinfo, &options);
}

/* A deploy's lock_timeout and retries, arguments argno and argno + 1. */
static void
deploy_options(FunctionCallInfo fcinfo, int argno, DeployOptions *options)
{
	if (PG_ARGISNULL(argno))
		null_argument(fcinfo, argno);
	options->lock_timeout = lock_timeout_setting(PG_GETARG_INTERVAL_P(argno));
	options->retries = int4_arg(fcinfo, argno + 1);
	if (options->retries < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("retries must not be negative")));
}

/*
 * Runs a deploy and returns the row of its INOUT arguments: the run id and
 * how many migrations it applied or reverted (NULL with wait false: a
 * background worker goes on).  Their input values are ignored.
 */
static Datum
call_deploy(FunctionCallInfo fcinfo, const DeployOptions *options)
{
	CallContext *call = (CallContext *) fcinfo->context;
	bool		atomic = call == NULL || !IsA(call, CallContext) || call->atomic;
	int64		run_id;
	int			done;
	TupleDesc	tupdesc;
	Datum		values[2];
	bool		nulls[2] = {false, false};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "a deploy procedure must return its INOUT arguments as a row");
	tupdesc = BlessTupleDesc(tupdesc);

	migrate_deploy_run(options, atomic, &run_id, &done);

	values[0] = Int64GetDatum(run_id);
	values[1] = Int32GetDatum(done);
	nulls[1] = done < 0;		/* the worker has just begun */
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/*
 * The value of the setting lock_timeout for a deploy's lock_timeout
 * argument: whole milliseconds, "0" (wait forever) for zero.
 */
static char *
lock_timeout_setting(const Interval *timeout)
{
	double		ms;

	/* in double: no interval overflows it, and signs may be mixed */
	ms = timeout->time / 1000.0 +
		((double) timeout->month * DAYS_PER_MONTH + timeout->day) *
		(double) SECS_PER_DAY * 1000.0;
	if (ms < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("lock_timeout must not be negative")));
	if (ms > INT_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("lock_timeout must be at most %d milliseconds", INT_MAX)));
	/* a positive timeout under a millisecond waits a millisecond */
	return psprintf("%d", ms > 0 && ms < 1 ? 1 : (int) ms);
}

/*
 * migrate.cancel(run_id) returns boolean
 *
 * Asks a running deploy to stop: true if it runs and has been asked, false
 * if no deploy with that run id runs.
 */
Datum
migrate_cancel(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0))
		null_argument(fcinfo, 0);
	PG_RETURN_BOOL(migrate_deploy_cancel(PG_GETARG_INT64(0)));
}

/*
 * migrate.status(project) returns setof (project, version, name, kind,
 *		state, applied_at, applied_by, duration_ms, has_down, transactional,
 *		requires, last_error, run_id, pid)
 */
Datum
migrate_status(PG_FUNCTION_ARGS)
{
	char	   *project = PG_ARGISNULL(0) ? NULL : text_arg(fcinfo, 0);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	if (project)
		check_project(project);
	InitMaterializedSRF(fcinfo, 0);
	migrate_catalog_status(project, rsinfo->setResult, rsinfo->setDesc);
	return (Datum) 0;
}

/*
 * migrate.current_version(project) returns migrate.version
 */
Datum
migrate_current_version(PG_FUNCTION_ARGS)
{
	char	   *project = text_arg(fcinfo, 0);
	Datum		result;
	bool		isnull;

	check_project(project);
	result = migrate_catalog_current_version(project, &isnull);
	if (isnull)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(result);
}

/*
 * Puts the results of a run into the function's tuplestore.
 */
static void
return_results(FunctionCallInfo fcinfo, List *results, int64 run_id)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext rowcontext = AllocSetContextCreate(CurrentMemoryContext,
													 "migrate result row",
													 ALLOCSET_SMALL_SIZES);
	MemoryContext oldcontext = MemoryContextSwitchTo(rowcontext);
	ListCell   *lc;

	/* the tuplestore copies each row: its datums need not outlive it */
	foreach(lc, results)
	{
		RunResult  *r = (RunResult *) lfirst(lc);
		Datum		values[8];
		bool		nulls[8] = {false};

		MemoryContextReset(rowcontext);

		values[0] = Int64GetDatum(run_id);
		values[1] = CStringGetTextDatum(r->migration->project);
		if (r->migration->version)
			values[2] = migrate_version_datum(r->migration->version,
											  strlen(r->migration->version));
		else
			nulls[2] = true;	/* a repeatable migration */
		values[3] = CStringGetTextDatum(r->migration->name);
		values[4] = CStringGetTextDatum(r->action);
		values[5] = CStringGetTextDatum(r->ok ? "ok" : "failed");
		values[6] = Float8GetDatum(r->duration_ms);
		if (r->message)
			values[7] = CStringGetTextDatum(r->message);
		else
			nulls[7] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc,
							 values, nulls);
	}
	MemoryContextSwitchTo(oldcontext);
	MemoryContextDelete(rowcontext);
}

/* A required text argument; NULL is 22004. */
static char *
text_arg(FunctionCallInfo fcinfo, int argno)
{
	if (PG_ARGISNULL(argno))
		null_argument(fcinfo, argno);
	return text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

static bool
bool_arg(FunctionCallInfo fcinfo, int argno)
{
	if (PG_ARGISNULL(argno))
		null_argument(fcinfo, argno);
	return PG_GETARG_BOOL(argno);
}

static int32
int4_arg(FunctionCallInfo fcinfo, int argno)
{
	if (PG_ARGISNULL(argno))
		null_argument(fcinfo, argno);
	return PG_GETARG_INT32(argno);
}

/* Throws 22004 naming the argument and the function. */
static void
null_argument(FunctionCallInfo fcinfo, int argno)
{
	Oid			fn = fcinfo->flinfo->fn_oid;
	char	  **argnames;
	Oid		   *argtypes;
	char	   *argmodes;
	HeapTuple	tuple;
	const char *argname = NULL;

	tuple = SearchSysCache1(PROCOID, ObjectIdGetDatum(fn));
	if (HeapTupleIsValid(tuple))
	{
		int			nargs = get_func_arg_info(tuple, &argtypes, &argnames,
											  &argmodes);

		if (argnames && argno < nargs)
			argname = argnames[argno];
		ReleaseSysCache(tuple);
	}
	ereport(ERROR,
			(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
			 errmsg("argument \"%s\" of migrate.%s() must not be null",
					argname ? argname : "?", get_func_name(fn))));
}

static void
check_project(const char *project)
{
	if (!migrate_project_name_is_valid(project))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid project name \"%s\"", project),
				 errdetail("A project name is a lowercase identifier: a letter or \"_\", then letters, digits or \"_\", at most 63 bytes.")));
}

static void
check_version(const char *version)
{
	migrate_version_validate(version, strlen(version));
}

static void
check_name(const char *name)
{
	if (name[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("migration name must not be empty")));
	if (strlen(name) > MIGRATE_NAME_MAX_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_NAME_TOO_LONG),
				 errmsg("migration name is too long"),
				 errdetail("A migration name is at most %d bytes.",
						   MIGRATE_NAME_MAX_LEN)));
}
