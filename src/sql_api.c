/*-------------------------------------------------------------------------
 *
 * sql_api.c
 *	  The SQL-callable functions of schema migrate.
 *
 * Each function checks its arguments, calls into one module and shapes the
 * result; the whole public surface can be read here.  None is STRICT: a
 * NULL where a value is required is 22004, never a silent NULL result.
 *
 * Functions that change the catalog (register, unregister, run, rollback)
 * refuse to run on a standby or in a read-only transaction (25006), refuse
 * to be called from inside a migration, then take the migration lock for
 * the rest of the caller's transaction.  Readers (status,
 * current_version) take no lock and never wait.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "lib/stringinfo.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "utils/tuplestore.h"

#include "catalog.h"
#include "lock.h"
#include "plan.h"
#include "runner.h"
#include "script.h"
#include "version.h"

/* The longest migration name we accept, in bytes. */
#define MIGRATE_NAME_MAX_LEN 1024

/* The default project. */
#define MIGRATE_DEFAULT_PROJECT "default"

PG_FUNCTION_INFO_V1(migrate_register);
PG_FUNCTION_INFO_V1(migrate_register_repeatable);
PG_FUNCTION_INFO_V1(migrate_validate);
PG_FUNCTION_INFO_V1(migrate_unregister);
PG_FUNCTION_INFO_V1(migrate_run);
PG_FUNCTION_INFO_V1(migrate_rollback);
PG_FUNCTION_INFO_V1(migrate_rollback_to);
PG_FUNCTION_INFO_V1(migrate_rollback_all);
PG_FUNCTION_INFO_V1(migrate_baseline);
PG_FUNCTION_INFO_V1(migrate_status);
PG_FUNCTION_INFO_V1(migrate_current_version);

static char *text_arg(FunctionCallInfo fcinfo, int argno);
static bool bool_arg(FunctionCallInfo fcinfo, int argno);
static int32 int4_arg(FunctionCallInfo fcinfo, int argno);
static void null_argument(FunctionCallInfo fcinfo, int argno);
static void check_project(const char *project);
static void check_version(const char *version);
static void check_name(const char *name);
static List *normalize_requires(ArrayType *requires, const char *project,
								const char *version);
static const char *store_registration(Migration *m, const char *function);
static void check_can_change(const char *function);
static void begin_change(const char *function, bool wait);
static void prepare_change(const char *function);
static void note_if_nothing_due(void);
static bool project_name_is_valid(const char *project);
static int	requirement_cmp(const ListCell *a, const ListCell *b);
static int	migration_version_cmp(const ListCell *a, const ListCell *b);
static char *join_names(List *names);
static void check_can_act_as(const Migration *m, const char *what);
static List *describe_changes(const Migration *old, const Migration *new);
static void put_problems(ReturnSetInfo *rsinfo, List *problems,
						 const char *severity, const char *problem);
static void revert(FunctionCallInfo fcinfo, const char *function,
				   const char *project, int steps, const char *target,
				   bool dry_run, bool wait);
static void return_results(FunctionCallInfo fcinfo, List *results,
						   int64 run_id);

/*
 * migrate.register(version, name, up, down, requires, transactional,
 *					project) returns text
 *
 * Returns "registered", "unchanged" or "updated".
 */
Datum
migrate_register(PG_FUNCTION_ARGS)
{
	Migration  *m = palloc0(sizeof(Migration));
	ScriptLabel label;
	const char *result;

	check_can_change("migrate.register()");
	m->version = text_arg(fcinfo, 0);
	m->name = text_arg(fcinfo, 1);
	m->up = text_arg(fcinfo, 2);
	m->down = PG_ARGISNULL(3) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(3));
	if (PG_ARGISNULL(4))
		null_argument(fcinfo, 4);
	m->transactional = bool_arg(fcinfo, 5);
	m->project = text_arg(fcinfo, 6);

	check_project(m->project);
	check_version(m->version);
	check_name(m->name);
	m->requires = normalize_requires(PG_GETARG_ARRAYTYPE_P(4), m->project,
									 m->version);
	m->registered_by = GetUserNameFromId(GetUserId(), false);

	/* Parse and check the scripts before taking any lock. */
	label.project = m->project;
	label.version = m->version;
	label.name = m->name;
	label.part = "up";
	m->checksum = migrate_script_check(m->up, m->transactional, &label);
	if (m->down)
	{
		label.part = "down";
		m->down_checksum = migrate_script_check(m->down, m->transactional,
												&label);
	}

	result = store_registration(m, "migrate.register()");
	PG_RETURN_TEXT_P(cstring_to_text(result));
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

	check_can_change("migrate.register_repeatable()");
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
	label.part = "repeatable";
	m->checksum = migrate_script_check(m->up, true, &label);

	PG_RETURN_TEXT_P(cstring_to_text(store_registration(m,
														"migrate.register_repeatable()")));
}

/*
 * store_registration
 *		Inserts or updates the registration m (scripts already checked) and
 *		returns "registered", "unchanged" or "updated".
 */
static const char *
store_registration(Migration *m, const char *function)
{
	Migration  *old;
	const char *result;
	ScriptLabel label = {m->project, m->version, m->name,
	m->repeatable ? "repeatable" : "up"};

	begin_change(function, true);
	if (m->repeatable)
		old = migrate_catalog_get_repeatable(m->project, m->name);
	else
		old = migrate_catalog_get(m->project, m->version);
	if (old == NULL)
	{
		migrate_catalog_touch();
		migrate_catalog_insert(m);
		result = "registered";
	}
	else
	{
		List	   *changes = describe_changes(old, m);

		if (changes == NIL)
			result = "unchanged";
		else
		{
			check_can_act_as(old, "change");
			if (!m->repeatable && strcmp(old->state, "applied") == 0 &&
				strcmp(old->checksum, m->checksum) != 0)
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("migration %s is applied and its up script cannot change",
								migrate_script_describe(&label)),
						 errdetail("Applied checksum: %s. New checksum: %s.",
								   old->checksum, m->checksum),
						 errhint("Write a new migration for the change instead of editing an applied one.")));

			m->id = old->id;
			label.version = old->version;	/* as stored */
			migrate_catalog_touch();
			migrate_catalog_update(m);
			ereport(NOTICE,
					(errmsg("migration %s updated: %s changed",
							migrate_script_describe(&label),
							join_names(changes))));
			result = "updated";
		}
	}
	SPI_finish();
	return result;
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
	Migration  *m;
	ScriptLabel label;
	char	   *required_by;

	check_project(project);
	check_version(version);

	begin_change("migrate.unregister()", true);
	m = migrate_catalog_get(project, version);
	if (m == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("migration %s %s is not registered", project, version)));

	label.project = m->project;
	label.version = m->version;
	label.name = m->name;
	label.part = "up";
	if (strcmp(m->state, "applied") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot unregister migration %s because it is applied",
						migrate_script_describe(&label)),
				 errhint("Revert it first with migrate.rollback().")));
	check_can_act_as(m, "unregister");
	if (migrate_catalog_is_required(m, &required_by))
		ereport(ERROR,
				(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
				 errmsg("cannot unregister migration %s because migration %s requires it",
						migrate_script_describe(&label), required_by),
				 errhint("Unregister or change the migrations that require it first.")));

	migrate_catalog_touch();
	migrate_catalog_delete(m->id);
	note_if_nothing_due();
	SPI_finish();

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
	List	   *plan;
	List	   *results = NIL;
	int64		run_id = 0;
	ListCell   *lc;

	if (project)
		check_project(project);
	if (target)
	{
		if (project == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("a target version needs a project"),
					 errhint("Call migrate.run(target => '...', project => 'default').")));
		check_version(target);
	}

	InitMaterializedSRF(fcinfo, 0);

	/*
	 * The common case, nothing to do, is answered without planning any SQL
	 * and without keeping the lock: wait for a change in progress to end,
	 * then look (lock.c, catalog.c).
	 */
	prepare_change("migrate.run()");
	if (target == NULL)
	{
		migrate_lock_wait_for_holder(wait);
		if (!migrate_catalog_anything_due())
		{
			SPI_finish();
			return (Datum) 0;
		}
	}
	migrate_lock_acquire(wait);

	if (target && migrate_catalog_get(project, target) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("target migration %s %s is not registered",
						project, target)));

	/* Someone may have done it while we waited for the lock. */
	if (target == NULL && !migrate_catalog_anything_due())
		plan = NIL;
	else
		plan = migrate_plan_apply(project, target, out_of_order);
	if (plan != NIL)
	{
		foreach(lc, plan)
		{
			Migration  *m = (Migration *) lfirst(lc);
			ScriptLabel label = {m->project, m->version, m->name, "up"};

			if (!m->transactional)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("migration %s is not transactional and cannot run inside migrate.run()",
								migrate_script_describe(&label)),
						 errdetail("migrate.run() runs in the caller's transaction; this migration must run outside any transaction block."),
						 errhint("Non-transactional migrations need the migrate.deploy() procedure, which is not built yet; see README.md, \"Limits\".")));
		}
		migrate_runner_check_roles(plan);
		run_id = migrate_catalog_next_run_id();
		results = migrate_runner_run(plan, false, atomic, dry_run, run_id);
		if (!dry_run)
			note_if_nothing_due();
	}

	return_results(fcinfo, results, run_id);
	SPI_finish();
	return (Datum) 0;
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
	revert(fcinfo, "migrate.rollback()", project, steps, NULL, dry_run, wait);
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
	revert(fcinfo, "migrate.rollback_to()", project, INT_MAX, target,
		   dry_run, wait);
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
	revert(fcinfo, "migrate.rollback_all()", project, INT_MAX, NULL,
		   dry_run, wait);
	return (Datum) 0;
}

/*
 * The body of the rollback functions: revert the plan and return its rows.
 */
static void
revert(FunctionCallInfo fcinfo, const char *function, const char *project,
	   int steps, const char *target, bool dry_run, bool wait)
{
	List	   *plan;
	List	   *results = NIL;
	int64		run_id = 0;

	InitMaterializedSRF(fcinfo, 0);
	begin_change(function, wait);
	if (target && migrate_catalog_get(project, target) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("target migration %s %s is not registered",
						project, target)));

	plan = migrate_plan_revert(project, steps, target);
	if (plan != NIL)
	{
		migrate_runner_check_roles(plan);
		run_id = migrate_catalog_next_run_id();
		results = migrate_runner_run(plan, true, true, dry_run, run_id);
	}
	return_results(fcinfo, results, run_id);
	SPI_finish();
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
	char	   *highest;
	List	   *plan = NIL;
	ListCell   *lc;
	int			count = 0;

	check_project(project);
	check_version(version);
	begin_change("migrate.baseline()", true);

	highest = migrate_catalog_highest_applied(project);
	if (highest != NULL || migrate_catalog_has_applied(project))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot baseline project \"%s\" because it has applied migrations",
						project),
				 highest ? errdetail("Its highest applied version is %s.", highest) : 0,
				 errhint("A baseline adopts a database that migrate has not managed yet.")));

	foreach(lc, migrate_catalog_unapplied())
	{
		Migration  *m = (Migration *) lfirst(lc);

		if (!m->repeatable && strcmp(m->project, project) == 0 &&
			migrate_version_compare(m->version, strlen(m->version),
									version, strlen(version)) <= 0)
			plan = lappend(plan, m);
	}
	if (plan != NIL)
	{
		/* in version order, so rollback() later reverts the highest first */
		list_sort(plan, migration_version_cmp);
		migrate_catalog_touch();
		count = migrate_runner_baseline(plan,
										migrate_catalog_next_run_id());
		note_if_nothing_due();
	}
	SPI_finish();
	PG_RETURN_INT32(count);
}

/*
 * migrate.validate(project) returns setof (project, version, severity,
 *		problem, detail)
 *
 * Finds, without changing anything, what would stop or surprise a run:
 * missing requirements and dependency cycles (error), out-of-order
 * pending migrations (warning), applied migrations whose checksum changed
 * (error), history of unregistered migrations (warning), applied
 * migrations without down and outdated repeatable ones (info).
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
	migrate_catalog_validate(project, rsinfo->setResult, rsinfo->setDesc);
	SPI_finish();
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
 * migrate.status(project) returns setof (project, version, name, kind,
 *		state, applied_at, applied_by, duration_ms, has_down, transactional,
 *		requires, last_error)
 */
Datum
migrate_status(PG_FUNCTION_ARGS)
{
	char	   *project = PG_ARGISNULL(0) ? NULL : text_arg(fcinfo, 0);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	if (project)
		check_project(project);
	InitMaterializedSRF(fcinfo, 0);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	migrate_catalog_status(project, rsinfo->setResult, rsinfo->setDesc);
	SPI_finish();
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
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	result = migrate_catalog_current_version(project, &isnull);
	SPI_finish();
	if (isnull)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(result);
}

/*
 * check_can_change
 *		Refuses to change the catalog on a standby, in a read-only
 *		transaction and inside a migration.  Cheap: called first.
 */
static void
check_can_change(const char *function)
{
	PreventCommandDuringRecovery(function);
	PreventCommandIfReadOnly(function);
	migrate_runner_prevent_reentry(function);
}

/*
 * begin_change
 *		What every function that changes the catalog does before reading
 *		it: check_can_change, connect to SPI, take the migration lock.
 */
static void
begin_change(const char *function, bool wait)
{
	prepare_change(function);
	migrate_lock_acquire(wait);
}

/*
 * note_if_nothing_due
 *		After a change that may have left nothing to apply (run, baseline,
 *		unregister): if so, say it in migrate.generation, where the next
 *		run() calls (and those queued behind this one) read it.
 */
static void
note_if_nothing_due(void)
{
	if (!migrate_catalog_due_index_has_rows())
		migrate_catalog_note_nothing_due();
}

/*
 * begin_change without the lock.
 *
 * What the call allocates from here on (the plan, the results) goes into a
 * child of SPI's procedure context, deleted with it by SPI_finish, whose
 * blocks stay at most 1 MB: a run of thousands of migrations grows it
 * steadily, and AllocSet's default doubling would end in blocks of 8 MB,
 * mostly unused.
 */
static void
prepare_change(const char *function)
{
	check_can_change(function);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	MemoryContextSwitchTo(AllocSetContextCreate(CurrentMemoryContext,
												"migrate call",
												ALLOCSET_DEFAULT_MINSIZE,
												ALLOCSET_DEFAULT_INITSIZE,
												1024 * 1024));
}

/*
 * check_can_act_as
 *		Changing a registration needs the rights to act as its registrant
 *		(membership, as SET ROLE requires).
 */
static void
check_can_act_as(const Migration *m, const char *what)
{
	Oid			role = get_role_oid(m->registered_by, true);
	ScriptLabel label = {m->project, m->version, m->name, "up"};

	if (OidIsValid(role) ? is_member_of_role(GetUserId(), role) : superuser())
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied to %s migration %s",
					what, migrate_script_describe(&label)),
			 errdetail("It was registered by role \"%s\", and role \"%s\" is not a member of it.",
					   m->registered_by,
					   GetUserNameFromId(GetUserId(), false))));
}

/* The names of the fields that differ between two registrations. */
static List *
describe_changes(const Migration *old, const Migration *new)
{
	List	   *changes = NIL;
	List	   *oldreq = list_copy(old->requires);
	List	   *newreq = list_copy(new->requires);
	ListCell   *a;
	ListCell   *b;
	bool		same_requires;

	if (strcmp(old->name, new->name) != 0)
		changes = lappend(changes, "name");
	if (strcmp(old->checksum, new->checksum) != 0)
		changes = lappend(changes, "up");
	if ((old->down_checksum == NULL) != (new->down_checksum == NULL) ||
		(old->down_checksum &&
		 strcmp(old->down_checksum, new->down_checksum) != 0))
		changes = lappend(changes, "down");

	list_sort(oldreq, requirement_cmp);
	list_sort(newreq, requirement_cmp);
	same_requires = list_length(oldreq) == list_length(newreq);
	forboth(a, oldreq, b, newreq)
	{
		if (requirement_cmp(a, b) != 0)
			same_requires = false;
	}
	if (!same_requires)
		changes = lappend(changes, "requires");
	if (old->transactional != new->transactional)
		changes = lappend(changes, "transactional");
	return changes;
}

/*
 * normalize_requires
 *		Validates a requires array and returns its entries as
 *		"project:version" strings, without duplicates.
 */
static List *
normalize_requires(ArrayType *requires, const char *project,
				   const char *version)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	int			i;
	List	   *result = NIL;

	deconstruct_array(requires, TEXTOID, -1, false, TYPALIGN_INT,
					  &elems, &nulls, &n);
	for (i = 0; i < n; i++)
	{
		char	   *entry;
		char	   *colon;
		char	   *rproject;
		char	   *rversion;
		char	   *normal;
		ListCell   *lc;
		bool		dup = false;

		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("requires must not contain NULL")));
		entry = TextDatumGetCString(elems[i]);
		colon = strchr(entry, ':');
		if (colon)
		{
			rproject = pnstrdup(entry, colon - entry);
			rversion = colon + 1;
		}
		else
		{
			rproject = pstrdup(project);
			rversion = entry;
		}
		if (colon && !project_name_is_valid(rproject))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid requires entry \"%s\"", entry),
					 errdetail("An entry is \"version\" (same project) or \"project:version\"; \"%s\" is not a valid project name.",
							   rproject)));
		if (!migrate_version_is_valid(rversion, strlen(rversion)))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid requires entry \"%s\"", entry),
					 errdetail("An entry is \"version\" (same project) or \"project:version\"; \"%s\" is not a valid version.",
							   rversion)));
		if (strcmp(rproject, project) == 0 &&
			migrate_version_compare(rversion, strlen(rversion),
									version, strlen(version)) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("migration %s %s cannot require itself",
							project, version)));

		normal = psprintf("%s:%s", rproject, rversion);
		foreach(lc, result)
		{
			char	   *other = (char *) lfirst(lc);
			char	   *oproject;
			char	   *oversion;

			migrate_plan_split_requirement(other, &oproject, &oversion);
			if (strcmp(oproject, rproject) == 0 &&
				migrate_version_compare(oversion, strlen(oversion),
										rversion, strlen(rversion)) == 0)
				dup = true;
		}
		if (!dup)
			result = lappend(result, normal);
	}
	return result;
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

/* Orders Migrations of one project by version. */
static int
migration_version_cmp(const ListCell *a, const ListCell *b)
{
	const Migration *ma = (const Migration *) lfirst(a);
	const Migration *mb = (const Migration *) lfirst(b);

	return migrate_version_compare(ma->version, strlen(ma->version),
								   mb->version, strlen(mb->version));
}

/*
 * Orders "project:version" requirements by project, then version
 * naturally, so "default:1" and "default:001" compare equal.
 */
static int
requirement_cmp(const ListCell *a, const ListCell *b)
{
	char	   *aproject;
	char	   *aversion;
	char	   *bproject;
	char	   *bversion;
	int			c;

	migrate_plan_split_requirement((const char *) lfirst(a),
								   &aproject, &aversion);
	migrate_plan_split_requirement((const char *) lfirst(b),
								   &bproject, &bversion);
	c = strcmp(aproject, bproject);
	if (c == 0)
		c = migrate_version_compare(aversion, strlen(aversion),
									bversion, strlen(bversion));
	return c;
}

/* "a, b and c" */
static char *
join_names(List *names)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	foreach(lc, names)
	{
		if (foreach_current_index(lc) > 0)
			appendStringInfoString(&buf,
								   lnext(names, lc) ? ", " : " and ");
		appendStringInfoString(&buf, (const char *) lfirst(lc));
	}
	return buf.data;
}

/* A project name: [a-z_][a-z0-9_]*, 1 to 63 bytes. */
static bool
project_name_is_valid(const char *project)
{
	const char *p;

	if (project[0] == '\0' || strlen(project) > NAMEDATALEN - 1)
		return false;
	if (!((project[0] >= 'a' && project[0] <= 'z') || project[0] == '_'))
		return false;
	for (p = project; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
			  *p == '_'))
			return false;
	return true;
}

static void
check_project(const char *project)
{
	if (!project_name_is_valid(project))
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
