/*-------------------------------------------------------------------------
 *
 * layout_sqitch.c
 *	  Sqitch projects: sqitch.plan, deploy/, revert/, verify/.
 *
 * The plan is read with Sqitch's own rules (App::Sqitch::Plan): pragmas
 * up to the first blank line, then change lines
 *
 *		name [deps] 2024-01-02T03:04:05Z Planner Name <email> # note
 *
 * and tag lines "@tag timestamp planner <email> # note", each tag belonging
 * to the change above it.  A change may appear again after a tag (a
 * reworked change); each instance is its own migration, and every instance
 * but the last has its scripts in name@tag.sql, tag being the first of the
 * tags between it and the next instance (nearest first) whose deploy file
 * exists, as Sqitch looks for them.
 *
 * A change's version is its position in the plan, zero-padded to at least
 * four digits (to more when the plan has 10000 changes or more), and its
 * name the change name.  A dependency "name" means the first instance of
 * name, "name@tag" the last instance planned at or before tag, "@tag" the
 * change carrying tag: Sqitch's own lookups (ChangeList::index_of and
 * first_index_of).  Conflicts ("!name") have no equivalent in migrate and
 * are written as a comment; dependencies on other projects and by change
 * ID cannot be mapped to versions and are errors.
 *
 * sqitch.conf (git-config syntax) is read for the settings that move files:
 * top_dir, plan_file, deploy_dir, revert_dir, verify_dir, reworked_dir,
 * reworked_{deploy,revert,verify}_dir and extension, looked up for the
 * default target as Sqitch does: target.<name>.*, then engine.<engine>.*,
 * then core.*.  Paths are relative to the project folder.
 *
 * The scripts' BEGIN; ... COMMIT; wrapper (deploy, revert) and BEGIN; ...
 * ROLLBACK; wrapper (verify), which Sqitch's templates write and migrate
 * provides itself, are removed; nothing else of the text changes.
 *
 *-------------------------------------------------------------------------
 */
#include "bundle.h"
#include "sql_lex.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One "section[.subsection].name = value" of sqitch.conf; last one wins. */
typedef struct ConfEntry
{
	char	   *key;
	char	   *value;
} ConfEntry;

typedef struct Conf
{
	ConfEntry  *items;
	int			n;
} Conf;

typedef struct Dep
{
	char	   *text;			/* as written, for messages */
	bool		conflict;
	char	   *project;		/* NULL if none given */
	char	   *change;			/* NULL for "@tag" */
	char	   *tag;			/* NULL if none */
	bool		is_id;			/* a 40-hex change ID */
} Dep;

typedef struct Change
{
	char	   *name;
	int			line;
	Dep		   *deps;
	int			ndeps;
	char	  **tags;			/* tags on this change, in plan order */
	int			ntags;
	char	  **rework_tags;	/* nearest first; NULL unless reworked later */
	int			nrework_tags;
} Change;

typedef struct Tag
{
	char	   *name;
	int			line;
	int			change;			/* index of the change carrying it */
} Tag;

/*
 * Names to plan positions, so that a plan of many thousand changes is read
 * in linear time: an open-addressing hash table, never more than half full.
 */
typedef struct NameSlot
{
	const char *name;			/* NULL: a free slot */
	int			first;			/* the first and last entry of that name */
	int			last;
} NameSlot;

typedef struct NameIndex
{
	NameSlot   *slots;
	size_t		cap;			/* a power of two, or 0 */
	size_t		n;
} NameIndex;

typedef struct Plan
{
	const char *rel;			/* plan file, relative to the folder */
	char	   *project;
	Change	   *changes;
	int			nchanges;
	int			capchanges;
	Tag		   *tags;
	int			ntags;
	int			captags;
	NameIndex	change_index;	/* change name to positions in changes */
	NameIndex	tag_index;		/* tag name to its position in tags */
} Plan;

/* Where the scripts are, relative to the folder (or absolute). */
typedef struct Dirs
{
	char	   *plan_file;
	char	   *dir[3];			/* deploy, revert, verify */
	char	   *reworked[3];
	char	   *extension;
} Dirs;

static const char *const script_kind[3] = {"deploy", "revert", "verify"};

/* Like [:punct:] without "_", as Sqitch's name rules use it. */
static bool
is_punct(unsigned char c)
{
	return c != '_' && c < 0x80 && ispunct(c);
}

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* --- sqitch.conf ---------------------------------------------------- */

static void
conf_set(Conf *conf, const char *key, const char *value)
{
	int			i;

	for (i = 0; i < conf->n; i++)
	{
		if (strcmp(conf->items[i].key, key) == 0)
		{
			conf->items[i].value = xstrdup(value);
			return;
		}
	}
	conf->items = xrealloc(conf->items, sizeof(ConfEntry) * (conf->n + 1));
	conf->items[conf->n].key = xstrdup(key);
	conf->items[conf->n].value = xstrdup(value);
	conf->n++;
}

static const char *
conf_get(const Conf *conf, const char *key)
{
	int			i;

	for (i = 0; i < conf->n; i++)
		if (strcmp(conf->items[i].key, key) == 0)
			return conf->items[i].value;
	return NULL;
}

static char *
lower_dup(const char *s, size_t n)
{
	char	   *r = xstrndup(s, n);
	char	   *p;

	for (p = r; *p; p++)
		*p = (char) tolower((unsigned char) *p);
	return r;
}

/*
 * Reads sqitch.conf in git-config syntax: [section], [section "sub"],
 * "name = value" with quotes, backslash escapes and # or ; comments.
 * Section and variable names are case-insensitive, subsections are not.
 */
static void
conf_read(const char *dir, Conf *conf)
{
	char	   *path = path_join(dir, "sqitch.conf");
	char	   *text;
	char	   *section = xstrdup("");
	char	   *line;
	int			lineno = 0;

	conf->items = NULL;
	conf->n = 0;
	if (!is_file(path))
		return;
	text = read_text_file(path, "sqitch.conf");
	line = text;
	while (*line)
	{
		char	   *eol = strchr(line, '\n');
		char	   *next = eol ? eol + 1 : line + strlen(line);
		char	   *p = line;
		char	   *end;

		lineno++;
		if (eol)
			*eol = '\0';
		end = line + strlen(line);
		if (end > line && end[-1] == '\r')
			*--end = '\0';
		while (isspace((unsigned char) *p))
			p++;
		if (*p == '\0' || *p == '#' || *p == ';')
		{
			line = next;
			continue;
		}
		if (*p == '[')
		{
			char	   *close = strchr(p, ']');
			char	   *q = p + 1;
			char	   *name_end;

			if (!close)
				bundle_fail("sqitch.conf:%d: unterminated section header",
							lineno);
			while (q < close && !isspace((unsigned char) *q) && *q != '"')
				q++;
			name_end = q;
			while (q < close && isspace((unsigned char) *q))
				q++;
			if (q < close && *q == '"')
			{
				char	   *sub_start = q + 1;
				char	   *sub_end = strrchr(sub_start, '"');

				if (!sub_end || sub_end < sub_start)
					bundle_fail("sqitch.conf:%d: unterminated subsection name",
								lineno);
				close = strchr(sub_end, ']');
				if (!close)
					bundle_fail("sqitch.conf:%d: unterminated section header",
								lineno);
				section = xasprintf("%s.%.*s",
									lower_dup(p + 1, name_end - (p + 1)),
									(int) (sub_end - sub_start), sub_start);
			}
			else
			{
				/* [section] or the old [section.sub] spelling */
				section = lower_dup(p + 1, name_end - (p + 1));
			}
			line = next;
			continue;
		}
		else
		{
			char	   *name_start = p;
			char	   *name;
			char	   *value;
			size_t		vlen = 0;
			size_t		keep = 0;
			bool		quoted = false;

			while (*p && (isalnum((unsigned char) *p) || *p == '-' ||
						  *p == '_'))
				p++;
			name = lower_dup(name_start, p - name_start);
			if (*name == '\0')
				bundle_fail("sqitch.conf:%d: invalid line", lineno);
			while (isspace((unsigned char) *p))
				p++;
			if (*p == '\0' || *p == '#' || *p == ';')
			{
				conf_set(conf, xasprintf("%s.%s", section, name), "true");
				line = next;
				continue;
			}
			if (*p != '=')
				bundle_fail("sqitch.conf:%d: expected \"=\" after \"%s\"",
							lineno, name);
			p++;
			while (isspace((unsigned char) *p))
				p++;
			value = xmalloc(strlen(p) + 1);
			for (; *p; p++)
			{
				if (!quoted && (*p == '#' || *p == ';'))
					break;
				if (*p == '"')
				{
					quoted = !quoted;
					keep = vlen;
					continue;
				}
				if (*p == '\\' && p[1])
				{
					p++;
					value[vlen++] = *p == 'n' ? '\n' : *p == 't' ? '\t' : *p;
					keep = vlen;
					continue;
				}
				value[vlen++] = *p;
				if (quoted || !isspace((unsigned char) *p))
					keep = vlen;
			}
			if (quoted)
				bundle_fail("sqitch.conf:%d: unterminated quoted value",
							lineno);
			value[keep] = '\0';
			conf_set(conf, xasprintf("%s.%s", section, name), value);
		}
		line = next;
	}
}

/* "a" joined with "b" as Path::Class's cleanup would: no "./", no "x/". */
static char *
rel_join(const char *a, const char *b)
{
	size_t		n;

	if (b[0] == '/')
		return xstrdup(b);
	while (a[0] == '.' && a[1] == '/')
		a += 2;
	if (a[0] == '\0' || strcmp(a, ".") == 0)
		return xstrdup(b);
	n = strlen(a);
	while (n > 1 && a[n - 1] == '/')
		n--;
	return xasprintf("%.*s/%s", (int) n, a, b);
}

static char *
rel_clean(const char *a)
{
	return rel_join("", a);
}

/*
 * The directories of the default target, looked up as
 * App::Sqitch::Target::_fetch does.
 */
static void
dirs_from_conf(const Conf *conf, Dirs *dirs)
{
	const char *target = conf_get(conf, "core.target");
	const char *engine = conf_get(conf, "core.engine");
	const char *tname = NULL;
	const char *uri = NULL;
	char	   *ekey = NULL;
	char	   *lookups[3];
	const char *top;
	const char *reworked_top;
	int			k;

	if (!target && engine)
	{
		target = conf_get(conf, xasprintf("engine.%s.target", engine));
		ekey = xstrdup(engine);
	}
	if (target && strchr(target, ':'))
		uri = target;
	else if (target)
	{
		tname = target;
		uri = conf_get(conf, xasprintf("target.%s.uri", target));
	}
	if (!ekey && uri && strncmp(uri, "db:", 3) == 0)
	{
		const char *e = uri + 3;
		const char *colon = strchr(e, ':');

		ekey = colon ? xstrndup(e, colon - e) : xstrdup(e);
	}
	if (ekey && (strcmp(ekey, "postgres") == 0 ||
				 strcmp(ekey, "postgresql") == 0))
		ekey = xstrdup("pg");
	if (ekey && strcmp(ekey, "pg") != 0)
		bundle_note("sqitch.conf: engine \"%s\" is not PostgreSQL; bundling its scripts anyway",
					ekey);

	lookups[0] = tname ? xasprintf("target.%s.", tname) : NULL;
	lookups[1] = ekey ? xasprintf("engine.%s.", ekey) : NULL;
	lookups[2] = xstrdup("core.");

#define FETCH(var, key) \
	do { \
		int			l_; \
		(var) = NULL; \
		for (l_ = 0; l_ < 3 && !(var); l_++) \
			if (lookups[l_]) \
				(var) = conf_get(conf, xasprintf("%s%s", lookups[l_], (key))); \
	} while (0)

	FETCH(top, "top_dir");
	if (!top)
		top = ".";
	{
		const char *plan;

		FETCH(plan, "plan_file");
		dirs->plan_file = plan ? rel_clean(plan) : rel_join(top, "sqitch.plan");
	}
	FETCH(reworked_top, "reworked_dir");
	if (!reworked_top)
		reworked_top = top;
	for (k = 0; k < 3; k++)
	{
		const char *d;
		const char *rd;

		FETCH(d, xasprintf("%s_dir", script_kind[k]));
		dirs->dir[k] = d ? rel_clean(d) : rel_join(top, script_kind[k]);
		FETCH(rd, xasprintf("reworked_%s_dir", script_kind[k]));
		dirs->reworked[k] = rd ? rel_clean(rd) :
			rel_join(reworked_top, d ? d : script_kind[k]);
	}
	{
		const char *ext;

		FETCH(ext, "extension");
		dirs->extension = xstrdup(ext ? ext : "sql");
	}
#undef FETCH
}

/* --- sqitch.plan ---------------------------------------------------- */

/*
 * Sqitch's name rule: no blanks or ":@#\", not starting or ending with
 * punctuation (other than "_"), and not ending in one of "~/=%^[]"
 * followed by digits (those read as symbolic references).
 */
static bool
valid_name(const char *s, size_t n)
{
	size_t		i;

	if (n == 0 || is_punct((unsigned char) s[0]) ||
		is_punct((unsigned char) s[n - 1]))
		return false;
	for (i = 0; i < n; i++)
	{
		if (is_blank(s[i]) || strchr(":@#\\", s[i]))
			return false;
		if (strchr("~/=%^[]", s[i]) && i + 1 < n)
		{
			size_t		j = i + 1;

			while (j < n && isdigit((unsigned char) s[j]))
				j++;
			if (j == n)
				return false;
		}
	}
	return true;
}

static bool
looks_like_id(const char *s)
{
	int			i;

	for (i = 0; i < 40; i++)
		if (!isdigit((unsigned char) s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
			return false;
	return true;
}

/* Parses one dependency as App::Sqitch::Plan::Depend->parse does. */
static bool
parse_dep(const char *text, Dep *dep)
{
	const char *p = text;
	const char *colon;
	const char *at;

	memset(dep, 0, sizeof(*dep));
	dep->text = xstrdup(text);
	if (*p == '!')
	{
		dep->conflict = true;
		p++;
	}
	colon = strchr(p, ':');
	if (colon)
	{
		if (!valid_name(p, colon - p))
			return false;
		dep->project = xstrndup(p, colon - p);
		p = colon + 1;
	}
	if (strlen(p) == 40 && looks_like_id(p))
	{
		dep->is_id = true;
		return true;
	}
	at = strchr(p, '@');
	if (at)
	{
		if (at > p)
		{
			if (!valid_name(p, at - p))
				return false;
			dep->change = xstrndup(p, at - p);
		}
		if (!valid_name(at + 1, strlen(at + 1)))
			return false;
		dep->tag = xstrdup(at + 1);
		return true;
	}
	if (!valid_name(p, strlen(p)))
		return false;
	dep->change = xstrdup(p);
	return true;
}

/* YYYY-MM-DDTHH:MM:SSZ at p? */
static bool
is_timestamp(const char *p)
{
	static const char pattern[] = "dddd-dd-ddTdd:dd:ddZ";
	int			i;

	for (i = 0; pattern[i]; i++)
	{
		if (pattern[i] == 'd' ? !isdigit((unsigned char) p[i]) : p[i] != pattern[i])
			return false;
	}
	return true;
}

/* FNV-1a */
static size_t
name_hash(const char *name)
{
	uint64_t	h = 14695981039346656037u;

	for (; *name; name++)
	{
		h ^= (unsigned char) *name;
		h *= 1099511628211u;
	}
	return (size_t) h;
}

/* The slot of name in idx: its own, or the free one where it would go */
static NameSlot *
name_slot(const NameIndex *idx, const char *name)
{
	size_t		i = name_hash(name) & (idx->cap - 1);

	while (idx->slots[i].name != NULL && strcmp(idx->slots[i].name, name) != 0)
		i = (i + 1) & (idx->cap - 1);
	return &idx->slots[i];
}

/* The slot of name in idx, or NULL if it has none */
static const NameSlot *
name_find(const NameIndex *idx, const char *name)
{
	const NameSlot *slot;

	if (idx->cap == 0)
		return NULL;
	slot = name_slot(idx, name);
	return slot->name != NULL ? slot : NULL;
}

/* Records that entry pos has name (name must outlive idx) */
static void
name_add(NameIndex *idx, const char *name, int pos)
{
	NameSlot   *slot;

	if (2 * (idx->n + 1) > idx->cap)
	{
		NameIndex	bigger;
		size_t		i;

		bigger.cap = idx->cap ? idx->cap * 2 : 256;
		bigger.n = idx->n;
		bigger.slots = xreallocarray(NULL, bigger.cap, sizeof(NameSlot));
		memset(bigger.slots, 0, bigger.cap * sizeof(NameSlot));
		for (i = 0; i < idx->cap; i++)
			if (idx->slots[i].name != NULL)
				*name_slot(&bigger, idx->slots[i].name) = idx->slots[i];
		free(idx->slots);
		*idx = bigger;
	}
	slot = name_slot(idx, name);
	if (slot->name == NULL)
	{
		slot->name = name;
		slot->first = pos;
		idx->n++;
	}
	slot->last = pos;
}

static int
find_tag(const Plan *plan, const char *name)
{
	const NameSlot *slot = name_find(&plan->tag_index, name);

	return slot != NULL ? slot->first : -1;
}

/*
 * Parses one change or tag line (note already removed) into the plan.
 * tag_section_start is the index of the first change after the last tag.
 */
static void
parse_entry(Plan *plan, char *line, int lineno, int *tag_section_start)
{
	const char *rel = plan->rel;
	char	   *p = line;
	char	   *name_start;
	char	   *name;
	char	   *deps = NULL;
	bool		is_tag;

	while (is_blank(*p))
		p++;
	is_tag = (*p == '@');
	if (is_tag)
		p++;
	else
	{
		if (*p == '+' || *p == '-')
		{
			if (*p == '-')
				bundle_fail("%s:%d: the revert operator \"-\" is not supported",
							rel, lineno);
			p++;
			while (is_blank(*p))
				p++;
		}
	}
	name_start = p;
	while (*p && !is_blank(*p) && *p != '[')
		p++;
	name = xstrndup(name_start, p - name_start);
	if (!valid_name(name, strlen(name)))
		bundle_fail("%s:%d: invalid name: names must not begin with punctuation, contain \"@\", \":\", \"#\", \"\\\", \"[\", \"]\", or blanks, or end in punctuation or digits following punctuation",
					rel, lineno);
	while (is_blank(*p))
		p++;
	if (*p == '[')
	{
		char	   *close = strchr(p, ']');

		if (!close)
			bundle_fail("%s:%d: unterminated dependency list", rel, lineno);
		deps = xstrndup(p + 1, close - p - 1);
		p = close + 1;
		while (is_blank(*p))
			p++;
	}
	if (!is_timestamp(p))
	{
		if (*p == '\0')
			bundle_fail("%s:%d: missing timestamp and planner name and email",
						rel, lineno);
		bundle_fail("%s:%d: missing timestamp", rel, lineno);
	}
	p += 20;
	while (is_blank(*p))
		p++;
	{
		char	   *lt = strchr(p, '<');
		size_t		n = strlen(p);

		if (*p == '\0' || *p == '<' || !lt || !is_blank(lt[-1]) ||
			n < 3 || p[n - 1] != '>' || lt + 1 == p + n - 1)
			bundle_fail("%s:%d: missing planner name and email", rel, lineno);
	}
	if (strcmp(name, "ROOT") == 0 || strcmp(name, "HEAD") == 0)
		bundle_fail("%s:%d: \"%s%s\" is a reserved name",
					rel, lineno, is_tag ? "@" : "", name);
	if (strlen(name) >= 40 && looks_like_id(name))
		bundle_fail("%s:%d: \"%s\" is invalid because it could be confused with a SHA1 ID",
					rel, lineno, name);

	if (is_tag)
	{
		int			prev;

		if (strchr(name, '/'))
			bundle_fail("%s:%d: tag \"%s\" contains the illegal character \"/\"",
						rel, lineno, name);
		if (plan->nchanges == 0)
			bundle_fail("%s:%d: tag \"%s\" declared without a preceding change",
						rel, lineno, name);
		if ((prev = find_tag(plan, name)) >= 0)
			bundle_fail("%s:%d: tag \"%s\" duplicates earlier declaration on line %d",
						rel, lineno, name, plan->tags[prev].line);
		if (deps)
			bundle_fail("%s:%d: tags may not specify dependencies", rel, lineno);
		if (plan->ntags == plan->captags)
		{
			plan->captags = plan->captags ? plan->captags * 2 : 16;
			plan->tags = xrealloc(plan->tags, sizeof(Tag) * plan->captags);
		}
		plan->tags[plan->ntags].name = name;
		plan->tags[plan->ntags].line = lineno;
		plan->tags[plan->ntags].change = plan->nchanges - 1;
		name_add(&plan->tag_index, name, plan->ntags);
		plan->ntags++;
		{
			Change	   *c = &plan->changes[plan->nchanges - 1];

			c->tags = xrealloc(c->tags, sizeof(char *) * (c->ntags + 1));
			c->tags[c->ntags++] = name;
		}
		*tag_section_start = plan->nchanges;
	}
	else
	{
		Change	   *c;
		int			i;
		int			duped = -1;
		const NameSlot *prev = name_find(&plan->change_index, name);

		if (prev != NULL)
		{
			if (prev->last >= *tag_section_start)
				bundle_fail("%s:%d: change \"%s\" duplicates earlier declaration on line %d",
							rel, lineno, name, plan->changes[prev->last].line);
			duped = prev->last;
		}
		if (plan->nchanges == plan->capchanges)
		{
			plan->capchanges = plan->capchanges ? plan->capchanges * 2 : 64;
			plan->changes = xrealloc(plan->changes,
									 sizeof(Change) * plan->capchanges);
		}
		c = &plan->changes[plan->nchanges];
		memset(c, 0, sizeof(*c));
		c->name = name;
		c->line = lineno;
		if (deps)
		{
			char	   *tok = deps;

			for (;;)
			{
				char	   *end;
				Dep			dep;

				while (is_blank(*tok))
					tok++;
				if (*tok == '\0')
					break;
				end = tok;
				while (*end && !is_blank(*end))
					end++;
				if (*end)
					*end++ = '\0';
				if (!parse_dep(tok, &dep))
					bundle_fail("%s:%d: \"%s\" is not a valid dependency specification",
								rel, lineno, tok);
				for (i = 0; i < c->ndeps; i++)
					if (strcmp(c->deps[i].text, tok) == 0)
						bundle_fail("%s:%d: duplicate dependency \"%s\"",
									rel, lineno, tok);
				c->deps = xrealloc(c->deps, sizeof(Dep) * (c->ndeps + 1));
				c->deps[c->ndeps++] = dep;
				tok = end;
			}
		}

		/*
		 * A reworked change: the earlier instance's files carry one of the
		 * tags planned since it, nearest first, then its own tags
		 * (App::Sqitch::Plan::_parse).
		 */
		if (duped >= 0)
		{
			Change	   *d = &plan->changes[duped];

			for (i = plan->nchanges - 1; i >= duped; i--)
			{
				Change	   *t = &plan->changes[i];
				int			j;

				for (j = 0; j < t->ntags; j++)
				{
					d->rework_tags = xrealloc(d->rework_tags,
											  sizeof(char *) * (d->nrework_tags + 1));
					d->rework_tags[d->nrework_tags++] = t->tags[j];
				}
			}
		}
		name_add(&plan->change_index, name, plan->nchanges);
		plan->nchanges++;
	}
}

/* Reads the plan file as App::Sqitch::Plan::_parse does. */
static void
plan_read(const char *path, const char *rel, Plan *plan)
{
	char	   *text;
	char	   *line;
	int			lineno = 0;
	bool		header = true;
	int			tag_section_start = 0;

	memset(plan, 0, sizeof(*plan));
	plan->rel = rel;
	if (!is_file(path))
		bundle_fail("%s: plan file does not exist", rel);
	text = read_text_file(path, rel);
	line = text;
	while (*line)
	{
		char	   *eol = strchr(line, '\n');
		char	   *next = eol ? eol + 1 : line + strlen(line);
		char	   *p = line;
		char	   *hash;
		size_t		n;

		lineno++;
		if (eol)
			*eol = '\0';
		n = strlen(line);
		if (n > 0 && line[n - 1] == '\r')
			line[--n] = '\0';
		while (is_blank(*p))
			p++;
		if (*p == '\0')
		{
			/* a blank line ends the pragmas */
			header = false;
			line = next;
			continue;
		}
		if (*p == '#')
		{
			line = next;
			continue;
		}
		/* the note: from the first "#", with the blanks before it */
		hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		n = strlen(line);
		while (n > 0 && is_blank(line[n - 1]))
			line[--n] = '\0';

		if (header)
		{
			char	   *name;
			char	   *eq;
			char	   *value = NULL;

			if (*p != '%')
				bundle_fail("%s:%d: invalid pragma: a blank line must come between pragmas and changes",
							rel, lineno);
			p++;
			while (is_blank(*p))
				p++;
			name = p;
			eq = strchr(p, '=');
			if (eq)
			{
				char	   *ne = eq;

				value = eq + 1;
				while (ne > name && is_blank(ne[-1]))
					ne--;
				*ne = '\0';
				while (is_blank(*value))
					value++;
			}
			if (strcmp(name, "project") == 0)
			{
				if (!value || !valid_name(value, strlen(value)))
					bundle_fail("%s:%d: invalid project name \"%s\": project names must not begin with punctuation, contain \"@\", \":\", \"#\", \"\\\", \"[\", \"]\", or blanks, or end in punctuation or digits following punctuation",
								rel, lineno, value ? value : "");
				plan->project = xstrdup(value);
			}
			line = next;
			continue;
		}
		if (!plan->project)
			bundle_fail("%s: missing %%project pragma", rel);
		parse_entry(plan, line, lineno, &tag_section_start);
		line = next;
	}
	if (!plan->project)
		bundle_fail("%s: missing %%project pragma", rel);
}

/* --- dependencies --------------------------------------------------- */

/*
 * The index of the change that dependency dep of change ci names, as
 * Sqitch resolves it; bundle_fail() if it is not one planned before ci.
 */
static int
resolve_dep(const Plan *plan, int ci, const Dep *dep)
{
	const Change *c = &plan->changes[ci];
	const NameSlot *slot;
	int			i;

	if (dep->is_id)
		bundle_fail("%s:%d: change \"%s\" requires \"%s\" by change ID, which cannot be mapped to a version",
					plan->rel, c->line, c->name, dep->text);
	if (dep->project && strcmp(dep->project, plan->project) != 0)
		bundle_fail("%s:%d: change \"%s\" requires \"%s\" of project \"%s\": dependencies on other Sqitch projects cannot be mapped to versions",
					plan->rel, c->line, c->name, dep->text, dep->project);
	if (dep->tag)
	{
		int			t = find_tag(plan, dep->tag);

		if (t < 0 || plan->tags[t].line > c->line)
			bundle_fail("%s:%d: unknown change \"%s\" required by change \"%s\"",
						plan->rel, c->line, dep->text, c->name);
		if (!dep->change)
			return plan->tags[t].change;
		for (i = plan->tags[t].change; i >= 0; i--)
			if (strcmp(plan->changes[i].name, dep->change) == 0)
				return i;
		bundle_fail("%s:%d: unknown change \"%s\" required by change \"%s\"",
					plan->rel, c->line, dep->text, c->name);
	}
	/* "name": its first instance, which must be planned before */
	slot = name_find(&plan->change_index, dep->change);
	if (slot != NULL && slot->first < ci)
		return slot->first;
	if (strcmp(dep->change, c->name) == 0)
		bundle_fail("%s:%d: change \"%s\" cannot require itself",
					plan->rel, c->line, c->name);
	if (slot != NULL)
	{
		i = slot->first;
		bundle_fail("%s:%d: change \"%s\" planned %d change%s before required change \"%s\"",
					plan->rel, c->line, c->name, i - ci,
					i - ci == 1 ? "" : "s", dep->change);
	}
	bundle_fail("%s:%d: unknown change \"%s\" required by change \"%s\"",
				plan->rel, c->line, dep->text, c->name);
}

/* --- scripts -------------------------------------------------------- */

static bool
is_wrapper(const char *s, const SqlStatement *st, const char *const *kws)
{
	int			i;

	if (st->ntokens < 1 || st->ntokens > 2)
		return false;
	for (i = 0; kws[i]; i++)
		if (sql_token_is_word(s, &st->first[0], kws[i]))
			break;
	if (!kws[i])
		return false;
	return st->ntokens == 1 ||
		sql_token_is_word(s, &st->first[1], "work") ||
		sql_token_is_word(s, &st->first[1], "transaction");
}

static bool
is_transaction_control(const char *s, const SqlStatement *st)
{
	const SqlToken *t = &st->first[0];

	if (st->ntokens == 0)
		return false;
	if (sql_token_is_word(s, t, "rollback") && st->ntokens > 1 &&
		sql_token_is_word(s, &st->first[1], "to"))
		return false;
	return sql_token_is_word(s, t, "begin") ||
		sql_token_is_word(s, t, "start") ||
		sql_token_is_word(s, t, "commit") ||
		sql_token_is_word(s, t, "end") ||
		sql_token_is_word(s, t, "rollback") ||
		sql_token_is_word(s, t, "abort");
}

/*
 * Removes the BEGIN; ... COMMIT; (verify: BEGIN; ... ROLLBACK;) wrapper of
 * a Sqitch script, keeping every other byte, and returns the new text
 * (malloc'd).  A script without the wrapper is returned as
 * is; one that opens it and does not close it last, or that controls
 * transactions inside it, is an error naming the file and line.
 */
static char *
strip_wrapper(const char *s, const char *rel, bool verify)
{
	static const char *const begin_kws[] = {"begin", NULL};
	static const char *const commit_kws[] = {"commit", "end", NULL};
	static const char *const verify_kws[] = {"rollback", "abort", "commit",
	"end", NULL};
	size_t		len = strlen(s);
	size_t		pos = 0;
	SqlStatement first;
	SqlStatement st;
	SqlStatement last;
	bool		have_last = false;
	int			inner_control_line = 0;
	StrBuf		out = {0};

	if (!sql_next_statement(s, len, &pos, &first))
		return xstrdup(s);
	if (first.unterminated.kind == SQL_TOK_UNTERMINATED)
		bundle_fail("%s:%d: unterminated %s", rel,
					line_of(s, first.unterminated.start),
					sql_unterminated_what(s, &first.unterminated));
	if (!is_wrapper(s, &first, begin_kws))
		return xstrdup(s);

	while (sql_next_statement(s, len, &pos, &st))
	{
		if (st.unterminated.kind == SQL_TOK_UNTERMINATED)
			bundle_fail("%s:%d: unterminated %s", rel,
						line_of(s, st.unterminated.start),
						sql_unterminated_what(s, &st.unterminated));
		if (st.ntokens == 0)
			continue;
		if (have_last && is_transaction_control(s, &last) &&
			inner_control_line == 0)
			inner_control_line = line_of(s, last.start);
		last = st;
		have_last = true;
	}
	if (!have_last || !is_wrapper(s, &last, verify ? verify_kws : commit_kws))
		bundle_fail("%s:%d: the script opens a transaction with BEGIN but does not end with %s",
					rel, line_of(s, first.start),
					verify ? "ROLLBACK" : "COMMIT");
	if (inner_control_line)
		bundle_fail("%s:%d: transaction control inside the script's BEGIN ... %s wrapper cannot be bundled",
					rel, inner_control_line, verify ? "ROLLBACK" : "COMMIT");

	strbuf_append_n(&out, s, first.start);
	strbuf_append_n(&out, s + first.next, last.start - first.next);
	strbuf_append(&out, s + last.next);
	return strbuf_finish(&out);
}

/* --- the layout ----------------------------------------------------- */

static bool
sqitch_detect(const char *dir)
{
	return is_file(path_join(dir, "sqitch.plan")) ||
		is_file(path_join(dir, "sqitch.conf"));
}

/*
 * The file of script kind k for change ci, relative to the folder:
 * name.ext, or for an instance reworked later name@tag.ext with the first
 * rework tag whose deploy file exists (the first tag if none does).
 */
static char *
script_rel(const char *dir, const Dirs *dirs, const Change *c, int k)
{
	char	   *suffix = NULL;
	int			i;

	if (c->nrework_tags == 0)
		return rel_join(dirs->dir[k], xasprintf("%s.%s", c->name,
												 dirs->extension));
	for (i = 0; i < c->nrework_tags && !suffix; i++)
	{
		char	   *rel = rel_join(dirs->reworked[0],
								   xasprintf("%s@%s.%s", c->name,
											 c->rework_tags[i],
											 dirs->extension));

		if (is_file(rel[0] == '/' ? rel : path_join(dir, rel)))
			suffix = c->rework_tags[i];
	}
	if (!suffix)
		suffix = c->rework_tags[0];
	return rel_join(dirs->reworked[k], xasprintf("%s@%s.%s", c->name, suffix,
												 dirs->extension));
}

static char *
read_script(const char *dir, const char *rel)
{
	return read_script_file(rel[0] == '/' ? rel : path_join(dir, rel), rel);
}

static bool
script_exists(const char *dir, const char *rel)
{
	return is_file(rel[0] == '/' ? rel : path_join(dir, rel));
}

static void
sqitch_load(const char *dir, const Options *opts, Bundle *b)
{
	Conf		conf;
	Dirs		dirs;
	Plan		plan;
	char	  **versions;
	int			width = 4;
	int			n;
	int			ci;

	(void) opts;
	conf_read(dir, &conf);
	dirs_from_conf(&conf, &dirs);
	plan_read(dirs.plan_file[0] == '/' ? dirs.plan_file :
			  path_join(dir, dirs.plan_file), dirs.plan_file, &plan);

	for (n = plan.nchanges; n >= 10000; n /= 10)
		width++;
	versions = xmalloc(sizeof(char *) * (plan.nchanges + 1));
	for (ci = 0; ci < plan.nchanges; ci++)
		versions[ci] = xasprintf("%0*d", width, ci + 1);

	for (ci = 0; ci < plan.nchanges; ci++)
	{
		Change	   *c = &plan.changes[ci];
		Migration  *m;
		char	   *rel[3];
		int			k;
		int			d;

		for (k = 0; k < 3; k++)
			rel[k] = script_rel(dir, &dirs, c, k);
		if (!script_exists(dir, rel[0]))
			bundle_fail("%s: deploy script of change \"%s\" (%s:%d) does not exist",
						rel[0], c->name, plan.rel, c->line);

		m = bundle_add(b);
		m->version = versions[ci];
		m->name = xstrdup(c->name);
		m->source = rel[0];
		m->transactional = TX_SERVER;
		m->up = strip_wrapper(read_script(dir, rel[0]), rel[0], false);
		if (script_exists(dir, rel[1]))
			m->down = strip_wrapper(read_script(dir, rel[1]), rel[1], false);
		if (script_exists(dir, rel[2]))
			m->verify = strip_wrapper(read_script(dir, rel[2]), rel[2], true);

		for (d = 0; d < c->ndeps; d++)
		{
			const Dep  *dep = &c->deps[d];

			if (dep->conflict)
			{
				char	   *note = xasprintf("Sqitch conflict \"%s\" of change \"%s\" (%s:%d) ignored: migrate has no conflicts",
											 dep->text, c->name, plan.rel, c->line);

				m->comment = m->comment ?
					xasprintf("%s; %s", m->comment, note) : note;
				continue;
			}
			migration_add_require(m, versions[resolve_dep(&plan, ci, dep)]);
		}
	}
}

const Layout layout_sqitch = {
	.name = "sqitch",
	.detect = sqitch_detect,
	.load = sqitch_load,
};
