--
-- search_path immunity (README.md, "Privileges and security model"):
-- every internal query of migrate
-- is schema-qualified, operators and collations included, so objects that
-- shadow the ones it uses change nothing.
--
-- The same scenario (register, update, dry run, run, status, validate,
-- current_version, rollback, rollback_to, run with a target, a failure
-- with atomic => false, out of order, baseline, unregister, and the
-- catalog at the end) runs on a fresh installation three times:
--
--   clean      the default search_path;
--   by_caller  the caller puts schema evil, full of look-alikes that
--              record every call, before pg_catalog, and has tables named
--              like migrate's in public and pg_temp;
--   by_migration  a migration creates look-alikes in its own schema and
--              sets search_path, and the caller puts that schema first.
--
-- Each attacked run must give the same transcript as the clean one, and
-- no look-alike may ever be called.  Then: CREATE EXTENSION under the
-- attacker's search_path, and a low-privilege caller who tries to have
-- migrate run its operator with the catalog owner's rights.
--
CREATE DATABASE migrate_test_search_path;
\c migrate_test_search_path
SET client_min_messages = warning;
CREATE EXTENSION pgtap;
CREATE EXTENSION migrate;
RESET client_min_messages;

-- mallory owns the look-alikes; the deployer registers the scenario's
-- migrations; the superuser running this file calls run() and the rest.
CREATE ROLE regress_search_path_mallory;
CREATE ROLE regress_search_path_deployer;

-- Every call of a look-alike lands here, with the role it ran as.
CREATE TABLE public.attack_calls (who name, what text);
GRANT INSERT ON public.attack_calls TO PUBLIC;

--
-- The look-alikes of schema evil.  Each records its call and then does
-- what the original does, so only attack_calls can tell that it ran.  If
-- one ever runs as a superuser (as the catalog owner would be), it also
-- makes mallory a superuser: the last assertion of this file checks that
-- this never happened.
--
CREATE SCHEMA evil AUTHORIZATION regress_search_path_mallory;
SET ROLE regress_search_path_mallory;

CREATE FUNCTION evil.called(what text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO public.attack_calls VALUES (current_user, what);
	IF (SELECT r.rolsuper FROM pg_catalog.pg_roles AS r
		WHERE r.rolname OPERATOR(pg_catalog.=) current_user) THEN
		ALTER ROLE regress_search_path_mallory SUPERUSER;
	END IF;
END
$$;

-- Operators: the ones a query writes without thinking, and the one that
-- IS DISTINCT FROM, NULLIF, IN and CASE x WHEN use behind the scenes (=).
CREATE FUNCTION evil.text_eq(a text, b text) RETURNS boolean LANGUAGE plpgsql
AS $$BEGIN PERFORM evil.called('text = text'); RETURN a OPERATOR(pg_catalog.=) b; END$$;
CREATE FUNCTION evil.text_ne(a text, b text) RETURNS boolean LANGUAGE plpgsql
AS $$BEGIN PERFORM evil.called('text <> text'); RETURN a OPERATOR(pg_catalog.<>) b; END$$;
CREATE FUNCTION evil.text_lt(a text, b text) RETURNS boolean LANGUAGE plpgsql
AS $$BEGIN PERFORM evil.called('text < text'); RETURN a OPERATOR(pg_catalog.<) b; END$$;
CREATE FUNCTION evil.text_cat(a text, b text) RETURNS text LANGUAGE plpgsql
AS $$BEGIN PERFORM evil.called('text || text'); RETURN a OPERATOR(pg_catalog.||) b; END$$;
CREATE FUNCTION evil.int8_eq(a bigint, b bigint) RETURNS boolean LANGUAGE plpgsql
AS $$BEGIN PERFORM evil.called('bigint = bigint'); RETURN a OPERATOR(pg_catalog.=) b; END$$;
CREATE FUNCTION evil.int8_plus(a bigint, b integer) RETURNS bigint LANGUAGE plpgsql
AS $$BEGIN PERFORM evil.called('bigint + integer'); RETURN a OPERATOR(pg_catalog.+) b; END$$;
CREATE FUNCTION evil.int4_gt(a integer, b integer) RETURNS boolean LANGUAGE plpgsql
AS $$BEGIN PERFORM evil.called('integer > integer'); RETURN a OPERATOR(pg_catalog.>) b; END$$;
CREATE FUNCTION evil.bool_eq(a boolean, b boolean) RETURNS boolean LANGUAGE plpgsql
AS $$BEGIN PERFORM evil.called('boolean = boolean'); RETURN a OPERATOR(pg_catalog.=) b; END$$;
CREATE FUNCTION evil.name_eq(a name, b name) RETURNS boolean LANGUAGE plpgsql
AS $$BEGIN PERFORM evil.called('name = name'); RETURN a OPERATOR(pg_catalog.=) b; END$$;

CREATE OPERATOR evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = evil.text_eq);
CREATE OPERATOR evil.<> (LEFTARG = text, RIGHTARG = text, FUNCTION = evil.text_ne);
CREATE OPERATOR evil.< (LEFTARG = text, RIGHTARG = text, FUNCTION = evil.text_lt);
CREATE OPERATOR evil.|| (LEFTARG = text, RIGHTARG = text, FUNCTION = evil.text_cat);
CREATE OPERATOR evil.= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = evil.int8_eq);
CREATE OPERATOR evil.+ (LEFTARG = bigint, RIGHTARG = integer, FUNCTION = evil.int8_plus);
CREATE OPERATOR evil.> (LEFTARG = integer, RIGHTARG = integer, FUNCTION = evil.int4_gt);
CREATE OPERATOR evil.= (LEFTARG = boolean, RIGHTARG = boolean, FUNCTION = evil.bool_eq);
CREATE OPERATOR evil.= (LEFTARG = name, RIGHTARG = name, FUNCTION = evil.name_eq);

-- Functions, with the signatures of pg_catalog's (or a better match).
CREATE FUNCTION evil.lower(t text) RETURNS text LANGUAGE plpgsql
AS $$BEGIN PERFORM evil.called('lower'); RETURN pg_catalog.lower(t); END$$;
CREATE FUNCTION evil.now() RETURNS timestamptz LANGUAGE plpgsql
AS $$BEGIN PERFORM evil.called('now'); RETURN pg_catalog.now(); END$$;
CREATE FUNCTION evil.nextval(s regclass) RETURNS bigint LANGUAGE plpgsql
AS $$BEGIN PERFORM evil.called('nextval'); RETURN pg_catalog.nextval(s); END$$;
CREATE FUNCTION evil.format(f text, a text, b text) RETURNS text LANGUAGE plpgsql
AS $$BEGIN PERFORM evil.called('format'); RETURN pg_catalog.format(f, a, b); END$$;
CREATE FUNCTION evil.format(f text, a bigint, b text) RETURNS text LANGUAGE plpgsql
AS $$BEGIN PERFORM evil.called('format'); RETURN pg_catalog.format(f, a, b); END$$;
CREATE FUNCTION evil.format(f text, a text) RETURNS text LANGUAGE plpgsql
AS $$BEGIN PERFORM evil.called('format'); RETURN pg_catalog.format(f, a); END$$;
CREATE FUNCTION evil.split_part(s text, d text, n integer) RETURNS text LANGUAGE plpgsql
AS $$BEGIN PERFORM evil.called('split_part'); RETURN pg_catalog.split_part(s, d, n); END$$;
CREATE FUNCTION evil.substr(s text, n integer) RETURNS text LANGUAGE plpgsql
AS $$BEGIN PERFORM evil.called('substr'); RETURN pg_catalog.substr(s, n); END$$;
CREATE FUNCTION evil.strpos(s text, t text) RETURNS integer LANGUAGE plpgsql
AS $$BEGIN PERFORM evil.called('strpos'); RETURN pg_catalog.strpos(s, t); END$$;
CREATE FUNCTION evil.unnest(a text[]) RETURNS SETOF text LANGUAGE plpgsql
AS $$BEGIN PERFORM evil.called('unnest'); RETURN QUERY SELECT pg_catalog.unnest(a); END$$;
CREATE FUNCTION evil.cardinality(a text[]) RETURNS integer LANGUAGE plpgsql
AS $$BEGIN PERFORM evil.called('cardinality'); RETURN pg_catalog.cardinality(a); END$$;
CREATE FUNCTION evil.current_database() RETURNS name LANGUAGE plpgsql
AS $$BEGIN PERFORM evil.called('current_database'); RETURN pg_catalog.current_database(); END$$;
CREATE FUNCTION evil.pg_advisory_xact_lock(k bigint) RETURNS void LANGUAGE plpgsql
AS $$BEGIN PERFORM evil.called('pg_advisory_xact_lock'); END$$;
CREATE FUNCTION evil.count_step(n bigint) RETURNS bigint LANGUAGE plpgsql
AS $$BEGIN PERFORM evil.called('count'); RETURN n OPERATOR(pg_catalog.+) 1; END$$;
CREATE AGGREGATE evil.count(*) (SFUNC = evil.count_step, STYPE = bigint,
								INITCOND = '0');
CREATE FUNCTION evil.max_step(m text, v text) RETURNS text LANGUAGE plpgsql
AS $$BEGIN PERFORM evil.called('max'); RETURN (SELECT pg_catalog.max(x) FROM (VALUES (m), (v)) AS t(x)); END$$;
CREATE AGGREGATE evil.max(text) (SFUNC = evil.max_step, STYPE = text);

-- A collation named like the one migrate sorts names with, that sorts
-- differently ("a" before "B"; in "C", "B" comes first).
CREATE COLLATION evil."C" (provider = icu, locale = 'und');

-- Relations named like migrate's, with forged content.
CREATE TABLE evil.migration AS
	SELECT 'default'::text AS project, '1'::text AS version,
		   'applied'::text AS state;
CREATE VIEW evil.migrations AS SELECT * FROM evil.migration;
CREATE TABLE evil.event (id bigint, status text);
CREATE TABLE evil.generation (generation bigint);
RESET ROLE;

-- The same names in public.
CREATE TABLE public.migration AS SELECT * FROM evil.migration;
CREATE TABLE public.event (id bigint, status text);
CREATE TABLE public.generation (generation bigint);
CREATE VIEW public.migrations AS SELECT * FROM public.migration;
CREATE VIEW public.history AS SELECT * FROM public.event;

-- The scenario.  It is written with pg_catalog-qualified names (and no
-- shadowed operator) so that under an attacked search_path only migrate
-- itself could reach a look-alike.  It returns a transcript: one row per
-- observation.  Roles are shown relative to the caller (the superuser
-- running this file, whose name varies).
CREATE FUNCTION scenario(OUT step text, OUT result text) RETURNS SETOF record
LANGUAGE plpgsql AS $f$
DECLARE
	caller_path pg_catalog.text := pg_catalog.current_setting('search_path');
BEGIN
	-- The deployer registers.
	SET ROLE regress_search_path_deployer;
	RETURN QUERY SELECT 'register 1', migrate.register('1', 'create t1',
		$$CREATE TABLE app.t1 (id int PRIMARY KEY)$$,
		down => $$DROP TABLE app.t1$$);
	-- 1.9 leaves look-alikes in the deployer's schema app and changes
	-- search_path (both forms) as it ends.
	RETURN QUERY SELECT 'register 1.9', migrate.register('1.9', 'look-alikes',
		$m$
CREATE FUNCTION app.called(what text) RETURNS void LANGUAGE sql
	AS $$INSERT INTO public.attack_calls VALUES (current_user, 'app: ' OPERATOR(pg_catalog.||) what)$$;
CREATE FUNCTION app.text_eq(a text, b text) RETURNS boolean LANGUAGE sql
	AS $$SELECT app.called('text = text'); SELECT a OPERATOR(pg_catalog.=) b$$;
CREATE OPERATOR app.= (LEFTARG = text, RIGHTARG = text, FUNCTION = app.text_eq);
CREATE FUNCTION app.int8_eq(a bigint, b bigint) RETURNS boolean LANGUAGE sql
	AS $$SELECT app.called('bigint = bigint'); SELECT a OPERATOR(pg_catalog.=) b$$;
CREATE OPERATOR app.= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = app.int8_eq);
CREATE FUNCTION app.now() RETURNS timestamptz LANGUAGE sql
	AS $$SELECT app.called('now'); SELECT pg_catalog.now()$$;
CREATE FUNCTION app.cardinality(a text[]) RETURNS integer LANGUAGE sql
	AS $$SELECT app.called('cardinality'); SELECT pg_catalog.cardinality(a)$$;
CREATE COLLATION app."C" (provider = icu, locale = 'und');
CREATE TABLE app.migration (project text, version text, state text);
INSERT INTO app.migration VALUES ('default', '2', 'applied');
CREATE TABLE app.event (id bigint);
SET search_path = app, pg_catalog;
SELECT pg_catalog.set_config('search_path', 'app, pg_catalog', false);
$m$,
		down => $m$
DROP TABLE app.migration, app.event;
DROP COLLATION app."C";
DROP FUNCTION app.cardinality(text[]), app.now();
DROP OPERATOR app.= (bigint, bigint), app.= (text, text);
DROP FUNCTION app.int8_eq(bigint, bigint), app.text_eq(text, text), app.called(text);
$m$);
	-- 1.10 writes down the search_path it runs with.
	RETURN QUERY SELECT 'register 1.10', migrate.register('1.10', 'path seen',
		$$CREATE TABLE app.t2 AS SELECT pg_catalog.current_setting('search_path') AS path$$,
		down => $$DROP TABLE app.t2$$, requires => '{lib:1}');
	RETURN QUERY SELECT 'register 2', migrate.register('2', 'index t1',
		$$CREATE INDEX t1_id ON app.t1 (id)$$, down => $$DROP INDEX app.t1_id$$);
	RETURN QUERY SELECT 'register lib 1', migrate.register('1', 'lib base',
		$$CREATE TABLE app.lib1 (id int)$$, down => $$DROP TABLE app.lib1$$,
		project => 'lib');
	-- Repeatables run by name in byte order: "B view" before "a view".
	RETURN QUERY SELECT 'register B view', migrate.register_repeatable('B view',
		$$CREATE OR REPLACE VIEW app.vb AS SELECT 1 AS x$$);
	RETURN QUERY SELECT 'register a view', migrate.register_repeatable('a view',
		$$CREATE OR REPLACE VIEW app.va AS SELECT 1 AS x$$);
	RETURN QUERY SELECT 'register 1 again', migrate.register('1', 'create t1',
		$$CREATE TABLE app.t1 (id int PRIMARY KEY)$$,
		down => $$DROP TABLE app.t1$$);
	RETURN QUERY SELECT 'register 2 renamed', migrate.register('2', 'index on t1',
		$$CREATE INDEX t1_id ON app.t1 (id)$$, down => $$DROP INDEX app.t1_id$$);
	RESET ROLE;

	RETURN QUERY SELECT 'validate before', v::pg_catalog.text FROM migrate.validate() AS v;
	RETURN QUERY SELECT 'dry run', r::pg_catalog.text
		FROM (SELECT r.run_id, r.project, r.version, r.name, r.action, r.status, r.message
			  FROM migrate.run(dry_run => true) AS r) AS r;
	RETURN QUERY SELECT 'run', r::pg_catalog.text
		FROM (SELECT r.run_id, r.project, r.version, r.name, r.action, r.status, r.message
			  FROM migrate.run() AS r) AS r;
	RETURN QUERY SELECT 'search_path after run is the caller''s',
		(pg_catalog.current_setting('search_path') OPERATOR(pg_catalog.=) caller_path)::pg_catalog.text;
	RETURN QUERY SELECT 'migration after 1.9 saw the caller''s search_path',
		(t.path OPERATOR(pg_catalog.=) caller_path)::pg_catalog.text FROM app.t2 AS t;
	RETURN QUERY SELECT 'current_version', migrate.current_version()::pg_catalog.text;
	RETURN QUERY SELECT 'current_version lib', migrate.current_version('lib')::pg_catalog.text;
	RETURN QUERY SELECT 'run again', pg_catalog.count(*)::pg_catalog.text FROM migrate.run();

	SET ROLE regress_search_path_deployer;
	RETURN QUERY SELECT 'update a view', migrate.register_repeatable('a view',
		$$CREATE OR REPLACE VIEW app.va AS SELECT 2 AS x$$);
	RESET ROLE;
	RETURN QUERY SELECT 'status outdated', s::pg_catalog.text
		FROM (SELECT s.name, s.state FROM migrate.status() AS s
			  WHERE s.kind OPERATOR(pg_catalog.=) 'repeatable') AS s;
	RETURN QUERY SELECT 'validate outdated', v::pg_catalog.text FROM migrate.validate() AS v;
	RETURN QUERY SELECT 'run repeatable', r::pg_catalog.text
		FROM (SELECT r.run_id, r.name, r.action, r.status FROM migrate.run() AS r) AS r;

	RETURN QUERY SELECT 'rollback 2', r::pg_catalog.text
		FROM (SELECT r.run_id, r.project, r.version, r.name, r.action, r.status
			  FROM migrate.rollback(2) AS r) AS r;
	RETURN QUERY SELECT 'run after rollback', r::pg_catalog.text
		FROM (SELECT r.run_id, r.version, r.status FROM migrate.run() AS r) AS r;
	RETURN QUERY SELECT 'rollback_to 1.9', r::pg_catalog.text
		FROM (SELECT r.run_id, r.version, r.action, r.status
			  FROM migrate.rollback_to('1.9') AS r) AS r;
	RETURN QUERY SELECT 'run to 1.10', r::pg_catalog.text
		FROM (SELECT r.run_id, r.version, r.status
			  FROM migrate.run(target => '1.10', project => 'default') AS r) AS r;
	BEGIN
		PERFORM migrate.rollback_all('lib');
	EXCEPTION WHEN OTHERS THEN
		RETURN QUERY SELECT 'rollback_all lib (1.10 requires it)', SQLSTATE::pg_catalog.text;
	END;

	SET ROLE regress_search_path_deployer;
	RETURN QUERY SELECT 'register 3', migrate.register('3', 'fails',
		$$INSERT INTO app.nosuch VALUES (1)$$);
	RESET ROLE;
	RETURN QUERY SELECT 'run atomic => false', r::pg_catalog.text
		FROM (SELECT r.run_id, r.version, r.status, r.message
			  FROM migrate.run(atomic => false) AS r) AS r;
	RETURN QUERY SELECT 'status failed', s::pg_catalog.text
		FROM (SELECT s.version, s.state, s.last_error FROM migrate.status() AS s
			  WHERE s.state OPERATOR(pg_catalog.=) 'failed') AS s;
	SET ROLE regress_search_path_deployer;
	PERFORM migrate.unregister('3');
	RETURN QUERY SELECT 'register 0.5', migrate.register('0.5', 'late', 'SELECT 1');
	RESET ROLE;
	RETURN QUERY SELECT 'validate out of order', v::pg_catalog.text FROM migrate.validate() AS v;
	BEGIN
		PERFORM migrate.run();
	EXCEPTION WHEN OTHERS THEN
		RETURN QUERY SELECT 'run out of order', SQLSTATE::pg_catalog.text;
	END;
	RETURN QUERY SELECT 'run out_of_order => true', r::pg_catalog.text
		FROM (SELECT r.run_id, r.version, r.status
			  FROM migrate.run(out_of_order => true) AS r) AS r;
	SET ROLE regress_search_path_deployer;
	RETURN QUERY SELECT 'register legacy 1..3', pg_catalog.string_agg(
		migrate.register(v, 'legacy', 'SELECT 1', project => 'legacy'), ',')
		FROM pg_catalog.unnest('{1,2,3}'::pg_catalog.text[]) AS v;
	RESET ROLE;
	RETURN QUERY SELECT 'baseline legacy 2', migrate.baseline('2', 'legacy')::pg_catalog.text;
	BEGIN
		PERFORM migrate.baseline('3', 'legacy');
	EXCEPTION WHEN OTHERS THEN
		RETURN QUERY SELECT 'baseline again', SQLSTATE::pg_catalog.text;
	END;
	SET ROLE regress_search_path_deployer;
	RETURN QUERY SELECT 'register 9', migrate.register('9', 'gone', 'SELECT 1');
	PERFORM migrate.unregister('9');
	RESET ROLE;

	-- The catalog at the end.
	RETURN QUERY SELECT 'status', s::pg_catalog.text
		FROM (SELECT s.project, s.version, s.name, s.kind, s.state,
					 s.applied_by OPERATOR(pg_catalog.=) current_user AS by_caller,
					 s.has_down, s.transactional, s.requires, s.last_error
			  FROM migrate.status() AS s) AS s;
	RETURN QUERY SELECT 'migrations', m::pg_catalog.text
		FROM (SELECT m.project, m.version, m.name, m.kind, m.state,
					 m.requires, m.transactional, m.checksum, m.registered_by
			  FROM migrate.migrations AS m
			  ORDER BY m.project COLLATE pg_catalog."C", m.kind,
					   m.version, m.name COLLATE pg_catalog."C") AS m;
	RETURN QUERY SELECT 'history', h::pg_catalog.text
		FROM (SELECT h.id, h.run_id, h.project, h.version, h.name, h.action,
					 h.status, h.role OPERATOR(pg_catalog.=) current_user AS by_caller,
					 h.ran_as, h.checksum, h.sqlstate, h.message
			  FROM migrate.history AS h ORDER BY h.id) AS h;
	RETURN QUERY SELECT 'validate at the end', v::pg_catalog.text FROM migrate.validate() AS v;
	RETURN QUERY SELECT 'current_version at the end', migrate.current_version()::pg_catalog.text;
END
$f$;

-- A fresh installation, an empty schema app for the migrations, and the
-- look-alikes of the operators on migrate.version (which go with the
-- extension: DROP EXTENSION ... CASCADE drops them).
CREATE FUNCTION fresh_install() RETURNS void
LANGUAGE plpgsql AS $f$
BEGIN
	SET LOCAL client_min_messages = warning;
	DROP EXTENSION IF EXISTS migrate CASCADE;
	DROP SCHEMA IF EXISTS app CASCADE;
	CREATE EXTENSION migrate;
	CREATE SCHEMA app AUTHORIZATION regress_search_path_deployer;
	GRANT USAGE ON SCHEMA migrate TO regress_search_path_deployer,
		regress_search_path_mallory;
	GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA migrate
		TO regress_search_path_deployer, regress_search_path_mallory;
	GRANT USAGE ON TYPE migrate.version TO regress_search_path_mallory;

	SET LOCAL ROLE regress_search_path_mallory;
	CREATE FUNCTION evil.version_eq(a migrate.version, b migrate.version)
	RETURNS boolean LANGUAGE plpgsql
	AS $$BEGIN PERFORM evil.called('version = version'); RETURN a OPERATOR(migrate.=) b; END$$;
	CREATE FUNCTION evil.version_lt(a migrate.version, b migrate.version)
	RETURNS boolean LANGUAGE plpgsql
	AS $$BEGIN PERFORM evil.called('version < version'); RETURN a OPERATOR(migrate.<) b; END$$;
	CREATE OPERATOR evil.= (LEFTARG = migrate.version, RIGHTARG = migrate.version,
							FUNCTION = evil.version_eq);
	CREATE OPERATOR evil.< (LEFTARG = migrate.version, RIGHTARG = migrate.version,
							FUNCTION = evil.version_lt);
	RESET ROLE;
END
$f$;

--
-- 1. clean: the default search_path.
--
SELECT fresh_install();
SET client_min_messages = warning;
CREATE TABLE clean AS SELECT * FROM scenario() WITH ORDINALITY AS s(step, result, n);
RESET client_min_messages;
-- The transcript, for the record.
SELECT step, result FROM clean ORDER BY n;
CREATE TABLE calls_clean AS SELECT * FROM attack_calls;
TRUNCATE attack_calls;

--
-- 2. by_caller, in a new session, so that migrate prepares its queries
-- under the attacker's search_path.  Temporary tables named like
-- migrate's come first of all for relations.
--
\c migrate_test_search_path
SELECT fresh_install();
CREATE TEMP TABLE migration AS SELECT * FROM public.migration;
CREATE TEMP TABLE event (id bigint, status text);
CREATE TEMP TABLE generation (generation bigint);
CREATE TEMP VIEW migrations AS SELECT * FROM pg_temp.migration;
CREATE TEMP VIEW history AS SELECT * FROM pg_temp.event;
SET client_min_messages = warning;
SET search_path = evil, public, pg_catalog;
CREATE TABLE public.by_caller AS
	SELECT * FROM public.scenario() WITH ORDINALITY AS s(step, result, n);
RESET search_path;
RESET client_min_messages;
CREATE TABLE calls_by_caller AS SELECT * FROM attack_calls;
TRUNCATE attack_calls;
SELECT count(*) AS forged_rows_untouched FROM pg_temp.migration;

--
-- 3. by_migration: migration 1.9 creates look-alikes in schema app and
-- sets search_path; the caller has app first.  They exist from 1.9 on,
-- so every later query of the scenario meets them.
--
\c migrate_test_search_path
SELECT fresh_install();
SET client_min_messages = warning;
SET search_path = app, public, pg_catalog;
CREATE TABLE public.by_migration AS
	SELECT * FROM public.scenario() WITH ORDINALITY AS s(step, result, n);
RESET search_path;
RESET client_min_messages;
CREATE TABLE calls_by_migration AS SELECT * FROM attack_calls;
TRUNCATE attack_calls;

\c migrate_test_search_path
SELECT plan(15);

SELECT ok((SELECT count(*) FROM clean) > 50,
		  'the clean scenario ran to its end');
SELECT is_empty('SELECT * FROM calls_clean',
				'without an attack, no look-alike is called');

SELECT results_eq('SELECT step, result FROM by_caller ORDER BY n',
				  'SELECT step, result FROM clean ORDER BY n',
				  'with the caller''s look-alikes first on search_path, every result is the same');
SELECT is_empty('SELECT * FROM calls_by_caller',
				'the caller''s look-alikes are never called');
-- What went wrong, if anything: the steps that differ, the calls made.
SELECT c.step, c.result AS clean, a.result AS by_caller
FROM clean AS c FULL JOIN by_caller AS a USING (n)
WHERE c.result IS DISTINCT FROM a.result ORDER BY n;
SELECT who = current_user AS as_superuser, what, count(*) > 0 AS called
FROM calls_by_caller GROUP BY 1, 2 ORDER BY 2;

SELECT results_eq('SELECT step, result FROM by_migration ORDER BY n',
				  'SELECT step, result FROM clean ORDER BY n',
				  'with a migration''s look-alikes first on search_path, every result is the same');
SELECT is_empty('SELECT * FROM calls_by_migration',
				'a migration''s look-alikes are never called by migrate');
SELECT c.step, c.result AS clean, a.result AS by_migration
FROM clean AS c FULL JOIN by_migration AS a USING (n)
WHERE c.result IS DISTINCT FROM a.result ORDER BY n;
SELECT who = current_user AS as_superuser, what, count(*) > 0 AS called
FROM calls_by_migration GROUP BY 1, 2 ORDER BY 2;

-- The parts of the transcript that show the migration's SET did not leak.
SELECT results_eq($$SELECT result FROM by_migration
					WHERE step LIKE 'search_path after run%'
					   OR step LIKE 'migration after 1.9%'$$,
				  $$VALUES ('true'), ('true')$$,
				  'a migration''s search_path ends with it');

--
-- 4. CREATE EXTENSION under the attacker's search_path, with pg_temp and
-- public tables named like its own: the install script is schema-qualified
-- throughout, so nothing it creates depends on anything outside
-- pg_catalog and migrate, and no look-alike runs.
--
SET client_min_messages = warning;
DROP EXTENSION migrate CASCADE;
DROP SCHEMA app CASCADE;
RESET client_min_messages;
CREATE TEMP TABLE generation (generation bigint);
CREATE TEMP TABLE migration (project text);
SET search_path = evil, public, pg_catalog;
CREATE EXTENSION migrate;
RESET search_path;
GRANT USAGE ON SCHEMA migrate TO regress_search_path_mallory;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA migrate TO regress_search_path_mallory;
SELECT is_empty('SELECT * FROM attack_calls',
				'CREATE EXTENSION calls no look-alike');
SELECT is_empty($$
	SELECT o.type, o.identity, r.type, r.identity
	FROM pg_depend AS d,
		 LATERAL pg_identify_object(d.classid, d.objid, d.objsubid) AS o,
		 LATERAL pg_identify_object(d.refclassid, d.refobjid, 0) AS r
	WHERE (o.schema = 'migrate'
		   OR (o.schema IS NULL AND o.identity LIKE '%migrate.%'))
	  AND r.schema IS NOT NULL AND r.schema NOT IN ('migrate', 'pg_catalog')$$,
	'no object of the extension refers to an object outside pg_catalog and migrate');
SELECT is((SELECT count(*) FROM migrate.generation), 1::bigint,
		  'migrate.generation got its row, not the temporary table');
SELECT is((SELECT count(*) FROM pg_temp.generation), 0::bigint,
		  'the temporary generation table is untouched');
SELECT is(migrate.register('1', 'after', 'SELECT 1'), 'registered',
		  'the extension created under the attack works');

--
-- 5. A low-privilege caller, mallory, may call migrate's functions, and
-- owns the look-alikes.  The bookkeeping runs as the catalog owner: if a
-- query of migrate met mallory's operator, mallory's code would run with
-- the owner's rights.
--
TRUNCATE attack_calls;
SET ROLE regress_search_path_mallory;
SET search_path = evil, pg_catalog;
SELECT migrate.register_repeatable('mallory''s', 'SELECT 1', project => 'mal') IS NOT NULL AS registered;
-- (pg_catalog.count: this file's own queries must not meet the look-alikes)
SELECT pg_catalog.count(*) AS applied FROM migrate.run(project => 'mal');
SELECT pg_catalog.count(*) AS problems FROM migrate.validate('mal');
SELECT pg_catalog.count(*) AS migrations FROM migrate.status('mal');
SELECT migrate.register_repeatable('mallory''s', 'SELECT 2', project => 'mal') IS NOT NULL AS updated;
SELECT pg_catalog.count(*) AS problems FROM migrate.validate();
SELECT pg_catalog.count(*) AS applied FROM migrate.run();
RESET search_path;
RESET ROLE;
SELECT is_empty($$SELECT * FROM attack_calls WHERE who <> 'regress_search_path_mallory'$$,
				'mallory''s look-alikes never run as another role');
SELECT is_empty('SELECT * FROM attack_calls',
				'mallory''s look-alikes are never called at all');
SELECT is((SELECT rolsuper FROM pg_roles
		   WHERE rolname = 'regress_search_path_mallory'),
		  false, 'mallory never became a superuser in this file');

SELECT * FROM finish();

\c contrib_regression
DROP DATABASE migrate_test_search_path;
DROP ROLE regress_search_path_mallory, regress_search_path_deployer;
