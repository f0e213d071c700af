/*-------------------------------------------------------------------------
 *
 * script.h
 *	  Reading migration scripts with the server's own lexer and parser.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIGRATE_SCRIPT_H
#define MIGRATE_SCRIPT_H

#include "nodes/nodes.h"
#include "nodes/pg_list.h"

#include "migration.h"

/* The checksum algorithm tag that prefixes every checksum we store. */
#define MIGRATE_CHECKSUM_TAG "v1:"

/* The checksum of an empty script (SHA-256 of no tokens at all). */
#define MIGRATE_EMPTY_CHECKSUM \
	"v1:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* Which of a migration's scripts. */
typedef enum ScriptPart
{
	SCRIPT_UP,
	SCRIPT_DOWN,
	SCRIPT_REPEATABLE,			/* the one script of a repeatable migration */
	SCRIPT_VERIFY				/* run right after up, in its transaction */
} ScriptPart;

/*
 * Which script of which migration, for messages.  version is NULL for a
 * repeatable migration.
 */
typedef struct ScriptLabel
{
	const char *project;
	const char *version;
	const char *name;
	ScriptPart	part;
} ScriptLabel;

/* One top-level statement of a script, as the parser split it. */
typedef struct ScriptStatement
{
	int			offset;			/* byte offset of its first token */
	int			length;			/* bytes from there to its end */
	int			line;			/* line of its first token, from 1 */
	Node	   *parsetree;		/* its raw parse tree */
} ScriptStatement;

/* What migrate_script_check learned about a script it accepted. */
typedef struct ScriptFacts
{
	bool		empty;			/* no statement: only whitespace, comments or
								 * semicolons */
	const char *non_transactional;	/* the first command that cannot run in a
									 * transaction block, or NULL */
	List	   *statements;		/* its statements (ScriptStatement), as
								 * migrate_script_statements splits them */
} ScriptFacts;

extern char *migrate_script_check(const char *script, bool transactional,
								  const ScriptLabel *label,
								  ScriptFacts *facts);

/* The comment that allows lint rules for a statement. */
#define MIGRATE_ALLOW_DIRECTIVE "-- migrate:allow"

extern void migrate_script_report_empty(const ScriptLabel *label);
extern List *migrate_script_allowed_rules(const char *script,
										  const ScriptStatement *st);
extern List *migrate_script_statements(const char *script);
extern int	migrate_script_first_difference(const char *a, const char *b,
											int n);
extern int	migrate_script_line_at(const char *text, int charpos);
extern const char *migrate_script_part_name(ScriptPart part);

#endif							/* MIGRATE_SCRIPT_H */
