--
-- migrate.run(): applying pending migrations.
--
-- Order, the caller's transaction, result rows, history rows, atomic
-- failures, statement-by-statement execution, settings and role scoping,
-- re-entry, requirements, target, out-of-order, dry runs, atomic => false,
-- wait and read-only transactions.
--
-- After the first parts (project "default"), each part uses its own
-- project and mostly calls run(project => ...); parts that leave
-- migrations pending unregister them, so a call of run() for every
-- project never picks up another part's leftovers.
--
CREATE DATABASE migrate_test_run;
\c migrate_test_run
SET client_min_messages = warning;
CREATE EXTENSION pgtap;
CREATE EXTENSION migrate;
RESET client_min_messages;

SELECT plan(106);

-- Sequences ignore rollbacks: a migration that bumps this one leaves a
-- mark even when its call fails, which tells whether it ran at all.
CREATE SEQUENCE probe;
SELECT nextval('probe');

--
-- Natural order.  Registered as 10, 9, 1.10; applied as 1.10, 9, 10.
--
SELECT migrate.register('10', 'create t10', $$CREATE TABLE t10 (id int)$$);
SELECT migrate.register('9', 'create t9', $$CREATE TABLE t9 (id int)$$);
SELECT migrate.register('1.10', 'create t1_10',
						$$CREATE TABLE t1_10 (id int)$$);

--
-- Everything happens in the caller's transaction: a ROLLBACK leaves no
-- table, no history, and every migration pending.  This is also where psql
-- shows a NOTICE per migration as it starts.
--
BEGIN;
SELECT project, version, name, action, status, message FROM migrate.run();
SELECT version, action, status FROM migrate.history ORDER BY id;
SELECT version, state FROM migrate.status() ORDER BY version;
ROLLBACK;

SELECT hasnt_table('t1_10', 'ROLLBACK undoes the first migration''s table');
SELECT hasnt_table('t9', 'ROLLBACK undoes the second migration''s table');
SELECT hasnt_table('t10', 'ROLLBACK undoes the third migration''s table');
SELECT is_empty('SELECT * FROM migrate.history',
				'ROLLBACK undoes the history rows');
SELECT results_eq(
	$$SELECT version::text, state FROM migrate.status() AS s ORDER BY s.version$$,
	$$VALUES ('1.10', 'pending'), ('9', 'pending'), ('10', 'pending')$$,
	'ROLLBACK leaves every migration pending');

--
-- The real run, committed.  The rows come back in the order applied.
--
SET client_min_messages = warning;
BEGIN;
SELECT pg_current_xact_id() AS caller_txid \gset
CREATE TEMP TABLE run1 AS SELECT * FROM migrate.run();
COMMIT;
RESET client_min_messages;

SELECT results_eq(
	$$SELECT project, version::text, name, action, status, message
	  FROM run1$$,
	$$VALUES ('default', '1.10', 'create t1_10', 'up', 'ok', NULL::text),
			 ('default', '9', 'create t9', 'up', 'ok', NULL),
			 ('default', '10', 'create t10', 'up', 'ok', NULL)$$,
	'run() applies pending migrations in natural version order');
SELECT has_table('t1_10', 'the first migration''s table exists');
SELECT has_table('t10', 'the last migration''s table exists');
SELECT is((SELECT count(DISTINCT run_id) FROM run1), 1::bigint,
		  'every row of one call has the same run_id');
SELECT ok((SELECT bool_and(duration_ms >= 0) FROM run1),
		  'duration_ms is a non-negative number of milliseconds');

-- A history row per migration, in the order applied, written by this
-- backend in the caller's transaction, with the registered checksum.
SELECT results_eq(
	$$SELECT version::text, action, status, role, ran_as, pid
	  FROM migrate.history ORDER BY id$$,
	$$VALUES ('1.10', 'up', 'ok', current_user, current_user,
			  pg_backend_pid()),
			 ('9', 'up', 'ok', current_user, current_user, pg_backend_pid()),
			 ('10', 'up', 'ok', current_user, current_user,
			  pg_backend_pid())$$,
	'history: action, status, role, ran_as and pid of each migration');
SELECT is((SELECT count(*) FROM migrate.history
		   WHERE txid = :'caller_txid'::xid8), 3::bigint,
		  'history: txid is the caller''s transaction id');
SELECT is((SELECT count(*) FROM migrate.history AS h
		   JOIN migrate.migrations AS m ON m.project = h.project
			AND m.version OPERATOR(migrate.=) h.version
		   WHERE h.checksum = m.checksum AND h.checksum LIKE 'v1:%'),
		  3::bigint,
		  'history: checksum is the registered checksum');
SELECT is((SELECT count(*) FROM migrate.history AS h JOIN run1 AS r
		   ON h.run_id = r.run_id AND h.version OPERATOR(migrate.=) r.version),
		  3::bigint,
		  'history: run_id is the run_id the call returned');
SELECT results_eq(
	$$SELECT version::text, state FROM migrate.status() AS s ORDER BY s.version$$,
	$$VALUES ('1.10', 'applied'), ('9', 'applied'), ('10', 'applied')$$,
	'after the commit every migration is applied');

-- Nothing pending: zero rows, and no NOTICE.
SELECT is_empty('SELECT * FROM migrate.run()',
				'run() returns zero rows when nothing is pending');

-- That answer comes from two index scans instead of planned queries
-- (catalog.c, migrate_catalog_anything_due); it still sees a registration
-- made earlier in the same transaction.
BEGIN;
SELECT migrate.register('10.5', 'in the same transaction',
						$$CREATE TABLE t10_5 (id int)$$);
SET LOCAL client_min_messages = warning;
SELECT results_eq('SELECT version::text FROM migrate.run()',
				  $$VALUES ('10.5')$$,
				  'run() sees a registration earlier in its transaction');
ROLLBACK;

-- run_id grows from one call to the next.
SELECT migrate.register('11', 'create t11', $$CREATE TABLE t11 (id int)$$);
SET client_min_messages = warning;
CREATE TEMP TABLE run2 AS SELECT * FROM migrate.run();
RESET client_min_messages;
SELECT ok((SELECT min(run_id) FROM run2) > (SELECT max(run_id) FROM run1),
		  'a later call has a greater run_id');

--
-- Atomic failure (the default).  The third migration of the call fails;
-- the error names it, keeps the statement's SQLSTATE, and its CONTEXT
-- gives the statement number and line.  Here is one such error in full.
--
SELECT migrate.register('1', 'create f', $$CREATE TABLE f (id int PRIMARY KEY)$$,
						project => 'fail');
SELECT migrate.register('2', 'fill f', $$INSERT INTO f VALUES (1)$$,
						project => 'fail');
SELECT migrate.register('3', 'broken', $$
CREATE TABLE f_extra (id int);
INSERT INTO f_extra VALUES (1);
INSERT INTO no_such_table VALUES (1);
$$, project => 'fail');

\set VERBOSITY default
SELECT project, version, status FROM migrate.run(project => 'fail');

-- Nothing of the call persists, not even the two migrations that
-- succeeded before the failure.
SELECT hasnt_table('f', 'a failed call leaves no table of earlier migrations');
SELECT hasnt_table('f_extra', 'a failed call leaves no table of the failing one');
SELECT results_eq(
	$$SELECT version::text, state FROM migrate.status('fail') AS s ORDER BY s.version$$,
	$$VALUES ('1', 'pending'), ('2', 'pending'), ('3', 'pending')$$,
	'a failed call leaves every migration of the call pending');
SELECT is_empty($$SELECT * FROM migrate.history WHERE project = 'fail'$$,
				'a failed call leaves no history');

-- The SQLSTATE is the failing statement's own.
SET client_min_messages = warning;
SELECT throws_ok($$SELECT * FROM migrate.run(project => 'fail')$$,
	'42P01',
	'migration fail 3 "broken" failed: relation "no_such_table" does not exist',
	'undefined table: 42P01, the migration named');
SELECT migrate.register('3', 'broken', $$INSERT INTO f VALUES (1)$$,
						project => 'fail');
SELECT throws_ok($$SELECT * FROM migrate.run(project => 'fail')$$,
	'23505',
	'migration fail 3 "broken" failed: duplicate key value violates unique constraint "f_pkey"',
	'unique violation: 23505, the migration named');
SELECT migrate.register('3', 'broken', $$SELECT 1 / 0$$, project => 'fail');
SELECT throws_ok($$SELECT * FROM migrate.run(project => 'fail')$$,
	'22012',
	'migration fail 3 "broken" failed: division by zero',
	'division by zero: 22012, the migration named');
SELECT migrate.unregister('3', 'fail');
SELECT migrate.unregister('2', 'fail');
SELECT migrate.unregister('1', 'fail');
RESET client_min_messages;

--
-- Statement by statement: each statement is planned after the previous
-- one ran, so it sees its DDL.  DO blocks, semicolons inside dollar
-- quotes and SQL-standard function bodies (BEGIN ATOMIC ... END) are
-- single statements.
--
SELECT migrate.register('1', 'statements', $m$
CREATE TABLE s (id int);
INSERT INTO s VALUES (1);
ALTER TABLE s ADD COLUMN label text;
UPDATE s SET label = 'row ' || id;
DO $do$
BEGIN
	INSERT INTO s VALUES (2, 'from do');
END
$do$;
CREATE FUNCTION s_count() RETURNS bigint LANGUAGE plpgsql
AS $f$ BEGIN RETURN (SELECT count(*) FROM s); END; $f$;
CREATE FUNCTION s_max() RETURNS int LANGUAGE sql
BEGIN ATOMIC
	SELECT max(id) FROM s;
END;
INSERT INTO s VALUES (s_max() + 1, 'after ' || s_count());
$m$, project => 'stmts');
SELECT lives_ok($$SELECT * FROM migrate.run(project => 'stmts')$$,
				'a script of dependent statements runs');
SELECT results_eq('SELECT id, label FROM s ORDER BY id',
	$$VALUES (1, 'row 1'), (2, 'from do'), (3, 'after 2')$$,
	'each statement saw what the previous ones did');

--
-- Settings do not leak.  The caller's settings are what each migration
-- starts with; what a migration sets (SET, SET LOCAL, set_config(),
-- search_path) ends with it.
--
SET work_mem = '5MB';
SET lock_timeout = '5s';
CREATE SCHEMA nowhere;
SELECT migrate.register('1', 'sets things', $m$
SET work_mem = '7MB';
SET LOCAL lock_timeout = '7s';
SELECT set_config('statement_timeout', '7min', false);
SET search_path = nowhere;
CREATE TABLE seen_by_1 AS
	SELECT current_setting('work_mem') AS work_mem,
		   current_setting('lock_timeout') AS lock_timeout,
		   current_setting('statement_timeout') AS statement_timeout;
$m$, project => 'settings');
SELECT migrate.register('2', 'reads them', $m$
CREATE TABLE seen_by_2 AS
	SELECT current_setting('work_mem') AS work_mem,
		   current_setting('lock_timeout') AS lock_timeout,
		   current_setting('statement_timeout') AS statement_timeout,
		   current_schema() AS schema;
$m$, project => 'settings');
SELECT lives_ok($$SELECT * FROM migrate.run(project => 'settings')$$,
				'migrations that change settings run');
SELECT results_eq('SELECT * FROM nowhere.seen_by_1',
	$$VALUES ('7MB', '7s', '7min')$$,
	'a migration''s settings hold for its later statements');
SELECT results_eq('SELECT * FROM public.seen_by_2',
	$$VALUES ('5MB', '5s', '0', 'public'::name)$$,
	'the next migration starts with the caller''s settings');
SELECT results_eq(
	$$SELECT current_setting('work_mem'), current_setting('lock_timeout'),
			 current_setting('statement_timeout'), current_schema()$$,
	$$VALUES ('5MB', '5s', '0', 'public'::name)$$,
	'the caller''s settings are as before the call');
RESET work_mem;
RESET lock_timeout;

--
-- A migration runs as its registrant and cannot change its role
-- (42501).  SET ROLE itself is refused at registration; these reach it
-- at run time.
--
SET client_min_messages = warning;
SELECT migrate.register('1', 'set role', $$SELECT set_config('role', 'none', false)$$,
						project => 'role');
SELECT throws_ok($$SELECT * FROM migrate.run(project => 'role')$$,
	'42501',
	'migration role 1 "set role" failed: cannot set parameter "role" within security-definer function',
	'set_config(''role'', ...) in a migration fails with 42501');
SELECT migrate.register('1', 'set role',
						$m$DO $do$BEGIN RESET ROLE; END$do$$m$,
						project => 'role');
SELECT throws_ok($$SELECT * FROM migrate.run(project => 'role')$$,
	'42501',
	'migration role 1 "set role" failed: cannot set parameter "role" within security-definer function',
	'RESET ROLE in a DO block of a migration fails with 42501');
SELECT migrate.register('1', 'set role',
						$$SELECT set_config('session_authorization', session_user, false)$$,
						project => 'role');
SELECT throws_ok($$SELECT * FROM migrate.run(project => 'role')$$,
	'42501',
	'migration role 1 "set role" failed: cannot set parameter "session_authorization" within security-definer function',
	'set_config(''session_authorization'', ...) in a migration fails with 42501');
SELECT migrate.unregister('1', 'role');
RESET client_min_messages;

-- The hint tells the user why.
SELECT migrate.register('1', 'set role', $$SELECT set_config('role', 'none', false)$$,
						project => 'role');
SELECT * FROM migrate.run(project => 'role');
SELECT migrate.unregister('1', 'role');

--
-- No re-entry: a migration that calls a mutating migrate function fails
-- with a clear error (0A000).
--
SET client_min_messages = warning;
SELECT migrate.register('1', 'reenter',
						$$SELECT migrate.register('2', 'inner', 'SELECT 1', project => 'reenter')$$,
						project => 'reenter');
SELECT throws_ok($$SELECT * FROM migrate.run(project => 'reenter')$$,
	'0A000',
	'migration reenter 1 "reenter" failed: migrate.register() cannot be called from inside a migration',
	'a migration cannot call migrate.register()');
SELECT migrate.register('1', 'reenter', $$SELECT * FROM migrate.run()$$,
						project => 'reenter');
SELECT throws_ok($$SELECT * FROM migrate.run(project => 'reenter')$$,
	'0A000',
	'migration reenter 1 "reenter" failed: migrate.run() cannot be called from inside a migration',
	'a migration cannot call migrate.run()');
SELECT migrate.register('1', 'reenter', $$SELECT * FROM migrate.rollback()$$,
						project => 'reenter');
SELECT throws_ok($$SELECT * FROM migrate.run(project => 'reenter')$$,
	'0A000',
	'migration reenter 1 "reenter" failed: migrate.rollback() cannot be called from inside a migration',
	'a migration cannot call migrate.rollback()');
SELECT migrate.register('1', 'reenter',
						$$SELECT migrate.unregister('1', 'reenter')$$,
						project => 'reenter');
SELECT throws_ok($$SELECT * FROM migrate.run(project => 'reenter')$$,
	'0A000',
	'migration reenter 1 "reenter" failed: migrate.unregister() cannot be called from inside a migration',
	'a migration cannot call migrate.unregister()');
RESET client_min_messages;
-- Readers are not mutating: a migration may look at status().
SELECT migrate.register('1', 'reenter',
						$$CREATE TABLE seen_status AS SELECT * FROM migrate.status('reenter')$$,
						project => 'reenter');
SELECT lives_ok($$SELECT * FROM migrate.run(project => 'reenter')$$,
				'a migration may call migrate.status()');

--
-- transactional => false migrations are refused by run(), before anything
-- runs: the first migration, which would bump the probe, never starts.
--
SELECT setval('probe', 1);
SELECT migrate.register('1', 'bump', $$SELECT nextval('public.probe')$$,
						project => 'nontx');
SELECT migrate.register('2', 'concurrently',
						$$CREATE INDEX CONCURRENTLY t10_id ON t10 (id)$$,
						transactional => false, project => 'nontx');
SELECT throws_ok($$SELECT * FROM migrate.run(project => 'nontx')$$,
	'0A000',
	'migration nontx 2 "concurrently" is not transactional and cannot run inside migrate.run()',
	'run() refuses a transactional => false migration');
SELECT is((SELECT last_value FROM probe), 1::bigint,
		  'no migration ran before the refusal');
SELECT migrate.unregister('2', 'nontx');
SELECT migrate.unregister('1', 'nontx');

--
-- Requirements across projects.  lib has 1, 2, 3; app has 1 and 2, and
-- app 2 requires lib:2.  With project => NULL the order is the stable
-- topological one: ties go by project, then version, and app 2 waits for
-- lib 2.
--
SELECT migrate.register('1', 'lib one', $$CREATE TABLE lib1 ()$$, project => 'lib');
SELECT migrate.register('2', 'lib two', $$CREATE TABLE lib2 ()$$, project => 'lib');
SELECT migrate.register('3', 'lib three', $$CREATE TABLE lib3 ()$$, project => 'lib');
SELECT migrate.register('1', 'app one', $$CREATE TABLE app1 ()$$, project => 'app');
SELECT migrate.register('2', 'app two', $$CREATE TABLE app2 (LIKE lib2)$$,
						requires => '{lib:2}', project => 'app');

SET client_min_messages = warning;
BEGIN;
CREATE TEMP TABLE all_projects ON COMMIT DROP AS
	SELECT project, version::text, status FROM migrate.run();
SELECT string_agg(project || ' ' || version, ', ') AS all_order
FROM all_projects \gset
ROLLBACK;
RESET client_min_messages;
SELECT is(:'all_order'::text, 'app 1, lib 1, lib 2, app 2, lib 3',
		  'project => NULL: ties by project then version, requires respected');

-- project => 'app' applies app, plus what app requires (lib 1 and 2), and
-- not lib 3.
SET client_min_messages = warning;
SELECT results_eq(
	$$SELECT project, version::text FROM migrate.run(project => 'app')$$,
	$$VALUES ('app', '1'), ('lib', '1'), ('lib', '2'), ('app', '2')$$,
	'project => ''app'' applies app and the lib migrations app requires');
RESET client_min_messages;
SELECT results_eq(
	$$SELECT version::text, state FROM migrate.status('lib') AS s ORDER BY s.version$$,
	$$VALUES ('1', 'applied'), ('2', 'applied'), ('3', 'pending')$$,
	'a lib migration that app does not require stays pending');
SET client_min_messages = warning;
SELECT results_eq(
	$$SELECT project, version::text FROM migrate.run()$$,
	$$VALUES ('lib', '3')$$,
	'project => NULL then applies the rest');
RESET client_min_messages;

-- A missing requirement is an error before anything runs.
SELECT setval('probe', 1);
SELECT migrate.register('1', 'bump', $$SELECT nextval('public.probe')$$,
						project => 'needy');
SELECT migrate.register('2', 'needs ghost', $$SELECT 1$$,
						requires => '{ghost:1}', project => 'needy');
SELECT throws_ok($$SELECT * FROM migrate.run()$$,
	'42704',
	'pending migrations require migrations that are not registered',
	'a missing requirement is an error');
SELECT is((SELECT last_value FROM probe), 1::bigint,
		  'no migration ran before the missing-requirement error');
SELECT migrate.unregister('2', 'needy');

-- A dependency cycle is an error before anything runs.  x 2 requires y 1,
-- which requires x 2.
SELECT migrate.register('2', 'x two', $$SELECT 1$$,
						requires => '{y:1}', project => 'x');
SELECT migrate.register('1', 'y one', $$SELECT 1$$,
						requires => '{x:2}', project => 'y');
SELECT throws_ok($$SELECT * FROM migrate.run()$$,
	'42P17',
	'pending migrations form a dependency cycle',
	'a dependency cycle is an error');
SELECT is((SELECT last_value FROM probe), 1::bigint,
		  'no migration ran before the cycle error');
-- Show both errors in full: the detail names the migrations involved.
SELECT * FROM migrate.run(project => 'x');
SELECT migrate.register('2', 'needs ghost', $$SELECT 1$$,
						requires => '{ghost:1}', project => 'needy');
SELECT * FROM migrate.run(project => 'needy');
-- Clean up: first break the cycle, which allows unregistering.
SELECT migrate.register('1', 'y one', $$SELECT 1$$, project => 'y');
SELECT migrate.unregister('2', 'x');
SELECT migrate.unregister('1', 'y');
SELECT migrate.unregister('2', 'needy');
SELECT migrate.unregister('1', 'needy');

--
-- target: up to and including that version of one project.  A target
-- needs a project (22023).
--
SELECT migrate.register('1', 'tgt one', $$SELECT 1$$, project => 'tgt');
SELECT migrate.register('2', 'tgt two', $$SELECT 1$$, project => 'tgt');
SELECT migrate.register('3', 'tgt three', $$SELECT 1$$, project => 'tgt');
SELECT throws_ok($$SELECT * FROM migrate.run(target => '2')$$,
	'22023', 'a target version needs a project',
	'target without project is 22023');
SELECT throws_ok($$SELECT * FROM migrate.run(target => '9', project => 'tgt')$$,
	'42704', 'target migration tgt 9 is not registered',
	'a target that is not registered is an error');
SET client_min_messages = warning;
SELECT results_eq(
	$$SELECT version::text FROM migrate.run(target => '2', project => 'tgt')$$,
	$$VALUES ('1'), ('2')$$,
	'target applies up to and including the target');
RESET client_min_messages;
SELECT is(migrate.current_version('tgt')::text, '2',
		  'the target is the project''s current version');
SET client_min_messages = warning;
SELECT results_eq(
	$$SELECT version::text FROM migrate.run(project => 'tgt')$$,
	$$VALUES ('3')$$,
	'without target the rest is applied');
RESET client_min_messages;

--
-- Out of order: 2 registered after 3 was applied.  run() refuses, listing
-- it; out_of_order => true applies it.
--
SELECT migrate.register('1', 'ooo one', $$SELECT 1$$, project => 'ooo');
SELECT migrate.register('3', 'ooo three', $$SELECT 1$$, project => 'ooo');
SET client_min_messages = warning;
SELECT * FROM migrate.run(project => 'ooo') \g /dev/null
RESET client_min_messages;
SELECT migrate.register('2', 'ooo two', $$SELECT 1$$, project => 'ooo');
SELECT migrate.register('4', 'ooo four', $$SELECT 1$$, project => 'ooo');
SELECT throws_ok($$SELECT * FROM migrate.run(project => 'ooo')$$,
	'55000', 'pending migrations are out of order',
	'run() refuses out-of-order pending migrations');
SELECT * FROM migrate.run(project => 'ooo');
SET client_min_messages = warning;
SELECT results_eq(
	$$SELECT version::text FROM migrate.run(project => 'ooo', out_of_order => true)$$,
	$$VALUES ('2'), ('4')$$,
	'out_of_order => true applies them, in order');
RESET client_min_messages;

--
-- dry_run => true: returns what the real call would return, then rolls
-- everything back.  A would-be failure is a failed row, not an error.
--
SELECT migrate.register('1', 'dry one', $$CREATE TABLE dry1 (id int)$$,
						project => 'dry');
SELECT migrate.register('2', 'dry two', $$INSERT INTO dry1 VALUES (1 / 0)$$,
						project => 'dry');
SELECT migrate.register('3', 'dry three', $$CREATE TABLE dry3 (id int)$$,
						project => 'dry');
SELECT count(*) AS history_before FROM migrate.history \gset

SET client_min_messages = warning;
SELECT results_eq(
	$$SELECT version::text, action, status, message
	  FROM migrate.run(project => 'dry', dry_run => true)$$,
	$$VALUES ('1', 'up', 'ok', NULL), ('2', 'up', 'failed', 'division by zero')$$,
	'dry run: a would-be failure is a failed row with its message, not an error');
SELECT results_eq(
	$$SELECT version::text, status
	  FROM migrate.run(project => 'dry', dry_run => true, atomic => false)$$,
	$$VALUES ('1', 'ok'), ('2', 'failed')$$,
	'dry run with atomic => false: the same rows');
RESET client_min_messages;
SELECT hasnt_table('dry1', 'dry run leaves no table');
SELECT is((SELECT count(*) FROM migrate.history), :history_before::bigint,
		  'dry run leaves no history');
SELECT results_eq(
	$$SELECT version::text, state, last_error FROM migrate.status('dry') AS s
	  ORDER BY s.version$$,
	$$VALUES ('1', 'pending', NULL::text), ('2', 'pending', NULL),
			 ('3', 'pending', NULL)$$,
	'dry run leaves every migration pending');

-- Fixed, the dry run returns the rows the real call then returns.
SELECT migrate.register('2', 'dry two', $$INSERT INTO dry1 VALUES (1)$$,
						project => 'dry');
SET client_min_messages = warning;
CREATE TEMP TABLE dry AS
	SELECT project, version::text, name, action, status, message
	FROM migrate.run(project => 'dry', dry_run => true);
SELECT hasnt_table('dry3', 'a successful dry run leaves no table either');
SELECT results_eq(
	$$SELECT project, version::text, name, action, status, message
	  FROM migrate.run(project => 'dry')$$,
	'SELECT * FROM dry',
	'the real call returns what the dry run returned');
RESET client_min_messages;
SELECT has_table('dry3', 'the real call applied them');

--
-- atomic => false: each migration in a subtransaction.  The failing one
-- is rolled back and recorded, later ones are not attempted nor returned,
-- a WARNING is raised, and the call returns normally.
--
SELECT migrate.register('1', 'soft one', $$CREATE TABLE soft (id int PRIMARY KEY)$$,
						project => 'soft');
SELECT migrate.register('2', 'soft two', $m$
SET work_mem = '9MB';
INSERT INTO soft VALUES (1);
INSERT INTO soft VALUES (1);
$m$, project => 'soft');
SELECT migrate.register('3', 'soft three', $$CREATE TABLE soft3 ()$$,
						project => 'soft');
BEGIN;
SET LOCAL work_mem = '5MB';
SELECT project, version, name, action, status, message
FROM migrate.run(project => 'soft', atomic => false);
-- The caller's transaction goes on as if the failed migration never ran:
-- its settings are back, and the caller can change role again.
SELECT is(current_setting('work_mem'), '5MB',
		  'after the failure the caller''s settings are back');
SELECT lives_ok($$SELECT set_config('role', current_user, true)$$,
				'after the failure the caller can change role');
COMMIT;

SELECT has_table('soft', 'atomic => false keeps the migrations before the failure');
SELECT is_empty('SELECT * FROM soft',
				'the failing migration is rolled back to its start');
SELECT hasnt_table('soft3', 'migrations after the failure are not attempted');
SELECT results_eq(
	$$SELECT version::text, action, status, sqlstate, message, context
	  FROM migrate.history WHERE project = 'soft' ORDER BY id$$,
	$$VALUES ('1', 'up', 'ok', NULL, NULL, NULL),
			 ('2', 'up', 'failed', '23505',
			  'duplicate key value violates unique constraint "soft_pkey"',
			  E'SQL statement "INSERT INTO soft VALUES (1)"\n'
			  'statement 3 of up script of migration soft 2 "soft two", line 4')$$,
	'history: the failure with its sqlstate, message and context');
SELECT results_eq(
	$$SELECT version::text, state, last_error IS NOT NULL
	  FROM migrate.status('soft') AS s ORDER BY s.version$$,
	$$VALUES ('1', 'applied', false), ('2', 'failed', true),
			 ('3', 'pending', false)$$,
	'status: failed with last_error, the later one pending');

-- Fixed and run again, it is applied and the error is gone.
SELECT migrate.register('2', 'soft two', $$INSERT INTO soft VALUES (1)$$,
						project => 'soft');
SET client_min_messages = warning;
SELECT results_eq(
	$$SELECT version::text, status FROM migrate.run(project => 'soft', atomic => false)$$,
	$$VALUES ('2', 'ok'), ('3', 'ok')$$,
	'a failed migration runs again once fixed');
RESET client_min_messages;
SELECT results_eq(
	$$SELECT version::text, state, last_error FROM migrate.status('soft') AS s
	  ORDER BY s.version$$,
	$$VALUES ('1', 'applied', NULL::text), ('2', 'applied', NULL),
			 ('3', 'applied', NULL)$$,
	'once applied, the failure no longer shows in status');

-- Errors that are not the migration's own fault are never turned into a
-- failed row: a statement timeout aborts the call even with
-- atomic => false, and nothing of the call is kept.
SELECT migrate.register('1', 'quick', $$CREATE TABLE slow1 ()$$,
						project => 'slow');
SELECT migrate.register('2', 'slow', $$SELECT pg_sleep(60)$$,
						project => 'slow');
-- (A cancel cannot be caught by throws_ok, so these run at top level and
-- psql's LAST_ERROR_SQLSTATE tells what they raised.)
SET client_min_messages = warning;
SET statement_timeout = '500ms';
SELECT * FROM migrate.run(project => 'slow', atomic => false);
RESET statement_timeout;
SELECT is(:'LAST_ERROR_SQLSTATE'::text, '57014',
		  'a statement timeout aborts an atomic => false call');
SET statement_timeout = '500ms';
SELECT * FROM migrate.run(project => 'slow', dry_run => true);
RESET statement_timeout;
SELECT is(:'LAST_ERROR_SQLSTATE'::text, '57014',
		  'a statement timeout aborts a dry run');
RESET client_min_messages;
SELECT hasnt_table('slow1', 'the migration before the timeout is not kept');
SELECT is_empty($$SELECT * FROM migrate.history WHERE project = 'slow'$$,
				'no failed history row is kept for a timeout');
SELECT migrate.unregister('2', 'slow');
SELECT migrate.unregister('1', 'slow');

--
-- A run rolled back to a savepoint leaves no trace; run again in the same
-- transaction, each migration is applied once.
--
SELECT migrate.register('1', 'sp one', $$CREATE TABLE sp1 ()$$, project => 'sp');
SELECT migrate.register('2', 'sp two', $$CREATE TABLE sp2 ()$$, project => 'sp');
SET client_min_messages = warning;
BEGIN;
SAVEPOINT before_run;
SELECT version, status FROM migrate.run(project => 'sp');
ROLLBACK TO SAVEPOINT before_run;
SELECT version, status FROM migrate.run(project => 'sp');
COMMIT;
RESET client_min_messages;
SELECT results_eq(
	$$SELECT version::text, action, status FROM migrate.history
	  WHERE project = 'sp' ORDER BY id$$,
	$$VALUES ('1', 'up', 'ok'), ('2', 'up', 'ok')$$,
	'after ROLLBACK TO SAVEPOINT and a second run, one event per migration');
SELECT has_table('sp2', 'the second run applied the migrations');

--
-- wait => false without contention just works.
--
SELECT migrate.register('1', 'nowait', $$SELECT 1$$, project => 'nowait');
SET client_min_messages = warning;
SELECT results_eq(
	$$SELECT version::text, status FROM migrate.run(wait => false)$$,
	$$VALUES ('1', 'ok')$$,
	'wait => false applies when nobody holds the lock');
RESET client_min_messages;

--
-- A read-only transaction cannot run migrations (25006).
--
SELECT migrate.register('2', 'nowait two', $$SELECT 1$$, project => 'nowait');
BEGIN READ ONLY;
SELECT throws_ok($$SELECT * FROM migrate.run()$$,
	'25006', 'cannot execute migrate.run() in a read-only transaction',
	'run() in a read-only transaction is 25006');
COMMIT;

--
-- migrate.generation.nothing_due: every change clears it, and a run(),
-- baseline() or unregister() that leaves nothing to do sets it; a no-op
-- run() answers from it.
--
CREATE FUNCTION pg_temp.nothing_due() RETURNS boolean
	LANGUAGE sql AS $$SELECT nothing_due FROM migrate.generation$$;
SET client_min_messages = warning;
SELECT count(*) FROM migrate.run();
RESET client_min_messages;
SELECT is(pg_temp.nothing_due(), true,
		  'nothing_due: set by a run() that leaves nothing to do');
SELECT migrate.register('3', 'flag three', $$CREATE TABLE flag3 ()$$,
						project => 'nowait');
SELECT is(pg_temp.nothing_due(), false,
		  'nothing_due: cleared by register()');
SET client_min_messages = warning;
SELECT results_eq(
	$$SELECT version::text, action FROM migrate.run(dry_run => true)$$,
	$$VALUES ('3', 'up')$$,
	'nothing_due: a dry run sees the new migration');
RESET client_min_messages;
SELECT is(pg_temp.nothing_due(), false,
		  'nothing_due: not set by a dry run');
SELECT migrate.register('1', 'flag other', $$CREATE TABLE flag_other ()$$,
						down => $$DROP TABLE flag_other$$, project => 'flag');
SET client_min_messages = warning;
SELECT results_eq(
	$$SELECT project, version::text FROM migrate.run(target => '3',
													 project => 'nowait')$$,
	$$VALUES ('nowait', '3')$$,
	'nothing_due: a run with a target applies only what it was asked');
RESET client_min_messages;
SELECT is(pg_temp.nothing_due(), false,
		  'nothing_due: not set by a run that leaves migrations pending');
SET client_min_messages = warning;
SELECT results_eq(
	$$SELECT project, version::text FROM migrate.run()$$,
	$$VALUES ('flag', '1')$$,
	'nothing_due: the next run() still finds the pending migration');
SELECT is(pg_temp.nothing_due(), true,
		  'nothing_due: set once nothing is left');
SELECT results_eq(
	$$SELECT project, version::text, action FROM migrate.rollback(project => 'flag')$$,
	$$VALUES ('flag', '1', 'down')$$,
	'nothing_due: rollback() reverts a migration');
RESET client_min_messages;
SELECT is(pg_temp.nothing_due(), false,
		  'nothing_due: cleared by rollback()');
SELECT migrate.register('2', 'flag fails', $$SELECT 1 / 0$$,
						project => 'flag');
SET client_min_messages = warning;
SELECT results_eq(
	$$SELECT version::text, status FROM migrate.run(atomic => false)$$,
	$$VALUES ('1', 'ok'), ('2', 'failed')$$,
	'nothing_due: atomic => false records a failure');
SELECT is(pg_temp.nothing_due(), false,
		  'nothing_due: not set while a failed migration is left');
SELECT results_eq(
	$$SELECT version::text, status FROM migrate.run(atomic => false)$$,
	$$VALUES ('2', 'failed')$$,
	'nothing_due: the next run() tries the failed migration again');
RESET client_min_messages;
SELECT migrate.unregister('2', 'flag');
SELECT is(pg_temp.nothing_due(), true,
		  'nothing_due: set by unregister() of the last thing due');
SELECT migrate.register('1', 'flag base', $$CREATE TABLE flag_base ()$$,
						project => 'flagbase');
SELECT is(pg_temp.nothing_due(), false,
		  'nothing_due: cleared by a new registration');
SELECT migrate.baseline('1', 'flagbase');
SELECT is(pg_temp.nothing_due(), true,
		  'nothing_due: set by baseline() when nothing is left');
SET client_min_messages = warning;
SELECT is_empty($$SELECT * FROM migrate.run()$$,
				'nothing_due: and run() has nothing to do');
RESET client_min_messages;

-- Savepoints: what a rolled back savepoint wrote is undone with it, and
-- the next change of the transaction writes the flag again.
BEGIN;
SELECT migrate.register('2', 'flag base two', $$CREATE TABLE flag_base2 ()$$,
						project => 'flagbase');
SELECT is(pg_temp.nothing_due(), false,
		  'nothing_due: cleared by register() in a transaction block');
SAVEPOINT s;
SELECT migrate.unregister('2', 'flagbase');
SELECT is(pg_temp.nothing_due(), true,
		  'nothing_due: set by unregister() in a savepoint');
ROLLBACK TO s;
SELECT is(pg_temp.nothing_due(), false,
		  'nothing_due: ROLLBACK TO brings back the registration and the flag');
SELECT migrate.register('3', 'flag base three', $$CREATE TABLE flag_base3 ()$$,
						project => 'flagbase');
SELECT is(pg_temp.nothing_due(), false,
		  'nothing_due: still clear after another registration');
SAVEPOINT t;
SET client_min_messages = warning;
SELECT count(*) FROM migrate.run();
RESET client_min_messages;
SELECT is(pg_temp.nothing_due(), true,
		  'nothing_due: set by a run() in a savepoint');
ROLLBACK TO t;
SELECT is(pg_temp.nothing_due(), false,
		  'nothing_due: ROLLBACK TO leaves the migrations due again');
SET client_min_messages = warning;
SELECT results_eq(
	$$SELECT version::text FROM migrate.run()$$,
	$$VALUES ('2'), ('3')$$,
	'nothing_due: and run() still applies them');
RESET client_min_messages;
SELECT is(pg_temp.nothing_due(), true,
		  'nothing_due: set again once they are applied');
COMMIT;

SELECT * FROM finish();

\c contrib_regression
DROP DATABASE migrate_test_run;
