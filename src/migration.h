/*-------------------------------------------------------------------------
 *
 * migration.h
 *	  What a migration is, and the rules that depend on nothing else: its
 *	  name in messages, its requirements, its project's name, and who may
 *	  act as its registrant.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIGRATE_MIGRATION_H
#define MIGRATE_MIGRATION_H

#include "nodes/pg_list.h"

/* Declarations every file of migrate shares: its message domain. */
#include "migrate.h"

/*
 * A registered migration, as one row of migrate.migration.  catalog.c
 * makes every Migration read from the catalog as a single allocation;
 * register() builds one of its own from its arguments.
 */
typedef struct Migration
{
	int64		id;
	char	   *project;
	bool		repeatable;
	char	   *version;		/* as written; NULL for a repeatable one */
	char	   *name;
	char	   *up;				/* NULL if loaded without scripts (the lists a
								 * plan is made of: see
								 * migrate_catalog_script) */
	char	   *down;			/* NULL if it has none, or not loaded */
	List	   *requires;		/* of char *, each "project:version" */
	bool		transactional;
	char	   *checksum;
	char	   *down_checksum;
	char	   *verify;			/* NULL if it has none, or not loaded */
	char	   *verify_checksum;	/* NULL if it has no verify script */
	char	   *registered_by;
	char	   *state;			/* "pending", "applied", "failed" or "running" */
	char	   *applied_checksum;	/* NULL unless applied at some point */
	int64		last_event;		/* 0 if none */
	int64		last_run_id;	/* run of last_event, 0 if none */
	int			statements_done;	/* of a non-transactional migration,
									 * completed by deploys */
} Migration;

/* What the current user wants to do as a migration's registrant. */
typedef enum RegistrantAction
{
	REGISTRANT_CHANGE,			/* register it again with other content */
	REGISTRANT_UNREGISTER,		/* remove its registration */
	REGISTRANT_RUN				/* run its scripts, as the registrant */
} RegistrantAction;

extern char *migrate_migration_name(const char *project, const char *version,
									const char *name);
extern char *migrate_migration_describe(const Migration *m);
extern char *migrate_join(List *strings, const char *separator);
extern bool migrate_project_name_is_valid(const char *project);
extern void migrate_requirement_split(const char *req,
									  const char *default_project,
									  char **project, char **version);
extern int	migrate_requirement_cmp(const char *a, const char *b);
extern bool migrate_migration_requires(const Migration *m,
									   const char *project,
									   const char *version);
extern Oid	migrate_registrant_check(const Migration *m,
									 RegistrantAction action);
extern bool migrate_migration_is_applied(const Migration *m);

#endif							/* MIGRATE_MIGRATION_H */
