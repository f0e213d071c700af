/*-------------------------------------------------------------------------
 *
 * plan.c
 *	  Choosing and ordering the migrations to apply or to revert.
 *
 * Applying: the candidates are the versioned migrations that are not
 * applied (pending or failed), then the repeatable ones that are due.  A
 * migration follows its predecessor version in its own project and
 * everything it requires; among the
 * migrations whose predecessors are all done, the smallest (project,
 * version) goes first.  This is Kahn's algorithm with a heap, so the order
 * is stable: the same catalog always gives the same order.
 *
 * Reverting: the newest-applied migrations first.  Refused as a whole,
 * before anything runs, if one of them has no down script or if an applied
 * migration that stays requires one of them.
 *
 * Baselining: the unapplied versioned migrations of a project up to a
 * version, in version order, for a project that has nothing applied.
 *
 * What stands in the way of a plan is described by one sentence per
 * migration (PlanProblem), the same in validate()'s rows and in the
 * details of the errors here.
 *
 * Everything here reads the catalog (the caller holds the migration lock
 * and is connected to SPI) and throws before anything runs; results are
 * Migration lists in the current memory context.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/binaryheap.h"
#include "miscadmin.h"
#include "utils/memutils.h"

#include "catalog.h"
#include "plan.h"
#include "version.h"

/* A candidate for applying, and its place in the dependency graph. */
typedef struct PlanNode
{
	Migration  *m;
	bool		selected;		/* to be applied */
	int			npreds;			/* selected nodes it waits for */
	List	   *succs;			/* indexes of nodes waiting for it */
	bool		behind;			/* waits for a cycle without being on one */
} PlanNode;

static int	version_cmp(const char *a, const char *b);
static int	node_cmp(const void *a, const void *b);
static int	heap_cmp(Datum a, Datum b, void *arg);
static int	find_node(PlanNode *nodes, int n, const char *project,
					  const char *version);
static int	find_requirement(PlanNode *nodes, int n, const char *req,
							 char **project, char **version);
static void select_node(PlanNode *nodes, int n, int i, List **work);
static PlanProblem *make_problem(Migration *m, char *detail);
static char *join_problems(List *problems);
static int	migration_version_cmp(const ListCell *a, const ListCell *b);
static bool in_list(List *migrations, int64 id);

static int
version_cmp(const char *a, const char *b)
{
	return migrate_version_compare(a, strlen(a), b, strlen(b));
}

/* Orders migrations by (project, version). */
static int
migration_cmp(const Migration *a, const Migration *b)
{
	int			c = strcmp(a->project, b->project);

	return c != 0 ? c : version_cmp(a->version, b->version);
}

static int
node_cmp(const void *a, const void *b)
{
	return migration_cmp(((const PlanNode *) a)->m,
						 ((const PlanNode *) b)->m);
}

/* binaryheap keeps the greatest on top: invert to pop the smallest. */
static int
heap_cmp(Datum a, Datum b, void *arg)
{
	PlanNode   *nodes = (PlanNode *) arg;

	return -migration_cmp(nodes[DatumGetInt32(a)].m,
						  nodes[DatumGetInt32(b)].m);
}

/* Index of (project, version) in the sorted nodes, or -1. */
static int
find_node(PlanNode *nodes, int n, const char *project, const char *version)
{
	int			lo = 0;
	int			hi = n - 1;

	while (lo <= hi)
	{
		int			mid = lo + (hi - lo) / 2;
		int			c = strcmp(nodes[mid].m->project, project);

		if (c == 0)
			c = version_cmp(nodes[mid].m->version, version);
		if (c == 0)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

/*
 * Index of the node a requirement ("project:version") names, or -1; its
 * parts are returned too.
 */
static int
find_requirement(PlanNode *nodes, int n, const char *req, char **project,
				 char **version)
{
	migrate_requirement_split(req, NULL, project, version);
	return find_node(nodes, n, *project, *version);
}

/* Marks node i and every lower pending version of its project selected. */
static void
select_node(PlanNode *nodes, int n, int i, List **work)
{
	const char *project = nodes[i].m->project;

	for (; i >= 0 && strcmp(nodes[i].m->project, project) == 0; i--)
	{
		if (nodes[i].selected)
			break;				/* and so are the ones below it */
		nodes[i].selected = true;
		*work = lappend_int(*work, i);
	}
}

/*
 * migrate_plan_analyze
 *		What run(target, project) would apply, in order, and what stands in
 *		its way.  Throws only on catalog errors.
 *
 * project NULL means every project; otherwise the pending migrations of
 * project (up to target, if given) and whatever pending migrations of
 * other projects they need.  Repeatable migrations that are due (never
 * applied, failed, or changed since applied) come after every versioned
 * one, by (project, name); a target leaves them out.
 */
PlanAnalysis *
migrate_plan_analyze(const char *project, const char *target)
{
	PlanAnalysis *pa = palloc0(sizeof(PlanAnalysis));
	List	   *unapplied = migrate_catalog_unapplied();
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext graph;
	PlanNode   *nodes;
	int			n = 0;
	int			i;
	ListCell   *lc;
	List	   *work = NIL;
	binaryheap *heap;

	/*
	 * The graph (nodes, edges, work lists) is scaffolding: it lives in a
	 * context of its own, deleted before returning, so that a run of
	 * thousands of migrations keeps only the Migrations and the order. What
	 * goes into pa is made in the caller's context.
	 */
	graph = AllocSetContextCreate(caller, "migrate plan graph",
								  ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(graph);
	nodes = palloc0(sizeof(PlanNode) * Max(list_length(unapplied), 1));
	foreach(lc, unapplied)
	{
		Migration  *m = (Migration *) lfirst(lc);

		if (!m->repeatable)
			nodes[n++].m = m;
	}
	qsort(nodes, n, sizeof(PlanNode), node_cmp);

	/* The seeds: what the caller asked for. */
	for (i = n - 1; i >= 0; i--)
	{
		Migration  *m = nodes[i].m;

		if (nodes[i].selected)
			continue;
		if (project != NULL && strcmp(m->project, project) != 0)
			continue;
		if (target != NULL && version_cmp(m->version, target) > 0)
			continue;
		select_node(nodes, n, i, &work);
	}

	/* Close over requirements, and note the missing ones (any order). */
	while (work != NIL)
	{
		Migration  *m = nodes[llast_int(work)].m;

		work = list_delete_last(work);
		foreach(lc, m->requires)
		{
			char	   *rproject;
			char	   *rversion;
			int			r = find_requirement(nodes, n, (char *) lfirst(lc),
											 &rproject, &rversion);

			if (r >= 0)
			{
				if (!nodes[r].selected)
					select_node(nodes, n, r, &work);
			}
			else if (migrate_catalog_get(rproject, rversion, NULL) == NULL)
			{
				MemoryContextSwitchTo(caller);
				pa->missing = lappend(pa->missing,
									  make_problem(m, psprintf(_("Migration %s requires migration %s, which is not registered."),
															   migrate_migration_describe(m),
															   migrate_migration_name(rproject, rversion, NULL))));
				MemoryContextSwitchTo(graph);
			}
		}
	}

	/* Out of order: below the highest applied version of its project. */
	for (i = 0; i < n; i++)
	{
		char	   *highest;
		int			j;

		if (i > 0 && strcmp(nodes[i].m->project, nodes[i - 1].m->project) == 0)
			continue;
		highest = migrate_catalog_highest_applied(nodes[i].m->project, NULL);
		if (highest == NULL)
			continue;
		MemoryContextSwitchTo(caller);
		for (j = i; j < n && strcmp(nodes[j].m->project,
									nodes[i].m->project) == 0; j++)
			if (nodes[j].selected &&
				version_cmp(nodes[j].m->version, highest) < 0)
				pa->late = lappend(pa->late,
								   make_problem(nodes[j].m,
												psprintf(_("Migration %s is pending below applied version %s."),
														 migrate_migration_describe(nodes[j].m),
														 highest)));
		MemoryContextSwitchTo(graph);
	}

	/* The edges: predecessor in its project, then requirements. */
	for (i = 0; i < n; i++)
	{
		Migration  *m = nodes[i].m;

		if (!nodes[i].selected)
			continue;
		if (i > 0 && nodes[i - 1].selected &&
			strcmp(nodes[i - 1].m->project, m->project) == 0)
		{
			nodes[i - 1].succs = lappend_int(nodes[i - 1].succs, i);
			nodes[i].npreds++;
		}
		foreach(lc, m->requires)
		{
			char	   *rproject;
			char	   *rversion;
			int			r = find_requirement(nodes, n, (char *) lfirst(lc),
											 &rproject, &rversion);

			if (r >= 0 && r != i)
			{
				Assert(nodes[r].selected);
				nodes[r].succs = lappend_int(nodes[r].succs, i);
				nodes[i].npreds++;
			}
		}
	}

	/* Kahn's algorithm, smallest (project, version) first. */
	heap = binaryheap_allocate(Max(n, 1), heap_cmp, nodes);
	for (i = 0; i < n; i++)
		if (nodes[i].selected && nodes[i].npreds == 0)
			binaryheap_add(heap, Int32GetDatum(i));
	while (!binaryheap_empty(heap))
	{
		int			k = DatumGetInt32(binaryheap_remove_first(heap));

		CHECK_FOR_INTERRUPTS();
		MemoryContextSwitchTo(caller);
		pa->order = lappend(pa->order, nodes[k].m);
		MemoryContextSwitchTo(graph);
		foreach(lc, nodes[k].succs)
		{
			int			s = lfirst_int(lc);

			if (--nodes[s].npreds == 0)
				binaryheap_add(heap, Int32GetDatum(s));
		}
	}
	binaryheap_free(heap);

	/*
	 * Whatever still waits is in a cycle, or behind one.  Peel off, again and
	 * again, the waiting nodes that nothing waiting depends on: those are
	 * behind a cycle; what remains is on one.
	 */
	{
		bool		changed = true;

		for (i = 0; i < n; i++)
			nodes[i].behind = false;
		while (changed)
		{
			changed = false;
			for (i = 0; i < n; i++)
			{
				bool		blocks = false;

				if (!nodes[i].selected || nodes[i].npreds == 0 ||
					nodes[i].behind)
					continue;
				foreach(lc, nodes[i].succs)
				{
					PlanNode   *succ = &nodes[lfirst_int(lc)];

					if (succ->npreds > 0 && !succ->behind)
						blocks = true;
				}
				if (!blocks)
				{
					nodes[i].behind = true;
					changed = true;
				}
			}
		}
	}
	MemoryContextSwitchTo(caller);
	for (i = 0; i < n; i++)
		if (nodes[i].selected && nodes[i].npreds > 0)
			pa->cycle = lappend(pa->cycle,
								make_problem(nodes[i].m,
											 nodes[i].behind ?
											 psprintf(_("Migration %s waits for migrations in a dependency cycle."),
													  migrate_migration_describe(nodes[i].m)) :
											 psprintf(_("Migration %s is in a dependency cycle."),
													  migrate_migration_describe(nodes[i].m))));

	/* Repeatable migrations that are due, after all versioned ones. */
	if (target == NULL)
	{
		foreach(lc, migrate_catalog_repeatables_due())
		{
			Migration  *m = (Migration *) lfirst(lc);

			if (project == NULL || strcmp(m->project, project) == 0)
				pa->order = lappend(pa->order, m);
		}
	}
	MemoryContextDelete(graph);
	return pa;
}

/*
 * migrate_plan_apply
 *		The migrations run() applies, in order.  Throws, naming the
 *		migrations involved, on a missing requirement, on out-of-order
 *		migrations (unless out_of_order), and on a dependency cycle.
 */
List *
migrate_plan_apply(const char *project, const char *target,
				   bool out_of_order)
{
	PlanAnalysis *pa = migrate_plan_analyze(project, target);

	if (pa->missing != NIL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("pending migrations require migrations that are not registered"),
				 errdetail_internal("%s", join_problems(pa->missing)),
				 errhint("Register the required migrations, or correct the requires lists.")));
	if (pa->late != NIL && !out_of_order)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pending migrations are out of order"),
				 errdetail_internal("%s", join_problems(pa->late)),
				 errhint("Apply them anyway with out_of_order => true, or give them higher versions.")));
	if (pa->cycle != NIL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
				 errmsg("pending migrations form a dependency cycle"),
				 errdetail_internal("%s", join_problems(pa->cycle)),
				 errhint("A migration follows the lower versions of its project and what it requires; correct the requires lists.")));
	return pa->order;
}

static PlanProblem *
make_problem(Migration *m, char *detail)
{
	PlanProblem *p = palloc(sizeof(PlanProblem));

	p->migration = m;
	p->detail = detail;
	return p;
}

/* The sentences of problems, one per line, for an error's detail. */
static char *
join_problems(List *problems)
{
	List	   *sentences = NIL;
	ListCell   *lc;

	foreach(lc, problems)
		sentences = lappend(sentences, ((PlanProblem *) lfirst(lc))->detail);
	return migrate_join(sentences, "\n");
}

/*
 * migrate_plan_revert
 *		The applied migrations of project to revert, in the order to revert
 *		them (newest applied first): the steps newest ones, or with target,
 *		every one whose version sorts above target.  Throws if one has no
 *		down script or is required by an applied migration that stays.
 */
List *
migrate_plan_revert(const char *project, int steps, const char *target)
{
	List	   *revert = migrate_catalog_applied_newest_first(project, steps);
	List	   *dependents;
	ListCell   *lc;
	List	   *nodown = NIL;

	if (target != NULL)
	{
		List	   *above = NIL;

		foreach(lc, revert)
		{
			Migration  *m = (Migration *) lfirst(lc);

			if (version_cmp(m->version, target) > 0)
				above = lappend(above, m);
		}
		revert = above;
	}

	foreach(lc, revert)
	{
		Migration  *m = (Migration *) lfirst(lc);

		if (m->down == NULL)
			nodown = lappend(nodown, migrate_migration_describe(m));
	}
	if (nodown != NIL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot revert migrations that have no down script"),
				 errdetail("Without a down script: %s.",
						   migrate_join(nodown, ", ")),
				 errhint("Register a down script for them first (allowed while applied), or revert fewer migrations.")));

	dependents = migrate_catalog_with_requires(true);
	foreach(lc, dependents)
	{
		Migration  *d = (Migration *) lfirst(lc);
		ListCell   *vc;

		if (in_list(revert, d->id))
			continue;			/* reverted too */
		foreach(vc, revert)
		{
			Migration  *m = (Migration *) lfirst(vc);

			if (migrate_migration_requires(d, m->project, m->version))
				ereport(ERROR,
						(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
						 errmsg("cannot revert migration %s: applied migration %s requires it",
								migrate_migration_describe(m),
								migrate_migration_describe(d)),
						 errhint("Revert the migrations that require it first.")));
		}
	}
	return revert;
}

/*
 * migrate_plan_baseline
 *		The migrations baseline(version, project) marks applied: every
 *		unapplied versioned migration of project up to version, in version
 *		order (so that rollback() later reverts the highest first).  Throws
 *		if any migration of the project is applied.
 */
List *
migrate_plan_baseline(const char *project, const char *version)
{
	bool		any_applied;
	char	   *highest = migrate_catalog_highest_applied(project, &any_applied);
	List	   *plan = NIL;
	ListCell   *lc;

	if (any_applied)
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
			version_cmp(m->version, version) <= 0)
			plan = lappend(plan, m);
	}
	list_sort(plan, migration_version_cmp);
	return plan;
}

/*
 * migrate_plan_resolve
 *		The migration resolve(version, state, ..., project) marks applied or
 *		pending ("applied" or "pending" in state).  Throws if it is not
 *		registered, is in that state already, or if the change would break
 *		a requirement: an applied migration that requires one marked
 *		pending, a migration marked applied that requires one not applied.
 */
Migration *
migrate_plan_resolve(const char *project, const char *version,
					 const char *state)
{
	Migration  *m = migrate_catalog_get(project, version, NULL);
	bool		to_applied = strcmp(state, "applied") == 0;
	ListCell   *lc;

	if (m == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("migration %s is not registered",
						migrate_migration_name(project, version, NULL))));
	if (to_applied && migrate_migration_is_applied(m))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("migration %s is applied already",
						migrate_migration_describe(m))));
	if (!to_applied && strcmp(m->state, "pending") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("migration %s is pending already",
						migrate_migration_describe(m))));

	if (to_applied)
	{
		foreach(lc, m->requires)
		{
			char	   *rproject;
			char	   *rversion;
			Migration  *r;

			migrate_requirement_split((char *) lfirst(lc), m->project,
									  &rproject, &rversion);
			r = migrate_catalog_get(rproject, rversion, NULL);
			if (r == NULL || !migrate_migration_is_applied(r))
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("cannot mark migration %s applied because it requires migration %s, which is not applied",
								migrate_migration_describe(m),
								migrate_migration_name(rproject, rversion, NULL))));
		}
	}
	else
	{
		Migration  *d = migrate_plan_dependent(m, true);

		if (d != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
					 errmsg("cannot mark migration %s pending because applied migration %s requires it",
							migrate_migration_describe(m),
							migrate_migration_describe(d))));
	}
	return m;
}

/*
 * migrate_plan_dependent
 *		A registration other than m that requires m (with applied_only, an
 *		applied one), or NULL if none does.
 */
Migration *
migrate_plan_dependent(const Migration *m, bool applied_only)
{
	ListCell   *lc;

	foreach(lc, migrate_catalog_with_requires(applied_only))
	{
		Migration  *d = (Migration *) lfirst(lc);

		if (d->id != m->id &&
			migrate_migration_requires(d, m->project, m->version))
			return d;
	}
	return NULL;
}

/* Whether the migration with this id is in a list of Migrations. */
static bool
in_list(List *migrations, int64 id)
{
	ListCell   *lc;

	foreach(lc, migrations)
	{
		if (((Migration *) lfirst(lc))->id == id)
			return true;
	}
	return false;
}

/* Orders Migrations of one project by version. */
static int
migration_version_cmp(const ListCell *a, const ListCell *b)
{
	return version_cmp(((const Migration *) lfirst(a))->version,
					   ((const Migration *) lfirst(b))->version);
}
