/*-------------------------------------------------------------------------
 *
 * migration.c
 *	  What a migration is, and the rules that depend on nothing else.
 *
 * - Its name in messages: default 003 "create users", or
 *	 default repeatable "views"; migrate_migration_name is the one place
 *	 that formats it.
 * - Its requirements: "version" (same project) or "project:version" as
 *	 written, always "project:version" as stored; migrate_requirement_split
 *	 is the one parser of both.
 * - A project's name: [a-z_][a-z0-9_]*, at most 63 bytes.
 * - Who may act as its registrant: a member of the role that registered
 *	 it (as SET ROLE requires).  migrate_registrant_check is the one place
 *	 that applies the rule, to changing, unregistering and running.
 *
 * Nothing here reads the catalog; everything is palloc'd in the current
 * memory context and may throw.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/acl.h"

#include "migration.h"
#include "version.h"

/*
 * migrate_migration_name
 *		A migration's name for messages.  version NULL means a repeatable
 *		migration; name NULL means a versioned one known by its version
 *		alone (one that is not registered).
 */
char *
migrate_migration_name(const char *project, const char *version,
					   const char *name)
{
	if (version == NULL)
		/* translator: project, then name: default repeatable "views" */
		return psprintf(_("%s repeatable \"%s\""), project, name);
	if (name == NULL)
		return psprintf("%s %s", project, version);
	return psprintf("%s %s \"%s\"", project, version, name);
}

/* migrate_migration_name of a Migration. */
char *
migrate_migration_describe(const Migration *m)
{
	return migrate_migration_name(m->project, m->version, m->name);
}

/*
 * migrate_join
 *		The strings of a list, separated by separator: a list of names, or
 *		of sentences one per line, never words of a sentence.
 */
char *
migrate_join(List *strings, const char *separator)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	foreach(lc, strings)
	{
		if (foreach_current_index(lc) > 0)
			appendStringInfoString(&buf, separator);
		appendStringInfoString(&buf, (const char *) lfirst(lc));
	}
	return buf.data;
}

/* A project name: [a-z_][a-z0-9_]*, 1 to 63 bytes. */
bool
migrate_project_name_is_valid(const char *project)
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

/*
 * migrate_requirement_split
 *		Splits a requirement into its project and version (palloc'd).
 *
 * Neither a project name nor a version contains a colon, so the first one
 * separates them.  Without a colon the project is default_project; a
 * stored requirement always has one, so its readers pass NULL, and a
 * missing colon is then a damaged catalog.  Nothing is validated here.
 */
void
migrate_requirement_split(const char *req, const char *default_project,
						  char **project, char **version)
{
	const char *colon = strchr(req, ':');

	if (colon == NULL)
	{
		if (default_project == NULL)
			elog(ERROR, "malformed requirement \"%s\" in the catalog", req);
		*project = pstrdup(default_project);
		*version = pstrdup(req);
		return;
	}
	*project = pnstrdup(req, colon - req);
	*version = pstrdup(colon + 1);
}

/*
 * migrate_requirement_cmp
 *		Orders stored requirements by project, then version naturally, so
 *		"default:1" and "default:001" compare equal.
 */
int
migrate_requirement_cmp(const char *a, const char *b)
{
	char	   *aproject;
	char	   *aversion;
	char	   *bproject;
	char	   *bversion;
	int			c;

	migrate_requirement_split(a, NULL, &aproject, &aversion);
	migrate_requirement_split(b, NULL, &bproject, &bversion);
	c = strcmp(aproject, bproject);
	if (c == 0)
		c = migrate_version_compare(aversion, strlen(aversion),
									bversion, strlen(bversion));
	return c;
}

/*
 * migrate_migration_requires
 *		Whether m requires the versioned migration (project, version).
 */
bool
migrate_migration_requires(const Migration *m, const char *project,
						   const char *version)
{
	ListCell   *lc;

	foreach(lc, m->requires)
	{
		char	   *rproject;
		char	   *rversion;

		migrate_requirement_split((char *) lfirst(lc), NULL,
								  &rproject, &rversion);
		if (strcmp(rproject, project) == 0 &&
			migrate_version_compare(rversion, strlen(rversion),
									version, strlen(version)) == 0)
			return true;
	}
	return false;
}

/*
 * migrate_registrant_check
 *		Throws unless the current user may act as the registrant of m for
 *		action; returns the registrant's OID (InvalidOid if the role no
 *		longer exists and action allows that).
 *
 * The rule is membership in the registrant's role, as SET ROLE requires.
 * A registration whose role was dropped can still be changed or removed,
 * by a superuser only; it cannot run, since nobody can run it as its
 * registrant.
 */
Oid
migrate_registrant_check(const Migration *m, RegistrantAction action)
{
	Oid			role = get_role_oid(m->registered_by, true);
	char	   *user;

	if (OidIsValid(role) ? is_member_of_role(GetUserId(), role) :
		(action != REGISTRANT_RUN && superuser()))
		return role;

	if (!OidIsValid(role) && action == REGISTRANT_RUN)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("role \"%s\" that registered migration %s does not exist",
						m->registered_by, migrate_migration_describe(m)),
				 errhint("Register the migration again as an existing role.")));

	user = GetUserNameFromId(GetUserId(), false);
	if (action == REGISTRANT_RUN)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to run migration %s as role \"%s\"",
						migrate_migration_describe(m), m->registered_by),
				 errdetail("A migration runs as the role that registered it, and role \"%s\" is not a member of role \"%s\".",
						   user, m->registered_by),
				 errhint("Run migrations as a member of the role that registered them.")));
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 action == REGISTRANT_CHANGE ?
			 errmsg("permission denied to change migration %s",
					migrate_migration_describe(m)) :
			 errmsg("permission denied to unregister migration %s",
					migrate_migration_describe(m)),
			 errdetail("It was registered by role \"%s\", and role \"%s\" is not a member of it.",
					   m->registered_by, user)));
	return InvalidOid;			/* keep the compiler quiet */
}

/*
 * migrate_migration_is_applied
 *		Whether m is applied: "applied", or "reverting" (a deploy reverts
 *		it, or was interrupted reverting it: its schema is still there, at
 *		least in part).
 */
bool
migrate_migration_is_applied(const Migration *m)
{
	return strcmp(m->state, "applied") == 0 ||
		strcmp(m->state, "reverting") == 0;
}
