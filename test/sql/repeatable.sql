--
-- Repeatable migrations: migrate.register_repeatable(name, up, project).
--
-- A repeatable migration is identified by (project, name), has no version
-- and no down script, and is applied by run() after every versioned
-- migration, by (project, name), whenever it was never applied, failed,
-- or its checksum changed since it was last applied.  rollback never
-- touches it.
--
CREATE DATABASE migrate_test_repeatable;
\c migrate_test_repeatable
SET client_min_messages = warning;
CREATE EXTENSION pgtap;
CREATE EXTENSION migrate;
RESET client_min_messages;

SELECT plan(63);

-- Every repeatable migration below appends its name to this log when it
-- runs, so the log tells how often each one ran.
CREATE TABLE repeat_log (id serial, name text);

--
-- Registering.  The first call registers; the same content again is a
-- no-op; edits of whitespace, comments and keyword case do not count as
-- changes.
--
SELECT migrate.register_repeatable('b report view',
	$$CREATE OR REPLACE VIEW report AS SELECT count(*) AS n FROM items;
	  INSERT INTO repeat_log (name) VALUES ('b report view')$$);
SELECT is(migrate.register_repeatable('b report view',
	$$CREATE OR REPLACE VIEW report AS SELECT count(*) AS n FROM items;
	  INSERT INTO repeat_log (name) VALUES ('b report view')$$),
	'unchanged', 'registering identical content again is unchanged');
SELECT is(migrate.register_repeatable('b report view',
	$$-- the report
	  create or replace view report as
	      select count(*) as n from items;;
	  insert into repeat_log (name) values ('b report view')  -- log it$$),
	'unchanged', 'whitespace, comments and keyword case are not changes');

-- While it was never applied, a change replaces the registration, with a
-- NOTICE naming what changed.
SELECT migrate.register_repeatable('a answer function',
	$$CREATE OR REPLACE FUNCTION answer() RETURNS int LANGUAGE sql AS 'SELECT 0';
	  INSERT INTO repeat_log (name) VALUES ('a answer function')$$);
SELECT migrate.register_repeatable('a answer function',
	$$CREATE OR REPLACE FUNCTION answer() RETURNS int LANGUAGE sql AS 'SELECT 1';
	  INSERT INTO repeat_log (name) VALUES ('a answer function')$$);

SELECT results_eq(
	$$SELECT project, version::text, name, kind, state, has_down
	  FROM migrate.status() ORDER BY name$$,
	$$VALUES ('default', NULL::text, 'a answer function', 'repeatable',
			  'pending', false),
			 ('default', NULL, 'b report view', 'repeatable', 'pending',
			  false)$$,
	'status: a registered repeatable migration has no version and is pending');
SELECT is((SELECT up FROM migrate.migrations
		   WHERE name = 'a answer function'),
	$$CREATE OR REPLACE FUNCTION answer() RETURNS int LANGUAGE sql AS 'SELECT 1';
	  INSERT INTO repeat_log (name) VALUES ('a answer function')$$,
	'updated: the new script replaces the old one');

--
-- Arguments.  NULL is 22004, naming the argument; the project must be a
-- valid project name (22023).
--
SELECT throws_ok($$SELECT migrate.register_repeatable(NULL, 'SELECT 1')$$,
	'22004', 'argument "name" of migrate.register_repeatable() must not be null',
	'name NULL is 22004');
SELECT throws_ok($$SELECT migrate.register_repeatable('x', NULL)$$,
	'22004', 'argument "up" of migrate.register_repeatable() must not be null',
	'up NULL is 22004');
SELECT throws_ok($$SELECT migrate.register_repeatable('x', 'SELECT 1', NULL)$$,
	'22004', 'argument "project" of migrate.register_repeatable() must not be null',
	'project NULL is 22004');
SELECT throws_ok($$SELECT migrate.register_repeatable('x', 'SELECT 1', 'Shop')$$,
	'22023', 'invalid project name "Shop"',
	'an invalid project name is 22023');
SELECT throws_ok($$SELECT migrate.register_repeatable('', 'SELECT 1')$$,
	'22023', 'migration name must not be empty',
	'an empty name is 22023');

--
-- Scripts are checked like those of register(): a syntax error (42601),
-- transaction control (2D000), and statements that cannot run in a
-- transaction block (25001: a repeatable migration is always
-- transactional).  An empty script is accepted with a NOTICE: it does
-- nothing, on purpose (rolled back here).
--
BEGIN;
SELECT migrate.register_repeatable('empty', $$ -- nothing here
	;$$);
SELECT is(migrate.register_repeatable('empty', ' -- nothing ; '), 'unchanged',
	'another empty script is the same one: unchanged, without a NOTICE');
ROLLBACK;
SELECT migrate.register_repeatable('typo', $$CREATE VIEW v AS
	SELEC 1$$);
SELECT throws_ok($$SELECT migrate.register_repeatable('typo', 'SELEC 1')$$,
	'42601', 'syntax error at or near "SELEC"',
	'a syntax error is 42601');
SELECT throws_ok($$SELECT migrate.register_repeatable('tx', 'COMMIT')$$,
	'2D000', 'transaction control statements are not allowed in migration scripts',
	'transaction control is 2D000');
SELECT throws_ok($$SELECT migrate.register_repeatable('ix',
					'CREATE INDEX CONCURRENTLY i ON repeat_log (id)')$$,
	'25001', 'CREATE INDEX CONCURRENTLY cannot run inside a transaction block',
	'a statement that cannot run in a transaction block is 25001');
SELECT is((SELECT count(*) FROM migrate.migrations
		   WHERE name IN ('', 'x', 'empty', 'typo', 'tx', 'ix')), 0::bigint,
		  'nothing refused was registered');

--
-- Applying.  Repeatable migrations come after every versioned migration,
-- even after the versioned migrations of a project that sorts after
-- theirs, by (project, name).  Here the view of default repeatable "b
-- report view" reads table items, which is created by migration zeta 1,
-- and "a answer function" runs before it although registered after it.
--
SELECT migrate.register('1', 'create log index',
	$$CREATE INDEX repeat_log_name ON repeat_log (name)$$,
	down => $$DROP INDEX repeat_log_name$$);
SELECT migrate.register('1', 'create items',
	$$CREATE TABLE items (id int)$$, down => $$DROP TABLE items$$,
	project => 'zeta');
SELECT migrate.register_repeatable('zeta view',
	$$CREATE OR REPLACE VIEW zeta_items AS SELECT id FROM items;
	  INSERT INTO repeat_log (name) VALUES ('zeta view')$$,
	project => 'zeta');

-- psql shows a NOTICE per migration, repeatable ones included.
CREATE TEMP TABLE run1 AS SELECT * FROM migrate.run();

SELECT results_eq(
	$$SELECT project, version::text, name, action, status, message
	  FROM run1$$,
	$$VALUES ('default', '1', 'create log index', 'up', 'ok', NULL::text),
			 ('zeta', '1', 'create items', 'up', 'ok', NULL),
			 ('default', NULL, 'a answer function', 'repeat', 'ok', NULL),
			 ('default', NULL, 'b report view', 'repeat', 'ok', NULL),
			 ('zeta', NULL, 'zeta view', 'repeat', 'ok', NULL)$$,
	'run(): versioned migrations first, then repeatable ones by (project, name), action repeat, version NULL');
SELECT is((SELECT count(DISTINCT run_id) FROM run1), 1::bigint,
		  'repeatable migrations belong to the run that applied them');
SELECT is(answer(), 1, 'the registered (updated) function was created');
SELECT has_view('report', 'the view was created');
SELECT results_eq(
	$$SELECT name FROM repeat_log ORDER BY id$$,
	$$VALUES ('a answer function'), ('b report view'), ('zeta view')$$,
	'each repeatable migration ran once');

SELECT results_eq(
	$$SELECT project, version::text, name, action, status
	  FROM migrate.history ORDER BY id$$,
	$$VALUES ('default', '1', 'create log index', 'up', 'ok'),
			 ('zeta', '1', 'create items', 'up', 'ok'),
			 ('default', NULL, 'a answer function', 'repeat', 'ok'),
			 ('default', NULL, 'b report view', 'repeat', 'ok'),
			 ('zeta', NULL, 'zeta view', 'repeat', 'ok')$$,
	'history: action repeat and version NULL for repeatable migrations');
SELECT is((SELECT count(*) FROM migrate.history AS h
		   JOIN migrate.migrations AS m
		     ON m.project = h.project AND m.name = h.name
			AND m.kind = 'repeatable'
		   WHERE h.checksum = m.checksum), 3::bigint,
		  'history: a repeat row carries the checksum it applied');
SELECT results_eq(
	$$SELECT project, name, state FROM migrate.status()
	  WHERE kind = 'repeatable' ORDER BY project, name$$,
	$$VALUES ('default', 'a answer function', 'applied'),
			 ('default', 'b report view', 'applied'),
			 ('zeta', 'zeta view', 'applied')$$,
	'status: applied repeatable migrations are applied');

-- Applied and unchanged: run() has nothing to do.
SELECT is_empty('SELECT * FROM migrate.run()',
				'an applied, unchanged repeatable migration is not applied again');

-- Whitespace and comment edits leave the checksum alone: unchanged, and
-- not applied again.
SELECT is(migrate.register_repeatable('a answer function',
	$$create or replace function answer() returns int language sql as 'SELECT 1';
	  /* log it */ insert into repeat_log (name) values ('a answer function');$$),
	'unchanged', 'a whitespace and comment edit of an applied repeatable is unchanged');
SELECT is_empty('SELECT * FROM migrate.run()',
				'a whitespace and comment edit does not apply it again');
SELECT is((SELECT count(*) FROM repeat_log), 3::bigint,
		  'no repeatable migration ran again');

--
-- A real change: updated (an applied repeatable may change: that is the
-- point), outdated until the next run applies it again, applied after.
--
SELECT migrate.register_repeatable('a answer function',
	$$CREATE OR REPLACE FUNCTION answer() RETURNS int LANGUAGE sql AS 'SELECT 2';
	  INSERT INTO repeat_log (name) VALUES ('a answer function')$$);
SELECT results_eq(
	$$SELECT name, state FROM migrate.status('default')
	  WHERE kind = 'repeatable' ORDER BY name$$,
	$$VALUES ('a answer function', 'outdated'), ('b report view', 'applied')$$,
	'status: a repeatable migration changed since applied is outdated');
SELECT is(answer(), 1, 'registering the change did not run it');

CREATE TEMP TABLE run2 AS SELECT * FROM migrate.run();
SELECT results_eq(
	$$SELECT project, version::text, name, action, status FROM run2$$,
	$$VALUES ('default', NULL::text, 'a answer function', 'repeat', 'ok')$$,
	'run() applies only the changed repeatable migration');
SELECT is(answer(), 2, 'the new script ran');
SELECT results_eq(
	$$SELECT name, state FROM migrate.status('default')
	  WHERE kind = 'repeatable' ORDER BY name$$,
	$$VALUES ('a answer function', 'applied'), ('b report view', 'applied')$$,
	'status: applied again after the run');
SELECT results_eq(
	$$SELECT h.run_id = r.run_id, h.action, h.status
	  FROM migrate.history AS h, (SELECT DISTINCT run_id FROM run2) AS r
	  WHERE h.name = 'a answer function' ORDER BY h.id$$,
	$$VALUES (false, 'repeat', 'ok'), (true, 'repeat', 'ok')$$,
	'history keeps every application of a repeatable migration');
SELECT is((SELECT checksum FROM migrate.history
		   WHERE name = 'a answer function' ORDER BY id DESC LIMIT 1),
		  (SELECT checksum FROM migrate.migrations
		   WHERE name = 'a answer function'),
		  'the new history row has the new checksum');

-- Changed, then changed back before any run: the script registered is the
-- one applied last, so it is not outdated and nothing runs.
SELECT is(migrate.register_repeatable('a answer function',
	$$CREATE OR REPLACE FUNCTION answer() RETURNS int LANGUAGE sql AS 'SELECT 3';
	  INSERT INTO repeat_log (name) VALUES ('a answer function')$$),
	'updated', 'a change is updated');
SELECT is(migrate.register_repeatable('a answer function',
	$$CREATE OR REPLACE FUNCTION answer() RETURNS int LANGUAGE sql AS 'SELECT 2';
	  INSERT INTO repeat_log (name) VALUES ('a answer function')$$),
	'updated', 'changing it back is updated too');
SELECT is((SELECT state FROM migrate.status()
		   WHERE name = 'a answer function'), 'applied',
		  'changed back to what was applied: applied, not outdated');
SELECT is_empty('SELECT * FROM migrate.run()',
				'changed back to what was applied: not applied again');

-- (project, name) identifies a repeatable migration: the same name in
-- another project is another migration.
SELECT is(migrate.register_repeatable('b report view',
	$$INSERT INTO repeat_log (name) VALUES ('zeta b report view')$$,
	project => 'zeta'), 'registered',
	'the same name in another project is a new registration');
SELECT is((SELECT count(*) FROM migrate.migrations WHERE name = 'b report view'),
		  2::bigint, 'two repeatable migrations named "b report view"');

--
-- run(project => ...) applies only that project's repeatable migrations.
--
SELECT migrate.register_repeatable('b report view',
	$$CREATE OR REPLACE VIEW report AS SELECT count(*) AS n, 2 AS rev FROM items;
	  INSERT INTO repeat_log (name) VALUES ('b report view')$$);
SET client_min_messages = warning;
SELECT results_eq(
	$$SELECT project, version::text, name, action, status
	  FROM migrate.run(project => 'zeta')$$,
	$$VALUES ('zeta', NULL::text, 'b report view', 'repeat', 'ok')$$,
	'run(project => zeta) applies zeta''s repeatable migration only');
RESET client_min_messages;
SELECT is((SELECT state FROM migrate.status('default')
		   WHERE name = 'b report view'), 'outdated',
		  'the outdated repeatable of project default was left alone');
SET client_min_messages = warning;
SELECT results_eq(
	$$SELECT project, version::text, name, action, status
	  FROM migrate.run(project => 'default')$$,
	$$VALUES ('default', NULL::text, 'b report view', 'repeat', 'ok')$$,
	'run(project => default) applies default''s repeatable migration');
RESET client_min_messages;
SELECT has_column('report', 'rev', 'the changed view was created');

--
-- run(target => ..., project => ...) applies versioned migrations up to the
-- target and leaves repeatable migrations out, even outdated ones.
--
SELECT migrate.register('2', 'create log index 2',
	$$CREATE INDEX repeat_log_id ON repeat_log (id)$$,
	down => $$DROP INDEX repeat_log_id$$);
SELECT migrate.register_repeatable('a answer function',
	$$CREATE OR REPLACE FUNCTION answer() RETURNS int LANGUAGE sql AS 'SELECT 4';
	  INSERT INTO repeat_log (name) VALUES ('a answer function')$$);
SET client_min_messages = warning;
SELECT results_eq(
	$$SELECT project, version::text, name, action
	  FROM migrate.run(target => '2', project => 'default')$$,
	$$VALUES ('default', '2', 'create log index 2', 'up')$$,
	'run(target, project) applies no repeatable migration');
RESET client_min_messages;
SELECT is(answer(), 2, 'the outdated repeatable did not run');
SELECT is((SELECT state FROM migrate.status()
		   WHERE name = 'a answer function'), 'outdated',
		  'it is still outdated');

--
-- Rollback never touches repeatable migrations: they have no down, and
-- rollback() reverts the newest applied versioned migration even when a
-- repeatable one was applied after it.
--
SET client_min_messages = warning;
SELECT results_eq(
	$$SELECT version::text, name, action FROM migrate.run()$$,
	$$VALUES (NULL::text, 'a answer function', 'repeat')$$,
	'the outdated repeatable is applied by a plain run()');
SELECT results_eq(
	$$SELECT project, version::text, name, action FROM migrate.rollback()$$,
	$$VALUES ('default', '2', 'create log index 2', 'down')$$,
	'rollback() reverts the newest versioned migration, not the repeatable applied after it');
SELECT results_eq(
	$$SELECT project, version::text, name, action
	  FROM migrate.rollback_all('default')$$,
	$$VALUES ('default', '1', 'create log index', 'down')$$,
	'rollback_all() reverts versioned migrations only');
SELECT is_empty($$SELECT * FROM migrate.rollback_all('default')$$,
				'with only repeatables applied, rollback_all() has nothing to do');
SELECT migrate.register('2', 'create more items',
	$$CREATE TABLE more_items (id int)$$, down => $$DROP TABLE more_items$$,
	project => 'zeta') \g /dev/null
SELECT * FROM migrate.run(project => 'zeta') \g /dev/null
SELECT results_eq(
	$$SELECT project, version::text, name, action
	  FROM migrate.rollback_to('1', 'zeta')$$,
	$$VALUES ('zeta', '2', 'create more items', 'down')$$,
	'rollback_to() reverts the versioned migration above the target only');
RESET client_min_messages;
SELECT migrate.unregister('2', 'zeta') \g /dev/null
SELECT results_eq(
	$$SELECT name, state FROM migrate.status('zeta')
	  WHERE kind = 'repeatable' ORDER BY name$$,
	$$VALUES ('b report view', 'applied'), ('zeta view', 'applied')$$,
	'the repeatables of zeta stay applied');
SELECT results_eq(
	$$SELECT name, state FROM migrate.status('default')
	  WHERE kind = 'repeatable' ORDER BY name$$,
	$$VALUES ('a answer function', 'applied'), ('b report view', 'applied')$$,
	'repeatable migrations stay applied after the rollbacks');
SELECT is(answer(), 4, 'and what they created stays');
SELECT is((SELECT count(*) FROM migrate.history WHERE action = 'down'
		   AND version IS NULL), 0::bigint,
		  'no down event for a repeatable migration');

--
-- A failing repeatable migration with atomic => false: rolled back,
-- recorded as failed (history row with the SQLSTATE), a WARNING and a
-- failed row; what ran before it in the same call is kept (1 and 2,
-- reverted above, and the new 3).
--
SELECT migrate.register('3', 'create log index 3',
	$$CREATE INDEX repeat_log_id_name ON repeat_log (id, name)$$,
	down => $$DROP INDEX repeat_log_id_name$$);
SELECT migrate.register_repeatable('c broken',
	$$INSERT INTO repeat_log (name) VALUES ('c broken');
	  INSERT INTO no_such_table VALUES (1)$$);
SELECT count(*) AS log_before FROM repeat_log \gset

CREATE TEMP TABLE run3 AS SELECT * FROM migrate.run(atomic => false);
SELECT results_eq(
	$$SELECT project, version::text, name, action, status, message FROM run3$$,
	$$VALUES ('default', '1', 'create log index', 'up', 'ok', NULL::text),
			 ('default', '2', 'create log index 2', 'up', 'ok', NULL),
			 ('default', '3', 'create log index 3', 'up', 'ok', NULL),
			 ('default', NULL, 'c broken', 'repeat', 'failed',
			  'relation "no_such_table" does not exist')$$,
	'atomic => false: the failing repeatable is a failed row');
SELECT results_eq(
	$$SELECT version::text, action, status, sqlstate, message
	  FROM migrate.history WHERE name = 'c broken' ORDER BY id$$,
	$$VALUES (NULL::text, 'repeat', 'failed', '42P01',
			  'relation "no_such_table" does not exist')$$,
	'atomic => false: the failure is recorded in the history');
SELECT results_eq(
	$$SELECT state, last_error FROM migrate.status() WHERE name = 'c broken'$$,
	$$VALUES ('failed', '42P01: relation "no_such_table" does not exist')$$,
	'status: the failed repeatable is failed, with its error');
SELECT is((SELECT count(*) FROM repeat_log), :log_before::bigint,
		  'the failed repeatable was rolled back');
SELECT results_eq(
	$$SELECT s.version::text, s.state FROM migrate.status('default') AS s
	  WHERE s.kind = 'versioned' ORDER BY s.version$$,
	$$VALUES ('1', 'applied'), ('2', 'applied'), ('3', 'applied')$$,
	'the versioned migrations applied before it are kept');

-- A failed repeatable is attempted again by the next run, even unchanged;
-- once fixed it is applied.
SET client_min_messages = error;
SELECT results_eq(
	$$SELECT name, action, status FROM migrate.run(atomic => false)$$,
	$$VALUES ('c broken', 'repeat', 'failed')$$,
	'a failed repeatable is attempted again');
RESET client_min_messages;
SELECT migrate.register_repeatable('c broken',
	$$INSERT INTO repeat_log (name) VALUES ('c broken')$$);
SET client_min_messages = warning;
SELECT results_eq(
	$$SELECT name, action, status FROM migrate.run()$$,
	$$VALUES ('c broken', 'repeat', 'ok')$$,
	'the fixed repeatable is applied');
RESET client_min_messages;
SELECT is((SELECT state FROM migrate.status() WHERE name = 'c broken'),
		  'applied', 'and is applied');

SELECT * FROM finish();

\c contrib_regression
DROP DATABASE migrate_test_repeatable;
