--
-- A tour, as a user sees it: the README's quick start, then what a failing
-- migration, a refused script and a broken plan look like.  The expected
-- output is the documentation: rows and messages, not only "ok" lines
-- (durations and timestamps are left out, since they change).
--
CREATE DATABASE migrate_test_quickstart;
\c migrate_test_quickstart
SET client_min_messages = warning;
CREATE EXTENSION pgtap;
CREATE EXTENSION migrate;
RESET client_min_messages;

SELECT plan(6);

-- Register two migrations, run them.
SELECT migrate.register('001', 'create users',
  up   => $$CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL)$$,
  down => $$DROP TABLE users$$);
SELECT migrate.register('002', 'index users by email',
  up   => $$CREATE UNIQUE INDEX users_email ON users (email)$$,
  down => $$DROP INDEX users_email$$);

SELECT run_id, project, version, name, action, status, message
FROM migrate.run();

SELECT version, name, kind, state, applied_by, has_down, transactional,
	   requires, last_error
FROM migrate.status();

-- Registering the same content again changes nothing; nothing is left to
-- run.
SELECT migrate.register('001', 'create users',
  up   => $$create table users (id bigint primary key, email text not null);$$,
  down => $$DROP TABLE users$$);
SELECT count(*) AS applied FROM migrate.run();

-- Revert the newest one.
SELECT run_id, version, name, action, status FROM migrate.rollback();
SELECT migrate.current_version();
SELECT run_id, version, action, status FROM migrate.run();

-- What the history keeps.
SELECT id, run_id, version, name, action, status, ran_as
FROM migrate.history ORDER BY id;

--
-- A migration that fails: the error names the migration, keeps the
-- statement's SQLSTATE, and its CONTEXT gives the statement and line.
-- Nothing of the call stays.
--
SELECT migrate.register('003', 'add a column',
  up   => $$ALTER TABLE users ADD COLUMN name text;
UPDATE users SET name = nickname;$$,
  down => $$ALTER TABLE users DROP COLUMN name$$);
\set VERBOSITY default
SELECT * FROM migrate.run();
SELECT version, state FROM migrate.status() WHERE version::text = '003';

-- With atomic => false the failure is a row and a WARNING, and it is
-- recorded; the caller's transaction goes on.
SELECT run_id, version, status, message FROM migrate.run(atomic => false);
SELECT version, state, last_error FROM migrate.status() WHERE version::text = '003';

-- Fixed while pending: register the new content ("updated", with a
-- NOTICE naming what changed), run again.
SELECT migrate.register('003', 'add a column',
  up   => $$ALTER TABLE users ADD COLUMN name text;$$,
  down => $$ALTER TABLE users DROP COLUMN name$$);
SELECT version, status FROM migrate.run();

--
-- Refused at registration: the error quotes the offending statement
-- only, with the position inside it, and the line in the script.
--
SELECT migrate.register('004', 'typo', $$
CREATE TABLE posts (id bigint PRIMARY KEY);
CREATE TABLE comments (id bigint PRIMARY KEY, post bigint REFERENCES posts);
ALTER TABLE comments ADD COLUMN body text NOT NUL;
$$);
SELECT migrate.register('004', 'concurrently', $$
CREATE TABLE posts (id bigint PRIMARY KEY);
CREATE INDEX CONCURRENTLY posts_id ON posts (id);
$$);
SELECT is((SELECT count(*) FROM migrate.migrations WHERE version::text = '004'),
		  0::bigint, 'refused registrations leave nothing behind');

-- An applied migration's up script cannot change.
SELECT migrate.register('001', 'create users',
  up   => $$CREATE TABLE users (id bigint PRIMARY KEY)$$);

--
-- A broken plan is reported before anything runs.
--
SELECT migrate.register('004', 'needs billing', $$SELECT 1$$,
						requires => '{billing:1}');
SELECT * FROM migrate.run();
SELECT project, version, severity, problem, detail FROM migrate.validate();
SELECT migrate.unregister('004');

-- The rollback of a migration without down is refused as a whole.
SELECT migrate.register('004', 'no way back', $$CREATE TABLE t4 (id int)$$);
SELECT version, status FROM migrate.run();
SELECT * FROM migrate.rollback(2);
SELECT project, version, severity, problem, detail FROM migrate.validate();

--
-- A migration runs as the role that registered it, in a
-- security-restricted operation: the hint says so when that is why it
-- failed.
--
SELECT migrate.register('005', 'temporary', $$CREATE TEMP TABLE scratch (id int)$$);
SELECT * FROM migrate.run();
SELECT migrate.unregister('005');

-- The notices a run gives, one per migration.
SELECT migrate.register('005', 'two tables', $$CREATE TABLE t5 (id int)$$,
						down => $$DROP TABLE t5$$);
SELECT migrate.register('006', 'three tables', $$CREATE TABLE t6 (id int)$$,
						down => $$DROP TABLE t6$$);
SELECT count(*) FROM migrate.run();
SELECT count(*) FROM migrate.rollback(2);

SELECT results_eq(
	$$SELECT version::text, state FROM migrate.status()$$,
	$$VALUES ('001', 'applied'), ('002', 'applied'), ('003', 'applied'),
			 ('004', 'applied'), ('005', 'pending'), ('006', 'pending')$$,
	'the tour ends with what it applied');
SELECT is((SELECT count(*) FROM migrate.history WHERE status = 'failed'),
		  1::bigint, 'one failure is recorded: the atomic => false one');
SELECT ok(NOT EXISTS (SELECT FROM pg_class WHERE relname IN ('posts', 'scratch')),
		  'nothing of a refused or failed migration stays');
SELECT has_column('users', 'name', 'the fixed 003 is applied');
SELECT is(migrate.current_version()::text, '004',
		  'current_version() is the highest applied');

SELECT * FROM finish();

\c contrib_regression
DROP DATABASE migrate_test_quickstart;
