--
-- Upgrading (README.md, "Upgrading"): a database that used migrate 0.1
-- keeps its status and history through ALTER EXTENSION migrate UPDATE
-- (0.1 to 0.2 to 0.3 to 0.4), goes on working, deploys, and ends up with
-- the same extension as a fresh install of the new version.  The 0.1
-- catalog is populated by this library, as a database is between the
-- installation of a new package and ALTER EXTENSION UPDATE.  Then the
-- same from 0.3, populated by deploys.
--
CREATE DATABASE migrate_test_upgrade;
\c migrate_test_upgrade
SET client_min_messages = warning;
CREATE EXTENSION pgtap;
CREATE EXTENSION migrate VERSION '0.1';
RESET client_min_messages;

SELECT plan(27);

SELECT is((SELECT extversion FROM pg_extension WHERE extname = 'migrate'),
		  '0.1', 'installed as 0.1, from its own script');

--
-- Populate 0.1: applied, reverted and applied again, failed, pending,
-- required across projects, baselined, repeatable (applied, then
-- outdated).
--
SET client_min_messages = warning;
SELECT migrate.register('001', 'create a', $$CREATE TABLE up_a (id int)$$,
						down => $$DROP TABLE up_a$$);
SELECT migrate.register('002', 'create b', $$CREATE TABLE up_b (id int)$$,
						down => $$DROP TABLE up_b$$);
SELECT migrate.register('1', 'lib base', $$CREATE TABLE up_lib (id int)$$,
						project => 'lib');
SELECT migrate.register('003', 'needs lib', $$SELECT 1$$, down => $$SELECT 1$$,
						requires => '{lib:1}');
SELECT migrate.register_repeatable('view', $$CREATE OR REPLACE VIEW up_v AS SELECT 1 AS x$$);
SELECT count(*) FROM migrate.run();
SELECT count(*) FROM migrate.rollback();
SELECT migrate.register('004', 'fails', $$SELECT 1 / 0$$);
SELECT count(*) FROM migrate.run(atomic => false);
SELECT migrate.register_repeatable('view', $$CREATE OR REPLACE VIEW up_v AS SELECT 2 AS x$$);
SELECT migrate.register('1', 'legacy one', $$SELECT 1$$, project => 'legacy');
SELECT migrate.register('2', 'legacy two', $$SELECT 1$$, project => 'legacy');
SELECT migrate.baseline('1', 'legacy');
RESET client_min_messages;

CREATE ROLE regress_upgrade_reader;
GRANT USAGE ON SCHEMA migrate TO regress_upgrade_reader;
GRANT EXECUTE ON FUNCTION migrate.status(text) TO regress_upgrade_reader;
GRANT EXECUTE ON FUNCTION migrate.register(text, text, text, text, text[], boolean, text)
	TO regress_upgrade_reader;

CREATE TEMP TABLE status_before AS SELECT * FROM migrate.status();
CREATE TEMP TABLE history_before AS SELECT * FROM migrate.history;
SELECT project, version, name, kind, state FROM status_before;

ALTER EXTENSION migrate UPDATE;

SELECT is((SELECT extversion FROM pg_extension WHERE extname = 'migrate'),
		  '0.4', 'ALTER EXTENSION migrate UPDATE brings it to 0.4');
SELECT results_eq(
	$$SELECT (s.project, s.version, s.name, s.kind, s.state, s.applied_at,
			  s.applied_by, s.duration_ms, s.has_down, s.transactional,
			  s.requires, s.last_error)::text
	  FROM migrate.status() AS s$$,
	$$SELECT s::text FROM status_before AS s$$,
	'status() is as before the upgrade, row for row');
SELECT results_eq(
	$$SELECT s.version::text, s.name, s.run_id, s.pid FROM migrate.status() AS s$$,
	$$SELECT s.version::text, s.name, h.run_id, h.pid
	  FROM status_before AS s
	  LEFT JOIN LATERAL (SELECT h.run_id, h.pid FROM migrate.history AS h
						 WHERE h.project = s.project AND h.name = s.name
						 ORDER BY h.id DESC LIMIT 1) AS h ON true$$,
	'the new columns run_id and pid come from each migration''s last event');
SET ROLE regress_upgrade_reader;
SELECT is((SELECT count(*) FROM migrate.status()), 8::bigint,
		  'a role granted status() before the upgrade keeps the grant');
RESET ROLE;
SELECT is_empty($$
	SELECT i.objoid::regprocedure
	FROM pg_init_privs AS i, aclexplode(i.initprivs) AS a
	WHERE i.classoid = 'pg_proc'::regclass
	  AND a.grantee = 'regress_upgrade_reader'::regrole$$,
	'the grants kept are not recorded as initial privileges: pg_dump dumps them');
SELECT ok(has_function_privilege('regress_upgrade_reader',
		  'migrate.register(text, text, text, text, text[], boolean, text, text)',
		  'EXECUTE'),
		  'a role granted register() keeps the grant on its new signature');
DROP OWNED BY regress_upgrade_reader;
DROP ROLE regress_upgrade_reader;
SELECT results_eq(
	$$SELECT h::text FROM migrate.history AS h ORDER BY h.id$$,
	$$SELECT h::text FROM history_before AS h ORDER BY h.id$$,
	'the history is as before the upgrade');

--
-- And it goes on: what was pending, failed or outdated applies; a
-- rollback and a registration work.
--
SET client_min_messages = warning;
SELECT migrate.register('004', 'fixed', $$SELECT 4$$, down => $$SELECT 4$$);
SELECT results_eq(
	$$SELECT version::text, name, action, status FROM migrate.run()$$,
	$$VALUES ('004', 'fixed', 'up', 'ok'), ('2', 'legacy two', 'up', 'ok'),
			 (NULL, 'view', 'repeat', 'ok')$$,
	'run() after the upgrade applies what was left');
SELECT is_empty($$SELECT * FROM migrate.run()$$,
				'and then has nothing to do');
SELECT results_eq(
	$$SELECT version::text, action FROM migrate.rollback()$$,
	$$VALUES ('004', 'down')$$,
	'rollback() after the upgrade');
RESET client_min_messages;
SELECT is((SELECT count(*) FROM migrate.history), 13::bigint,
		  'the history grew by what ran after the upgrade');
SELECT is((SELECT x FROM up_v), 2, 'the outdated repeatable was applied again');

-- The deploy procedure of 0.3 works on the upgraded catalog, for a
-- non-transactional migration too.
SET client_min_messages = warning;
SELECT migrate.register('005', 'index a', $$CREATE INDEX CONCURRENTLY up_a_id ON up_a (id)$$,
						transactional => false);
CALL migrate.deploy();
RESET client_min_messages;
SELECT results_eq(
	$$SELECT version::text, state FROM migrate.status() WHERE version::text = '005'$$,
	$$VALUES ('005', 'applied')$$,
	'deploy applies a concurrent index build after the upgrade');
SELECT is((SELECT indisvalid FROM pg_index WHERE indexrelid = 'up_a_id'::regclass), true,
		  'and the index is valid');

-- 0.4's registrations: a verify script, transactionality decided by the
-- server, an empty script.
SET client_min_messages = warning;
SELECT migrate.register('006', 'index b', $$CREATE INDEX CONCURRENTLY up_b_id ON up_a (id)$$,
						down => '', transactional => NULL,
						verify => $$SELECT 1 / count(*)::int FROM pg_class WHERE relname = 'up_b_id'$$);
CALL migrate.deploy();
RESET client_min_messages;
SELECT results_eq(
	$$SELECT m.transactional, m.verify IS NOT NULL, s.state
	  FROM migrate.migrations AS m, migrate.status() AS s
	  WHERE m.version::text = '006' AND s.version::text = '006'$$,
	$$VALUES (false, true, 'applied')$$,
	'after the upgrade, a migration with a verify script, decided non-transactional, deploys');

--
-- The upgraded extension is the one a fresh install makes: the same
-- objects, definitions, comments, privileges (row types' included, and
-- their initial privileges), indexes, constraints, triggers and dumped
-- tables.
--
CREATE FUNCTION pg_temp.extension_shape() RETURNS text
LANGUAGE sql AS $shape$
SELECT string_agg(object || ': ' || coalesce(definition, ''), E'\n'
				  ORDER BY object, definition)
FROM (
	SELECT pg_describe_object(d.classid, d.objid, d.objsubid) AS object,
		   concat_ws(' | ',
			   CASE d.classid
				   WHEN 'pg_proc'::regclass THEN
					   (SELECT pg_get_functiondef(p.oid) || p.proacl::text
						FROM pg_proc AS p WHERE p.oid = d.objid)
				   WHEN 'pg_class'::regclass THEN
					   (SELECT concat_ws(' ', c.relkind, c.relacl::text,
							(SELECT string_agg(a.attname || ' '
									|| format_type(a.atttypid, a.atttypmod)
									|| ' ' || a.attnotnull || ' '
									|| coalesce(pg_get_expr(ad.adbin, ad.adrelid), ''),
									', ' ORDER BY a.attnum)
							 FROM pg_attribute AS a
							 LEFT JOIN pg_attrdef AS ad
								 ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
							 WHERE a.attrelid = c.oid AND a.attnum > 0
							   AND NOT a.attisdropped),
							CASE c.relkind WHEN 'v' THEN pg_get_viewdef(c.oid) END)
						FROM pg_class AS c WHERE c.oid = d.objid)
				   WHEN 'pg_type'::regclass THEN
					   (SELECT t.typacl::text FROM pg_type AS t WHERE t.oid = d.objid)
				   WHEN 'pg_event_trigger'::regclass THEN
					   (SELECT e.evtevent || ' ' || e.evtenabled::text
						FROM pg_event_trigger AS e WHERE e.oid = d.objid)
				   WHEN 'pg_namespace'::regclass THEN
					   (SELECT n.nspacl::text FROM pg_namespace AS n
						WHERE n.oid = d.objid)
			   END,
			   (SELECT description FROM pg_description AS ds
				WHERE ds.classoid = d.classid AND ds.objoid = d.objid
				  AND ds.objsubid = 0),
			   (SELECT 'initial privileges ' || ip.initprivs::text
				FROM pg_init_privs AS ip
				WHERE ip.classoid = d.classid AND ip.objoid = d.objid
				  AND ip.objsubid = 0)) AS definition
	FROM pg_depend AS d
	WHERE d.refclassid = 'pg_extension'::regclass
	  AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'migrate')
	  AND d.deptype = 'e'
	UNION ALL
	SELECT pg_describe_object('pg_class'::regclass, i.indexrelid, 0),
		   pg_get_indexdef(i.indexrelid)
	FROM pg_index AS i JOIN pg_class AS c ON c.oid = i.indrelid
	WHERE c.relnamespace = 'migrate'::regnamespace
	UNION ALL
	SELECT pg_describe_object('pg_constraint'::regclass, k.oid, 0),
		   pg_get_constraintdef(k.oid)
	FROM pg_constraint AS k JOIN pg_class AS c ON c.oid = k.conrelid
	WHERE c.relnamespace = 'migrate'::regnamespace
	UNION ALL
	SELECT pg_describe_object('pg_trigger'::regclass, t.oid, 0),
		   pg_get_triggerdef(t.oid) || ' ' || t.tgenabled::text
	FROM pg_trigger AS t JOIN pg_class AS c ON c.oid = t.tgrelid
	WHERE c.relnamespace = 'migrate'::regnamespace AND NOT t.tgisinternal
	UNION ALL
	SELECT 'row type ' || t.typname,
		   concat_ws(' | ', coalesce(t.typacl::text, 'default privileges'),
					 (SELECT i.initprivs::text FROM pg_init_privs AS i
					  WHERE i.classoid = 'pg_type'::regclass AND i.objoid = t.oid))
	FROM pg_type AS t
	WHERE t.typnamespace = 'migrate'::regnamespace AND t.typrelid <> 0
	UNION ALL
	SELECT 'dumped tables',
		   (SELECT string_agg(cfg::regclass::text, ', ' ORDER BY cfg::regclass::text)
			FROM pg_extension AS x, unnest(x.extconfig) AS cfg
			WHERE x.extname = 'migrate')
) AS shape
$shape$;

SELECT pg_temp.extension_shape() AS upgraded \gset
SELECT ok(length(:'upgraded') > 10000 AND :'upgraded' LIKE '%migrate.run(%'
		  AND :'upgraded' LIKE '%migration_due_idx%'
		  AND :'upgraded' LIKE '%event_guard%',
		  'the shape covers functions, indexes and triggers');
SET client_min_messages = warning;
DROP TABLE status_before, history_before;
DROP EXTENSION migrate;
CREATE EXTENSION migrate;
RESET client_min_messages;
SELECT is((SELECT extversion FROM pg_extension WHERE extname = 'migrate'),
		  '0.4', 'a fresh install is 0.4');
SELECT is(pg_temp.extension_shape(), :'upgraded',
		  'an upgraded 0.1 is the same extension as a fresh 0.4');

--
-- From 0.3, populated by this library as 0.3 users' deploys left it:
-- applied, failed, non-transactional with statements done, pending.
--
SET client_min_messages = warning;
DROP EXTENSION migrate;
DROP VIEW IF EXISTS up_v;
DROP TABLE IF EXISTS up_a, up_b, up_lib;
CREATE EXTENSION migrate VERSION '0.3';
SELECT migrate.register('1', 'create c', $$CREATE TABLE up_c (id int)$$,
						down => $$DROP TABLE up_c$$);
SELECT migrate.register('2', 'index c', $$CREATE INDEX CONCURRENTLY up_c_id ON up_c (id)$$,
						down => $$DROP INDEX CONCURRENTLY up_c_id$$, transactional => false);
SELECT migrate.register('3', 'fails', $$SELECT 1 / 0$$);
SELECT migrate.register('4', 'pending', $$SELECT 4$$, requires => '{3}');
SELECT migrate.register_repeatable('view c', $$CREATE OR REPLACE VIEW up_vc AS SELECT 1 AS x$$);
CALL migrate.deploy(target => '2', project => 'default');
RESET client_min_messages;
SELECT is(migrate.register('5', 'empty', '-- nothing yet', transactional => NULL),
		  'registered', 'on a 0.3 catalog the new library accepts an empty script and transactional => NULL');
\set ON_ERROR_STOP 0
CALL migrate.deploy();
\set ON_ERROR_STOP 1
CREATE TEMP TABLE status_before AS SELECT * FROM migrate.status();
CREATE TEMP TABLE history_before AS SELECT * FROM migrate.history;
CREATE TEMP TABLE migrations_before AS SELECT * FROM migrate.migrations;
SELECT project, version, name, kind, state FROM status_before;

ALTER EXTENSION migrate UPDATE;

SELECT is((SELECT extversion FROM pg_extension WHERE extname = 'migrate'),
		  '0.4', '0.3 updates to 0.4');
SELECT results_eq($$SELECT s::text FROM migrate.status() AS s$$,
				  $$SELECT s::text FROM status_before AS s$$,
				  'status() is as before the upgrade from 0.3, every column');
SELECT results_eq($$SELECT h::text FROM migrate.history AS h ORDER BY h.id$$,
				  $$SELECT h::text FROM history_before AS h ORDER BY h.id$$,
				  'and so is the history');
SELECT results_eq(
	$$SELECT (m.project, m.version, m.name, m.kind, m.state, m.up, m.down, m.requires,
			  m.transactional, m.checksum, m.registered_at, m.registered_by)::text,
			 m.verify
	  FROM migrate.migrations AS m ORDER BY m.project, m.kind, m.version, m.name$$,
	$$SELECT m::text, NULL::text FROM migrations_before AS m
	  ORDER BY m.project, m.kind, m.version, m.name$$,
	'and the registrations, with no verify script');
SET client_min_messages = warning;
SELECT migrate.register('3', 'fixed', $$SELECT 3$$,
						verify => $$SELECT 1 / count(*)::int FROM up_c$$);
\set ON_ERROR_STOP 0
CALL migrate.deploy();
\set ON_ERROR_STOP 1
RESET client_min_messages;
SELECT results_eq(
	$$SELECT version::text, state FROM migrate.status() WHERE version IS NOT NULL ORDER BY version$$,
	$$VALUES ('1', 'applied'), ('2', 'applied'), ('3', 'failed'), ('4', 'pending'), ('5', 'pending')$$,
	'after the upgrade a verify script that raises fails its migration');
SELECT is((SELECT sqlstate FROM migrate.history ORDER BY id DESC LIMIT 1), '22012',
		  'with the error of the verify script');
SET client_min_messages = warning;
INSERT INTO up_c VALUES (1);
CALL migrate.deploy();
RESET client_min_messages;
SELECT results_eq(
	$$SELECT version::text, state FROM migrate.status() WHERE version IS NOT NULL ORDER BY version$$,
	$$VALUES ('1', 'applied'), ('2', 'applied'), ('3', 'applied'), ('4', 'applied'), ('5', 'applied')$$,
	'and once it holds, the deploy goes on to the end');

SELECT * FROM finish();

\c contrib_regression
DROP DATABASE migrate_test_upgrade;
