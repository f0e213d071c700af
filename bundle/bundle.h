/*-------------------------------------------------------------------------
 *
 * bundle.h
 *	  migrate-bundle: reads a folder of migration files in one tool's layout
 *	  and writes one SQL script that registers them all with migrate.
 *
 * The program is plain C with libc only (no PostgreSQL headers, no libpq).
 * Flow: main.c parses the command line, picks a layout (detect() of each
 * in turn for --layout auto), calls that layout's load(), which appends
 * Migrations to a Bundle, then output.c checks the bundle and writes it.
 *
 * Invariants:
 *	- Nothing is written to stdout until the whole folder has been read and
 *	  checked: every error goes through bundle_fail() (stderr, exit 1) before
 *	  output begins, so a failed run prints nothing on stdout.
 *	- Every string in a Migration is NUL-terminated, valid UTF-8 and free of
 *	  NUL bytes (read_text_file() refuses anything else).
 *	- Output depends only on the folder's contents and the options: files
 *	  are listed in byte order (list_dir()), never in readdir() order, and
 *	  no time, path or host goes into the script.
 *
 *-------------------------------------------------------------------------
 */
#ifndef BUNDLE_H
#define BUNDLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The version of migrate whose register() the script calls */
#define BUNDLE_VERSION "0.4"

/* Transactionality as the layout says it; TX_SERVER passes NULL. */
typedef enum Transactional
{
	TX_SERVER = -1,				/* register(..., transactional => NULL) */
	TX_FALSE = 0,
	TX_TRUE = 1
} Transactional;

typedef struct Migration
{
	bool		repeatable;		/* register_repeatable(): no version, down,
								 * verify, requires */
	char	   *version;		/* as it will be registered; NULL if
								 * repeatable */
	char	   *name;
	char	   *up;
	char	   *down;			/* NULL: cannot be reverted; "" reverts
								 * nothing */
	char	   *verify;			/* NULL: none */
	char	  **requires;		/* "version" or "project:version" */
	int			nrequires;
	Transactional transactional;
	char	   *source;			/* the up's file, relative to the folder, for
								 * messages */
	char	   *comment;		/* NULL, or one line written as an SQL comment
								 * before the migration (e.g. an ignored
								 * Sqitch conflict) */
} Migration;

typedef struct Bundle
{
	Migration  *items;
	int			n;
	int			cap;
} Bundle;

/* --set NAME=VALUE, in command-line order. */
typedef struct Setting
{
	char	   *name;
	char	   *value;
	bool		used;			/* set by lookups */
} Setting;

typedef struct Options
{
	const char *layout;			/* as given, "auto" by default */
	const char *project;		/* --project, "default" by default */
	bool		run;			/* --run */
	bool		deploy;			/* --deploy */
	Setting    *settings;
	int			nsettings;
	const char *dir;
} Options;

typedef struct Layout
{
	const char *name;			/* as --layout spells it */
	/* true if dir looks like this layout (for --layout auto) */
	bool		(*detect) (const char *dir);
	/* append every migration of dir to b; bundle_fail() on any error */
	void		(*load) (const char *dir, const Options *opts, Bundle *b);
} Layout;

/* A growable string; a zeroed one is empty.  data is NUL-terminated. */
typedef struct StrBuf
{
	char	   *data;
	size_t		len;
	size_t		cap;
} StrBuf;

/* walk_dir(): what to call for each entry, and how to walk */
typedef struct WalkOptions
{
	/* return false to stop the walk */
	bool		(*visit) (const char *path, const char *rel, const char *name,
						  bool regular, void *arg);
	void	   *arg;
	bool		skip_hidden_dirs;	/* do not enter folders named ".*" */
	bool		quiet;			/* do not report skipped link loops */
} WalkOptions;

/* util.c: errors, memory, strings, files */
extern void bundle_fail(const char *fmt,...)
			__attribute__((format(printf, 1, 2), noreturn));
extern void bundle_usage_fail(const char *fmt,...)
			__attribute__((format(printf, 1, 2), noreturn));
extern void bundle_note(const char *fmt,...)
			__attribute__((format(printf, 1, 2)));	/* stderr, no exit */
extern void *xmalloc(size_t n);
extern void *xrealloc(void *p, size_t n);
extern void *xreallocarray(void *p, size_t n, size_t size);
extern char *xstrdup(const char *s);
extern char *xstrndup(const char *s, size_t n);
extern char *xasprintf(const char *fmt,...)
			__attribute__((format(printf, 1, 2)));
extern void strbuf_append_n(StrBuf *buf, const char *s, size_t n);
extern void strbuf_append(StrBuf *buf, const char *s);
extern char *strbuf_finish(StrBuf *buf);
extern char *path_join(const char *dir, const char *name);
/* Sorted (strcmp) names of dir's entries, without "." and ".."; *n set. */
extern char **list_dir(const char *dir, int *n);
extern void free_names(char **names, int n);
extern bool is_dir(const char *path);
extern bool is_file(const char *path);
/* Every non-folder entry below dir, recursively, in byte order */
extern void walk_dir(const char *dir, const WalkOptions *opts);
/* Whole file; bundle_fail() naming rel if unreadable, not UTF-8, or NUL. */
extern char *read_text_file(const char *path, const char *rel);
/* read_text_file(), then bundle_check_psql(): for scripts sent as they are */
extern char *read_script_file(const char *path, const char *rel);
/* The whole file, or NULL if unreadable; no checks (for detect()) */
extern char *bundle_read_file_or_null(const char *path);
/* The same, at most its first max bytes */
extern char *bundle_read_head_or_null(const char *path, size_t max);
/*
 * Fails naming rel:line if script has a psql meta-command (a backslash
 * outside quotes and comments); bundle_psql_fail() reports the one at "at".
 */
extern void bundle_check_psql(const char *script, const char *rel);
extern void bundle_psql_fail(const char *rel, int line, const char *at)
			__attribute__((noreturn));
/* s[0..len) is well-formed UTF-8; else *bad (if not NULL) is its offset */
extern bool utf8_check(const char *s, size_t len, size_t *bad);
/* 1-based line of byte offset off in s */
extern int	line_of(const char *s, size_t off);
/* Flyway's checksum of a SQL file's raw text (ChecksumCalculator) */
extern int32_t flyway_checksum(const char *text);
/* s ends with suffix (bytewise; _ci: ASCII letters in any case) */
extern bool bundle_has_suffix(const char *s, const char *suffix);
extern bool bundle_has_suffix_ci(const char *s, const char *suffix);
/* s[0..*n) without leading and trailing white space; *n adjusted */
extern const char *trim_space(const char *s, size_t *n);
/* A copy of s[0..n) with every '_' turned into a space */
extern char *bundle_title(const char *s, size_t n);
/* Decimal digit strings compared as numbers, leading zeros ignored */
extern int	compare_numbers(const char *a, size_t alen,
							const char *b, size_t blen);
/* The next "--" comment among a script's leading blank and comment lines */
extern bool next_leading_comment(const char *text, size_t *pos, int *lineno,
								 const char **body, size_t *len);

/* bundle.c: the list of migrations */
extern Migration *bundle_add(Bundle *b);	/* zeroed, transactional =
											 * TX_SERVER */
extern void migration_add_require(Migration *m, const char *req);

/* output.c: checks (duplicate versions, ...) and the SQL script */
extern void bundle_check(const Bundle *b);
extern void bundle_write(const Bundle *b, const Options *opts, const Layout *layout);

/* One per layout, in layout_<name>.c. */
extern const Layout layout_migrate;
extern const Layout layout_flyway;
extern const Layout layout_golang_migrate;
extern const Layout layout_dbmate;
extern const Layout layout_sqitch;
extern const Layout layout_pop;	/* in layout_popx.c, which does both */
extern const Layout layout_popx;
extern const Layout layout_postgres_migrations;
extern const Layout layout_node_pg_migrate;
extern const Layout layout_prisma;

#endif							/* BUNDLE_H */
