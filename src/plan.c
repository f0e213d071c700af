/*-------------------------------------------------------------------------
 *
 * plan.c
 *	  Choosing and ordering the migrations to apply or to revert.
 *
 * Applying: the candidates are the versioned migrations that are not
 * applied (pending or failed).  A migration follows its predecessor
 * version in its own project and everything it requires; among the
 * migrations whose predecessors are all done, the smallest (project,
 * version) goes first.  This is Kahn's algorithm with a heap, so the order
 * is stable: the same catalog always gives the same order.
 *
 * Reverting: the newest-applied migrations first.  Refused as a whole,
 * before anything runs, if one of them has no down script or if an applied
 * migration that stays requires one of them.
 *
 * Everything here reads the catalog (the caller holds the migration lock
 * and is connected to SPI) and throws before anything runs; results are
 * Migration lists in the current memory context.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/binaryheap.h"
#include "lib/stringinfo.h"

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
} PlanNode;

static int	version_cmp(const char *a, const char *b);
static int	node_cmp(const void *a, const void *b);
static int	heap_cmp(Datum a, Datum b, void *arg);
static int	find_node(PlanNode *nodes, int n, const char *project,
					  const char *version);
static void select_node(PlanNode *nodes, int n, int i, List **work);

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

/*
 * migrate_plan_split_requirement
 *		Splits a stored requirement, "project:version".
 */
void
migrate_plan_split_requirement(const char *req, char **project,
							   char **version)
{
	const char *colon = strchr(req, ':');

	if (colon == NULL)
		elog(ERROR, "malformed requirement \"%s\" in the catalog", req);
	*project = pnstrdup(req, colon - req);
	*version = pstrdup(colon + 1);
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
 * migrate_plan_apply
 *		The migrations run() applies, in order.
 *
 * project NULL means every project; otherwise the pending migrations of
 * project (up to target, if given) and whatever pending migrations of
 * other projects they need.  Throws, naming the migrations involved, on a
 * missing requirement, on out-of-order migrations (unless out_of_order),
 * and on a dependency cycle.
 */
List *
migrate_plan_apply(const char *project, const char *target,
				   bool out_of_order)
{
	List	   *unapplied = migrate_catalog_unapplied();
	PlanNode   *nodes;
	int			n = 0;
	int			i;
	ListCell   *lc;
	List	   *work = NIL;
	StringInfoData missing;
	StringInfoData late;
	binaryheap *heap;
	List	   *result = NIL;
	int			done = 0;

	nodes = palloc0(sizeof(PlanNode) * Max(list_length(unapplied), 1));
	foreach(lc, unapplied)
	{
		Migration  *m = (Migration *) lfirst(lc);

		if (!m->repeatable)
			nodes[n++].m = m;
	}
	if (n == 0)
		return NIL;
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

	/* Close over requirements, and report the missing ones. */
	initStringInfo(&missing);
	while (work != NIL)
	{
		Migration  *m = nodes[linitial_int(work)].m;

		work = list_delete_first(work);
		foreach(lc, m->requires)
		{
			char	   *rproject;
			char	   *rversion;
			int			r;
			Migration  *req;

			migrate_plan_split_requirement((char *) lfirst(lc),
										   &rproject, &rversion);
			r = find_node(nodes, n, rproject, rversion);
			if (r >= 0)
			{
				if (!nodes[r].selected)
					select_node(nodes, n, r, &work);
				continue;
			}
			req = migrate_catalog_get(rproject, rversion);
			if (req == NULL)
				appendStringInfo(&missing, "%s%s %s requires %s %s",
								 missing.len > 0 ? "; " : "",
								 m->project, m->version, rproject, rversion);
		}
	}
	if (missing.len > 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("migrations require migrations that are not registered"),
				 errdetail("%s.", missing.data),
				 errhint("Register the required migrations, or correct the requires lists.")));

	/* Out of order: below the highest applied version of its project. */
	initStringInfo(&late);
	for (i = 0; i < n && !out_of_order; i++)
	{
		char	   *highest;
		int			j;

		if (i > 0 && strcmp(nodes[i].m->project, nodes[i - 1].m->project) == 0)
			continue;
		highest = migrate_catalog_highest_applied(nodes[i].m->project);
		if (highest == NULL)
			continue;
		for (j = i; j < n && strcmp(nodes[j].m->project,
									nodes[i].m->project) == 0; j++)
			if (nodes[j].selected &&
				version_cmp(nodes[j].m->version, highest) < 0)
				appendStringInfo(&late, "%s%s %s (below applied %s)",
								 late.len > 0 ? ", " : "",
								 nodes[j].m->project, nodes[j].m->version,
								 highest);
	}
	if (late.len > 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pending migrations are out of order"),
				 errdetail("Pending: %s.", late.data),
				 errhint("Apply them anyway with out_of_order => true, or give them higher versions.")));

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
			int			r;

			migrate_plan_split_requirement((char *) lfirst(lc),
										   &rproject, &rversion);
			r = find_node(nodes, n, rproject, rversion);
			if (r >= 0 && r != i)
			{
				Assert(nodes[r].selected);
				nodes[r].succs = lappend_int(nodes[r].succs, i);
				nodes[i].npreds++;
			}
		}
	}

	/* Kahn's algorithm, smallest (project, version) first. */
	heap = binaryheap_allocate(n, heap_cmp, nodes);
	for (i = 0; i < n; i++)
		if (nodes[i].selected && nodes[i].npreds == 0)
			binaryheap_add(heap, Int32GetDatum(i));
	while (!binaryheap_empty(heap))
	{
		int			k = DatumGetInt32(binaryheap_remove_first(heap));

		result = lappend(result, nodes[k].m);
		done++;
		foreach(lc, nodes[k].succs)
		{
			int			s = lfirst_int(lc);

			if (--nodes[s].npreds == 0)
				binaryheap_add(heap, Int32GetDatum(s));
		}
	}
	binaryheap_free(heap);

	for (i = 0, work = NIL; i < n; i++)
		if (nodes[i].selected)
			work = lappend_int(work, i);
	if (done < list_length(work))
	{
		StringInfoData cycle;

		initStringInfo(&cycle);
		foreach(lc, work)
		{
			PlanNode   *node = &nodes[lfirst_int(lc)];

			if (node->npreds > 0)
				appendStringInfo(&cycle, "%s%s %s", cycle.len > 0 ? ", " : "",
								 node->m->project, node->m->version);
		}
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
				 errmsg("pending migrations form a dependency cycle"),
				 errdetail("Waiting on each other: %s.", cycle.data),
				 errhint("A migration follows the lower versions of its project and what it requires; correct the requires lists.")));
	}
	return result;
}

/*
 * migrate_plan_revert
 *		The newest-applied steps migrations of project, in the order to
 *		revert them.  Throws if one has no down script or is required by
 *		an applied migration that stays.
 */
List *
migrate_plan_revert(const char *project, int steps)
{
	List	   *revert = migrate_catalog_applied_newest_first(project, steps);
	List	   *dependents;
	ListCell   *lc;
	StringInfoData nodown;

	initStringInfo(&nodown);
	foreach(lc, revert)
	{
		Migration  *m = (Migration *) lfirst(lc);

		if (m->down == NULL)
			appendStringInfo(&nodown, "%s%s %s \"%s\"",
							 nodown.len > 0 ? ", " : "",
							 m->project, m->version, m->name);
	}
	if (nodown.len > 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot revert migrations that have no down script"),
				 errdetail("Without a down script: %s.", nodown.data),
				 errhint("Register a down script for them first (allowed while applied), or revert fewer migrations.")));

	dependents = migrate_catalog_applied_with_requires();
	foreach(lc, dependents)
	{
		Migration  *d = (Migration *) lfirst(lc);
		ListCell   *rc;
		ListCell   *vc;
		bool		stays = true;

		foreach(vc, revert)
		{
			if (((Migration *) lfirst(vc))->id == d->id)
				stays = false;
		}
		if (!stays)
			continue;

		foreach(rc, d->requires)
		{
			char	   *rproject;
			char	   *rversion;

			migrate_plan_split_requirement((char *) lfirst(rc),
										   &rproject, &rversion);
			foreach(vc, revert)
			{
				Migration  *m = (Migration *) lfirst(vc);

				if (strcmp(m->project, rproject) == 0 &&
					version_cmp(m->version, rversion) == 0)
					ereport(ERROR,
							(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
							 errmsg("cannot revert migration %s %s \"%s\": applied migration %s %s \"%s\" requires it",
									m->project, m->version, m->name,
									d->project, d->version, d->name),
							 errhint("Revert the migrations that require it first.")));
			}
		}
	}
	return revert;
}
