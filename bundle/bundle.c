/*-------------------------------------------------------------------------
 *
 * bundle.c
 *	  migrate-bundle: the list of migrations a layout has read.
 *
 * A Bundle is a growable array of Migrations in the order the layout
 * appended them; output.c writes them in that order, so each layout
 * appends in the order its tool applies the migrations.  Pointers to a
 * Migration stay valid only until the next bundle_add().
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "bundle.h"

/*
 * bundle_add
 *
 * Appends a zeroed Migration (not repeatable, every string NULL, no
 * requires, transactional TX_SERVER) and returns it for the caller to fill.
 */
Migration *
bundle_add(Bundle *b)
{
	Migration  *m;

	if (b->n == b->cap)
	{
		b->cap = b->cap == 0 ? 32 : b->cap * 2;
		b->items = xrealloc(b->items, sizeof(Migration) * (size_t) b->cap);
	}
	m = &b->items[b->n++];
	memset(m, 0, sizeof(*m));
	m->transactional = TX_SERVER;
	return m;
}

/* Appends a copy of req ("version" or "project:version") to m->requires. */
void
migration_add_require(Migration *m, const char *req)
{
	m->requires = xrealloc(m->requires,
						   sizeof(char *) * (size_t) (m->nrequires + 1));
	m->requires[m->nrequires++] = xstrdup(req);
}
