/*-------------------------------------------------------------------------
 *
 * output.c
 *	  migrate-bundle: checks on the whole bundle, and the SQL script.
 *
 * The script is one psql-compatible file:
 *
 *	-- migrate-bundle 0.4: 3 migrations from a flyway folder
 *	\set ON_ERROR_STOP on
 *	SET client_encoding = 'UTF8';
 *	SELECT r.result, count(*) AS migrations
 *	  FROM ((SELECT migrate.register(...) AS result
 *			   FROM (VALUES (1, ...), ...) AS m(ord, version, ...)
 *			  ORDER BY m.ord)
 *			UNION ALL
 *			(SELECT migrate.register_repeatable(...) AS result
 *			   FROM (VALUES (1, ...), ...) AS r(ord, name, up, project)
 *			  ORDER BY r.ord)
 *		   ) AS r
 *	 GROUP BY r.result
 *	 ORDER BY r.result;
 *
 * (a branch with no rows is left out), then "SELECT * FROM migrate.run();"
 * or "CALL migrate.deploy();" if asked for.  Every registration is in one
 * statement, so loading the script is atomic without psql -1.  The server
 * evaluates the volatile register() calls after each branch's sort, in
 * ord order, which is the order the layout appended them.
 *
 * Quoting: scripts go in dollar quotes whose tag ("m", then "m1", "m2",
 * ...) is the first one such that "$tag" occurs nowhere in the content, so
 * neither the content nor its end can close the quote early; inside dollar
 * quotes psql expands no :variables and runs no backslash commands, and
 * the server reads the bytes as they are.  Other text (versions, names,
 * requires, the project) goes in standard single-quoted literals with
 * quotes doubled, which need standard_conforming_strings = on (the default
 * since PostgreSQL 9.1) only when they hold a backslash: such a literal
 * (only a name can have one) is dollar-quoted instead, so the script means
 * the same under either setting.  Everything is valid UTF-8 (read_text_file
 * and bundle_check make sure), hence the client_encoding line.
 *
 * Invariant: the script is built in memory and written with one call only
 * after every check has passed, so a failed run writes nothing to stdout.
 * It depends only on the bundle and the options: no time, path or host.
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "version_order.h"

/*
 * The number of the first tag of "m", "m1", "m2", ... such that "$tag"
 * does not occur in s (0 for "m"; see the file header), in one pass over
 * s.  Each "$m" followed by digits rules out "m" and every tag its digits
 * begin with ("$m123" contains "$m1", "$m12" and "$m123"), at most one tag
 * of each length.  With k occurrences some tag of the first length that
 * has more than k numbers is free, and all of those are below 10k + 10, so
 * only tags up to that bound are tracked.
 */
static size_t
dollar_tag_number(const char *s)
{
	const char *p;
	size_t		count = 0;
	size_t		limit;
	unsigned char *taken;
	size_t		i;

	for (p = strstr(s, "$m"); p != NULL; p = strstr(p + 2, "$m"))
		count++;
	if (count == 0)
		return 0;

	if (count > (SIZE_MAX - 10) / 10)
		bundle_fail("out of memory");
	limit = count * 10 + 10;
	taken = xmalloc(limit / 8 + 1);
	memset(taken, 0, limit / 8 + 1);
	for (p = strstr(s, "$m"); p != NULL; p = strstr(p + 2, "$m"))
	{
		const char *d = p + 2;
		size_t		value = 0;

		if (*d == '0')
			continue;			/* no tag has a leading zero */
		for (; *d >= '0' && *d <= '9'; d++)
		{
			value = value * 10 + (size_t) (*d - '0');
			if (value > limit)
				break;
			taken[value / 8] |= (unsigned char) (1 << (value % 8));
		}
	}
	for (i = 1; i <= limit && (taken[i / 8] & (1 << (i % 8))); i++)
		;
	free(taken);
	if (i > limit)
		bundle_fail("internal error: no free dollar-quote tag");
	return i;
}

/* Appends s as a dollar-quoted string (see the file header). */
static void
append_dollar_quoted(StrBuf *buf, const char *s)
{
	size_t		n = dollar_tag_number(s);
	char	   *tag = n == 0 ? xstrdup("$m$") : xasprintf("$m%zu$", n);

	strbuf_append(buf, tag);
	strbuf_append(buf, s);
	strbuf_append(buf, tag);
	free(tag);
}

/* Appends s as an SQL literal: '...' with '' doubled, or dollar-quoted */
static void
append_literal(StrBuf *buf, const char *s)
{
	const char *p;

	if (strchr(s, '\\') != NULL)
	{
		append_dollar_quoted(buf, s);
		return;
	}
	strbuf_append(buf, "'");
	for (p = s; *p; p++)
	{
		if (*p == '\'')
			strbuf_append_n(buf, "''", 2);
		else
			strbuf_append_n(buf, p, 1);
	}
	strbuf_append(buf, "'");
}

static void
append_script_or_null(StrBuf *buf, const char *s)
{
	if (s == NULL)
		strbuf_append(buf, "NULL");
	else
		append_dollar_quoted(buf, s);
}

/*
 * Appends the requires of m as a text[] literal: '{}' or '{"a","p:b"}',
 * every element double-quoted with its " and \ escaped as array input
 * wants.
 */
static void
append_requires(StrBuf *buf, const Migration *m)
{
	StrBuf		arr = {0};
	int			i;

	strbuf_append(&arr, "{");
	for (i = 0; i < m->nrequires; i++)
	{
		const char *p;

		if (i > 0)
			strbuf_append(&arr, ",");
		strbuf_append(&arr, "\"");
		for (p = m->requires[i]; *p; p++)
		{
			if (*p == '"' || *p == '\\')
				strbuf_append(&arr, "\\");
			strbuf_append_n(&arr, p, 1);
		}
		strbuf_append(&arr, "\"");
	}
	strbuf_append(&arr, "}");
	append_literal(buf, arr.data);
	free(arr.data);
}

/* Appends "-- comment" on its own line, control characters as spaces. */
static void
append_comment(StrBuf *buf, const char *indent, const char *comment)
{
	const unsigned char *p;

	strbuf_append(buf, indent);
	strbuf_append(buf, "-- ");
	for (p = (const unsigned char *) comment; *p; p++)
	{
		char		c = (*p < 0x20 || *p == 0x7F) ? ' ' : (char) *p;

		strbuf_append_n(buf, &c, 1);
	}
	strbuf_append(buf, "\n");
}

/* Fails naming m's file if s (a name, version, ...) is not valid UTF-8 */
static void
check_utf8(const Migration *m, const char *what, const char *s)
{
	if (!utf8_check(s, strlen(s), NULL))
		bundle_fail("%s: %s is not valid UTF-8 (from the file name?)",
					m->source, what);
}

static const char *
version_problem(MigrateVersionSyntax r)
{
	switch (r)
	{
		case MIGRATE_VERSION_OK:
			break;
		case MIGRATE_VERSION_EMPTY:
			return "it is empty";
		case MIGRATE_VERSION_TOO_LONG:
			return "it is longer than 255 bytes";
		case MIGRATE_VERSION_BAD_CHAR:
			return "only letters, digits, '.', '-' and '_' are allowed";
		case MIGRATE_VERSION_BAD_FIRST:
			return "it must start with a letter or a digit";
		case MIGRATE_VERSION_BAD_LAST:
			return "it must end with a letter or a digit";
	}
	return "unknown problem";
}

static bool
version_valid(const char *v)
{
	return migrate_version_check_syntax(v, strlen(v), NULL) == MIGRATE_VERSION_OK;
}

/* True if req is "version" or "project:version", both parts valid. */
static bool
requirement_valid(const char *req)
{
	const char *colon = strchr(req, ':');
	const char *p;

	if (colon == NULL)
		return version_valid(req);
	if (colon == req || colon - req > 63)
		return false;
	if (!((req[0] >= 'a' && req[0] <= 'z') || req[0] == '_'))
		return false;
	for (p = req; p < colon; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
			return false;
	return version_valid(colon + 1);
}

/* qsort over an array of Migration pointers, by version, then by source */
static int
compare_by_version(const void *a, const void *b)
{
	const Migration *ma = *(const Migration *const *) a;
	const Migration *mb = *(const Migration *const *) b;
	int			c;

	c = migrate_version_compare(ma->version, strlen(ma->version),
								mb->version, strlen(mb->version));
	if (c == 0)
		c = strcmp(ma->source, mb->source);
	return c;
}

static int
compare_by_name(const void *a, const void *b)
{
	const Migration *ma = *(const Migration *const *) a;
	const Migration *mb = *(const Migration *const *) b;
	int			c;

	c = strcmp(ma->name, mb->name);
	if (c == 0)
		c = strcmp(ma->source, mb->source);
	return c;
}

/*
 * bundle_check
 *
 * Checks what no single layout can see, and what every layout must give:
 * each versioned migration has a valid version and an up, no two versions
 * are equal (natural order: "1.0" = "1-0" = "01.00"), no two repeatables
 * have the same name, requirements are well-formed, and every string is
 * valid UTF-8 (names come from file names, which need not be).  The first
 * problem found ends the run, naming the file or files concerned.
 */
void
bundle_check(const Bundle *b)
{
	const Migration **versioned;
	const Migration **repeatable;
	int			nv = 0;
	int			nr = 0;
	int			i;

	versioned = xmalloc(sizeof(Migration *) * (size_t) (b->n + 1));
	repeatable = xmalloc(sizeof(Migration *) * (size_t) (b->n + 1));

	for (i = 0; i < b->n; i++)
	{
		const Migration *m = &b->items[i];
		int			k;

		if (m->source == NULL)
			bundle_fail("internal error: migration without a source file");
		if (m->name == NULL || m->up == NULL)
			bundle_fail("%s: internal error: migration without a name or up script",
						m->source);
		check_utf8(m, "the name", m->name);
		if (m->comment != NULL)
			check_utf8(m, "the comment", m->comment);

		if (m->repeatable)
		{
			repeatable[nr++] = m;
			continue;
		}

		if (m->version == NULL)
			bundle_fail("%s: internal error: versioned migration without a version",
						m->source);
		check_utf8(m, "the version", m->version);
		{
			MigrateVersionSyntax r;

			r = migrate_version_check_syntax(m->version, strlen(m->version),
											 NULL);
			if (r != MIGRATE_VERSION_OK)
				bundle_fail("%s: invalid version \"%s\": %s",
							m->source, m->version, version_problem(r));
		}
		for (k = 0; k < m->nrequires; k++)
		{
			check_utf8(m, "a requirement", m->requires[k]);
			if (!requirement_valid(m->requires[k]))
				bundle_fail("%s: invalid requirement \"%s\": it must be \"version\" or \"project:version\"",
							m->source, m->requires[k]);
		}
		versioned[nv++] = m;
	}

	if (nv > 1)
		qsort(versioned, (size_t) nv, sizeof(Migration *), compare_by_version);
	for (i = 1; i < nv; i++)
	{
		const Migration *x = versioned[i - 1];
		const Migration *y = versioned[i];

		if (migrate_version_compare(x->version, strlen(x->version),
									y->version, strlen(y->version)) != 0)
			continue;
		if (strcmp(x->version, y->version) == 0)
			bundle_fail("%s: version \"%s\" is also the version of %s",
						y->source, y->version, x->source);
		bundle_fail("%s: version \"%s\" is equal to version \"%s\" of %s (versions compare naturally: leading zeros and separators do not count)",
					y->source, y->version, x->version, x->source);
	}

	if (nr > 1)
		qsort(repeatable, (size_t) nr, sizeof(Migration *), compare_by_name);
	for (i = 1; i < nr; i++)
	{
		if (strcmp(repeatable[i - 1]->name, repeatable[i]->name) == 0)
			bundle_fail("%s: repeatable migration \"%s\" is also defined by %s",
						repeatable[i]->source, repeatable[i]->name,
						repeatable[i - 1]->source);
	}

	free(versioned);
	free(repeatable);
}

static void
append_versioned(StrBuf *buf, const Bundle *b, const Options *opts)
{
	int			i;
	int			ord = 0;
	bool		first = true;

	strbuf_append(buf,
			   "(SELECT migrate.register(version => m.version, name => m.name, up => m.up, down => m.down, requires => m.requires::text[], transactional => m.transactional::boolean, project => m.project, verify => m.verify) AS result\n"
			   "           FROM (VALUES\n");
	for (i = 0; i < b->n; i++)
	{
		const Migration *m = &b->items[i];
		char		num[32];

		if (m->repeatable)
			continue;
		if (!first)
			strbuf_append(buf, ",\n");
		first = false;
		if (m->comment != NULL)
			append_comment(buf, "                 ", m->comment);
		snprintf(num, sizeof(num), "%d", ++ord);
		strbuf_append(buf, "                 (");
		strbuf_append(buf, num);
		strbuf_append(buf, ", ");
		append_literal(buf, m->version);
		strbuf_append(buf, ", ");
		append_literal(buf, m->name);
		strbuf_append(buf, ", ");
		append_dollar_quoted(buf, m->up);
		strbuf_append(buf, ", ");
		append_script_or_null(buf, m->down);
		strbuf_append(buf, ", ");
		append_requires(buf, m);
		strbuf_append(buf, ", ");
		strbuf_append(buf, m->transactional == TX_SERVER ? "NULL" :
				   m->transactional == TX_TRUE ? "'true'" : "'false'");
		strbuf_append(buf, ", ");
		append_literal(buf, opts->project);
		strbuf_append(buf, ", ");
		append_script_or_null(buf, m->verify);
		strbuf_append(buf, ")");
	}
	strbuf_append(buf,
			   "\n"
			   "                ) AS m(ord, version, name, up, down, requires, transactional, project, verify)\n"
			   "          ORDER BY m.ord)");
}

static void
append_repeatable(StrBuf *buf, const Bundle *b, const Options *opts)
{
	int			i;
	int			ord = 0;
	bool		first = true;

	strbuf_append(buf,
			   "(SELECT migrate.register_repeatable(name => r.name, up => r.up, project => r.project) AS result\n"
			   "           FROM (VALUES\n");
	for (i = 0; i < b->n; i++)
	{
		const Migration *m = &b->items[i];
		char		num[32];

		if (!m->repeatable)
			continue;
		if (!first)
			strbuf_append(buf, ",\n");
		first = false;
		if (m->comment != NULL)
			append_comment(buf, "                 ", m->comment);
		snprintf(num, sizeof(num), "%d", ++ord);
		strbuf_append(buf, "                 (");
		strbuf_append(buf, num);
		strbuf_append(buf, ", ");
		append_literal(buf, m->name);
		strbuf_append(buf, ", ");
		append_dollar_quoted(buf, m->up);
		strbuf_append(buf, ", ");
		append_literal(buf, opts->project);
		strbuf_append(buf, ")");
	}
	strbuf_append(buf,
			   "\n"
			   "                ) AS r(ord, name, up, project)\n"
			   "          ORDER BY r.ord)");
}

/*
 * bundle_write
 *
 * Checks b (bundle_check) and writes the script to stdout, as the file
 * header shows.  Fails, writing nothing, if b is empty.  Exits with status
 * 1 if stdout cannot be written.
 */
void
bundle_write(const Bundle *b, const Options *opts, const Layout *layout)
{
	StrBuf		buf = {0};
	int			nv = 0;
	int			nr = 0;
	int			i;
	char	   *line;

	bundle_check(b);

	for (i = 0; i < b->n; i++)
	{
		if (b->items[i].repeatable)
			nr++;
		else
			nv++;
	}
	if (nv + nr == 0)
		bundle_fail("%s: no migrations found (layout %s)",
					opts->dir, layout->name);

	line = xasprintf("-- migrate-bundle %s: %d migration%s from a %s folder\n",
					 BUNDLE_VERSION, nv + nr, nv + nr == 1 ? "" : "s",
					 layout->name);
	strbuf_append(&buf, line);
	free(line);
	strbuf_append(&buf,
			   "\\set ON_ERROR_STOP on\n"
			   "SET client_encoding = 'UTF8';\n"
			   "SELECT r.result, count(*) AS migrations\n"
			   "  FROM (");
	if (nv > 0 && nr > 0)
	{
		append_versioned(&buf, b, opts);
		strbuf_append(&buf, "\n        UNION ALL\n        ");
		append_repeatable(&buf, b, opts);
	}
	else if (nv > 0)
		append_versioned(&buf, b, opts);
	else
		append_repeatable(&buf, b, opts);
	strbuf_append(&buf,
			   "\n"
			   "       ) AS r\n"
			   " GROUP BY r.result\n"
			   " ORDER BY r.result;\n");

	if (opts->run)
		strbuf_append(&buf, "SELECT * FROM migrate.run();\n");
	if (opts->deploy)
		strbuf_append(&buf, "CALL migrate.deploy();\n");

	if (fwrite(buf.data, 1, buf.len, stdout) != buf.len || fflush(stdout) != 0)
		bundle_fail("cannot write to standard output: %s", strerror(errno));
	free(buf.data);
}
