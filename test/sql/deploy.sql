--
-- CALL migrate.deploy(): the plan of run(), one transaction per migration.
--
-- Where it may be called, its arguments, the order (the same as run()'s),
-- committed progress, a failure that keeps what was applied before it, an
-- enum value added by one migration and used by the next, non-transactional
-- migrations at top level (concurrent index builds, VACUUM), resuming at
-- the first statement not completed, the invalid index a failed concurrent
-- build leaves, settings, and the role checks.  (Crashes, disconnects and
-- concurrent callers: test/t/007_deploy.pl and test/specs/deploy_lock.spec.)
--
CREATE DATABASE migrate_test_deploy;
\c migrate_test_deploy
SET client_min_messages = warning;
CREATE EXTENSION pgtap;
CREATE EXTENSION migrate;
RESET client_min_messages;

SELECT plan(61);

--
-- Where: a top-level CALL only.
--
BEGIN;
CALL migrate.deploy();
ROLLBACK;
SELECT is(:'LAST_ERROR_SQLSTATE'::text, '25001', 'deploy inside BEGIN is 25001');
DO $$
DECLARE
	r bigint;
	a integer;
BEGIN
	CALL migrate.deploy(run_id => r, applied => a);
END
$$;
SELECT is(:'LAST_ERROR_SQLSTATE'::text, '25001', 'deploy from a DO block is 25001');

--
-- Arguments.
--
CALL migrate.deploy(lock_timeout => '-1s');
SELECT is(:'LAST_ERROR_SQLSTATE'::text, '22023', 'a negative lock_timeout is 22023');
CALL migrate.deploy(lock_timeout => NULL);
SELECT is(:'LAST_ERROR_SQLSTATE'::text, '22004', 'a NULL lock_timeout is 22004');
CALL migrate.deploy(retries => -1);
SELECT is(:'LAST_ERROR_SQLSTATE'::text, '22023', 'negative retries are 22023');
CALL migrate.deploy(target => '1');
SELECT is(:'LAST_ERROR_SQLSTATE'::text, '22023', 'a target without a project is 22023');
CALL migrate.deploy(target => '1', project => 'Bad Name');
SELECT is(:'LAST_ERROR_SQLSTATE'::text, '22023', 'an invalid project name is 22023');
CALL migrate.deploy(target => '7', project => 'default');
SELECT is(:'LAST_ERROR_SQLSTATE'::text, '42704', 'an unregistered target is 42704');

-- Nothing to do: a run id, nothing applied, no history.
CALL migrate.deploy() \gset
SELECT is(:applied, 0, 'deploy with nothing registered applies nothing');
SELECT ok(:run_id > 0, 'and returns a run id');
SELECT is_empty('SELECT * FROM migrate.history', 'and writes no history');

--
-- The same plan as run(): order across projects, requires, repeatables.
--
SET client_min_messages = warning;
SELECT migrate.register('2', 'app two', $$CREATE TABLE app_two (id int)$$,
						requires => '{lib:1}');
SELECT migrate.register('1', 'app one', $$CREATE TABLE app_one (id int)$$);
SELECT migrate.register('1', 'lib one', $$CREATE TABLE lib_one (id int)$$,
						project => 'lib');
SELECT migrate.register('2', 'lib two', $$CREATE TABLE lib_two (id int)$$,
						project => 'lib', requires => '{default:2}');
SELECT migrate.register_repeatable('view', $$CREATE OR REPLACE VIEW app_v AS SELECT 1 AS x$$);
CREATE TEMP TABLE planned AS
	SELECT row_number() OVER () AS n, project, version::text, name
	FROM migrate.run(dry_run => true);
RESET client_min_messages;
CALL migrate.deploy();
SELECT results_eq(
	$$SELECT project, version::text, name FROM migrate.history
	  WHERE status = 'ok' ORDER BY id$$,
	$$SELECT project, version, name FROM planned ORDER BY n$$,
	'deploy applies in the order run() would');
SELECT results_eq(
	$$SELECT status, count(*) FROM migrate.history GROUP BY status ORDER BY status$$,
	$$VALUES ('ok', 5::bigint), ('started', 5::bigint)$$,
	'a started event before each migration, an ok event after');
SELECT is_empty(
	$$SELECT 1 FROM migrate.history AS s
	  WHERE s.status = 'started' AND NOT EXISTS (
		SELECT 1 FROM migrate.history AS o
		WHERE o.status = 'ok' AND o.project = s.project AND o.name = s.name
		  AND o.run_id = s.run_id AND o.id > s.id)$$,
	'each started event is followed by its ok event in the same run');
SELECT results_eq(
	$$SELECT DISTINCT state, run_id = (SELECT max(run_id) FROM migrate.history),
			 pid = pg_backend_pid() FROM migrate.status()$$,
	$$VALUES ('applied', true, true)$$,
	'status() shows them applied, with the deploy''s run id and pid');
SELECT is_empty('SELECT * FROM migrate.run()', 'after which run() has nothing to do');

--
-- One transaction per migration: a failure keeps what was applied before
-- it, records the failure, and keeps the statement's SQLSTATE.
--
SET client_min_messages = warning;
SELECT migrate.register('3', 'three', $$CREATE TABLE three (id int)$$);
SELECT migrate.register('4', 'four fails', $$CREATE TABLE four (id int); SELECT 1 / 0$$);
SELECT migrate.register('5', 'five', $$CREATE TABLE five (id int)$$);
RESET client_min_messages;
CALL migrate.deploy();
SELECT is(:'LAST_ERROR_SQLSTATE'::text, '22012', 'the ERROR keeps the statement''s SQLSTATE');
SELECT is(:'LAST_ERROR_MESSAGE'::text, 'migration default 4 "four fails" failed: division by zero',
		  'and names the migration');
SELECT results_eq(
	$$SELECT version::text, state, last_error FROM migrate.status()
	  WHERE project = 'default' AND version::text IN ('3', '4', '5')
	  ORDER BY version$$,
	$$VALUES ('3', 'applied', NULL), ('4', 'failed', '22012: division by zero'),
			 ('5', 'pending', NULL)$$,
	'a failed migration is recorded failed; the one before stays applied');
SELECT has_table('three', 'the migration before the failure is committed');
SELECT hasnt_table('four', 'the failed migration is rolled back');
SELECT results_eq(
	$$SELECT status, sqlstate FROM migrate.history
	  WHERE version::text = '4' ORDER BY id$$,
	$$VALUES ('started', NULL), ('failed', '22012')$$,
	'its history: started, then failed with the SQLSTATE');
SELECT migrate.unregister('5');
SELECT migrate.unregister('4');

--
-- An enum value added by one migration and used by the next: refused in
-- one transaction (run(), 55P04), applied by deploy.
--
SET client_min_messages = warning;
SELECT migrate.register('1', 'mood', $$CREATE TYPE mood AS ENUM ('calm')$$,
						project => 'enum');
SELECT migrate.register('2', 'add angry', $$ALTER TYPE mood ADD VALUE 'angry'$$,
						project => 'enum');
SELECT migrate.register('3', 'use angry',
						$$CREATE TABLE person (m mood DEFAULT 'angry'); INSERT INTO person DEFAULT VALUES$$,
						project => 'enum');
RESET client_min_messages;
SELECT throws_ok($$SELECT * FROM migrate.run(project => 'enum')$$, '55P04', NULL,
				 'run() cannot use an enum value added in the same transaction');
CALL migrate.deploy(project => 'enum');
SELECT is((SELECT m::text FROM person), 'angry',
		  'deploy commits the new value before the next migration uses it');

--
-- Non-transactional migrations: each statement at top level.
--
CREATE TABLE big (id int, v text);
INSERT INTO big SELECT g, 'v' || g % 100 FROM generate_series(1, 1000) AS g;
SET client_min_messages = warning;
SELECT migrate.register('1', 'index big',
	$$SET maintenance_work_mem = '77MB';
	  SELECT set_config('migrate_test.marker', 'set by a migration', false);
	  CREATE INDEX CONCURRENTLY big_v_idx ON big (v);
	  REINDEX INDEX CONCURRENTLY big_v_idx;
	  VACUUM (ANALYZE) big$$,
	transactional => false, project => 'concurrent');
RESET client_min_messages;
SELECT throws_ok($$SELECT * FROM migrate.run(project => 'concurrent')$$, '0A000',
				 'migration concurrent 1 "index big" is not transactional and cannot run inside migrate.run()',
				 'run() refuses a non-transactional migration');
SET maintenance_work_mem = '33MB';
CALL migrate.deploy(project => 'concurrent');
SELECT is((SELECT indisvalid FROM pg_index WHERE indexrelid = 'big_v_idx'::regclass),
		  true, 'CREATE INDEX CONCURRENTLY and REINDEX CONCURRENTLY ran in a deploy');
SELECT ok((SELECT last_vacuum IS NOT NULL FROM pg_stat_user_tables WHERE relname = 'big'),
		  'VACUUM ran in a deploy');
SELECT is(current_setting('maintenance_work_mem'), '33MB',
		  'a SET in a non-transactional migration does not reach the caller');
SELECT is(current_setting('migrate_test.marker', true), '',
		  'nor does a set_config() of a setting the migration created');
RESET maintenance_work_mem;

--
-- Resuming: a failed statement leaves the ones before it completed; the
-- next deploy starts at it.  A failed concurrent build leaves an invalid
-- index, which the next attempt drops and builds again.
--
CREATE TABLE done_log (stmt int);
CREATE TABLE dup (id int);
INSERT INTO dup VALUES (1), (1);
SET client_min_messages = warning;
SELECT migrate.register('1', 'unique dup',
	$$INSERT INTO done_log VALUES (1);
	  CREATE UNIQUE INDEX CONCURRENTLY dup_id_key ON dup (id);
	  INSERT INTO done_log VALUES (3)$$,
	transactional => false, project => 'resume');
RESET client_min_messages;
CALL migrate.deploy(project => 'resume');
SELECT results_eq(
	$$SELECT state, last_error FROM migrate.status('resume')$$,
	$$VALUES ('failed', '23505: could not create unique index "dup_id_key"')$$,
	'the failing statement fails the migration');
SELECT is((SELECT statements_done FROM migrate.migration WHERE project = 'resume'), 1,
		  'the statement before it is recorded as completed');
SELECT is((SELECT indisvalid FROM pg_index WHERE indexrelid = 'dup_id_key'::regclass),
		  false, 'the failed concurrent build left an invalid index');

-- The completed statement cannot change; the failed one can.
SELECT throws_ok($$SELECT migrate.register('1', 'unique dup',
	$r$INSERT INTO done_log VALUES (-1);
	  CREATE UNIQUE INDEX CONCURRENTLY dup_id_key ON dup (id);
	  INSERT INTO done_log VALUES (3)$r$,
	transactional => false, project => 'resume')$$,
	'55000', 'statement 1 of migration resume 1 "unique dup" cannot change',
	'a completed statement cannot change');
SET client_min_messages = warning;
SELECT is(migrate.register('1', 'unique dup',
	$r$insert into done_log values (1);  -- same tokens, new layout
	  CREATE UNIQUE INDEX CONCURRENTLY dup_id_key ON dup (id);
	  INSERT INTO done_log VALUES (3); INSERT INTO done_log VALUES (4)$r$,
	transactional => false, project => 'resume'), 'updated',
	'the statements after the completed ones can change');
RESET client_min_messages;

DELETE FROM dup WHERE ctid = (SELECT max(ctid) FROM dup);
CALL migrate.deploy(project => 'resume');
SELECT results_eq($$SELECT stmt FROM done_log ORDER BY stmt$$,
				  $$VALUES (1), (3), (4)$$,
				  'the next deploy resumes at the failed statement');
SELECT results_eq(
	$$SELECT indexrelid::regclass::text, indisvalid FROM pg_index
	  WHERE indrelid = 'dup'::regclass$$,
	$$VALUES ('dup_id_key', true)$$,
	'the invalid index was dropped and built again: one valid index');
SELECT results_eq(
	$$SELECT state FROM migrate.status('resume')$$, $$VALUES ('applied')$$,
	'and the migration is applied');
SELECT is((SELECT statements_done FROM migrate.migration WHERE project = 'resume'), 0,
		  'with no statement count left over');
SELECT results_eq(
	$$SELECT status FROM migrate.history WHERE project = 'resume' ORDER BY id$$,
	$$VALUES ('started'), ('failed'), ('started'), ('ok')$$,
	'its history: started, failed, started, ok');

-- A non-transactional migration with completed statements cannot become
-- transactional: the next deploy would run them again.
SET client_min_messages = warning;
SELECT migrate.register('1', 'flip', $$INSERT INTO done_log VALUES (10); SELECT 1 / 0$$,
						transactional => false, project => 'flip');
RESET client_min_messages;
CALL migrate.deploy(project => 'flip');
SELECT throws_ok($$SELECT migrate.register('1', 'flip',
	$r$INSERT INTO done_log VALUES (10); SELECT 1 / 1$r$, project => 'flip')$$,
	'55000', 'migration flip 1 "flip" cannot become transactional',
	'a migration with completed statements cannot become transactional');
SET client_min_messages = warning;
SELECT migrate.register('1', 'flip', $$INSERT INTO done_log VALUES (10); SELECT 1 / 1$$,
						transactional => false, project => 'flip');
RESET client_min_messages;
CALL migrate.deploy(project => 'flip');
SELECT is((SELECT count(*) FROM done_log WHERE stmt = 10), 1::bigint,
		  'and its completed statement ran once');

--
-- validate() after deploys.
--
SELECT is_empty($$SELECT * FROM migrate.validate() WHERE problem = 'interrupted'$$,
				'validate() reports no interrupted migration after clean deploys');

--
-- Roles: the caller must be able to act as every registrant, checked
-- before anything runs; each migration runs as its registrant.
--
CREATE ROLE regress_deploy_owner;
CREATE ROLE regress_deploy_other;
GRANT USAGE, CREATE ON SCHEMA public TO regress_deploy_owner;
GRANT EXECUTE ON FUNCTION migrate.status(text) TO regress_deploy_owner;
GRANT USAGE ON SCHEMA migrate TO regress_deploy_owner, regress_deploy_other;
GRANT EXECUTE ON FUNCTION migrate.register(text, text, text, text, text[], boolean, text, text)
	TO regress_deploy_owner;
GRANT EXECUTE ON PROCEDURE migrate.deploy(text, text, interval, integer, boolean, boolean, bigint, integer)
	TO regress_deploy_owner, regress_deploy_other;
SET ROLE regress_deploy_owner;
SET client_min_messages = warning;
SELECT migrate.register('1', 'owned', $$CREATE TABLE owned (who name DEFAULT current_user);
	INSERT INTO owned DEFAULT VALUES$$, project => 'roles');
SELECT migrate.register('2', 'owned index', $$CREATE INDEX CONCURRENTLY owned_idx ON owned (who)$$,
						transactional => false, project => 'roles');
RESET client_min_messages;
SET ROLE regress_deploy_other;
CALL migrate.deploy(project => 'roles');
SELECT is(:'LAST_ERROR_SQLSTATE'::text, '42501',
		  'a caller that cannot act as the registrant is refused (42501)');
RESET ROLE;
SELECT is_empty($$SELECT * FROM migrate.history WHERE project = 'roles'$$,
				'before anything runs');
CALL migrate.deploy(project => 'roles');
SELECT is((SELECT who::text FROM owned), 'regress_deploy_owner',
		  'a superuser''s deploy runs each migration as its registrant');
SELECT is((SELECT pg_get_userbyid(relowner)::text FROM pg_class WHERE relname = 'owned_idx'),
		  'regress_deploy_owner', 'its concurrent index build too');
SELECT results_eq($$SELECT DISTINCT ran_as::text COLLATE "default", role::text COLLATE "default" FROM migrate.history
					WHERE project = 'roles' AND status = 'ok'$$,
				  $$VALUES ('regress_deploy_owner', 'postgres')$$,
				  'the history names the caller and the registrant');

--
-- wait => false: a background worker deploys, as the caller; the caller
-- gets the run id as soon as the deploy has begun.
--
SET ROLE regress_deploy_owner;
SET client_min_messages = warning;
SELECT migrate.register('1', 'in the background',
	$$CREATE TABLE bg (who name DEFAULT current_user, pid int DEFAULT pg_backend_pid());
	  INSERT INTO bg DEFAULT VALUES$$, project => 'background');
SELECT migrate.register('2', 'index in the background',
	$$CREATE INDEX CONCURRENTLY bg_who_idx ON bg (who)$$,
	transactional => false, project => 'background');
RESET client_min_messages;
CALL migrate.deploy(project => 'background', wait => false) \gset
RESET ROLE;
SELECT ok(:run_id > 0, 'wait => false returns the run id');
SELECT ok(NOT :{?applied}, 'and no count of applied migrations (NULL): the worker goes on');
-- Wait for the worker: it holds the migration lock until it ends.  Each
-- look is a transaction of its own: a transaction that stayed open would
-- hold up the worker's concurrent index build, which waits for it.
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
SELECT results_eq(
	$$SELECT version::text, state FROM migrate.status('background')$$,
	$$VALUES ('1', 'applied'), ('2', 'applied')$$,
	'the background worker applied both');
SELECT is((SELECT count(*) FROM migrate.status('background') WHERE run_id = :run_id),
		  2::bigint, 'under that run id');
SELECT results_eq($$SELECT who::text COLLATE "default", pid <> pg_backend_pid() FROM bg$$,
				  $$VALUES ('regress_deploy_owner', true)$$,
				  'as the registrant, in another backend');
SELECT is((SELECT indisvalid FROM pg_index WHERE indexrelid = 'bg_who_idx'::regclass),
		  true, 'its concurrent index build too');
SELECT is((SELECT string_agg(DISTINCT role::text, ', ') FROM migrate.history
		   WHERE run_id = :run_id),
		  'regress_deploy_owner', 'the history names the caller''s role as the deploy''s');

--
-- A non-transactional migration that fails, whatever the error, leaves the
-- caller's session as it was: its settings, its user.  Here the errors are
-- not the migration's own (40001), once after a statement that committed
-- on its own, as its registrant, in a procedure.
--
CREATE SCHEMA leak AUTHORIZATION regress_deploy_owner;
SET ROLE regress_deploy_owner;
CREATE PROCEDURE leak.commit_then_fail() LANGUAGE plpgsql AS $$
BEGIN
	COMMIT;
	RAISE EXCEPTION 'failing after a commit' USING ERRCODE = '40001';
END
$$;
SET client_min_messages = warning;
SELECT migrate.register('1', 'set then fail',
	$m$SET search_path = leak, public;
	  SET work_mem = '7MB';
	  DO $d$BEGIN RAISE EXCEPTION 'not my fault' USING ERRCODE = '40001'; END$d$$m$,
	transactional => false, project => 'leak');
SELECT migrate.register('2', 'commit then fail', $$CALL leak.commit_then_fail()$$,
	transactional => false, project => 'leak');
RESET client_min_messages;
RESET ROLE;
CALL migrate.deploy(project => 'leak', lock_timeout => '3s');
SELECT is(:'LAST_ERROR_SQLSTATE'::text, '40001', 'the deploy fails with the migration''s error');
SELECT results_eq(
	$$SELECT current_setting('search_path'), current_setting('work_mem'),
			 current_setting('lock_timeout')$$,
	$$VALUES ('"$user", public', '4MB', '0')$$,
	'the settings its statements committed do not reach the caller');
SELECT is((SELECT state FROM migrate.status('leak') WHERE version::text = '1'),
		  'interrupted', 'an error that is not its own leaves the migration interrupted');
SET client_min_messages = warning;
SELECT migrate.register('1', 'set then fail', $$SET search_path = leak, public;
	  SET work_mem = '7MB'; SELECT 1$$, transactional => false, project => 'leak');
RESET client_min_messages;
CALL migrate.deploy(project => 'leak', lock_timeout => '3s');
SELECT is(:'LAST_ERROR_MESSAGE'::text,
		  'migration leak 2 "commit then fail" failed: failing after a commit',
		  'a procedure that commits, then fails, fails its migration');
SELECT results_eq(
	$$SELECT current_user::text COLLATE "default", current_setting('search_path')$$,
	$$VALUES ('postgres', '"$user", public')$$,
	'the caller is itself again, with its own settings');
SELECT lives_ok($$SET ROLE regress_deploy_other; RESET ROLE$$,
				'and may change its role: no security-restricted operation is left over');

-- The catalog is as a deploy left it: nothing running.
SELECT is_empty($$SELECT * FROM migrate.status() WHERE state = 'running'$$,
				'nothing is left running');

SELECT * FROM finish();

\c contrib_regression
DROP DATABASE migrate_test_deploy;
DROP ROLE regress_deploy_owner, regress_deploy_other;
