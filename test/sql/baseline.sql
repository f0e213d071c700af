--
-- migrate.baseline(version, project): adopting a database whose schema
-- already has some migrations.
--
-- baseline marks every registered versioned migration of the project up
-- to and including version applied without running it, writes a history
-- row with action "baseline" for each (one run id for the call), and
-- returns how many.  It is refused once any migration of the project is
-- applied.
--
CREATE DATABASE migrate_test_baseline;
\c migrate_test_baseline
SET client_min_messages = warning;
CREATE EXTENSION pgtap;
CREATE EXTENSION migrate;
RESET client_min_messages;

SELECT plan(40);

-- Sequences ignore rollbacks: every up script below bumps this one, so its
-- value tells whether any up script ran at all.
CREATE SEQUENCE probe;
SELECT nextval('probe');

--
-- An existing database: tables legacy_1, legacy_1_5 and legacy_2 were
-- created by hand (or by another tool) before migrate was installed.  The
-- migrations that describe them would fail if they ran again: their tables
-- exist.
--
CREATE TABLE legacy_1 (id int);
CREATE TABLE legacy_1_5 (id int);
CREATE TABLE legacy_2 (id int);
INSERT INTO legacy_1 VALUES (1);

SELECT migrate.register('1', 'legacy 1',
	$$SELECT nextval('public.probe'); CREATE TABLE legacy_1 (id int)$$,
	down => $$DROP TABLE legacy_1$$);
SELECT migrate.register('1.5', 'legacy 1.5',
	$$SELECT nextval('public.probe'); CREATE TABLE legacy_1_5 (id int)$$,
	down => $$DROP TABLE legacy_1_5$$);
SELECT migrate.register('2', 'legacy 2',
	$$SELECT nextval('public.probe'); CREATE TABLE legacy_2 (id int)$$,
	down => $$DROP TABLE legacy_2$$);
SELECT migrate.register('3', 'new 3',
	$$SELECT nextval('public.probe'); CREATE TABLE new_3 (id int)$$,
	down => $$DROP TABLE new_3$$);
-- A repeatable migration is not versioned: baseline leaves it alone.
SELECT migrate.register_repeatable('legacy view',
	$$CREATE OR REPLACE VIEW legacy_view AS SELECT id FROM legacy_1$$);
-- Another project, with a version 1 of its own.
SELECT migrate.register('1', 'other 1',
	$$SELECT nextval('public.probe'); CREATE TABLE other_1 (id int)$$,
	project => 'other');

--
-- baseline('2') marks 1, 1.5 and 2 applied and returns 3.
--
SELECT migrate.baseline('2');

SELECT is((SELECT last_value FROM probe), 1::bigint,
		  'no up script ran');
SELECT is((SELECT count(*) FROM legacy_1), 1::bigint,
		  'the existing data is untouched');
SELECT hasnt_table('new_3', 'the migration above the baseline did not run');
SELECT results_eq(
	$$SELECT s.project, s.version::text, s.kind, s.state, s.applied_by
	  FROM migrate.status() AS s ORDER BY s.project, s.kind DESC, s.version$$,
	$$VALUES ('default', '1', 'versioned', 'applied', current_user),
			 ('default', '1.5', 'versioned', 'applied', current_user),
			 ('default', '2', 'versioned', 'applied', current_user),
			 ('default', '3', 'versioned', 'pending', NULL),
			 ('default', NULL, 'repeatable', 'pending', NULL),
			 ('other', '1', 'versioned', 'pending', NULL)$$,
	'up to and including 2 is applied; 3, the repeatable and project other are not');
SELECT is(migrate.current_version()::text, '2',
		  'the current version is the baseline version');
SELECT is(migrate.current_version('other')::text, NULL,
		  'project other has no current version');

-- The history: a "baseline" row per migration, all with one run id, the
-- registered checksum and the caller as role; no script ran, so nobody
-- ran it.
SELECT results_eq(
	$$SELECT h.project, h.version::text, h.name, h.action, h.status, h.role,
			 h.ran_as
	  FROM migrate.history AS h ORDER BY h.version$$,
	$$VALUES ('default', '1', 'legacy 1', 'baseline', 'ok', current_user,
			  NULL::name),
			 ('default', '1.5', 'legacy 1.5', 'baseline', 'ok', current_user,
			  NULL),
			 ('default', '2', 'legacy 2', 'baseline', 'ok', current_user,
			  NULL)$$,
	'a baseline history row per migration marked applied');
SELECT is((SELECT count(DISTINCT run_id) FROM migrate.history), 1::bigint,
		  'one run id for the whole baseline');
SELECT is((SELECT count(*) FROM migrate.history AS h
		   JOIN migrate.migrations AS m ON m.project = h.project
			AND m.version OPERATOR(migrate.=) h.version
		   WHERE h.checksum = m.checksum), 3::bigint,
		  'each baseline row carries the registered checksum');
SELECT is((SELECT count(*) FROM migrate.validate()
		   WHERE problem = 'checksum mismatch'), 0::bigint,
		  'baselined migrations have no checksum mismatch');

--
-- A later run() applies only what came after the baseline, in a new run.
--
SET client_min_messages = warning;
CREATE TEMP TABLE run1 AS SELECT * FROM migrate.run(project => 'default');
RESET client_min_messages;
SELECT results_eq(
	$$SELECT project, version::text, name, action, status FROM run1$$,
	$$VALUES ('default', '3', 'new 3', 'up', 'ok'),
			 ('default', NULL, 'legacy view', 'repeat', 'ok')$$,
	'run() applies only the migrations after the baseline (and the repeatable)');
SELECT is((SELECT last_value FROM probe), 2::bigint,
		  'exactly one up script ran: 3');
SELECT has_table('new_3', 'migration 3 ran');
SELECT ok((SELECT min(run_id) FROM run1) >
		  (SELECT max(run_id) FROM migrate.history WHERE action = 'baseline'),
		  'the run has a new run id');

--
-- Refused (55000) once any migration of the project is applied, and
-- nothing changes.
--
SELECT count(*) AS history_before FROM migrate.history \gset
SELECT migrate.baseline('3');
SELECT throws_ok($$SELECT migrate.baseline('3')$$,
	'55000', 'cannot baseline project "default" because it has applied migrations',
	'baseline refuses a project with applied migrations');
SELECT throws_ok($$SELECT migrate.baseline('0')$$,
	'55000', 'cannot baseline project "default" because it has applied migrations',
	'even a baseline below every migration is refused');
SELECT is((SELECT count(*) FROM migrate.history), :history_before::bigint,
		  'the refusals wrote no history');

-- The same for a project whose migrations were applied by run(), not by a
-- baseline.
SELECT migrate.register('1', 'ran 1', $$SELECT 1$$, project => 'ran');
SELECT migrate.register('2', 'ran 2', $$SELECT 1$$, project => 'ran');
SET client_min_messages = warning;
SELECT * FROM migrate.run(target => '1', project => 'ran') \g /dev/null
RESET client_min_messages;
SELECT throws_ok($$SELECT migrate.baseline('2', 'ran')$$,
	'55000', 'cannot baseline project "ran" because it has applied migrations',
	'baseline refuses a project where run() applied a migration');
SELECT is((SELECT state FROM migrate.status('ran') WHERE version::text = '2'),
		  'pending', 'the refused baseline left 2 pending');

--
-- Arguments: NULL is 22004, a malformed version 22P02, an invalid project
-- 22023.
--
SELECT throws_ok($$SELECT migrate.baseline(NULL)$$,
	'22004', 'argument "version" of migrate.baseline() must not be null',
	'version NULL is 22004');
SELECT throws_ok($$SELECT migrate.baseline('1', NULL)$$,
	'22004', 'argument "project" of migrate.baseline() must not be null',
	'project NULL is 22004');
SELECT throws_ok($$SELECT migrate.baseline('1..', 'other')$$,
	'22P02', 'invalid input syntax for type migrate.version: "1.."',
	'a malformed version is 22P02');
SELECT throws_ok($$SELECT migrate.baseline('-1', 'other')$$,
	'22P02', 'invalid input syntax for type migrate.version: "-1"',
	'a version starting with a separator is 22P02');
SELECT throws_ok($$SELECT migrate.baseline('1', 'Other')$$,
	'22023', 'invalid project name "Other"',
	'an invalid project name is 22023');
SELECT is((SELECT state FROM migrate.status('other') WHERE version::text = '1'),
		  'pending', 'the refused calls changed nothing');

--
-- The version need not be registered: baseline counts what sorts at or
-- below it, naturally ordered (10 is above 9.5).
--
SELECT migrate.register(v, 'lib ' || v,
	$$SELECT nextval('public.probe')$$, project => 'lib')
FROM unnest(ARRAY['1', '2', '9', '10']) AS v;
SELECT setval('probe', 1);
SELECT is(migrate.baseline('9.5', 'lib'), 3,
		  'baseline(9.5) marks 1, 2 and 9 applied');
SELECT results_eq(
	$$SELECT s.version::text, s.state FROM migrate.status('lib') AS s
	  ORDER BY s.version$$,
	$$VALUES ('1', 'applied'), ('2', 'applied'), ('9', 'applied'),
			 ('10', 'pending')$$,
	'10 sorts above 9.5 and stays pending');
SELECT is((SELECT last_value FROM probe), 1::bigint,
		  'no up script of lib ran');

-- A version below every registered one marks nothing and returns 0; with
-- nothing applied, a later baseline is still allowed.
SELECT migrate.register('5', 'low 5', $$SELECT 1$$, project => 'low');
SELECT is(migrate.baseline('4', 'low'), 0, 'baseline below everything returns 0');
SELECT is((SELECT count(*) FROM migrate.history WHERE project = 'low'),
		  0::bigint, 'and writes no history');
SELECT is(migrate.baseline('5', 'low'), 1, 'a later baseline is allowed');
-- A project with no migration at all: 0.
SELECT is(migrate.baseline('1', 'empty'), 0,
		  'baseline of a project without migrations returns 0');

-- The versions match naturally: 05 is 5.
SELECT migrate.register('5', 'eq 5', $$SELECT 1$$, project => 'eq');
SELECT is(migrate.baseline('05', 'eq'), 1,
		  'baseline(05) includes version 5');

-- Other projects are untouched by all of this.
SELECT results_eq(
	$$SELECT version::text, state FROM migrate.status('other')$$,
	$$VALUES ('1', 'pending')$$,
	'project other is still pending');

--
-- A baseline belongs to the caller's transaction: ROLLBACK undoes it.
--
SELECT migrate.register('1', 'tx 1', $$SELECT 1$$, project => 'tx');
BEGIN;
SELECT migrate.baseline('1', 'tx');
ROLLBACK;
SELECT is((SELECT state FROM migrate.status('tx')), 'pending',
		  'ROLLBACK undoes a baseline');
SELECT is((SELECT count(*) FROM migrate.history WHERE project = 'tx'),
		  0::bigint, 'and its history');

--
-- Baselined migrations count as applied in version order: rollback()
-- reverts the highest first, whatever order they were registered in.
--
SELECT migrate.register('3', 'ord 3', $$SELECT 1$$, down => $$SELECT 1$$,
						project => 'ord');
SELECT migrate.register('1', 'ord 1', $$SELECT 1$$, down => $$SELECT 1$$,
						project => 'ord');
SELECT migrate.register('2', 'ord 2', $$SELECT 1$$, down => $$SELECT 1$$,
						project => 'ord');
SELECT is(migrate.baseline('3', 'ord'), 3, 'baseline(3) marks 1, 2 and 3');
SELECT results_eq(
	$$SELECT version::text FROM migrate.history WHERE project = 'ord'
	  ORDER BY id$$,
	$$VALUES ('1'), ('2'), ('3')$$,
	'baseline writes its history rows in version order');
SET client_min_messages = warning;
SELECT results_eq(
	$$SELECT version::text, action FROM migrate.rollback(1, 'ord')$$,
	$$VALUES ('3', 'down')$$,
	'rollback() after a baseline reverts the highest baselined version');
RESET client_min_messages;
SELECT results_eq(
	$$SELECT s.version::text, s.state FROM migrate.status('ord') AS s
	  ORDER BY s.version$$,
	$$VALUES ('1', 'applied'), ('2', 'applied'), ('3', 'pending')$$,
	'no gap is left below an applied version');

SELECT * FROM finish();

\c contrib_regression
DROP DATABASE migrate_test_baseline;
