--
-- Looking: migrate.status(), migrate.current_version() and the views
-- migrate.migrations and migrate.history.
--
CREATE DATABASE migrate_test_status;
\c migrate_test_status
SET client_min_messages = warning;
CREATE EXTENSION pgtap;
CREATE EXTENSION migrate;
RESET client_min_messages;

SELECT plan(32);

--
-- The columns of status(), in order, with their types.
--
SELECT a.name, a.type::regtype
FROM pg_proc AS p,
	 unnest(p.proargnames, p.proallargtypes, p.proargmodes)
		AS a(name, type, mode)
WHERE p.oid = 'migrate.status(text)'::regprocedure AND a.mode = 't';
SELECT results_eq(
	$$SELECT a.name COLLATE "default", a.type::regtype
	  FROM pg_proc AS p,
		   unnest(p.proargnames, p.proallargtypes, p.proargmodes)
			  AS a(name, type, mode)
	  WHERE p.oid = 'migrate.status(text)'::regprocedure AND a.mode = 't'$$,
	$$VALUES ('project', 'text'::regtype), ('version', 'migrate.version'),
			 ('name', 'text'), ('kind', 'text'), ('state', 'text'),
			 ('applied_at', 'timestamptz'), ('applied_by', 'name'),
			 ('duration_ms', 'double precision'), ('has_down', 'boolean'),
			 ('transactional', 'boolean'), ('requires', 'text[]'),
			 ('last_error', 'text'), ('run_id', 'bigint'), ('pid', 'integer')$$,
	'status() returns the columns of the contract');

-- Nothing registered: no rows, no current version.
SELECT is_empty('SELECT * FROM migrate.status()',
				'status() of an empty catalog has no rows');
SELECT ok(migrate.current_version() IS NULL,
		  'current_version() is NULL when nothing is applied');

--
-- Two projects, registered in no particular order.  zeta comes first;
-- alpha has versions whose text order differs from their natural order,
-- a failing one, one with requirements and one that is not
-- transactional.
--
SELECT migrate.register('2', 'zeta two', $$CREATE TABLE z2 ()$$,
						project => 'zeta');
SELECT migrate.register('1', 'zeta one', $$CREATE TABLE z1 ()$$,
						down => $$DROP TABLE z1$$, project => 'zeta');
SELECT migrate.register('10', 'alpha ten', $$CREATE TABLE a10 ()$$,
						down => $$DROP TABLE a10$$,
						requires => '{9, zeta:1}', project => 'alpha');
SELECT migrate.register('9', 'alpha nine', $$SELECT 1 / 0$$,
						project => 'alpha');
SELECT migrate.register('1.10', 'alpha one ten', $$CREATE TABLE a1_10 ()$$,
						down => $$DROP TABLE a1_10$$, project => 'alpha');
SELECT migrate.register('1.2', 'alpha one two', $$CREATE TABLE a1_2 ()$$,
						project => 'alpha');
SELECT migrate.register('11', 'alpha eleven', $$VACUUM a1_2$$,
						transactional => false, project => 'alpha');

-- All pending: no applied_at, applied_by, duration_ms or last_error.
SELECT project, version, name, kind, state, applied_at, applied_by,
	   duration_ms, has_down, transactional, requires, last_error
FROM migrate.status();
SELECT results_eq(
	$$SELECT project, version::text, state FROM migrate.status()$$,
	$$VALUES ('alpha', '1.2', 'pending'), ('alpha', '1.10', 'pending'),
			 ('alpha', '9', 'pending'), ('alpha', '10', 'pending'),
			 ('alpha', '11', 'pending'), ('zeta', '1', 'pending'),
			 ('zeta', '2', 'pending')$$,
	'status() is ordered by project, then version naturally');

-- Apply alpha up to 1.10 and all of zeta; alpha 9 fails under
-- atomic => false and is recorded.
SET client_min_messages = error;
SELECT * FROM migrate.run(target => '1.10', project => 'alpha') \g /dev/null
SELECT * FROM migrate.run(project => 'zeta') \g /dev/null
SELECT * FROM migrate.run(target => '10', project => 'alpha', atomic => false) \g /dev/null
RESET client_min_messages;

-- The three states, and the columns that depend on them.
SELECT project, version, name, kind, state,
	   applied_at IS NOT NULL AS has_applied_at,
	   applied_by = current_user AS applied_by_me,
	   duration_ms >= 0 AS has_duration,
	   has_down, transactional, requires, last_error
FROM migrate.status();
SELECT results_eq(
	$$SELECT project, version::text, kind, state FROM migrate.status()$$,
	$$VALUES ('alpha', '1.2', 'versioned', 'applied'),
			 ('alpha', '1.10', 'versioned', 'applied'),
			 ('alpha', '9', 'versioned', 'failed'),
			 ('alpha', '10', 'versioned', 'pending'),
			 ('alpha', '11', 'versioned', 'pending'),
			 ('zeta', '1', 'versioned', 'applied'),
			 ('zeta', '2', 'versioned', 'applied')$$,
	'status() shows pending, applied and failed migrations');
SELECT is_empty(
	$$SELECT * FROM migrate.status()
	  WHERE (state = 'applied') <> (applied_at IS NOT NULL)
		 OR (state = 'applied') <> (applied_by IS NOT NULL)
		 OR (state = 'applied') <> (duration_ms IS NOT NULL)$$,
	'applied_at, applied_by and duration_ms are set exactly when applied');
SELECT is_empty(
	$$SELECT * FROM migrate.status()
	  WHERE state = 'applied'
		AND (applied_by <> current_user OR duration_ms < 0
			 OR applied_at > now())$$,
	'applied_by is the caller of run(), duration_ms and applied_at are sane');
SELECT results_eq(
	$$SELECT version::text, last_error FROM migrate.status('alpha')
	  WHERE last_error IS NOT NULL$$,
	$$VALUES ('9', '22012: division by zero')$$,
	'last_error is set only for the failed migration');
SELECT results_eq(
	$$SELECT version::text, has_down, transactional, requires
	  FROM migrate.status('alpha')$$,
	$$VALUES ('1.2', false, true, '{}'::text[]),
			 ('1.10', true, true, '{}'),
			 ('9', false, true, '{}'),
			 ('10', true, true, '{alpha:9,zeta:1}'),
			 ('11', false, false, '{}')$$,
	'has_down, transactional, and requires as project:version');

-- status(project) filters; a valid project with nothing registered has
-- no rows; an invalid project name is 22023.
SELECT results_eq(
	$$SELECT project, version::text FROM migrate.status('zeta')$$,
	$$VALUES ('zeta', '1'), ('zeta', '2')$$,
	'status(project) shows only that project');
SELECT is_empty($$SELECT * FROM migrate.status('nobody')$$,
				'status() of a project with no migrations has no rows');
SELECT throws_ok($$SELECT * FROM migrate.status('Not A Project')$$,
	'22023', 'invalid project name "Not A Project"',
	'status() of an invalid project name is 22023');

-- After a revert the migration is pending again, without applied_at.
SET client_min_messages = warning;
SELECT * FROM migrate.rollback(1, 'alpha') \g /dev/null
RESET client_min_messages;
SELECT results_eq(
	$$SELECT version::text, state, applied_at, applied_by, duration_ms
	  FROM migrate.status('alpha') WHERE version::text = '1.10'$$,
	$$VALUES ('1.10', 'pending', NULL::timestamptz, NULL::name,
			  NULL::double precision)$$,
	'a reverted migration is pending, with no applied_at');

--
-- current_version(project): the highest applied version, naturally;
-- NULL when nothing is applied.
--
SELECT is(migrate.current_version('zeta')::text, '2',
		  'current_version of zeta');
SELECT is(migrate.current_version('alpha')::text, '1.2',
		  'current_version of alpha (1.10 was reverted)');
SET client_min_messages = warning;
SELECT * FROM migrate.run(target => '1.10', project => 'alpha') \g /dev/null
RESET client_min_messages;
SELECT is(migrate.current_version('alpha')::text, '1.10',
		  'current_version compares naturally: 1.10 is above 1.2');
SELECT is(pg_typeof(migrate.current_version('alpha')),
		  'migrate.version'::regtype,
		  'current_version returns a migrate.version');
SELECT ok(migrate.current_version() IS NULL,
		  'current_version() of the default project, which has none');
SELECT ok(migrate.current_version('nobody') IS NULL,
		  'current_version of a project with no migrations is NULL');
SELECT throws_ok($$SELECT migrate.current_version(NULL)$$,
	'22004', 'argument "project" of migrate.current_version() must not be null',
	'current_version(NULL) is 22004');
SELECT throws_ok($$SELECT migrate.current_version('Not A Project')$$,
	'22023', 'invalid project name "Not A Project"',
	'current_version of an invalid project name is 22023');

-- The highest applied, not the last applied: 2 applied after 3.
SELECT migrate.register('1', 'one', $$SELECT 1$$, project => 'late');
SELECT migrate.register('3', 'three', $$SELECT 1$$, project => 'late');
SET client_min_messages = warning;
SELECT * FROM migrate.run(project => 'late') \g /dev/null
SELECT migrate.register('2', 'two', $$SELECT 1$$, project => 'late');
SELECT * FROM migrate.run(project => 'late', out_of_order => true) \g /dev/null
RESET client_min_messages;
SELECT is(migrate.current_version('late')::text, '3',
		  'current_version is the highest applied, not the last applied');

--
-- The views.
--
SELECT columns_are('migrate', 'migrations',
	ARRAY['project', 'version', 'name', 'kind', 'state', 'up', 'down',
		  'requires', 'transactional', 'checksum', 'registered_at',
		  'registered_by', 'verify'],
	'migrate.migrations has the columns of the contract');
SELECT columns_are('migrate', 'history',
	ARRAY['id', 'run_id', 'project', 'version', 'name', 'action', 'status',
		  'started_at', 'duration_ms', 'role', 'ran_as', 'pid', 'txid',
		  'checksum', 'sqlstate', 'message', 'detail', 'context'],
	'migrate.history has the columns of the contract');

-- Every registration, scripts included.
SELECT project, version, name, kind, state, up, down, requires,
	   transactional, checksum ~ '^v1:[0-9a-f]{64}$' AS checksum_ok,
	   registered_at <= now() AS registered_at_ok,
	   registered_by = current_user AS registered_by_me
FROM migrate.migrations
ORDER BY project, version;
SELECT results_eq(
	$$SELECT up, down FROM migrate.migrations
	  WHERE project = 'alpha' AND version::text = '10'$$,
	$$VALUES ('CREATE TABLE a10 ()', 'DROP TABLE a10')$$,
	'migrate.migrations shows the scripts as registered');

-- Every event; the failure with its SQLSTATE, message and context.
SELECT project, version, name, action, status, sqlstate, message,
	   detail, context
FROM migrate.history
ORDER BY id;
SELECT results_eq(
	$$SELECT action, status, sqlstate, message, detail, context
	  FROM migrate.history WHERE status = 'failed'$$,
	$$VALUES ('up', 'failed', '22012', 'division by zero', NULL::text,
			  E'SQL statement "SELECT 1 / 0"\n'
			  'statement 1 of up script of migration alpha 9 "alpha nine", line 1')$$,
	'migrate.history records a failure with its details');
SELECT is_empty(
	$$SELECT * FROM migrate.history
	  WHERE status = 'ok' AND num_nonnulls(sqlstate, message, detail, context) > 0$$,
	'successful events have no error fields');

-- ORDER BY version is natural in the views too, with no search_path
-- setting: the default operator class is found by type.
SHOW search_path;
SELECT results_eq(
	$$SELECT m.version::text FROM migrate.migrations AS m
	  WHERE m.project = 'alpha' ORDER BY m.version$$,
	$$VALUES ('1.2'), ('1.10'), ('9'), ('10'), ('11')$$,
	'ORDER BY version on migrate.migrations is natural');
SELECT results_eq(
	$$SELECT h.version::text FROM migrate.history AS h
	  WHERE h.project = 'late' ORDER BY h.version$$,
	$$VALUES ('1'), ('2'), ('3')$$,
	'ORDER BY version on migrate.history is natural');
SELECT results_eq(
	$$SELECT h.version::text FROM migrate.history AS h
	  WHERE h.project = 'late' ORDER BY h.id$$,
	$$VALUES ('1'), ('3'), ('2')$$,
	'history by id is the order of events');

--
-- Readers work where writers may not: in a read-only transaction.
--
BEGIN READ ONLY;
SELECT lives_ok('SELECT * FROM migrate.status()',
				'status() works in a read-only transaction');
SELECT lives_ok('SELECT migrate.current_version(''alpha'')',
				'current_version() works in a read-only transaction');
COMMIT;

SELECT * FROM finish();

\c contrib_regression
DROP DATABASE migrate_test_status;
