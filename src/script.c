/*-------------------------------------------------------------------------
 *
 * script.c
 *	  Reading migration scripts with the server's own lexer and parser.
 *
 * A script is checked once, when it is registered: the core lexer finds
 * psql meta-commands (which it does not understand), the core grammar
 * finds syntax errors, and a walk over the top-level statements refuses
 * what migrate cannot run: transaction control, statements that cannot run
 * in a transaction block (for transactional migrations), COPY to or from
 * the client, and role changes.  Nothing here looks at the catalogs, so a
 * script that refers to objects created by earlier migrations registers
 * fine; only running it can tell whether it works.
 *
 * The checksum (v1) is a SHA-256 over the script's tokens as the core
 * lexer reads them: each token is fed as a class byte, a 4-byte length and
 * its text.  Keywords and identifiers come out of the lexer in their
 * canonical case (a quoted identifier as written, so "user" and user stay
 * different), string constants are fed by value (so the quoting style does
 * not count), and runs of semicolons collapse.  Whitespace and comments
 * never reach the hash, but for the "-- migrate:allow" directives of lint
 * (fold_directives): adding one changes the registration.  The lexer reads a copy of the script with CRLF
 * line endings turned into LF, inside string constants too: a checkout on
 * another system must not turn an applied migration into an edited one.
 * Token numbers are never hashed: they change between server versions, and
 * a checksum must survive pg_upgrade.
 *
 * Everything here can throw; errors carry a position inside the script
 * (as an internal query) and name the migration and the script.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>

#include "commands/defrem.h"
#include "miscadmin.h"
#include "common/cryptohash.h"
#include "common/keywords.h"
#include "common/sha2.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "nodes/parsenodes.h"
#include "parser/parser.h"
#include "parser/scanner.h"
/* gram.h needs scanner.h first; we want its token numbers */
#include "parser/gram.h"
#include "utils/builtins.h"

#include "script.h"

typedef struct ScriptErrorArg
{
	const char *script;
	const ScriptLabel *label;
	const ScriptStatement *statement;	/* being checked, NULL if unknown */
} ScriptErrorArg;

static void script_error_callback(void *arg);
static void script_errcontext(ScriptPart part, const char *name, int line);
static void scan_script(const char *script, uint8 *digest);
static void hash_token(pg_cryptohash_ctx *ctx, char tokclass,
					   const char *text, size_t len);
static void hash_lexed_token(pg_cryptohash_ctx *ctx, int tok,
							 const core_YYSTYPE *lval);
static List *split_statements(const char *script);
static const char *check_statement(const ScriptStatement *st,
								   const char *script, bool transactional,
								   ScriptPart part);
static const char *non_transactional_command(Node *stmt);
static int	byte_to_char_pos(const char *text, int byteoff);
static void fold_directives(const char *script, List *stmts, uint8 *digest);
static int	list_string_cmp(const ListCell *a, const ListCell *b);
static int	char_pos_to_byte(const char *text, int charpos);

/*
 * migrate_script_check
 *		Validates a script for registration and returns its checksum
 *		("v1:" and 64 hex digits, palloc'd); fills *facts.
 *
 * Throws on anything migrate would refuse to run; with transactional, that
 * includes a statement that cannot run in a transaction block.  The
 * error's position, if any, points into the script.  An empty script is
 * accepted: it is a migration that does nothing, on purpose.
 */
char *
migrate_script_check(const char *script, bool transactional,
					 const ScriptLabel *label, ScriptFacts *facts)
{
	ErrorContextCallback errcallback;
	ScriptErrorArg errarg;
	uint8		digest[PG_SHA256_DIGEST_LENGTH];
	char	   *result;
	List	   *stmts;
	ListCell   *lc;

	errarg.script = script;
	errarg.label = label;
	errarg.statement = NULL;
	errcallback.callback = script_error_callback;
	errcallback.arg = &errarg;
	errcallback.previous = error_context_stack;
	error_context_stack = &errcallback;

	/* The lexer first: it reports meta-commands better than the grammar. */
	scan_script(script, digest);

	stmts = split_statements(script);
	facts->empty = (stmts == NIL);
	facts->non_transactional = NULL;
	facts->statements = stmts;
	foreach(lc, stmts)
	{
		const char *command;

		CHECK_FOR_INTERRUPTS();
		errarg.statement = (ScriptStatement *) lfirst(lc);
		command = check_statement(errarg.statement, script, transactional,
								  label->part);
		if (facts->non_transactional == NULL)
			facts->non_transactional = command;
	}

	error_context_stack = errcallback.previous;
	fold_directives(script, stmts, digest);

	result = palloc(strlen(MIGRATE_CHECKSUM_TAG) + 2 * sizeof(digest) + 1);
	strcpy(result, MIGRATE_CHECKSUM_TAG);
	hex_encode((const char *) digest, sizeof(digest),
			   result + strlen(MIGRATE_CHECKSUM_TAG));
	result[strlen(MIGRATE_CHECKSUM_TAG) + 2 * sizeof(digest)] = '\0';
	return result;
}

/*
 * fold_directives
 *		Makes the "-- migrate:allow" directives of a script part of its
 *		checksum: if it has any, digest becomes the SHA-256 of digest and of
 *		each statement's allowed rules (its number and rules, sorted).  A
 *		script without directives keeps the checksum of its tokens alone,
 *		which every checksum computed before directives existed is.
 */
static void
fold_directives(const char *script, List *stmts, uint8 *digest)
{
	StringInfoData buf;
	ListCell   *lc;
	pg_cryptohash_ctx *ctx;

	initStringInfo(&buf);
	foreach(lc, stmts)
	{
		List	   *rules = migrate_script_allowed_rules(script, lfirst(lc));
		ListCell   *rc;

		if (rules == NIL)
			continue;
		list_sort(rules, list_string_cmp);
		appendStringInfo(&buf, "%d:", foreach_current_index(lc) + 1);
		foreach(rc, rules)
			appendStringInfo(&buf, "%s,", (char *) lfirst(rc));
		appendStringInfoChar(&buf, ';');
	}
	if (buf.len == 0)
		return;

	ctx = pg_cryptohash_create(PG_SHA256);
	if (pg_cryptohash_init(ctx) < 0 ||
		pg_cryptohash_update(ctx, digest, PG_SHA256_DIGEST_LENGTH) < 0 ||
		pg_cryptohash_update(ctx, (const uint8 *) "allow", 5) < 0 ||
		pg_cryptohash_update(ctx, (const uint8 *) buf.data, buf.len) < 0 ||
		pg_cryptohash_final(ctx, digest, PG_SHA256_DIGEST_LENGTH) < 0)
		elog(ERROR, "could not compute SHA-256: %s",
			 pg_cryptohash_error(ctx));
	pg_cryptohash_free(ctx);
}

static int
list_string_cmp(const ListCell *a, const ListCell *b)
{
	return strcmp((const char *) lfirst(a), (const char *) lfirst(b));
}

/*
 * migrate_script_allowed_rules
 *		The lint rules a statement allows (char *): "-- migrate:allow
 *		rule[, rule]" on the line directly above its first line, or at the
 *		end of its first line.
 */
List *
migrate_script_allowed_rules(const char *script, const ScriptStatement *st)
{
	const char *first = script + st->offset;
	const char *line_start = first;
	const char *line_end;
	const char *prev_start = NULL;
	List	   *result = NIL;
	int			i;

	while (line_start > script && line_start[-1] != '\n')
		line_start--;
	line_end = strchr(first, '\n');
	if (line_end == NULL)
		line_end = first + strlen(first);
	if (line_start > script)
	{
		prev_start = line_start - 1;
		while (prev_start > script && prev_start[-1] != '\n')
			prev_start--;
	}

	/* 0: the line above, which holds nothing else; 1: the first line */
	for (i = 0; i < 2; i++)
	{
		const char *start = i == 0 ? prev_start : first;
		const char *end = i == 0 ? line_start - 1 : line_end;
		char	   *text;
		char	   *directive;
		char	   *tok;
		char	   *save;

		if (start == NULL)
			continue;
		text = pnstrdup(start, end - start);

		directive = strstr(text, MIGRATE_ALLOW_DIRECTIVE);
		/* the directive itself, followed by its rules: not a longer word */
		if (directive == NULL ||
			(i == 0 && strspn(text, " \t\r") != (size_t) (directive - text)) ||
			(directive[strlen(MIGRATE_ALLOW_DIRECTIVE)] != ' ' &&
			 directive[strlen(MIGRATE_ALLOW_DIRECTIVE)] != '\t'))
			continue;
		for (tok = strtok_r(directive + strlen(MIGRATE_ALLOW_DIRECTIVE),
							", \t\r", &save);
			 tok != NULL; tok = strtok_r(NULL, ", \t\r", &save))
			result = lappend(result, pstrdup(tok));
	}
	return result;
}

/*
 * migrate_script_report_empty
 *		The NOTICE that a script just registered is empty, so that applying
 *		(up, repeatable) or reverting (down) the migration changes nothing.
 */
void
migrate_script_report_empty(const ScriptLabel *label)
{
	char	   *name = migrate_migration_name(label->project, label->version,
											  label->name);

	switch (label->part)
	{
		case SCRIPT_UP:
			ereport(NOTICE,
					(errmsg("up script of migration %s is empty", name),
					 errdetail("Applying the migration will change nothing.")));
			break;
		case SCRIPT_REPEATABLE:
			ereport(NOTICE,
					(errmsg("repeatable script of migration %s is empty", name),
					 errdetail("Applying the migration will change nothing.")));
			break;
		case SCRIPT_DOWN:
			ereport(NOTICE,
					(errmsg("down script of migration %s is empty", name),
					 errdetail("Reverting the migration will change nothing.")));
			break;
		case SCRIPT_VERIFY:
			ereport(NOTICE,
					(errmsg("verify script of migration %s is empty", name),
					 errdetail("Applying the migration will verify nothing.")));
			break;
	}
}

/*
 * migrate_script_first_difference
 *		Compares the first n statements of two scripts (each one that
 *		passed migrate_script_check) as the checksum does: token by token.
 *		Returns 0 if they are the same, else the number (from 1) of the
 *		first statement that differs or that one script lacks.
 */
int
migrate_script_first_difference(const char *a, const char *b, int n)
{
	List	   *sa = migrate_script_statements(a);
	List	   *sb = migrate_script_statements(b);
	int			i;

	for (i = 0; i < n; i++)
	{
		ScriptStatement *x;
		ScriptStatement *y;
		uint8		dx[PG_SHA256_DIGEST_LENGTH];
		uint8		dy[PG_SHA256_DIGEST_LENGTH];

		if (i >= list_length(sa) || i >= list_length(sb))
			return i + 1;
		x = list_nth(sa, i);
		y = list_nth(sb, i);
		scan_script(pnstrdup(a + x->offset, x->length), dx);
		scan_script(pnstrdup(b + y->offset, y->length), dy);
		if (memcmp(dx, dy, sizeof(dx)) != 0)
			return i + 1;
	}
	return 0;
}

/*
 * migrate_script_statements
 *		Splits a script into its top-level statements (ScriptStatement *).
 *
 * The script is one that passed migrate_script_check, so this does not
 * expect syntax errors, but it reports them like the parser would.
 */
List *
migrate_script_statements(const char *script)
{
	return split_statements(script);
}

/*
 * split_statements
 *		raw_parser, then the first token, length and line of each statement.
 *
 * The parser's statements start right after the previous semicolon, so
 * they include the whitespace and comments before their first token; the
 * lexer finds that token.  Lines are counted in one pass over the script.
 */
static List *
split_statements(const char *script)
{
	List	   *raw = raw_parser(script, RAW_PARSE_DEFAULT);
	List	   *result = NIL;
	ListCell   *lc;
	int			line = 1;
	int			counted = 0;	/* line is the line of byte "counted" */
	int			scriptlen = strlen(script);

	foreach(lc, raw)
	{
		RawStmt    *rs = lfirst_node(RawStmt, lc);
		ScriptStatement *st = palloc(sizeof(ScriptStatement));
		int			start = rs->stmt_location;
		int			end;
		core_yy_extra_type yyextra;
		core_yyscan_t scanner;
		core_YYSTYPE lval;
		YYLTYPE		lloc = 0;
		char	   *text;

		CHECK_FOR_INTERRUPTS();
		end = rs->stmt_len > 0 ? start + rs->stmt_len : scriptlen;
		text = pnstrdup(script + start, end - start);

		scanner = scanner_init(text, &yyextra, &ScanKeywords,
							   ScanKeywordTokens);
		(void) core_yylex(&lval, &lloc, scanner);
		scanner_finish(scanner);
		pfree(text);

		st->offset = start + lloc;
		st->length = end - st->offset;
		st->parsetree = rs->stmt;
		for (; counted < st->offset; counted++)
			if (script[counted] == '\n')
				line++;
		st->line = line;
		result = lappend(result, st);
	}
	return result;
}

/*
 * migrate_script_line_at
 *		Line (from 1) of a 1-based character position in text, as error
 *		positions count.
 */
int
migrate_script_line_at(const char *text, int charpos)
{
	int			line = 1;
	int			chars = 1;
	const char *p = text;

	while (*p && chars < charpos)
	{
		if (*p == '\n')
			line++;
		p += pg_mblen(p);
		chars++;
	}
	return line;
}

/*
 * Error context for registration: names the script and, if the error has
 * a position, its line, and moves the position into the statement that
 * holds it, which becomes the error's internal query (psql then shows
 * that statement, with a caret under the position, and not the whole
 * script).
 *
 * The statement is known when check_statement refuses it.  A syntax
 * error comes from the lexer or the grammar before statements are known:
 * then the statement is taken to run from the semicolon before the
 * position to the one after it, which is exact unless a semicolon sits
 * inside a string, a comment or a function body nearby.
 */
static void
script_error_callback(void *arg)
{
	ScriptErrorArg *ea = (ScriptErrorArg *) arg;
	const char *script = ea->script;
	char	   *name = migrate_migration_name(ea->label->project,
											  ea->label->version,
											  ea->label->name);
	int			pos = geterrposition();
	int			errbyte;
	int			start;
	int			end;

	if (pos <= 0)
	{
		script_errcontext(ea->label->part, name, 0);
		return;
	}

	errbyte = char_pos_to_byte(script, pos);
	if (ea->statement)
	{
		start = ea->statement->offset;
		end = start + ea->statement->length;
	}
	else
	{
		int			len = strlen(script);

		for (start = errbyte; start > 0 && script[start - 1] != ';'; start--)
			;
		for (end = errbyte; end < len && script[end] != ';'; end++)
			;
		if (end < len)
			end++;				/* the semicolon ends the statement */
		/* from the statement's first line, without blank lines above */
		while (start < errbyte && isspace((unsigned char) script[start]))
			start++;
		while (start > 0 && script[start - 1] != '\n' &&
			   script[start - 1] != ';')
			start--;
	}

	errposition(0);
	internalerrposition(pg_mbstrlen_with_len(script + start,
											 errbyte - start) + 1);
	internalerrquery(pnstrdup(script + start, end - start));
	script_errcontext(ea->label->part, name,
					  migrate_script_line_at(script, pos));
}

/*
 * script_errcontext
 *		The context line of an error in a script: which script of which
 *		migration and, if line > 0, its line.  One whole sentence per part,
 *		for translators.
 */
static void
script_errcontext(ScriptPart part, const char *name, int line)
{
	switch (part)
	{
		case SCRIPT_UP:
			if (line > 0)
				errcontext("up script of migration %s, line %d", name, line);
			else
				errcontext("up script of migration %s", name);
			break;
		case SCRIPT_DOWN:
			if (line > 0)
				errcontext("down script of migration %s, line %d", name, line);
			else
				errcontext("down script of migration %s", name);
			break;
		case SCRIPT_REPEATABLE:
			if (line > 0)
				errcontext("repeatable script of migration %s, line %d",
						   name, line);
			else
				errcontext("repeatable script of migration %s", name);
			break;
		case SCRIPT_VERIFY:
			if (line > 0)
				errcontext("verify script of migration %s, line %d",
						   name, line);
			else
				errcontext("verify script of migration %s", name);
			break;
	}
}

/*
 * migrate_script_part_name
 *		"up", "down" or "repeatable": the name of the argument a script was
 *		registered with, for pg_stat_activity (not for messages).
 */
const char *
migrate_script_part_name(ScriptPart part)
{
	switch (part)
	{
		case SCRIPT_UP:
			return "up";
		case SCRIPT_DOWN:
			return "down";
		case SCRIPT_REPEATABLE:
			return "repeatable";
		case SCRIPT_VERIFY:
			return "verify";
	}
	return "?";
}

/*
 * scan_script
 *		Runs the core lexer over the whole script: refuses psql
 *		meta-commands and computes the v1 checksum into digest.
 */
static void
scan_script(const char *script, uint8 *digest)
{
	core_yy_extra_type yyextra;
	core_yyscan_t scanner;
	pg_cryptohash_ctx *ctx;
	bool		pending_semicolon = false;
	bool		any = false;

	/* CRLF to LF, everywhere: line endings never count */
	if (strchr(script, '\r') != NULL)
	{
		char	   *copy = palloc(strlen(script) + 1);
		const char *src;
		char	   *dst = copy;

		for (src = script; *src; src++)
			if (!(src[0] == '\r' && src[1] == '\n'))
				*dst++ = *src;
		*dst = '\0';
		script = copy;
	}

	ctx = pg_cryptohash_create(PG_SHA256);
	if (pg_cryptohash_init(ctx) < 0)
		elog(ERROR, "could not initialize SHA-256 context: %s",
			 pg_cryptohash_error(ctx));

	scanner = scanner_init(script, &yyextra, &ScanKeywords, ScanKeywordTokens);
	for (;;)
	{
		core_YYSTYPE lval;
		YYLTYPE		lloc;
		int			tok = core_yylex(&lval, &lloc, scanner);

		if (tok == 0)
			break;
		CHECK_FOR_INTERRUPTS();

		if (tok == '\\')
		{
			int			len = 1;

			/* name the meta-command: the backslash and the letters after */
			while (isalpha((unsigned char) script[lloc + len]))
				len++;
			if (script[lloc + 1] == '.')
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("COPY data (ending with \"\\.\") is not supported in migration scripts"),
						 errhint("Load data with INSERT statements, or with COPY from a file on the server."),
						 scanner_errposition(lloc, scanner)));
			ereport(ERROR,
					(errcode(ERRCODE_SYNTAX_ERROR),
					 errmsg("psql meta-command \"%.*s\" is not supported in migration scripts",
							len, script + lloc),
					 errdetail("A migration script is plain SQL, run by the server, not by psql."),
					 scanner_errposition(lloc, scanner)));
		}

		if (tok == ';')
		{
			pending_semicolon = true;
			continue;
		}
		if (pending_semicolon && any)
			hash_token(ctx, ';', NULL, 0);
		pending_semicolon = false;
		any = true;

		hash_lexed_token(ctx, tok, &lval);
	}
	scanner_finish(scanner);

	if (pg_cryptohash_final(ctx, digest, PG_SHA256_DIGEST_LENGTH) < 0)
		elog(ERROR, "could not finalize SHA-256 context: %s",
			 pg_cryptohash_error(ctx));
	pg_cryptohash_free(ctx);
}

/*
 * How the checksum reads the tokens that are not keywords nor single
 * characters: a class byte, and the text hashed (NULL: the token's own
 * string, as the lexer returns it).  Token numbers themselves are never
 * hashed.
 */
static const struct
{
	int			token;
	char		tokclass;
	const char *text;
}			token_classes[] = {
	{IDENT, 'w', NULL},
	{UIDENT, 'u', NULL},
	{SCONST, 's', NULL},
	{USCONST, 'S', NULL},
	{BCONST, 'b', NULL},
	{XCONST, 'x', NULL},
	{FCONST, 'f', NULL},
	{Op, 'o', NULL},
	{TYPECAST, 'o', "::"},
	{DOT_DOT, 'o', ".."},
	{COLON_EQUALS, 'o', ":="},
	{EQUALS_GREATER, 'o', "=>"},
	{LESS_EQUALS, 'o', "<="},
	{GREATER_EQUALS, 'o', ">="},
	/* the lexer folds "!=" into this token too */
	{NOT_EQUALS, 'o', "<>"}
};

/*
 * hash_lexed_token
 *		Feeds one token (not a semicolon) to the checksum: integers and
 *		parameters by value, the tokens of token_classes by their class,
 *		single characters as operators, keywords in their canonical (lower)
 *		case.
 */
static void
hash_lexed_token(pg_cryptohash_ctx *ctx, int tok, const core_YYSTYPE *lval)
{
	char		buf[32];
	int			i;

	if (tok == ICONST || tok == PARAM)
	{
		snprintf(buf, sizeof(buf), "%d", lval->ival);
		hash_token(ctx, tok == ICONST ? 'i' : 'p', buf, strlen(buf));
		return;
	}
	for (i = 0; i < lengthof(token_classes); i++)
	{
		if (token_classes[i].token == tok)
		{
			const char *text = token_classes[i].text;

			if (text == NULL)
				text = lval->str;

			hash_token(ctx, token_classes[i].tokclass, text, strlen(text));
			return;
		}
	}
	if (tok < 256)
	{
		buf[0] = (char) tok;
		hash_token(ctx, 'o', buf, 1);
	}
	else
		hash_token(ctx, 'k', lval->keyword, strlen(lval->keyword));
}

static void
hash_token(pg_cryptohash_ctx *ctx, char tokclass, const char *text,
		   size_t len)
{
	uint8		head[5];

	head[0] = (uint8) tokclass;
	head[1] = (uint8) (len >> 24);
	head[2] = (uint8) (len >> 16);
	head[3] = (uint8) (len >> 8);
	head[4] = (uint8) len;
	if (pg_cryptohash_update(ctx, head, sizeof(head)) < 0 ||
		(len > 0 && pg_cryptohash_update(ctx, (const uint8 *) text, len) < 0))
		elog(ERROR, "could not update SHA-256 context: %s",
			 pg_cryptohash_error(ctx));
}

/*
 * check_statement
 *		Refuses a top-level statement that migrate cannot run.  Returns the
 *		command's name if it cannot run in a transaction block (and
 *		transactional is false), else NULL.
 *
 * The error position is computed only when an error is raised (ereport
 * evaluates its arguments then): counting characters up to every
 * statement would make checking a long script quadratic.
 */
static const char *
check_statement(const ScriptStatement *st, const char *script,
				bool transactional, ScriptPart part)
{
	Node	   *stmt = st->parsetree;
	const char *command;

	if (IsA(stmt, TransactionStmt))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TRANSACTION_TERMINATION),
				 errmsg("transaction control statements are not allowed in migration scripts"),
				 errdetail("migrate runs every migration inside a transaction that it does not own."),
				 errhint("Remove BEGIN, COMMIT, ROLLBACK, SAVEPOINT and similar statements from the script."),
				 errposition(byte_to_char_pos(script, st->offset))));

	if (IsA(stmt, CopyStmt))
	{
		CopyStmt   *copy = (CopyStmt *) stmt;

		if (copy->filename == NULL && !copy->is_program)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("COPY %s is not supported in migration scripts",
							copy->is_from ? "FROM STDIN" : "TO STDOUT"),
					 errdetail("A migration runs inside the server, with no client to exchange data with."),
					 errhint("Load data with INSERT statements, or with COPY from a file on the server."),
					 errposition(byte_to_char_pos(script, st->offset))));
	}

	if (IsA(stmt, VariableSetStmt))
	{
		VariableSetStmt *set = (VariableSetStmt *) stmt;

		if (set->name &&
			(strcmp(set->name, "role") == 0 ||
			 strcmp(set->name, "session_authorization") == 0))
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("a migration cannot change its role"),
					 errdetail("A migration runs as the role that registered it."),
					 errhint("Register the migration as the role it should run as."),
					 errposition(byte_to_char_pos(script, st->offset))));
	}

	command = non_transactional_command(stmt);
	if (transactional && command != NULL && part == SCRIPT_VERIFY)
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 errmsg("%s cannot run inside a transaction block", command),
				 errdetail("A verify script runs inside the transaction that records its migration applied."),
				 errhint("Move the statement to the up script of a migration registered with transactional => false."),
				 errposition(byte_to_char_pos(script, st->offset))));
	if (transactional && command != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 errmsg("%s cannot run inside a transaction block", command),
				 errdetail("A transactional migration runs inside the caller's transaction."),
				 errhint("Register the migration with transactional => false, alone in its own migration."),
				 errposition(byte_to_char_pos(script, st->offset))));
	return command;
}

/*
 * non_transactional_command
 *		The command name if stmt cannot run inside a transaction block (the
 *		server would call PreventInTransactionBlock for it), else NULL.
 */
static const char *
non_transactional_command(Node *stmt)
{
	ListCell   *lc;

	switch (nodeTag(stmt))
	{
		case T_CreateSchemaStmt:
			/* CREATE SCHEMA s CREATE INDEX CONCURRENTLY ... */
			foreach(lc, ((CreateSchemaStmt *) stmt)->schemaElts)
			{
				const char *command = non_transactional_command(lfirst(lc));

				if (command)
					return command;
			}
			break;
		case T_IndexStmt:
			if (((IndexStmt *) stmt)->concurrent)
				return "CREATE INDEX CONCURRENTLY";
			break;
		case T_DropStmt:
			if (((DropStmt *) stmt)->concurrent)
				return "DROP INDEX CONCURRENTLY";
			break;
		case T_ReindexStmt:
			{
				ReindexStmt *r = (ReindexStmt *) stmt;

				foreach(lc, r->params)
				{
					DefElem    *opt = lfirst_node(DefElem, lc);

					if (strcmp(opt->defname, "concurrently") == 0 &&
						defGetBoolean(opt))
						return "REINDEX CONCURRENTLY";
				}
				if (r->kind == REINDEX_OBJECT_SYSTEM)
					return "REINDEX SYSTEM";
				if (r->kind == REINDEX_OBJECT_DATABASE)
					return "REINDEX DATABASE";
			}
			break;
		case T_VacuumStmt:
			if (((VacuumStmt *) stmt)->is_vacuumcmd)
				return "VACUUM";
			break;
		case T_ClusterStmt:
			if (((ClusterStmt *) stmt)->relation == NULL)
				return "CLUSTER";
			break;
		case T_CreatedbStmt:
			return "CREATE DATABASE";
		case T_DropdbStmt:
			return "DROP DATABASE";
		case T_AlterSystemStmt:
			return "ALTER SYSTEM";
		case T_CreateTableSpaceStmt:
			return "CREATE TABLESPACE";
		case T_DropTableSpaceStmt:
			return "DROP TABLESPACE";
		case T_DiscardStmt:
			if (((DiscardStmt *) stmt)->target == DISCARD_ALL)
				return "DISCARD ALL";
			break;
		case T_AlterTableStmt:
			foreach(lc, ((AlterTableStmt *) stmt)->cmds)
			{
				AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);

				if (cmd->subtype == AT_DetachPartition &&
					((PartitionCmd *) cmd->def)->concurrent)
					return "ALTER TABLE ... DETACH PARTITION CONCURRENTLY";
			}
			break;
		default:
			break;
	}
	return NULL;
}

/* The byte offset of a 1-based character position in text. */
static int
char_pos_to_byte(const char *text, int charpos)
{
	const char *p = text;
	int			chars = 1;

	while (*p && chars < charpos)
	{
		p += pg_mblen(p);
		chars++;
	}
	return p - text;
}

/* 1-based character position of a byte offset, as errposition wants. */
static int
byte_to_char_pos(const char *text, int byteoff)
{
	if (byteoff < 0)
		return 0;
	return pg_mbstrlen_with_len(text, byteoff) + 1;
}
