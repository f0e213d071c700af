/*-------------------------------------------------------------------------
 *
 * migrate.h
 *	  What every file of migrate includes after postgres.h: the message
 *	  domain.
 *
 * migrate's messages have a catalog of their own, as PL/pgSQL's do:
 * ereport() looks its texts up in domain "migrate-15" (for PostgreSQL
 * 15), and _() marks and translates the texts built outside ereport (a
 * failed migration's message, validate()'s details, a repeatable
 * migration's name).  _PG_init binds the domain.  Messages are whole
 * sentences, so a translator sees each one complete.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIGRATE_MIGRATE_H
#define MIGRATE_MIGRATE_H

#undef TEXTDOMAIN
#define TEXTDOMAIN PG_TEXTDOMAIN("migrate")

#undef _
#define _(x) dgettext(TEXTDOMAIN, x)

#endif							/* MIGRATE_MIGRATE_H */
