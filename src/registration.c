/*-------------------------------------------------------------------------
 *
 * registration.c
 *	  The rules of registering and unregistering migrations.
 *
 * A registration is identified by (project, version), or (project, name)
 * for a repeatable migration; versions compare naturally, so "1.0" and
 * "1.00" are one migration.  Registering again:
 *
 * - identical content (the same checksums of up, down and verify, name,
 *	 requirements and transactional flag) changes nothing: "unchanged",
 *	 even under another spelling of the version;
 * - other content under another spelling ("0010" registered, "00010"
 *	 given) is refused: two files collided;
 * - other content replaces the old ("updated", with a NOTICE of what
 *	 changed), if the current user may act as the registrant; once a
 *	 versioned migration is applied its up script can no longer change,
 *	 nor can the statements a deploy has completed of a non-transactional
 *	 migration it did not finish.
 *
 * Unregistering removes a registration that is not applied and that no
 * other registration requires; its history stays.
 *
 * The caller has begun a change (change.c): it holds the migration lock and
 * is connected to SPI.  The scripts of a new registration are checked
 * before (script.c), outside the lock.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "catalog.h"
#include "plan.h"
#include "registration.h"
#include "script.h"
#include "version.h"

static void check_statements_done(const Migration *old,
								  const Migration *new);
static List *changed_fields(const Migration *old, const Migration *new);
static bool same_requires(List *a, List *b);
static int	requirement_list_cmp(const ListCell *a, const ListCell *b);

/*
 * migrate_registration_requires
 *		Validates the requires argument of a registration of (project,
 *		version) and returns its entries as "project:version" strings,
 *		without duplicates.
 */
List *
migrate_registration_requires(ArrayType *requires, const char *project,
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
		migrate_requirement_split(entry, project, &rproject, &rversion);
		if (!migrate_project_name_is_valid(rproject))
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
					 errmsg("migration %s cannot require itself",
							migrate_migration_name(project, version, NULL))));
		normal = psprintf("%s:%s", rproject, rversion);
		foreach(lc, result)
		{
			if (migrate_requirement_cmp((char *) lfirst(lc), normal) == 0)
				dup = true;
		}
		if (!dup)
			result = lappend(result, normal);
	}
	return result;
}

/*
 * migrate_registration_store
 *		Inserts or updates the registration m, whose scripts are checked,
 *		and says which.
 */
RegistrationResult
migrate_registration_store(Migration *m)
{
	Migration  *old;
	List	   *changes;

	old = migrate_catalog_get(m->project, m->version, m->name);
	if (old == NULL)
	{
		migrate_catalog_insert(m);
		return REGISTRATION_REGISTERED;
	}

	changes = changed_fields(old, m);
	if (changes == NIL)
		return REGISTRATION_UNCHANGED;

	/* "0010" and "00010": two files collided, unless it is the same */
	if (!m->repeatable && strcmp(old->version, m->version) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("version \"%s\" of project \"%s\" is already registered as \"%s\" with other content",
						m->version, m->project, old->version),
				 errdetail("Versions that compare equal are the same migration; what differs: %s.",
						   migrate_join(changes, ", ")),
				 errhint("To change that migration, register it as version \"%s\"; for a new migration, choose a version that compares differently.",
						 old->version)));

	(void) migrate_registrant_check(old, REGISTRANT_CHANGE);
	if (!m->repeatable && migrate_migration_is_applied(old) &&
		strcmp(old->checksum, m->checksum) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("migration %s is applied and its up script cannot change",
						migrate_migration_describe(m)),
				 errdetail("Applied checksum: %s. New checksum: %s.",
						   old->checksum, m->checksum),
				 errhint("Write a new migration for the change instead of editing an applied one.")));

	if (old->statements_done > 0)
		check_statements_done(old, m);

	m->id = old->id;
	migrate_catalog_update(m);
	ereport(NOTICE,
			(errmsg("migration %s updated", migrate_migration_describe(m)),
			 errdetail("Changed: %s.", migrate_join(changes, ", "))));
	return REGISTRATION_UPDATED;
}

/*
 * migrate_registration_remove
 *		Unregisters the versioned migration (project, version).
 */
void
migrate_registration_remove(const char *project, const char *version)
{
	Migration  *m = migrate_catalog_get(project, version, NULL);
	Migration  *other;

	if (m == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("migration %s is not registered",
						migrate_migration_name(project, version, NULL))));
	if (migrate_migration_is_applied(m))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot unregister migration %s because it is applied",
						migrate_migration_describe(m)),
				 errhint("Revert it first with migrate.rollback().")));
	(void) migrate_registrant_check(m, REGISTRANT_UNREGISTER);

	other = migrate_plan_dependent(m, false);
	if (other != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
				 errmsg("cannot unregister migration %s because migration %s requires it",
						migrate_migration_describe(m),
						migrate_migration_describe(other)),
				 errhint("Unregister or change the migrations that require it first.")));
	migrate_catalog_delete(m->id);
}

/*
 * A deploy has completed the first statements of non-transactional
 * migration old (which was interrupted or failed after them): a new
 * registration keeps them and stays non-transactional, since the next
 * deploy resumes after them.
 */
static void
check_statements_done(const Migration *old, const Migration *new)
{
	int			stmtno;

	if (new->transactional)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("migration %s cannot become transactional",
						migrate_migration_describe(new)),
				 errdetail_plural("A deploy has completed and committed %d statement of this non-transactional migration; the next deploy resumes after it.",
								  "A deploy has completed and committed %d statements of this non-transactional migration; the next deploy resumes after them.",
								  old->statements_done, old->statements_done),
				 errhint("Register it with transactional => false, changing only the statements a deploy has not completed.")));
	stmtno = migrate_script_first_difference(old->up, new->up,
											 old->statements_done);
	if (stmtno != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("statement %d of migration %s cannot change",
						stmtno, migrate_migration_describe(new)),
				 errdetail_plural("A deploy has completed and committed %d statement of this non-transactional migration; the next deploy resumes after it.",
								  "A deploy has completed and committed %d statements of this non-transactional migration; the next deploy resumes after them.",
								  old->statements_done, old->statements_done),
				 errhint("Change only the statements a deploy has not completed.")));
}

/*
 * The names of the fields that differ between two registrations: the
 * names of register()'s arguments, so they are listed, not translated.
 */
static List *
changed_fields(const Migration *old, const Migration *new)
{
	List	   *changes = NIL;

	if (strcmp(old->name, new->name) != 0)
		changes = lappend(changes, "name");
	if (strcmp(old->checksum, new->checksum) != 0)
		changes = lappend(changes, "up");
	if ((old->down_checksum == NULL) != (new->down_checksum == NULL) ||
		(old->down_checksum &&
		 strcmp(old->down_checksum, new->down_checksum) != 0))
		changes = lappend(changes, "down");
	if (!same_requires(old->requires, new->requires))
		changes = lappend(changes, "requires");
	if (old->transactional != new->transactional)
		changes = lappend(changes, "transactional");
	if ((old->verify_checksum == NULL) != (new->verify_checksum == NULL) ||
		(old->verify_checksum &&
		 strcmp(old->verify_checksum, new->verify_checksum) != 0))
		changes = lappend(changes, "verify");
	return changes;
}

/* Whether two lists of stored requirements name the same migrations. */
static bool
same_requires(List *a, List *b)
{
	List	   *sa = list_copy(a);
	List	   *sb = list_copy(b);
	ListCell   *ca;
	ListCell   *cb;

	if (list_length(sa) != list_length(sb))
		return false;
	list_sort(sa, requirement_list_cmp);
	list_sort(sb, requirement_list_cmp);
	forboth(ca, sa, cb, sb)
	{
		if (migrate_requirement_cmp((char *) lfirst(ca),
									(char *) lfirst(cb)) != 0)
			return false;
	}
	return true;
}

static int
requirement_list_cmp(const ListCell *a, const ListCell *b)
{
	return migrate_requirement_cmp((const char *) lfirst(a),
								   (const char *) lfirst(b));
}
