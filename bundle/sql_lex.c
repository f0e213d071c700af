/*-------------------------------------------------------------------------
 *
 * sql_lex.c
 *	  Tokens and statement boundaries of PostgreSQL script text.
 *
 * The rules follow the server's scanner (scan.l) where they decide where a
 * token ends, and psql's (psqlscan.l) where they decide where a statement
 * ends: a semicolon outside parentheses, and outside the BEGIN ... END body
 * of a CREATE [OR REPLACE] FUNCTION / PROCEDURE statement.  Everything else
 * (which operator, which keyword) is left to the server: operators are
 * returned one character at a time, which is enough to find boundaries.
 *
 * standard_conforming_strings is assumed on (the default since 9.1): a
 * backslash escapes only inside E'' strings.
 *
 *-------------------------------------------------------------------------
 */
#include "sql_lex.h"

#include <limits.h>
#include <string.h>

static bool
is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
		c == '\v';
}

static bool
is_ident_start(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
		c >= 0x80;
}

static bool
is_ident_cont(unsigned char c)
{
	return is_ident_start(c) || (c >= '0' && c <= '9') || c == '$';
}

static bool
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/*
 * Skips whitespace and comments from *pos.  Returns false, with *pos at the
 * comment's start, if a block comment is not closed.
 */
static bool
skip_space(const char *s, size_t len, size_t *pos)
{
	size_t		p = *pos;

	for (;;)
	{
		while (p < len && is_space((unsigned char) s[p]))
			p++;
		if (p + 1 < len && s[p] == '-' && s[p + 1] == '-')
		{
			while (p < len && s[p] != '\n' && s[p] != '\r')
				p++;
			continue;
		}
		if (p + 1 < len && s[p] == '/' && s[p + 1] == '*')
		{
			size_t		start = p;
			int			depth = 1;

			p += 2;
			while (p < len && depth > 0)
			{
				if (p + 1 < len && s[p] == '/' && s[p + 1] == '*')
				{
					depth++;
					p += 2;
				}
				else if (p + 1 < len && s[p] == '*' && s[p + 1] == '/')
				{
					depth--;
					p += 2;
				}
				else
					p++;
			}
			if (depth > 0)
			{
				*pos = start;
				return false;
			}
			continue;
		}
		break;
	}
	*pos = p;
	return true;
}

/*
 * Scans a quoted string or identifier whose opening quote is at s[p];
 * backslash escapes the next byte when backslashes is true.  Returns the
 * offset just past the closing quote, or len if there is none.
 */
static size_t
scan_quoted(const char *s, size_t len, size_t p, char quote, bool backslashes,
			bool *closed)
{
	p++;
	while (p < len)
	{
		if (backslashes && s[p] == '\\')
		{
			p += 2;
			continue;
		}
		if (s[p] == quote)
		{
			if (p + 1 < len && s[p + 1] == quote)
			{
				p += 2;
				continue;
			}
			*closed = true;
			return p + 1;
		}
		p++;
	}
	*closed = false;
	return len;
}

/*
 * If s[p] opens a dollar quote ($$ or $tag$), returns the length of its
 * delimiter, else 0.
 */
static size_t
dollar_tag_length(const char *s, size_t len, size_t p)
{
	size_t		q = p + 1;

	if (q < len && s[q] == '$')
		return 2;
	if (q >= len || !is_ident_start((unsigned char) s[q]))
		return 0;
	while (q < len && is_ident_cont((unsigned char) s[q]) && s[q] != '$')
		q++;
	if (q < len && s[q] == '$')
		return q + 1 - p;
	return 0;
}

void
sql_next_token(const char *s, size_t len, size_t *pos, SqlToken *tok)
{
	size_t		p = *pos;
	unsigned char c;
	bool		closed;

	if (!skip_space(s, len, &p))
	{
		tok->kind = SQL_TOK_UNTERMINATED;
		tok->start = p;
		tok->end = len;
		*pos = len;
		return;
	}
	tok->start = p;
	if (p >= len)
	{
		tok->kind = SQL_TOK_END;
		tok->end = len;
		*pos = len;
		return;
	}
	c = (unsigned char) s[p];

	/* E'...', U&'...', U&"..." and the like: prefix and quote are one token */
	if ((c == 'e' || c == 'E') && p + 1 < len && s[p + 1] == '\'')
	{
		tok->end = scan_quoted(s, len, p + 1, '\'', true, &closed);
		tok->kind = closed ? SQL_TOK_STRING : SQL_TOK_UNTERMINATED;
	}
	else if ((c == 'u' || c == 'U') && p + 2 < len && s[p + 1] == '&' &&
			 (s[p + 2] == '\'' || s[p + 2] == '"'))
	{
		tok->end = scan_quoted(s, len, p + 2, s[p + 2], false, &closed);
		tok->kind = !closed ? SQL_TOK_UNTERMINATED :
			s[p + 2] == '"' ? SQL_TOK_QUOTED_IDENT : SQL_TOK_STRING;
	}
	else if (is_ident_start(c))
	{
		size_t		q = p + 1;

		while (q < len && is_ident_cont((unsigned char) s[q]))
			q++;
		tok->end = q;
		tok->kind = SQL_TOK_WORD;
	}
	else if (c == '\'')
	{
		tok->end = scan_quoted(s, len, p, '\'', false, &closed);
		tok->kind = closed ? SQL_TOK_STRING : SQL_TOK_UNTERMINATED;
	}
	else if (c == '"')
	{
		tok->end = scan_quoted(s, len, p, '"', false, &closed);
		tok->kind = closed ? SQL_TOK_QUOTED_IDENT : SQL_TOK_UNTERMINATED;
	}
	else if (c == '$')
	{
		size_t		taglen = dollar_tag_length(s, len, p);

		if (taglen > 0)
		{
			size_t		q = p + taglen;

			tok->kind = SQL_TOK_UNTERMINATED;
			tok->end = len;
			for (; q + taglen <= len; q++)
			{
				if (s[q] == '$' && memcmp(s + q, s + p, taglen) == 0)
				{
					tok->kind = SQL_TOK_DOLLAR_STRING;
					tok->end = q + taglen;
					break;
				}
			}
		}
		else
		{
			/* $1, or a stray $ */
			size_t		q = p + 1;

			while (q < len && is_digit((unsigned char) s[q]))
				q++;
			tok->end = q;
			tok->kind = SQL_TOK_OTHER;
		}
	}
	else if (is_digit(c) ||
			 (c == '.' && p + 1 < len && is_digit((unsigned char) s[p + 1])))
	{
		size_t		q = p + 1;

		while (q < len && (is_ident_cont((unsigned char) s[q]) ||
						   s[q] == '.') && s[q] != '$')
			q++;
		tok->end = q;
		tok->kind = SQL_TOK_NUMBER;
	}
	else
	{
		tok->end = p + 1;
		tok->kind = c == ';' ? SQL_TOK_SEMICOLON :
			c == '(' ? SQL_TOK_OPEN_PAREN :
			c == ')' ? SQL_TOK_CLOSE_PAREN : SQL_TOK_OTHER;
	}
	*pos = tok->end;
}

bool
sql_find_backslash(const char *s, size_t len, size_t *off)
{
	size_t		pos = 0;
	SqlToken	tok;

	for (;;)
	{
		sql_next_token(s, len, &pos, &tok);
		if (tok.kind == SQL_TOK_END || tok.kind == SQL_TOK_UNTERMINATED)
			return false;
		if (tok.kind == SQL_TOK_OTHER && s[tok.start] == '\\')
		{
			*off = tok.start;
			return true;
		}
	}
}

bool
sql_token_is_word(const char *s, const SqlToken *tok, const char *kw)
{
	size_t		n = strlen(kw);
	size_t		i;

	if (tok->kind != SQL_TOK_WORD || tok->end - tok->start != n)
		return false;
	for (i = 0; i < n; i++)
	{
		unsigned char c = (unsigned char) s[tok->start + i];

		if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		if (c != (unsigned char) kw[i])
			return false;
	}
	return true;
}

/*
 * psql's heuristic (psqlscan.l) for the body of a SQL-standard function:
 * once a statement has begun CREATE [OR REPLACE] FUNCTION|PROCEDURE, BEGIN
 * opens a block that END closes, and CASE inside such a block nests too;
 * a semicolon inside the block does not end the statement.
 */
bool
sql_next_statement(const char *s, size_t len, size_t *pos, SqlStatement *st)
{
	size_t		p = *pos;
	char		idents[4] = {0, 0, 0, 0};
	int			nidents = 0;
	int			paren_depth = 0;
	int			begin_depth = 0;
	SqlToken	tok;

	memset(st, 0, sizeof(*st));
	st->unterminated.kind = SQL_TOK_END;

	sql_next_token(s, len, &p, &tok);
	if (tok.kind == SQL_TOK_END)
	{
		*pos = len;
		return false;
	}
	st->start = tok.start;
	st->end = tok.start;

	for (;;)
	{
		if (tok.kind == SQL_TOK_END)
		{
			st->next = len;
			break;
		}
		if (tok.kind == SQL_TOK_SEMICOLON && paren_depth == 0 &&
			begin_depth == 0)
		{
			st->terminated = true;
			st->next = tok.end;
			break;
		}
		if (st->ntokens < 4)
			st->first[st->ntokens] = tok;
		if (st->ntokens < INT_MAX)
			st->ntokens++;
		st->end = tok.end;

		switch (tok.kind)
		{
			case SQL_TOK_UNTERMINATED:
				st->unterminated = tok;
				break;
			case SQL_TOK_OPEN_PAREN:
				paren_depth++;
				break;
			case SQL_TOK_CLOSE_PAREN:
				if (paren_depth > 0)
					paren_depth--;
				break;
			case SQL_TOK_WORD:
				if (nidents < 4 &&
					(sql_token_is_word(s, &tok, "create") ||
					 sql_token_is_word(s, &tok, "function") ||
					 sql_token_is_word(s, &tok, "procedure") ||
					 sql_token_is_word(s, &tok, "or") ||
					 sql_token_is_word(s, &tok, "replace")))
					idents[nidents] = (char) (s[tok.start] | 0x20);
				nidents++;
				if (idents[0] == 'c' &&
					(idents[1] == 'f' || idents[1] == 'p' ||
					 (idents[1] == 'o' && idents[2] == 'r' &&
					  (idents[3] == 'f' || idents[3] == 'p'))) &&
					paren_depth == 0)
				{
					if (sql_token_is_word(s, &tok, "begin"))
						begin_depth++;
					else if (sql_token_is_word(s, &tok, "case"))
					{
						if (begin_depth >= 1)
							begin_depth++;
					}
					else if (sql_token_is_word(s, &tok, "end"))
					{
						if (begin_depth > 0)
							begin_depth--;
					}
				}
				break;
			default:
				break;
		}
		sql_next_token(s, len, &p, &tok);
	}
	if (st->ntokens == 0)
		st->end = st->start;
	*pos = st->next;
	return true;
}

const char *
sql_unterminated_what(const char *s, const SqlToken *tok)
{
	const char *p = s + tok->start;

	if (p[0] == '/')
		return "block comment";
	if (p[0] == '"' || (p[0] != '\'' && p[1] == '&' && p[2] == '"'))
		return "quoted identifier";
	if (p[0] == '$')
		return "dollar-quoted string";
	return "quoted string";
}
