/*-------------------------------------------------------------------------
 *
 * layout_prisma.c
 *	  Prisma Migrate's migrations folder.
 *
 * Prisma (packages/migrate/src/utils/listMigrations.ts) takes every
 * subfolder of the migrations folder as one migration, in name order, its
 * script being <folder>/migration.sql; files beside the subfolders
 * (migration_lock.toml, anything else) are not migrations.  A subfolder
 * without migration.sql is an error, as in Prisma (P3015).  Subfolders
 * whose name starts with "." are skipped here (Prisma would fail on them).
 *
 * A folder is named <prefix>_<name>, the prefix a timestamp
 * (20210101120000) or any version ("0_init", as Prisma's baselining
 * guide names it).  The version is the prefix, the name the rest with "_"
 * as spaces.  migrate orders versions naturally, Prisma orders folder
 * names as text: if the two orders differ, or two prefixes are the same
 * version, the folder is refused.  Prisma has no down migrations.
 *
 *-------------------------------------------------------------------------
 */
#include "bundle.h"
#include "version_order.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool
prisma_detect(const char *dir)
{
	char	  **names;
	int			n;
	int			i;

	if (is_file(path_join(dir, "migration_lock.toml")))
		return true;
	names = list_dir(dir, &n);
	for (i = 0; i < n; i++)
		if (names[i][0] != '.' &&
			is_file(path_join(path_join(dir, names[i]), "migration.sql")))
			return true;
	return false;
}

static void
prisma_load(const char *dir, const Options *opts, Bundle *b)
{
	char	  **names;
	int			n;
	int			i;
	const char *prev_version = NULL;
	const char *prev_folder = NULL;

	(void) opts;
	names = list_dir(dir, &n);
	for (i = 0; i < n; i++)
	{
		const char *folder = names[i];
		const char *us;
		char	   *rel;
		char	   *version;
		Migration  *m;

		if (folder[0] == '.' || !is_dir(path_join(dir, folder)))
			continue;
		rel = xasprintf("%s/migration.sql", folder);
		if (!is_file(path_join(dir, rel)))
			bundle_fail("%s: migration file not found: Prisma needs one in every migration folder (P3015)",
						rel);
		us = strchr(folder, '_');
		version = us ? xstrndup(folder, us - folder) : xstrdup(folder);
		if (migrate_version_check_syntax(version, strlen(version), NULL) !=
			MIGRATE_VERSION_OK)
			bundle_fail("%s: folder name does not start with a version (<prefix>_<name>, the prefix of [0-9A-Za-z.-])",
						folder);
		if (prev_version)
		{
			int			c = migrate_version_compare(prev_version,
												strlen(prev_version),
												version, strlen(version));

			if (c == 0)
				bundle_fail("%s: same version \"%s\" as %s", folder, version,
							prev_folder);
			if (c > 0)
				bundle_fail("%s: Prisma applies it after %s, but migrate orders version \"%s\" before \"%s\"",
							folder, prev_folder, version, prev_version);
		}
		m = bundle_add(b);
		m->version = version;
		m->name = us && us[1] ? bundle_title(us + 1, strlen(us + 1)) :
			xstrdup(folder);
		m->source = rel;
		m->up = read_script_file(path_join(dir, rel), rel);
		m->down = NULL;
		m->transactional = TX_SERVER;
		prev_version = version;
		prev_folder = folder;
	}
}

const Layout layout_prisma = {
	.name = "prisma",
	.detect = prisma_detect,
	.load = prisma_load,
};
