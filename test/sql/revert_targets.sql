--
-- migrate.rollback_to(target, project, dry_run, wait) and
-- migrate.rollback_all(project, dry_run, wait): reverting down to a
-- version, or everything, of one project.
--
-- Both revert newest-applied first (the order they were applied in,
-- reversed, not the version order) and refuse like rollback(), before any
-- down script runs.  Each part uses its own project.
--
CREATE DATABASE migrate_test_revert_targets;
\c migrate_test_revert_targets
SET client_min_messages = warning;
CREATE EXTENSION pgtap;
CREATE EXTENSION migrate;
RESET client_min_messages;

SELECT plan(50);

-- Sequences ignore rollbacks: every down script below bumps this one, so
-- its value tells how many down scripts ran, even in a failed call.
CREATE SEQUENCE probe;
SELECT nextval('probe');

-- Registers migration <version> of <project>: it creates table
-- <project>_<version>, and its down script bumps the probe and drops it.
CREATE FUNCTION reg(version text, project text, with_down boolean DEFAULT true,
					requires text[] DEFAULT '{}') RETURNS text
LANGUAGE sql AS $$
	SELECT migrate.register(version, project || ' ' || version,
		format('CREATE TABLE %I ()', project || '_' || version),
		CASE WHEN with_down THEN
			format('SELECT nextval(''public.probe''); DROP TABLE %I',
				   project || '_' || version) END,
		requires => requires, project => project)
$$;

--
-- rollback_to.  Project app: 1, 2, 4 and 5 are applied, then 3 (out of
-- order), so the newest applied is 3, then 5, then 4.
--
SELECT reg('1', 'app'), reg('2', 'app'), reg('4', 'app'), reg('5', 'app');
SET client_min_messages = warning;
SELECT * FROM migrate.run(project => 'app') \g /dev/null
SELECT reg('3', 'app');
SELECT * FROM migrate.run(project => 'app', out_of_order => true) \g /dev/null
RESET client_min_messages;

-- Every applied migration whose version sorts above 2 is reverted, newest
-- applied first; 2 stays applied.  psql shows a NOTICE per revert.
CREATE TEMP TABLE to1 AS SELECT * FROM migrate.rollback_to('2', 'app');
SELECT project, version, name, action, status, message FROM to1;

SELECT results_eq(
	$$SELECT project, version::text, name, action, status, message FROM to1$$,
	$$VALUES ('app', '3', 'app 3', 'down', 'ok', NULL::text),
			 ('app', '5', 'app 5', 'down', 'ok', NULL),
			 ('app', '4', 'app 4', 'down', 'ok', NULL)$$,
	'rollback_to(2) reverts 3, 5, 4: what sorts above 2, newest applied first');
SELECT results_eq(
	$$SELECT s.version::text, s.state FROM migrate.status('app') AS s
	  ORDER BY s.version$$,
	$$VALUES ('1', 'applied'), ('2', 'applied'), ('3', 'pending'),
			 ('4', 'pending'), ('5', 'pending')$$,
	'the target and what is below it stay applied; the rest is pending');
SELECT is(migrate.current_version('app')::text, '2',
		  'the target is the current version');
SELECT has_table('app_2', 'the target''s table is still there');
SELECT hasnt_table('app_3', 'the down script of 3 ran');
SELECT hasnt_table('app_5', 'the down script of 5 ran');
SELECT is((SELECT count(DISTINCT run_id) FROM to1), 1::bigint,
		  'one run id for the whole call');
SELECT results_eq(
	$$SELECT h.version::text, h.action, h.status FROM migrate.history AS h
	  WHERE h.run_id = (SELECT DISTINCT run_id FROM to1) ORDER BY h.id$$,
	$$VALUES ('3', 'down', 'ok'), ('5', 'down', 'ok'), ('4', 'down', 'ok')$$,
	'a down history row per revert, in the order reverted');

-- Nothing applied above the target: zero rows.
SELECT is_empty($$SELECT * FROM migrate.rollback_to('2', 'app')$$,
				'rollback_to() with nothing above the target returns zero rows');

-- The target is found by version equality: 004 is version 4.
SET client_min_messages = warning;
SELECT * FROM migrate.run(project => 'app') \g /dev/null
SELECT results_eq(
	$$SELECT version::text FROM migrate.rollback_to('004', 'app')$$,
	$$VALUES ('5')$$,
	'rollback_to(004) keeps 4 applied: versions compare naturally');
RESET client_min_messages;

-- A target that is registered but not applied stays as it is, and what
-- is applied above it is reverted.  In project gap, 2 was registered after
-- 3 was applied: it is pending below 3.
SELECT reg('1', 'gap'), reg('3', 'gap');
SET client_min_messages = warning;
SELECT * FROM migrate.run(project => 'gap') \g /dev/null
RESET client_min_messages;
SELECT reg('2', 'gap');
SET client_min_messages = warning;
SELECT results_eq(
	$$SELECT version::text FROM migrate.rollback_to('2', 'gap')$$,
	$$VALUES ('3')$$,
	'rollback_to() a pending target reverts what is applied above it');
RESET client_min_messages;
SELECT results_eq(
	$$SELECT s.version::text, s.state FROM migrate.status('gap') AS s
	  ORDER BY s.version$$,
	$$VALUES ('1', 'applied'), ('2', 'pending'), ('3', 'pending')$$,
	'the pending target stays pending');

-- Back to app: apply 5 again, so that it is the newest applied.
SET client_min_messages = warning;
SELECT * FROM migrate.run(project => 'app') \g /dev/null
RESET client_min_messages;

--
-- Arguments: NULL target or project is 22004, a malformed version 22P02,
-- an invalid project 22023, and a target that is not registered 42704.
--
SELECT throws_ok($$SELECT * FROM migrate.rollback_to(NULL, 'app')$$,
	'22004', 'argument "target" of migrate.rollback_to() must not be null',
	'target NULL is 22004');
SELECT throws_ok($$SELECT * FROM migrate.rollback_to('1', NULL)$$,
	'22004', 'argument "project" of migrate.rollback_to() must not be null',
	'project NULL is 22004');
SELECT throws_ok($$SELECT * FROM migrate.rollback_to('1.', 'app')$$,
	'22P02', 'invalid input syntax for type migrate.version: "1."',
	'a malformed target is 22P02');
SELECT throws_ok($$SELECT * FROM migrate.rollback_to('1', 'App')$$,
	'22023', 'invalid project name "App"',
	'an invalid project name is 22023');
SELECT throws_ok($$SELECT * FROM migrate.rollback_to('2.5', 'app')$$,
	'42704', 'target migration app 2.5 is not registered',
	'a target that is not registered is 42704');
SELECT throws_ok($$SELECT * FROM migrate.rollback_to('1', 'nothing_here')$$,
	'42704', 'target migration nothing_here 1 is not registered',
	'a target in a project with no migrations is 42704');
SELECT * FROM migrate.rollback_to('2.5', 'app');
SELECT is(migrate.current_version('app')::text, '5',
		  'the refused calls reverted nothing');

--
-- rollback_to refuses like rollback(), before any down script runs: a
-- migration to revert without down (55000) ...
--
SELECT reg('1', 'nd'), reg('2', 'nd', with_down => false), reg('3', 'nd');
SET client_min_messages = warning;
SELECT * FROM migrate.run(project => 'nd') \g /dev/null
RESET client_min_messages;
SELECT setval('probe', 1);

SELECT * FROM migrate.rollback_to('1', 'nd');
SELECT throws_ok($$SELECT * FROM migrate.rollback_to('1', 'nd')$$,
	'55000', 'cannot revert migrations that have no down script',
	'rollback_to() refuses to revert a migration without down');
SELECT is((SELECT last_value FROM probe), 1::bigint,
		  'not even the down script of 3, reverted first, ran');
SELECT results_eq(
	$$SELECT s.version::text, s.state FROM migrate.status('nd') AS s
	  ORDER BY s.version$$,
	$$VALUES ('1', 'applied'), ('2', 'applied'), ('3', 'applied')$$,
	'the refusal leaves the state unchanged');
SET client_min_messages = warning;
SELECT results_eq(
	$$SELECT version::text FROM migrate.rollback_to('2', 'nd')$$,
	$$VALUES ('3')$$,
	'a target above the migration without down works');
RESET client_min_messages;

-- ... or an applied migration that stays, in another project, requires one
-- to revert (2BP01).  ext 1 requires base 2.
SELECT reg('1', 'base'), reg('2', 'base'), reg('3', 'base');
SELECT reg('1', 'ext', requires => '{base:2}');
SET client_min_messages = warning;
SELECT * FROM migrate.run(project => 'ext') \g /dev/null
SELECT * FROM migrate.run(project => 'base') \g /dev/null
RESET client_min_messages;
SELECT setval('probe', 1);

SELECT * FROM migrate.rollback_to('1', 'base');
SELECT throws_ok($$SELECT * FROM migrate.rollback_to('1', 'base')$$,
	'2BP01',
	'cannot revert migration base 2 "base 2": applied migration ext 1 "ext 1" requires it',
	'rollback_to() refuses to revert what another project''s applied migration requires');
SELECT is((SELECT last_value FROM probe), 1::bigint,
		  'not even the down script of 3, reverted first, ran');
SELECT results_eq(
	$$SELECT s.version::text, s.state FROM migrate.status('base') AS s
	  ORDER BY s.version$$,
	$$VALUES ('1', 'applied'), ('2', 'applied'), ('3', 'applied')$$,
	'the refusal leaves the state unchanged');
SET client_min_messages = warning;
SELECT results_eq(
	$$SELECT version::text FROM migrate.rollback_to('2', 'base')$$,
	$$VALUES ('3')$$,
	'what nobody requires can be reverted');
RESET client_min_messages;

--
-- dry_run => true returns the rows the real call would return, and leaves
-- no trace: no history row, the same state, the tables still there.
--
SELECT count(*) AS history_before FROM migrate.history \gset
SET client_min_messages = warning;
SELECT results_eq(
	$$SELECT project, version::text, action, status
	  FROM migrate.rollback_to('1', 'app', dry_run => true)$$,
	$$VALUES ('app', '5', 'down', 'ok'), ('app', '4', 'down', 'ok'),
			 ('app', '3', 'down', 'ok'), ('app', '2', 'down', 'ok')$$,
	'dry run: the rows of the real call');
RESET client_min_messages;
SELECT is((SELECT count(*) FROM migrate.history), :history_before::bigint,
		  'dry run: no history row');
SELECT is(migrate.current_version('app')::text, '5',
		  'dry run: everything stays applied');
SELECT has_table('app_5', 'dry run: the tables are still there');

--
-- rollback_all reverts every applied migration of the project, newest
-- applied first, and nothing of other projects.  In app, 1 then 2 were
-- applied first, 3 then 4 in a later run, and 5 last.
--
SELECT count(*) AS history_before FROM migrate.history \gset
SET client_min_messages = warning;
SELECT results_eq(
	$$SELECT project, version::text, action, status
	  FROM migrate.rollback_all('app', dry_run => true)$$,
	$$VALUES ('app', '5', 'down', 'ok'), ('app', '4', 'down', 'ok'),
			 ('app', '3', 'down', 'ok'), ('app', '2', 'down', 'ok'),
			 ('app', '1', 'down', 'ok')$$,
	'rollback_all(dry_run): the rows of the real call');
RESET client_min_messages;
SELECT is((SELECT count(*) FROM migrate.history), :history_before::bigint,
		  'rollback_all(dry_run): no history row');
SELECT is(migrate.current_version('app')::text, '5',
		  'rollback_all(dry_run): everything stays applied');

SELECT setval('probe', 1);
CREATE TEMP TABLE all1 AS SELECT * FROM migrate.rollback_all('app');
SELECT results_eq(
	$$SELECT project, version::text, name, action, status FROM all1$$,
	$$VALUES ('app', '5', 'app 5', 'down', 'ok'),
			 ('app', '4', 'app 4', 'down', 'ok'),
			 ('app', '3', 'app 3', 'down', 'ok'),
			 ('app', '2', 'app 2', 'down', 'ok'),
			 ('app', '1', 'app 1', 'down', 'ok')$$,
	'rollback_all() reverts every applied migration, newest applied first');
SELECT is((SELECT last_value FROM probe), 6::bigint,
		  'five down scripts ran');
SELECT is((SELECT count(*) FROM migrate.status('app') WHERE state <> 'pending'),
		  0::bigint, 'every migration of the project is pending');
SELECT is(migrate.current_version('app')::text, NULL,
		  'the project has no current version');
SELECT is((SELECT count(DISTINCT run_id) FROM all1), 1::bigint,
		  'one run id for the whole call');
SELECT results_eq(
	$$SELECT s.project, s.version::text, s.state FROM migrate.status() AS s
	  WHERE s.project IN ('base', 'ext', 'nd') ORDER BY s.project, s.version$$,
	$$VALUES ('base', '1', 'applied'), ('base', '2', 'applied'),
			 ('base', '3', 'pending'), ('ext', '1', 'applied'),
			 ('nd', '1', 'applied'), ('nd', '2', 'applied'),
			 ('nd', '3', 'pending')$$,
	'other projects are untouched');

-- Nothing applied: zero rows.
SELECT is_empty($$SELECT * FROM migrate.rollback_all('app')$$,
				'rollback_all() with nothing applied returns zero rows');
SELECT is_empty($$SELECT * FROM migrate.rollback_all('nothing_here')$$,
				'rollback_all() of a project without migrations returns zero rows');

-- It refuses like rollback().
SELECT setval('probe', 1);
SELECT throws_ok($$SELECT * FROM migrate.rollback_all('nd')$$,
	'55000', 'cannot revert migrations that have no down script',
	'rollback_all() refuses when a migration has no down');
SELECT throws_ok($$SELECT * FROM migrate.rollback_all('base')$$,
	'2BP01',
	'cannot revert migration base 2 "base 2": applied migration ext 1 "ext 1" requires it',
	'rollback_all() refuses to revert what another project requires');
SELECT is((SELECT last_value FROM probe), 1::bigint,
		  'no down script ran before the refusals');

-- Reverting the dependent project first makes it possible.
SET client_min_messages = warning;
SELECT results_eq(
	$$SELECT project, version::text FROM migrate.rollback_all('ext')$$,
	$$VALUES ('ext', '1')$$,
	'rollback_all(ext) reverts ext');
SELECT results_eq(
	$$SELECT project, version::text FROM migrate.rollback_all('base')$$,
	$$VALUES ('base', '2'), ('base', '1')$$,
	'then rollback_all(base) reverts base');
RESET client_min_messages;

-- Arguments.
SELECT throws_ok($$SELECT * FROM migrate.rollback_all(NULL)$$,
	'22004', 'argument "project" of migrate.rollback_all() must not be null',
	'project NULL is 22004');
SELECT throws_ok($$SELECT * FROM migrate.rollback_all('no such')$$,
	'22023', 'invalid project name "no such"',
	'an invalid project name is 22023');
SELECT throws_ok($$SELECT * FROM migrate.rollback_all('app', dry_run => NULL)$$,
	'22004', 'argument "dry_run" of migrate.rollback_all() must not be null',
	'dry_run NULL is 22004');

SELECT * FROM finish();

\c contrib_regression
DROP DATABASE migrate_test_revert_targets;
