/*-------------------------------------------------------------------------
 *
 * adopt.h
 *	  Taking over another tool's history (adopt.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIGRATE_ADOPT_H
#define MIGRATE_ADOPT_H

#include "access/tupdesc.h"
#include "utils/tuplestore.h"

/* The tools whose history adopt() reads, as its tool argument names them. */
typedef enum AdoptTool
{
	ADOPT_FLYWAY,
	ADOPT_GOLANG_MIGRATE,
	ADOPT_DBMATE,
	ADOPT_SQITCH,
	ADOPT_NODE_PG_MIGRATE
} AdoptTool;

extern AdoptTool migrate_adopt_tool(const char *name);
extern int	migrate_adopt(AdoptTool tool, const char *project, Oid relid,
						  Tuplestorestate *tupstore, TupleDesc tupdesc);

#endif							/* MIGRATE_ADOPT_H */
