--
-- migrate.validate(project): what would stop or surprise the next run,
-- found without changing anything.
--
--   severity  problem               meaning
--   error     missing requirement   a pending migration requires one that
--                                   is not registered
--   error     dependency cycle      a pending migration is in a cycle of
--                                   requirements, or waits for one
--   error     checksum mismatch     an applied migration's registered up
--                                   differs from the one applied
--   warning   out of order          pending below the highest applied
--                                   version of its project
--   warning   unregistered history  history rows of a migration that is no
--                                   longer registered
--   info      no down               an applied migration without down
--   info      outdated              a repeatable migration changed since
--                                   it was applied
--
-- Each problem lives in a project of its own.
--
CREATE DATABASE migrate_test_validate;
\c migrate_test_validate
SET client_min_messages = warning;
CREATE EXTENSION pgtap;
CREATE EXTENSION migrate;
RESET client_min_messages;

SELECT plan(24);

-- A catalog without migrations has no problem.
SELECT is_empty('SELECT * FROM migrate.validate()',
				'an empty catalog has no problem');

-- A healthy project: applied with down, plus an applied repeatable (which
-- has no down, and is not reported for it).
SELECT migrate.register('1', 'fine 1', $$CREATE TABLE fine_1 ()$$,
						down => $$DROP TABLE fine_1$$, project => 'fine');
SELECT migrate.register('2', 'fine 2', $$CREATE TABLE fine_2 ()$$,
						down => $$DROP TABLE fine_2$$, project => 'fine');
SELECT migrate.register_repeatable('fine view',
	$$CREATE OR REPLACE VIEW fine_view AS SELECT 1 AS x$$, project => 'fine');
SET client_min_messages = warning;
SELECT * FROM migrate.run(project => 'fine') \g /dev/null
RESET client_min_messages;
SELECT is_empty('SELECT * FROM migrate.validate()',
				'applied migrations with down and an applied repeatable are no problem');

--
-- Setting up one problem per project.
--

-- missing requirement: miss 1 requires other 7, which nobody registered.
SELECT migrate.register('1', 'miss 1', $$SELECT 1$$,
						requires => '{other:7}', project => 'miss');

-- dependency cycle: cyc 1 requires cyc 2, which follows cyc 1; cyc 3
-- follows both, so it waits for the cycle.  Across projects, ca 1 and
-- cb 1 require each other.
SELECT migrate.register('1', 'cyc 1', $$SELECT 1$$, requires => '{2}',
						project => 'cyc');
SELECT migrate.register('2', 'cyc 2', $$SELECT 1$$, project => 'cyc');
SELECT migrate.register('3', 'cyc 3', $$SELECT 1$$, project => 'cyc');
SELECT migrate.register('1', 'ca 1', $$SELECT 1$$, requires => '{cb:1}',
						project => 'ca');
SELECT migrate.register('1', 'cb 1', $$SELECT 1$$, requires => '{ca:1}',
						project => 'cb');

-- out of order: ooo 1 and 3 are applied, then 2 is registered.
SELECT migrate.register('1', 'ooo 1', $$SELECT 1$$, down => $$SELECT 1$$,
						project => 'ooo');
SELECT migrate.register('3', 'ooo 3', $$SELECT 1$$, down => $$SELECT 1$$,
						project => 'ooo');
SET client_min_messages = warning;
SELECT * FROM migrate.run(project => 'ooo') \g /dev/null
RESET client_min_messages;
SELECT migrate.register('2', 'ooo 2', $$SELECT 1$$, down => $$SELECT 1$$,
						project => 'ooo');

-- checksum mismatch: chk 1 is applied, then its recorded checksum is
-- changed behind migrate's back (as after a change of the checksum
-- algorithm, or a catalog restored from elsewhere).
SELECT migrate.register('1', 'chk 1', $$SELECT 1$$, down => $$SELECT 1$$,
						project => 'chk');
SET client_min_messages = warning;
SELECT * FROM migrate.run(project => 'chk') \g /dev/null
RESET client_min_messages;
UPDATE migrate.migration SET applied_checksum = 'v1:0000'
WHERE project = 'chk';

-- unregistered history: gone 1 is applied, reverted, then unregistered;
-- its two history rows stay.
SELECT migrate.register('1', 'gone 1', $$SELECT 1$$, down => $$SELECT 1$$,
						project => 'gone');
SET client_min_messages = warning;
SELECT * FROM migrate.run(project => 'gone') \g /dev/null
SELECT * FROM migrate.rollback(1, 'gone') \g /dev/null
RESET client_min_messages;
SELECT migrate.unregister('1', 'gone');

-- no down: nodown 1 is applied and has no down script.
SELECT migrate.register('1', 'nodown 1', $$SELECT 1$$, project => 'nodown');
SET client_min_messages = warning;
SELECT * FROM migrate.run(project => 'nodown') \g /dev/null
RESET client_min_messages;

-- outdated: repeatable "rep view" is applied, then changed.
SELECT migrate.register_repeatable('rep view',
	$$CREATE OR REPLACE VIEW rep_view AS SELECT 1 AS x$$, project => 'rep');
SET client_min_messages = warning;
SELECT * FROM migrate.run(project => 'rep') \g /dev/null
RESET client_min_messages;
SELECT migrate.register_repeatable('rep view',
	$$CREATE OR REPLACE VIEW rep_view AS SELECT 2 AS x$$, project => 'rep');

--
-- What validate() shows, every project at once.
--
SELECT v.project, v.version, v.severity, v.problem, v.detail
FROM migrate.validate() AS v
WHERE v.problem <> 'checksum mismatch'
ORDER BY v.project, v.version, v.problem;

SELECT results_eq(
	$$SELECT v.project, v.version::text, v.severity, v.problem, v.detail
	  FROM migrate.validate() AS v
	  WHERE v.problem <> 'checksum mismatch'
	  ORDER BY v.project, v.version, v.problem$$,
	$$VALUES
	  ('ca', '1', 'error', 'dependency cycle',
	   'Migration ca 1 "ca 1" is in a dependency cycle.'),
	  ('cb', '1', 'error', 'dependency cycle',
	   'Migration cb 1 "cb 1" is in a dependency cycle.'),
	  ('cyc', '1', 'error', 'dependency cycle',
	   'Migration cyc 1 "cyc 1" is in a dependency cycle.'),
	  ('cyc', '2', 'error', 'dependency cycle',
	   'Migration cyc 2 "cyc 2" is in a dependency cycle.'),
	  ('cyc', '3', 'error', 'dependency cycle',
	   'Migration cyc 3 "cyc 3" waits for migrations in a dependency cycle.'),
	  ('gone', '1', 'warning', 'unregistered history',
	   '2 history rows of migration gone 1 "gone 1", which is no longer registered.'),
	  ('miss', '1', 'error', 'missing requirement',
	   'Migration miss 1 "miss 1" requires migration other 7, which is not registered.'),
	  ('nodown', '1', 'info', 'no down',
	   'Migration nodown 1 "nodown 1" is applied and has no down script: it cannot be reverted.'),
	  ('ooo', '2', 'warning', 'out of order',
	   'Migration ooo 2 "ooo 2" is pending below applied version 3.'),
	  ('rep', NULL, 'info', 'outdated',
	   'Migration rep repeatable "rep view" changed since it was applied: run() applies it again.')$$,
	'validate() reports each problem with its severity');

-- The checksum mismatch names both checksums.
SELECT results_eq(
	$$SELECT v.project, v.version::text, v.severity, v.problem, v.detail
	  FROM migrate.validate() AS v WHERE v.problem = 'checksum mismatch'$$,
	$$SELECT 'chk', '1', 'error', 'checksum mismatch',
			 format('Migration chk 1 "chk 1" was applied with checksum v1:0000 and is registered with checksum %s.',
					m.checksum)
	  FROM migrate.migrations AS m WHERE m.project = 'chk'$$,
	'an applied migration whose recorded checksum differs is an error');

-- The problems that stop a run are errors, those that surprise it
-- warnings, the rest information.
SELECT results_eq(
	$$SELECT DISTINCT v.problem, v.severity FROM migrate.validate() AS v
	  ORDER BY v.severity, v.problem$$,
	$$VALUES ('checksum mismatch', 'error'), ('dependency cycle', 'error'),
			 ('missing requirement', 'error'),
			 ('no down', 'info'), ('outdated', 'info'),
			 ('out of order', 'warning'), ('unregistered history', 'warning')$$,
	'each kind of problem has its severity');

-- The applied migrations of project fine (and fine's repeatable) are
-- still no problem.
SELECT is_empty($$SELECT * FROM migrate.validate('fine')$$,
				'a healthy project has no problem among the others');

--
-- validate(project) reports that project only.
--
SELECT results_eq(
	$$SELECT v.project, v.version::text, v.problem
	  FROM migrate.validate('cyc') AS v ORDER BY v.version$$,
	$$VALUES ('cyc', '1', 'dependency cycle'), ('cyc', '2', 'dependency cycle'),
			 ('cyc', '3', 'dependency cycle')$$,
	'validate(cyc): the cycle of cyc only');
SELECT results_eq(
	$$SELECT v.project, v.version::text, v.problem FROM migrate.validate('ooo') AS v$$,
	$$VALUES ('ooo', '2', 'out of order')$$,
	'validate(ooo): out of order only');
SELECT results_eq(
	$$SELECT v.project, v.version::text, v.problem FROM migrate.validate('chk') AS v$$,
	$$VALUES ('chk', '1', 'checksum mismatch')$$,
	'validate(chk): checksum mismatch only');
SELECT results_eq(
	$$SELECT v.project, v.version::text, v.problem FROM migrate.validate('gone') AS v$$,
	$$VALUES ('gone', '1', 'unregistered history')$$,
	'validate(gone): unregistered history only');
SELECT results_eq(
	$$SELECT v.project, v.version::text, v.problem FROM migrate.validate('rep') AS v$$,
	$$VALUES ('rep', NULL::text, 'outdated')$$,
	'validate(rep): outdated only');
SELECT results_eq(
	$$SELECT v.project, v.version::text, v.problem FROM migrate.validate('miss') AS v$$,
	$$VALUES ('miss', '1', 'missing requirement')$$,
	'validate(miss): missing requirement only');
SELECT is_empty($$SELECT * FROM migrate.validate('nothing_here')$$,
				'validate() of a project without migrations returns zero rows');
SELECT results_eq(
	$$SELECT count(*) FROM migrate.validate(NULL)$$,
	$$SELECT count(*) FROM migrate.validate()$$,
	'validate(NULL) is every project');
SELECT throws_ok($$SELECT * FROM migrate.validate('Cyc')$$,
	'22023', 'invalid project name "Cyc"',
	'an invalid project name is 22023');

-- A project that requires a migration waiting for a cycle waits for the
-- cycle too.
SELECT migrate.register('1', 'needy 1', $$SELECT 1$$, requires => '{cyc:3}',
						project => 'needy');
SELECT results_eq(
	$$SELECT v.version::text, v.severity, v.problem, v.detail
	  FROM migrate.validate('needy') AS v WHERE v.project = 'needy'$$,
	$$VALUES ('1', 'error', 'dependency cycle',
			  'Migration needy 1 "needy 1" waits for migrations in a dependency cycle.')$$,
	'validate(needy): needy 1 waits for the cycle of cyc');

--
-- validate() changes nothing: no row of the catalog is written (same
-- content, same xmin), no run id is consumed, no lock is taken, and it
-- works in a read-only transaction.
--
CREATE TEMP TABLE migration_before AS
	SELECT m.id, m.xmin::text AS row_xmin, m::text AS row_text
	FROM migrate.migration AS m;
CREATE TEMP TABLE event_before AS
	SELECT e.id, e.xmin::text AS row_xmin, e::text AS row_text
	FROM migrate.event AS e;
CREATE TEMP TABLE generation_before AS
	SELECT g.xmin::text AS row_xmin, g::text AS row_text
	FROM migrate.generation AS g;
SELECT last_value AS run_id_before FROM migrate.run_id_seq \gset

BEGIN READ ONLY;
SELECT lives_ok($$SELECT * FROM migrate.validate()$$,
				'validate() works in a read-only transaction');
SELECT is_empty(
	$$SELECT * FROM pg_locks WHERE pid = pg_backend_pid()
	  AND locktype = 'advisory'$$,
	'validate() takes no migration lock');
COMMIT;

SELECT results_eq(
	$$SELECT m.id, m.xmin::text, m::text FROM migrate.migration AS m
	  ORDER BY m.id$$,
	$$SELECT id, row_xmin, row_text FROM migration_before ORDER BY id$$,
	'validate() leaves migrate.migration as it was');
SELECT results_eq(
	$$SELECT e.id, e.xmin::text, e::text FROM migrate.event AS e
	  ORDER BY e.id$$,
	$$SELECT id, row_xmin, row_text FROM event_before ORDER BY id$$,
	'validate() leaves migrate.event as it was');
SELECT results_eq(
	$$SELECT g.xmin::text, g::text FROM migrate.generation AS g$$,
	$$SELECT row_xmin, row_text FROM generation_before$$,
	'validate() does not bump the catalog generation');
SELECT is((SELECT last_value FROM migrate.run_id_seq), :run_id_before::bigint,
		  'validate() consumes no run id');

--
-- A role with nothing but USAGE on the schema and EXECUTE on validate()
-- sees the same problems.
--
CREATE ROLE regress_validate_reader;
GRANT USAGE ON SCHEMA migrate TO regress_validate_reader;
GRANT EXECUTE ON FUNCTION migrate.validate(text) TO regress_validate_reader;
CREATE TEMP TABLE as_owner AS
	SELECT v.project, v.version::text AS version, v.severity, v.problem,
		   v.detail
	FROM migrate.validate() AS v;
GRANT SELECT ON as_owner TO regress_validate_reader;

SET ROLE regress_validate_reader;
SELECT results_eq(
	$$SELECT v.project, v.version::text, v.severity, v.problem, v.detail
	  FROM migrate.validate() AS v ORDER BY 1, 2, 4, 5$$,
	$$SELECT * FROM as_owner ORDER BY 1, 2, 4, 5$$,
	'a role with only EXECUTE on validate() sees every problem');
SELECT throws_ok($$SELECT * FROM migrate.migration$$,
	'42501', 'permission denied for table migration',
	'that role cannot read the catalog tables themselves');
RESET ROLE;

SELECT * FROM finish();

DROP TABLE as_owner;
DROP OWNED BY regress_validate_reader;
DROP ROLE regress_validate_reader;

\c contrib_regression
DROP DATABASE migrate_test_validate;
