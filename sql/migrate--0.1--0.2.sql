/* migrate--0.1--0.2.sql: upgrade of migrate 0.1 to 0.2 */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION migrate UPDATE TO '0.2'" to load this file. \quit

/*
 * 0.2 changes no object of the catalog: its tables, rows, functions,
 * views, triggers and privileges are those of 0.1.  What changed is the
 * library (one protocol for every call that changes the catalog, messages
 * in whole sentences, hints chosen by SQLSTATE) and the comments of the
 * install script, which now describe migrate.generation as the library
 * keeps it:
 *
 * - the generation is bumped by every transaction that changes the
 *   catalog, under the migration lock, and a REPEATABLE READ or
 *   SERIALIZABLE caller whose snapshot does not see the latest generation
 *   fails with 40001 as soon as it holds the lock;
 * - nothing_due is true only if the last change left nothing for run() to
 *   do.  0.1 kept the same promise (every change cleared the flag, and only
 *   a change that left nothing due set it), so the row needs no rewrite.
 */
