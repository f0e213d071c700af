/*-------------------------------------------------------------------------
 *
 * main.c
 *	  migrate-bundle: command line, choice of layout, and the run.
 *
 *	  migrate-bundle [--layout NAME] [--project NAME] [--run | --deploy]
 *					 [--set NAME=VALUE ...] DIR
 *
 * Exit status: 0 on success, 2 for a usage error (unknown option or
 * layout, bad --set, --run with --deploy, no or several folders), 1 for
 * anything else (the folder and its files, a failed write).  Every message goes to stderr;
 * on any error nothing at all is written to stdout.
 *
 * --layout auto (the default) asks each layout's detect() in the order of
 * auto_order below, most specific first, and takes the first that
 * recognises the folder.  Some layouts' files also fit a more general
 * layout later in the order (a dbmate file is a postgres-migrations file
 * name too); auto_shadows lists which such overlaps are expected.  If the
 * folder also fits a later layout that is not expected to overlap (say
 * Flyway V1__x.sql files beside 001_x.up.sql files), the folder is
 * ambiguous and the run fails, asking for --layout.
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bundle.h"

/* Every layout, in the order --help lists them */
static const Layout *const all_layouts[] = {
	&layout_migrate,
	&layout_flyway,
	&layout_golang_migrate,
	&layout_dbmate,
	&layout_sqitch,
	&layout_pop,
	&layout_popx,
	&layout_postgres_migrations,
	&layout_node_pg_migrate,
	&layout_prisma,
};

#define NLAYOUTS ((int) (sizeof(all_layouts) / sizeof(all_layouts[0])))

/*
 * --layout auto: the order detect() is asked in, and for each layout the
 * later ones whose detect() may also say yes for a folder of it without
 * that making the folder ambiguous.  Sqitch and Prisma are recognised by
 * a file of their own (sqitch.plan, migration_lock.toml or
 * <folder>/migration.sql), which decides.
 *
 * pop and popx folders name their files <version>_<name>.up.sql and
 * .down.sql, as migrate and golang-migrate do, so they are told by what
 * only they have (layout_popx.c, pop_classify()), at most one of the two
 * saying yes: a dialect part (".postgres.", ".cockroach.", ...), an
 * ".autocommit." part, a .fizz file, or a Go template action on their
 * data in the first 8 kB of a file (names only, so "{{1,2}}" in an array
 * literal is no action).  ".autocommit." and popx's data (.Parameters,
 * .IsPostgreSQL and the other Is<Dialect>, .DialectDetails) make it popx,
 * even if pop's {{ index .Options "NAME" }} appears too (the popx layout
 * accepts that); pop's data (.Options, .Dialect, .MigrationTableName, the
 * connection's details) make it pop; with neither, dialect parts or fizz
 * files make it popx if every up has its down, as popx requires, and pop
 * otherwise.  A folder with none of these stays migrate's (or
 * golang-migrate's).
 */
typedef struct AutoRule
{
	const Layout *layout;
	const char *shadows;		/* space-separated layout names, or "*" */
} AutoRule;

static const AutoRule auto_order[] = {
	{&layout_sqitch, "*"},
	{&layout_prisma, "*"},
	{&layout_flyway, ""},
	{&layout_popx, "migrate golang-migrate postgres-migrations"},
	{&layout_pop, "migrate golang-migrate postgres-migrations"},
	{&layout_dbmate, "postgres-migrations"},
	{&layout_node_pg_migrate, "postgres-migrations"},
	{&layout_migrate, "golang-migrate postgres-migrations"},
	{&layout_golang_migrate, "postgres-migrations"},
	{&layout_postgres_migrations, ""},
};

#define NAUTO ((int) (sizeof(auto_order) / sizeof(auto_order[0])))

static void
usage(FILE *out)
{
	int			i;

	fputs("migrate-bundle reads a folder of migration files and writes an SQL script\n"
		  "that registers them all with the migrate extension.\n\n"
		  "Usage:\n"
		  "  migrate-bundle [OPTION]... DIR > deploy.sql\n\n", out);
	fprintf(out,
			"Options:\n"
			"  --layout NAME       layout of DIR: auto (the default) or one of");
	for (i = 0; i < NLAYOUTS; i++)
		fprintf(out, "%s%s",
				i == 0 ? "\n                      " :
				i % 4 == 0 ? ",\n                      " : ", ",
				all_layouts[i]->name);
	fprintf(out,
			"\n"
			"  --project NAME      register into project NAME (default: \"default\")\n"
			"  --run               end the script with SELECT * FROM migrate.run();\n"
			"  --deploy            end the script with CALL migrate.deploy();\n"
			"  --set NAME=VALUE    a placeholder value (Flyway ${NAME}, pop's\n"
			"                      {{ index .Options \"NAME\" }}, popx's\n"
			"                      {{ index .Parameters \"NAME\" }}); may be repeated\n"
			"  --help              show this help, then exit\n"
			"  --version           show the version, then exit\n\n"
			"Load the script with: psql -v ON_ERROR_STOP=1 -f deploy.sql\n"
			"Exit status: 0 success, 1 error in the folder, 2 usage error.\n");
}

/* Exits with status 1 if what was printed on stdout could not be written */
static void
finish_stdout(void)
{
	if (fflush(stdout) != 0 || ferror(stdout))
		bundle_fail("cannot write to standard output: %s", strerror(errno));
}

static const Layout *
find_layout(const char *name)
{
	int			i;

	for (i = 0; i < NLAYOUTS; i++)
		if (strcmp(all_layouts[i]->name, name) == 0)
			return all_layouts[i];
	return NULL;
}

/* True if name is one of the space-separated words of list, or list is "*" */
static bool
in_list(const char *list, const char *name)
{
	size_t		n = strlen(name);
	const char *p = list;

	if (strcmp(list, "*") == 0)
		return true;
	while (*p)
	{
		const char *end = strchr(p, ' ');
		size_t		len = end ? (size_t) (end - p) : strlen(p);

		if (len == n && strncmp(p, name, n) == 0)
			return true;
		if (end == NULL)
			break;
		p = end + 1;
	}
	return false;
}

/*
 * --layout auto: the first layout of auto_order whose detect() recognises
 * dir; fails (status 1) if none does, or if a later one that its rule does
 * not expect does too.  Says on stderr which layout it chose.
 */
static const Layout *
detect_layout(const char *dir)
{
	const AutoRule *chosen = NULL;
	int			i;

	for (i = 0; i < NAUTO; i++)
	{
		const AutoRule *rule = &auto_order[i];

		if (!rule->layout->detect(dir))
			continue;
		if (chosen == NULL)
			chosen = rule;
		else if (!in_list(chosen->shadows, rule->layout->name))
			bundle_fail("%s: layout auto: the folder looks like both %s and %s; name one with --layout",
						dir, chosen->layout->name, rule->layout->name);
	}
	if (chosen == NULL)
		bundle_fail("%s: layout auto: no layout recognises this folder; name one with --layout",
					dir);
	bundle_note("layout auto: chose %s", chosen->layout->name);
	return chosen->layout;
}

/* A project name as the server takes it: [a-z_][a-z0-9_]*, 1 to 63 bytes */
static bool
project_valid(const char *p)
{
	const char *c;

	if (p[0] == '\0' || strlen(p) > 63)
		return false;
	if (!((p[0] >= 'a' && p[0] <= 'z') || p[0] == '_'))
		return false;
	for (c = p; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_'))
			return false;
	return true;
}

static void
add_setting(Options *opts, const char *arg)
{
	const char *eq = strchr(arg, '=');
	char	   *name;
	int			i;

	if (eq == NULL || eq == arg)
		bundle_usage_fail("--set \"%s\": expected NAME=VALUE", arg);
	if (!utf8_check(arg, strlen(arg), NULL))
		bundle_usage_fail("--set: the argument is not valid UTF-8");
	name = xstrndup(arg, (size_t) (eq - arg));
	for (i = 0; i < opts->nsettings; i++)
		if (strcmp(opts->settings[i].name, name) == 0)
			bundle_usage_fail("--set %s is given twice", name);

	opts->settings = xrealloc(opts->settings,
							  sizeof(Setting) * (size_t) (opts->nsettings + 1));
	opts->settings[opts->nsettings].name = name;
	opts->settings[opts->nsettings].value = xstrdup(eq + 1);
	opts->settings[opts->nsettings].used = false;
	opts->nsettings++;
}

int
main(int argc, char **argv)
{
	static const struct option long_options[] = {
		{"layout", required_argument, NULL, 'l'},
		{"project", required_argument, NULL, 'p'},
		{"run", no_argument, NULL, 'r'},
		{"deploy", no_argument, NULL, 'd'},
		{"set", required_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0}
	};
	Options		opts = {0};
	const Layout *layout;
	Bundle		b = {0};
	struct stat st;
	int			c;
	int			i;

	opts.layout = "auto";
	opts.project = "default";

	opterr = 0;					/* the messages below name the program */
	while ((c = getopt_long(argc, argv, ":", long_options, NULL)) != -1)
	{
		switch (c)
		{
			case 'l':
				opts.layout = optarg;
				break;
			case 'p':
				opts.project = optarg;
				break;
			case 'r':
				opts.run = true;
				break;
			case 'd':
				opts.deploy = true;
				break;
			case 's':
				add_setting(&opts, optarg);
				break;
			case 'h':
				usage(stdout);
				finish_stdout();
				return 0;
			case 'V':
				printf("migrate-bundle %s\n", BUNDLE_VERSION);
				finish_stdout();
				return 0;
			case ':':
				bundle_usage_fail("option \"%s\" needs a value", argv[optind - 1]);
			default:
				/* optopt is the letter of a short option, 0 for a long one */
				if (optopt != 0)
					bundle_usage_fail("unknown option \"-%c\"", optopt);
				bundle_usage_fail("unknown option \"%s\"", argv[optind - 1]);
		}
	}

	if (optind >= argc)
		bundle_usage_fail("no folder given");
	if (optind + 1 < argc)
		bundle_usage_fail("one folder only (got \"%s\" and \"%s\")",
				   argv[optind], argv[optind + 1]);
	opts.dir = argv[optind];

	if (opts.run && opts.deploy)
		bundle_usage_fail("--run and --deploy cannot be used together");
	if (!project_valid(opts.project))
		bundle_usage_fail("--project \"%s\": a project name is 1 to 63 of a-z, 0-9 and _, not starting with a digit",
				   opts.project);
	if (strcmp(opts.layout, "auto") == 0)
		layout = NULL;
	else if ((layout = find_layout(opts.layout)) == NULL)
		bundle_usage_fail("unknown layout \"%s\"", opts.layout);

	if (stat(opts.dir, &st) != 0)
		bundle_fail("%s: cannot read folder: %s", opts.dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		bundle_fail("%s: not a directory", opts.dir);
	if (layout == NULL)
		layout = detect_layout(opts.dir);

	layout->load(opts.dir, &opts, &b);

	for (i = 0; i < opts.nsettings; i++)
		if (!opts.settings[i].used)
			bundle_note("--set %s: not used by any file of the %s folder",
						opts.settings[i].name, layout->name);

	bundle_write(&b, &opts, layout);
	return 0;
}
