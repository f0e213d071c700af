/*-------------------------------------------------------------------------
 *
 * locks.h
 *	  migrate.locks(): the locks pending migrations take, measured (locks.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIGRATE_LOCKS_H
#define MIGRATE_LOCKS_H

#include "access/tupdesc.h"
#include "nodes/pg_list.h"
#include "utils/tuplestore.h"

extern void migrate_locks(List *plan, Tuplestorestate *tupstore,
						  TupleDesc tupdesc);

#endif							/* MIGRATE_LOCKS_H */
