/*-------------------------------------------------------------------------
 *
 * sql_lex.h
 *	  A small lexer for PostgreSQL script text: tokens and statement
 *	  boundaries, for layouts that must look at a script's first or last
 *	  statement without changing any other byte of it.
 *
 * It knows what psql knows about where a statement ends: comments ("--"
 * to end of line, nested slash-star comments), quoted strings (standard
 * '' strings, E'' strings with backslash escapes), quoted identifiers,
 * dollar quotes, parentheses, and the BEGIN ... END bodies of CREATE
 * FUNCTION / PROCEDURE (BEGIN ATOMIC) with psql's own heuristic.  It does
 * not parse SQL: the server does that when the bundle is registered.
 *
 * Invariants:
 *	- Offsets are byte offsets into the caller's text, which is never
 *	  modified; every token and statement is a range [start, end) of it.
 *	- Whitespace and comments are never part of a token; a statement's
 *	  range runs from its first token to the end of its last token, its
 *	  terminating semicolon excluded.
 *	- The lexer never reads past len.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SQL_LEX_H
#define SQL_LEX_H

#include <stdbool.h>
#include <stddef.h>

typedef enum SqlTokenKind
{
	SQL_TOK_END,				/* no more tokens */
	SQL_TOK_WORD,				/* keyword or unquoted identifier */
	SQL_TOK_QUOTED_IDENT,		/* "..." or U&"..." */
	SQL_TOK_STRING,				/* '...', E'...', B'...', X'...', U&'...' */
	SQL_TOK_DOLLAR_STRING,		/* $tag$...$tag$ */
	SQL_TOK_NUMBER,
	SQL_TOK_SEMICOLON,
	SQL_TOK_OPEN_PAREN,
	SQL_TOK_CLOSE_PAREN,
	SQL_TOK_OTHER,				/* operators, punctuation, $1, psql's \ */
	SQL_TOK_UNTERMINATED		/* a string, identifier, dollar quote or
								 * comment that runs to the end of text */
} SqlTokenKind;

typedef struct SqlToken
{
	SqlTokenKind kind;
	size_t		start;
	size_t		end;
} SqlToken;

typedef struct SqlStatement
{
	size_t		start;			/* first byte of its first token */
	size_t		end;			/* just past its last token */
	size_t		next;			/* just past its semicolon (or len) */
	bool		terminated;		/* ended by a semicolon */
	int			ntokens;		/* how many (the count stops at INT_MAX) */
	SqlToken	first[4];		/* its first tokens (up to 4) */
	SqlToken	unterminated;	/* kind SQL_TOK_UNTERMINATED if one was met */
} SqlStatement;

/*
 * Reads the token at or after *pos, skipping whitespace and comments, and
 * advances *pos past it.  At the end of text the kind is SQL_TOK_END.
 */
extern void sql_next_token(const char *s, size_t len, size_t *pos,
						   SqlToken *tok);

/*
 * Reads the statement at or after *pos and advances *pos past its
 * semicolon.  Returns false (and leaves *st unset) when only whitespace and
 * comments remain.  An empty statement (a lone ";") is returned with
 * ntokens 0.
 */
extern bool sql_next_statement(const char *s, size_t len, size_t *pos,
							   SqlStatement *st);

/*
 * Finds the first backslash of s[0..len) outside comments, quoted strings,
 * quoted identifiers and dollar quotes: where psql would start reading a
 * meta-command (\gexec, \set, \i, ...) or one of its \; and \:
 * escapes, none of which the server accepts.  Returns true with *off its
 * offset; false if there is none.  Text after an unterminated quote or
 * comment is not searched.
 */
extern bool sql_find_backslash(const char *s, size_t len, size_t *off);

/* Whether tok is the unquoted word kw (ASCII, case-insensitive). */
extern bool sql_token_is_word(const char *s, const SqlToken *tok,
							  const char *kw);

/*
 * A name for an unterminated token's opening, for messages ("quoted
 * string", "dollar-quoted string", ...); s[tok->start..] must hold at least
 * three bytes or a NUL.
 */
extern const char *sql_unterminated_what(const char *s, const SqlToken *tok);

#endif							/* SQL_LEX_H */
