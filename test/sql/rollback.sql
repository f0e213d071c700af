--
-- migrate.rollback(steps, project, dry_run, wait): reverting the newest
-- applied migrations of a project by running their down scripts.
--
-- Each part uses its own project, so the order of reverts in one part
-- does not depend on what another part applied.
--
CREATE DATABASE migrate_test_rollback;
\c migrate_test_rollback
SET client_min_messages = warning;
CREATE EXTENSION pgtap;
CREATE EXTENSION migrate;
RESET client_min_messages;

SELECT plan(49);

-- Sequences ignore rollbacks: a down script that bumps this one leaves a
-- mark even when its call fails, which tells whether it ran at all.
CREATE SEQUENCE probe;
SELECT nextval('probe');

--
-- Apply 1, 2, 3; rollback(2) reverts 3, then 2.  psql shows a NOTICE per
-- migration reverted; the rows have action "down".
--
SELECT migrate.register('1', 'create r1', $$CREATE TABLE r1 ()$$,
						down => $$DROP TABLE r1$$);
SELECT migrate.register('2', 'create r2', $$CREATE TABLE r2 ()$$,
						down => $$DROP TABLE r2$$);
SELECT migrate.register('3', 'create r3', $$CREATE TABLE r3 ()$$,
						down => $$DROP TABLE r3$$);
SET client_min_messages = warning;
CREATE TEMP TABLE up1 AS SELECT * FROM migrate.run();
RESET client_min_messages;

CREATE TEMP TABLE down1 AS SELECT * FROM migrate.rollback(2);
SELECT project, version, name, action, status, message FROM down1;

SELECT results_eq(
	$$SELECT project, version::text, name, action, status, message
	  FROM down1$$,
	$$VALUES ('default', '3', 'create r3', 'down', 'ok', NULL::text),
			 ('default', '2', 'create r2', 'down', 'ok', NULL)$$,
	'rollback(2) reverts the newest applied first, with action down');
SELECT hasnt_table('r3', 'the down script of 3 ran');
SELECT hasnt_table('r2', 'the down script of 2 ran');
SELECT has_table('r1', 'migration 1 is untouched');
SELECT results_eq(
	$$SELECT s.version::text, s.state FROM migrate.status() AS s
	  ORDER BY s.version$$,
	$$VALUES ('1', 'applied'), ('2', 'pending'), ('3', 'pending')$$,
	'reverted migrations are pending again');
SELECT is(migrate.current_version()::text, '1',
		  'the current version is the highest still applied');
SELECT is((SELECT count(DISTINCT run_id) FROM down1), 1::bigint,
		  'every row of one rollback has the same run_id');
SELECT ok((SELECT min(run_id) FROM down1) > (SELECT max(run_id) FROM up1),
		  'a rollback gets a new run_id');
SELECT ok((SELECT bool_and(duration_ms >= 0) FROM down1),
		  'duration_ms of a revert is non-negative');
SELECT results_eq(
	$$SELECT h.version::text, h.action, h.status, h.role, h.ran_as
	  FROM migrate.history AS h JOIN down1 AS d ON d.run_id = h.run_id
	   AND d.version OPERATOR(migrate.=) h.version
	  ORDER BY h.id$$,
	$$VALUES ('3', 'down', 'ok', current_user, current_user),
			 ('2', 'down', 'ok', current_user, current_user)$$,
	'a history row per revert, with the run_id the call returned');

-- Reverted migrations can be applied again; the history keeps every
-- event, up and down.
SET client_min_messages = warning;
SELECT results_eq(
	$$SELECT version::text, action, status FROM migrate.run()$$,
	$$VALUES ('2', 'up', 'ok'), ('3', 'up', 'ok')$$,
	'reverted migrations are applied again by run()');
RESET client_min_messages;
SELECT has_table('r3', 'the up script of 3 ran again');
SELECT results_eq(
	$$SELECT version::text, action, status FROM migrate.history ORDER BY id$$,
	$$VALUES ('1', 'up', 'ok'), ('2', 'up', 'ok'), ('3', 'up', 'ok'),
			 ('3', 'down', 'ok'), ('2', 'down', 'ok'),
			 ('2', 'up', 'ok'), ('3', 'up', 'ok')$$,
	'the history keeps both up and down events');

-- The default is one step.
SET client_min_messages = warning;
SELECT results_eq(
	$$SELECT version::text, action FROM migrate.rollback()$$,
	$$VALUES ('3', 'down')$$,
	'rollback() reverts one migration');
RESET client_min_messages;

-- A rollback belongs to the caller's transaction: ROLLBACK undoes it.
BEGIN;
SELECT version, action, status FROM migrate.rollback();
ROLLBACK;
SELECT has_table('r2', 'ROLLBACK undoes a revert');
SELECT results_eq(
	$$SELECT s.version::text, s.state FROM migrate.status() AS s
	  ORDER BY s.version$$,
	$$VALUES ('1', 'applied'), ('2', 'applied'), ('3', 'pending')$$,
	'ROLLBACK leaves the migration applied');

-- More steps than applied migrations reverts what there is.
SET client_min_messages = warning;
SELECT results_eq(
	$$SELECT version::text FROM migrate.rollback(10)$$,
	$$VALUES ('2'), ('1')$$,
	'rollback(10) reverts the two applied migrations');
RESET client_min_messages;

-- Nothing applied: zero rows.
SELECT is_empty('SELECT * FROM migrate.rollback()',
				'rollback() returns zero rows when nothing is applied');
SELECT is_empty($$SELECT * FROM migrate.rollback(project => 'nothing_here')$$,
				'rollback() of a project with no migrations returns zero rows');

--
-- Newest applied, not highest version: 3 was applied before 2 (out of
-- order), so 2 is reverted first.
--
SELECT migrate.register('1', 'n one', $$SELECT 1$$, down => $$SELECT 1$$,
						project => 'newest');
SELECT migrate.register('3', 'n three', $$SELECT 1$$, down => $$SELECT 1$$,
						project => 'newest');
SET client_min_messages = warning;
SELECT * FROM migrate.run(project => 'newest') \g /dev/null
SELECT migrate.register('2', 'n two', $$SELECT 1$$, down => $$SELECT 1$$,
						project => 'newest');
SELECT * FROM migrate.run(project => 'newest', out_of_order => true) \g /dev/null
SELECT results_eq(
	$$SELECT version::text FROM migrate.rollback(1, 'newest')$$,
	$$VALUES ('2')$$,
	'the migration applied last is reverted first');
SELECT results_eq(
	$$SELECT version::text FROM migrate.rollback(1, 'newest')$$,
	$$VALUES ('3')$$,
	'then the one applied before it');
RESET client_min_messages;

--
-- A migration without a down script cannot be reverted: the call is
-- refused before anything runs (55000), and nothing changes.
--
SELECT migrate.register('1', 'no down', $$CREATE TABLE nd1 ()$$,
						project => 'nodown');
SELECT migrate.register('2', 'has down', $$CREATE TABLE nd2 ()$$,
						down => $$SELECT nextval('public.probe'); DROP TABLE nd2$$,
						project => 'nodown');
SET client_min_messages = warning;
SELECT * FROM migrate.run(project => 'nodown') \g /dev/null
RESET client_min_messages;
SELECT setval('probe', 1);

SELECT throws_ok($$SELECT * FROM migrate.rollback(2, 'nodown')$$,
	'55000', 'cannot revert migrations that have no down script',
	'rollback refuses when a migration to revert has no down');
SELECT is((SELECT last_value FROM probe), 1::bigint,
		  'no down script ran before the refusal');
SELECT has_table('nd2', 'the migration with a down is still applied');
SELECT results_eq(
	$$SELECT s.version::text, s.state FROM migrate.status('nodown') AS s
	  ORDER BY s.version$$,
	$$VALUES ('1', 'applied'), ('2', 'applied')$$,
	'the refusal leaves the state unchanged');
-- The error in full names the migration.
SELECT * FROM migrate.rollback(2, 'nodown');
-- Reverting only the one with a down works.
SET client_min_messages = warning;
SELECT results_eq(
	$$SELECT version::text, status FROM migrate.rollback(1, 'nodown')$$,
	$$VALUES ('2', 'ok')$$,
	'reverting the migration that has a down works');
RESET client_min_messages;

--
-- An applied migration that stays, in any project, may not lose what it
-- requires (2BP01).  ext 1 requires base:1.
--
SELECT migrate.register('1', 'base one', $$CREATE TABLE base1 (id int PRIMARY KEY)$$,
						down => $$SELECT nextval('public.probe'); DROP TABLE base1$$,
						project => 'base');
SELECT migrate.register('2', 'base two', $$CREATE TABLE base2 ()$$,
						down => $$SELECT nextval('public.probe'); DROP TABLE base2$$,
						project => 'base');
SELECT migrate.register('1', 'ext one',
						$$CREATE TABLE ext1 (id int REFERENCES base1)$$,
						down => $$DROP TABLE ext1$$,
						requires => '{base:1}', project => 'ext');
SET client_min_messages = warning;
SELECT * FROM migrate.run() \g /dev/null
RESET client_min_messages;
SELECT setval('probe', 1);

SELECT throws_ok($$SELECT * FROM migrate.rollback(2, 'base')$$,
	'2BP01',
	'cannot revert migration base 1 "base one": applied migration ext 1 "ext one" requires it',
	'rollback refuses to revert what an applied migration of another project requires');
SELECT is((SELECT last_value FROM probe), 1::bigint,
		  'no down script ran before the refusal');
SELECT results_eq(
	$$SELECT s.project, s.version::text, s.state FROM migrate.status() AS s
	  WHERE s.project IN ('base', 'ext') ORDER BY s.project, s.version$$,
	$$VALUES ('base', '1', 'applied'), ('base', '2', 'applied'),
			 ('ext', '1', 'applied')$$,
	'the refusal leaves the state unchanged');
SELECT * FROM migrate.rollback(2, 'base');
-- base 2 alone is not required: it can go.  Once ext 1 is reverted,
-- base 1 can go too.
SET client_min_messages = warning;
SELECT results_eq(
	$$SELECT version::text FROM migrate.rollback(1, 'base')$$,
	$$VALUES ('2')$$,
	'a migration nobody requires can be reverted');
SELECT results_eq(
	$$SELECT project, version::text FROM migrate.rollback(1, 'ext')$$,
	$$VALUES ('ext', '1')$$,
	'the requiring migration can be reverted');
SELECT results_eq(
	$$SELECT project, version::text FROM migrate.rollback(1, 'base')$$,
	$$VALUES ('base', '1')$$,
	'then what it required can be reverted');
RESET client_min_messages;

-- Reverting both a migration and the one that requires it, in one call,
-- is fine.  chain 2 requires chain 1.
SELECT migrate.register('1', 'chain one', $$SELECT 1$$, down => $$SELECT 1$$,
						project => 'chain');
SELECT migrate.register('2', 'chain two', $$SELECT 1$$, down => $$SELECT 1$$,
						requires => '{1}', project => 'chain');
SET client_min_messages = warning;
SELECT * FROM migrate.run(project => 'chain') \g /dev/null
SELECT results_eq(
	$$SELECT version::text FROM migrate.rollback(2, 'chain')$$,
	$$VALUES ('2'), ('1')$$,
	'a migration and the one requiring it are reverted together');
RESET client_min_messages;

--
-- Arguments: NULL is 22004, a step count below one is 22023.
--
SELECT throws_ok($$SELECT * FROM migrate.rollback(NULL)$$,
	'22004', 'argument "steps" of migrate.rollback() must not be null',
	'steps NULL is 22004');
SELECT throws_ok($$SELECT * FROM migrate.rollback(0)$$,
	'22023', 'steps must be at least 1, not 0',
	'steps 0 is 22023');
SELECT throws_ok($$SELECT * FROM migrate.rollback(-1)$$,
	'22023', 'steps must be at least 1, not -1',
	'negative steps is 22023');
SELECT throws_ok($$SELECT * FROM migrate.rollback(project => NULL)$$,
	'22004', 'argument "project" of migrate.rollback() must not be null',
	'project NULL is 22004');
SELECT throws_ok($$SELECT * FROM migrate.rollback(project => 'No Such')$$,
	'22023', 'invalid project name "No Such"',
	'an invalid project name is 22023');

--
-- A failing down script aborts the call; its error names the migration,
-- and nothing of the call persists (here 2 was reverted before 1 failed).
--
SELECT migrate.register('1', 'bad down one', $$CREATE TABLE bd1 ()$$,
						down => $$DROP TABLE no_such_table$$,
						project => 'baddown');
SELECT migrate.register('2', 'bad down two', $$CREATE TABLE bd2 ()$$,
						down => $$DROP TABLE bd2$$,
						project => 'baddown');
SET client_min_messages = warning;
SELECT * FROM migrate.run(project => 'baddown') \g /dev/null
RESET client_min_messages;

SELECT * FROM migrate.rollback(2, 'baddown');
SET client_min_messages = warning;
SELECT throws_ok($$SELECT * FROM migrate.rollback(2, 'baddown')$$,
	'42P01',
	'reverting migration baddown 1 "bad down one" failed: table "no_such_table" does not exist',
	'a failing down script raises its error, naming the migration');
RESET client_min_messages;
SELECT has_table('bd2', 'the revert of 2 in the same call is undone');
SELECT results_eq(
	$$SELECT s.version::text, s.state FROM migrate.status('baddown') AS s
	  ORDER BY s.version$$,
	$$VALUES ('1', 'applied'), ('2', 'applied')$$,
	'after a failed rollback both migrations are still applied');

--
-- dry_run => true returns the rows the real call would return and leaves
-- everything as it was.  A would-be failure is a failed row.
--
SELECT count(*) AS history_before FROM migrate.history \gset
SET client_min_messages = warning;
SELECT results_eq(
	$$SELECT version::text, action, status, message
	  FROM migrate.rollback(2, 'baddown', dry_run => true)$$,
	$$VALUES ('2', 'down', 'ok', NULL),
			 ('1', 'down', 'failed', 'table "no_such_table" does not exist')$$,
	'dry run: a would-be failure is a failed row, not an error');
SELECT results_eq(
	$$SELECT version::text, action, status
	  FROM migrate.rollback(1, 'baddown', dry_run => true)$$,
	$$VALUES ('2', 'down', 'ok')$$,
	'dry run: the rows of a successful revert');
RESET client_min_messages;
SELECT has_table('bd2', 'dry run leaves the tables');
SELECT is((SELECT count(*) FROM migrate.history), :history_before::bigint,
		  'dry run leaves no history');
SELECT results_eq(
	$$SELECT s.version::text, s.state FROM migrate.status('baddown') AS s
	  ORDER BY s.version$$,
	$$VALUES ('1', 'applied'), ('2', 'applied')$$,
	'dry run leaves the migrations applied');
SET client_min_messages = warning;
SELECT results_eq(
	$$SELECT version::text, action, status
	  FROM migrate.rollback(1, 'baddown')$$,
	$$VALUES ('2', 'down', 'ok')$$,
	'the real call returns what the dry run returned');
RESET client_min_messages;

--
-- wait => false without contention just works; a read-only transaction
-- cannot revert (25006).
--
SET client_min_messages = warning;
SELECT * FROM migrate.run(project => 'chain') \g /dev/null
SELECT results_eq(
	$$SELECT version::text FROM migrate.rollback(1, 'chain', wait => false)$$,
	$$VALUES ('2')$$,
	'wait => false reverts when nobody holds the lock');
RESET client_min_messages;
BEGIN READ ONLY;
SELECT throws_ok($$SELECT * FROM migrate.rollback(1, 'nodown')$$,
	'25006', 'cannot execute migrate.rollback() in a read-only transaction',
	'rollback() in a read-only transaction is 25006');
COMMIT;

SELECT * FROM finish();

\c contrib_regression
DROP DATABASE migrate_test_rollback;
