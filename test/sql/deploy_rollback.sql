--
-- CALL migrate.deploy_rollback(), deploy_rollback_to(), deploy_rollback_all():
-- reverting across transactions, one migration at a time, with
-- non-transactional down scripts (DROP INDEX CONCURRENTLY) at top level.
--
CREATE DATABASE migrate_test_deploy_rollback;
\c migrate_test_deploy_rollback
SET client_min_messages = warning;
CREATE EXTENSION pgtap;
CREATE EXTENSION migrate;
RESET client_min_messages;

SELECT plan(24);

CREATE TABLE big (id int, v int);
INSERT INTO big SELECT g, g % 50 FROM generate_series(1, 2000) AS g;
SET client_min_messages = warning;
SELECT migrate.register('1', 'table one', $$CREATE TABLE one (id int)$$,
						down => $$DROP TABLE one$$);
SELECT migrate.register('2', 'index big', $$CREATE INDEX CONCURRENTLY big_v_idx ON big (v)$$,
						down => $$DROP INDEX CONCURRENTLY big_v_idx$$,
						transactional => false);
SELECT migrate.register('3', 'table three', $$CREATE TABLE three (id int)$$,
						down => $$DROP TABLE three$$);
RESET client_min_messages;
CALL migrate.deploy();

--
-- rollback() cannot run a non-transactional down script: it says which
-- procedure can.
--
SELECT throws_ok($$SELECT * FROM migrate.rollback(2)$$, '0A000',
				 'migration default 2 "index big" is not transactional and cannot be reverted inside migrate.rollback()',
				 'rollback() refuses a non-transactional down script');
SELECT throws_ok($$SELECT * FROM migrate.rollback_all('default')$$, '0A000', NULL,
				 'so does rollback_all()');
-- The hint names the procedure to use:
SELECT * FROM migrate.rollback_to('1');

--
-- Where: a top-level CALL only.
--
BEGIN;
CALL migrate.deploy_rollback();
ROLLBACK;
SELECT is(:'LAST_ERROR_SQLSTATE'::text, '25001', 'deploy_rollback inside BEGIN is 25001');
SELECT is(:'LAST_ERROR_MESSAGE'::text,
		  'migrate.deploy_rollback() cannot run inside a transaction block',
		  'and names the procedure');
CALL migrate.deploy_rollback(0);
SELECT is(:'LAST_ERROR_SQLSTATE'::text, '22023', 'steps below 1 are 22023');
CALL migrate.deploy_rollback_to('9');
SELECT is(:'LAST_ERROR_SQLSTATE'::text, '42704', 'an unregistered target is 42704');

--
-- deploy_rollback(2): 3, then 2 with DROP INDEX CONCURRENTLY at top level.
--
CALL migrate.deploy_rollback(2) \gset
SELECT is(:reverted, 2, 'deploy_rollback(2) reverts two migrations');
SELECT results_eq(
	$$SELECT version::text, state FROM migrate.status() ORDER BY version$$,
	$$VALUES ('1', 'applied'), ('2', 'pending'), ('3', 'pending')$$,
	'the two newest are pending again');
SELECT is(to_regclass('big_v_idx'), NULL, 'DROP INDEX CONCURRENTLY ran in the deploy');
SELECT hasnt_table('three', 'and table three is gone');
SELECT results_eq(
	$$SELECT version::text, action, status FROM migrate.history
	  WHERE run_id = $$ || :run_id || $$ ORDER BY id$$,
	$$VALUES ('3', 'down', 'started'), ('3', 'down', 'ok'),
			 ('2', 'down', 'started'), ('2', 'down', 'ok')$$,
	'each revert is started, then ok, newest first');

-- And deploy applies them again.
CALL migrate.deploy() \gset
SELECT is(:applied, 2, 'deploy applies them again');
SELECT is((SELECT indisvalid FROM pg_index WHERE indexrelid = 'big_v_idx'::regclass), true,
		  'with the index built concurrently again');

--
-- deploy_rollback_to('1'): every applied migration above 1.
--
CALL migrate.deploy_rollback_to('1') \gset
SELECT is(:reverted, 2, 'deploy_rollback_to(''1'') reverts 3 and 2');
SELECT results_eq(
	$$SELECT version::text, state FROM migrate.status() ORDER BY version$$,
	$$VALUES ('1', 'applied'), ('2', 'pending'), ('3', 'pending')$$,
	'1 stays applied');
CALL migrate.deploy();

--
-- A failing down script: that revert is rolled back and the migration
-- stays applied; the error keeps its SQLSTATE.
--
SET client_min_messages = warning;
SELECT migrate.register('4', 'bad down', $$CREATE TABLE four (id int)$$,
						down => $$DROP TABLE four; SELECT 1 / 0$$);
RESET client_min_messages;
CALL migrate.deploy();
CALL migrate.deploy_rollback();
SELECT is(:'LAST_ERROR_SQLSTATE'::text, '22012', 'a failing down script fails the deploy_rollback');
SELECT is(:'LAST_ERROR_MESSAGE'::text,
		  'reverting migration default 4 "bad down" failed: division by zero',
		  'naming the migration');
SELECT results_eq(
	$$SELECT state FROM migrate.status() WHERE version::text = '4'$$,
	$$VALUES ('applied')$$,
	'the migration stays applied');
SELECT has_table('four', 'its table was not dropped');
SELECT results_eq(
	$$SELECT action, status, sqlstate FROM migrate.history
	  WHERE version::text = '4' ORDER BY id$$,
	$$VALUES ('up', 'started', NULL), ('up', 'ok', NULL),
			 ('down', 'started', NULL), ('down', 'failed', '22012')$$,
	'its history says the revert failed');
SET client_min_messages = warning;
SELECT migrate.register('4', 'bad down', $$CREATE TABLE four (id int)$$,
						down => $$DROP TABLE four$$);
RESET client_min_messages;

--
-- deploy_rollback_all, in a background worker.
--
CALL migrate.deploy_rollback_all('default', wait => false) \gset
SELECT ok(:run_id > 0, 'deploy_rollback_all(wait => false) returns a run id');
DO $$
BEGIN
	FOR i IN 1 .. 600 LOOP
		EXIT WHEN NOT EXISTS (SELECT FROM migrate.activity);
		COMMIT;
		PERFORM pg_sleep(0.05);
		COMMIT;
	END LOOP;
END
$$;
SELECT is_empty($$SELECT * FROM migrate.status() WHERE state <> 'pending'$$,
				'the worker reverted everything');
SELECT is(to_regclass('big_v_idx'), NULL, 'the index included');
SELECT is((SELECT count(*) FROM migrate.history
		   WHERE run_id = :run_id AND action = 'down' AND status = 'ok'),
		  4::bigint, 'four reverts under its run id');

SELECT * FROM finish();

\c contrib_regression
DROP DATABASE migrate_test_deploy_rollback;
