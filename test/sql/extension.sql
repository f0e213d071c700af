--
-- The extension itself: what CREATE EXTENSION migrate creates, where, with
-- which privileges, and that DROP EXTENSION takes all of it away
-- (README.md, "Functions" and "Privileges and security model").
--
CREATE DATABASE migrate_test_extension;
\c migrate_test_extension
SET client_min_messages = warning;
CREATE EXTENSION pgtap;
CREATE EXTENSION migrate;
RESET client_min_messages;

SELECT plan(41);

-- regress_extension_nobody has no grant at all; regress_extension_user
-- has USAGE on schema migrate and nothing else; regress_extension_creator
-- may create objects in this database but is not a superuser.
SET client_min_messages = warning;
CREATE ROLE regress_extension_nobody;
CREATE ROLE regress_extension_user;
CREATE ROLE regress_extension_creator;
RESET client_min_messages;
GRANT CREATE ON DATABASE migrate_test_extension TO regress_extension_creator;

-- Calls every function (and, with CALL, every procedure) of schema migrate
-- with non-NULL, typed arguments
-- and returns the SQLSTATE each call ends with, '00000' if it succeeds.
-- (A strict function called with NULLs is folded away before any
-- privilege check, and migrate.version('1') with an untyped literal is a
-- cast, not a call.)  Functions taking "internal" cannot be called from
-- SQL at all.
CREATE FUNCTION call_every_migrate_function()
RETURNS TABLE(function text, state text)
LANGUAGE plpgsql AS $$
DECLARE
	p record;
BEGIN
	FOR p IN
		SELECT pr.oid, pr.proname, pr.prokind,
			   (SELECT string_agg(CASE format_type(t, NULL)
									WHEN 'text' THEN $a$'1'::text$a$
									WHEN 'text[]' THEN $a$'{}'::text[]$a$
									WHEN 'boolean' THEN 'false'
									WHEN 'integer' THEN '1'
									WHEN 'bigint' THEN '1'
									WHEN 'cstring' THEN $a$'1'::cstring$a$
									WHEN 'migrate.version' THEN $a$'1'::migrate.version$a$
									ELSE 'NULL::' || format_type(t, NULL)
								  END, ', ' ORDER BY n)
				FROM unnest(pr.proargtypes::oid[]) WITH ORDINALITY AS a(t, n))
				AS args
		FROM pg_proc AS pr
		WHERE pr.pronamespace = 'migrate'::regnamespace
		  AND NOT 'internal'::regtype = ANY (pr.proargtypes::oid[])
		ORDER BY pr.proname, pr.oid::regprocedure::text
	LOOP
		function := p.oid::regprocedure::text;
		BEGIN
			EXECUTE format(CASE p.prokind WHEN 'p' THEN 'CALL migrate.%I(%s)'
						   ELSE 'SELECT migrate.%I(%s)' END, p.proname, p.args);
			state := '00000';
		EXCEPTION WHEN OTHERS THEN
			state := SQLSTATE;
		END;
		RETURN NEXT;
	END LOOP;
END
$$;

-- The objects of this database, per catalog, for a before/after count.
CREATE FUNCTION object_counts()
RETURNS TABLE(catalog text, objects bigint)
LANGUAGE sql AS $$
	SELECT 'pg_namespace', count(*) FROM pg_namespace
	UNION ALL SELECT 'pg_class', count(*) FROM pg_class
	UNION ALL SELECT 'pg_attribute', count(*) FROM pg_attribute
	UNION ALL SELECT 'pg_constraint', count(*) FROM pg_constraint
	UNION ALL SELECT 'pg_index', count(*) FROM pg_index
	UNION ALL SELECT 'pg_sequence', count(*) FROM pg_sequence
	UNION ALL SELECT 'pg_rewrite', count(*) FROM pg_rewrite
	UNION ALL SELECT 'pg_proc', count(*) FROM pg_proc
	UNION ALL SELECT 'pg_type', count(*) FROM pg_type
	UNION ALL SELECT 'pg_operator', count(*) FROM pg_operator
	UNION ALL SELECT 'pg_opclass', count(*) FROM pg_opclass
	UNION ALL SELECT 'pg_opfamily', count(*) FROM pg_opfamily
	UNION ALL SELECT 'pg_amop', count(*) FROM pg_amop
	UNION ALL SELECT 'pg_amproc', count(*) FROM pg_amproc
	UNION ALL SELECT 'pg_cast', count(*) FROM pg_cast
	UNION ALL SELECT 'pg_depend', count(*) FROM pg_depend
	UNION ALL SELECT 'pg_description', count(*) FROM pg_description
	UNION ALL SELECT 'pg_init_privs', count(*) FROM pg_init_privs
	UNION ALL SELECT 'pg_extension', count(*) FROM pg_extension
	UNION ALL SELECT 'pg_shdepend (this database)', count(*) FROM pg_shdepend
		WHERE dbid = (SELECT oid FROM pg_database
					  WHERE datname = current_database())
$$;

-- The objects that belong to the extension.
CREATE TEMP VIEW members AS
	SELECT d.classid, d.objid, o.type, o.schema, o.identity
	FROM pg_depend AS d,
		 LATERAL pg_identify_object(d.classid, d.objid, d.objsubid) AS o
	WHERE d.refclassid = 'pg_extension'::regclass
	  AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'migrate')
	  AND d.deptype = 'e';

-- Count every catalog without migrate, then install it again.
DROP EXTENSION migrate;
CREATE TEMP TABLE counts_without_migrate AS SELECT * FROM object_counts();
CREATE EXTENSION migrate;
SELECT oid AS migrate_oid FROM pg_extension WHERE extname = 'migrate' \gset
SELECT oid AS migrate_nsp FROM pg_namespace WHERE nspname = 'migrate' \gset

--
-- Every object of the extension is in schema migrate.  Only the schema
-- itself, the casts and the event triggers guarding migrate's objects
-- during migrations, which have no schema, are elsewhere.
--
SELECT type, identity FROM members
WHERE schema IS DISTINCT FROM 'migrate' ORDER BY type, identity;
SELECT is_empty($$SELECT type, identity FROM members
				  WHERE schema IS DISTINCT FROM 'migrate'
					AND type NOT IN ('schema', 'cast', 'event trigger')$$,
				'every member object with a schema is in schema migrate');
SELECT is(identity, 'migrate', 'the extension owns schema migrate')
FROM members WHERE type = 'schema';
SELECT is_empty($$SELECT type, identity FROM members WHERE type = 'cast'
				  AND identity NOT LIKE '%migrate.version%'$$,
				'the only casts are those of migrate.version');

-- And everything in schema migrate belongs to the extension (indexes,
-- array types and row types belong to their table or type).
SELECT is_empty($$
	SELECT c.oid::regclass::text FROM pg_class AS c
	WHERE c.relnamespace = 'migrate'::regnamespace
	  AND c.relkind NOT IN ('i', 'I', 't')
	  AND (c.tableoid, c.oid) NOT IN (SELECT classid, objid FROM members)
	UNION ALL
	SELECT p.oid::regprocedure::text FROM pg_proc AS p
	WHERE p.pronamespace = 'migrate'::regnamespace
	  AND (p.tableoid, p.oid) NOT IN (SELECT classid, objid FROM members)
	UNION ALL
	SELECT t.oid::regtype::text FROM pg_type AS t
	WHERE t.typnamespace = 'migrate'::regnamespace
	  AND t.typrelid = 0 AND t.typsubscript <> 'array_subscript_handler'::regproc
	  AND (t.tableoid, t.oid) NOT IN (SELECT classid, objid FROM members)
	UNION ALL
	SELECT o.oid::regoperator::text FROM pg_operator AS o
	WHERE o.oprnamespace = 'migrate'::regnamespace
	  AND (o.tableoid, o.oid) NOT IN (SELECT classid, objid FROM members)
	UNION ALL
	SELECT c.opcname FROM pg_opclass AS c
	WHERE c.opcnamespace = 'migrate'::regnamespace
	  AND (c.tableoid, c.oid) NOT IN (SELECT classid, objid FROM members)
	UNION ALL
	SELECT f.opfname FROM pg_opfamily AS f
	WHERE f.opfnamespace = 'migrate'::regnamespace
	  AND (f.tableoid, f.oid) NOT IN (SELECT classid, objid FROM members)$$,
	'every object in schema migrate belongs to the extension');

--
-- The control file: superuser only, not trusted, not relocatable.  It
-- names pg_catalog as the extension's schema, so that the install script
-- creates schema migrate itself (see below: it never adopts one).
--
SELECT name, superuser, trusted, relocatable, schema
FROM pg_available_extension_versions WHERE name = 'migrate' AND installed;
SELECT is(bool_or(trusted), false, 'no version of migrate is trusted')
FROM pg_available_extension_versions WHERE name = 'migrate';
SELECT is(bool_and(superuser), true, 'every version of migrate needs a superuser')
FROM pg_available_extension_versions WHERE name = 'migrate';
SELECT is(extrelocatable, false, 'the installed extension is not relocatable')
FROM pg_extension WHERE extname = 'migrate';
SELECT throws_ok('ALTER EXTENSION migrate SET SCHEMA public', '0A000',
				 'extension "migrate" does not support SET SCHEMA',
				 'ALTER EXTENSION migrate SET SCHEMA fails');
SELECT has_schema('migrate', 'schema migrate is still there');

--
-- The catalog is dumped by pg_dump (pg_extension_config_dump): every table
-- and sequence of schema migrate, all rows, except migrate.generation,
-- whose single row the install script writes, and migrate.cancel_request,
-- requests to stop deploys, which no restored database runs.
--
SELECT c::regclass AS dumped, condition
FROM pg_extension, unnest(extconfig, extcondition) AS u(c, condition)
WHERE extname = 'migrate' ORDER BY c::regclass::text;
SELECT is_empty($$
	SELECT c.oid::regclass::text FROM pg_class AS c
	WHERE c.relnamespace = 'migrate'::regnamespace AND c.relkind IN ('r', 'p', 'S')
	  AND c.oid <> 'migrate.generation'::regclass
	  AND c.oid <> 'migrate.cancel_request'::regclass
	  AND c.oid <> ALL ((SELECT extconfig FROM pg_extension
						 WHERE extname = 'migrate')::oid[])$$,
	'every catalog table and sequence is registered with pg_extension_config_dump');
SELECT is(array_agg(DISTINCT condition), ARRAY[''],
		  'every row of every catalog table is dumped')
FROM pg_extension, unnest(extcondition) AS condition
WHERE extname = 'migrate';
SELECT ok('migrate.migration'::regclass = ANY (extconfig::oid[])
		  AND 'migrate.event'::regclass = ANY (extconfig::oid[]),
		  'migrate.migration and migrate.event are dumped')
FROM pg_extension WHERE extname = 'migrate';

--
-- PUBLIC (grantee 0) has no privilege on anything in schema migrate.  A
-- NULL ACL means the default privileges, which for functions and types
-- include PUBLIC; that holds for the row type of every table and view too
-- (which only roles granted USAGE on the schema can reach).  Array types
-- have no privileges of their own (they follow their element type).
--
SELECT is_empty($$
	SELECT n.nspname, a.privilege_type
	FROM pg_namespace AS n,
		 aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) AS a
	WHERE n.nspname = 'migrate' AND a.grantee = 0$$,
	'PUBLIC has no privilege on schema migrate');
SELECT is_empty($$
	SELECT c.oid::regclass::text, a.privilege_type
	FROM pg_class AS c,
		 aclexplode(coalesce(c.relacl,
							 acldefault(CASE c.relkind WHEN 'S' THEN 's'
													   ELSE 'r' END::"char",
										c.relowner))) AS a
	WHERE c.relnamespace = 'migrate'::regnamespace
	  AND c.relkind NOT IN ('i', 'I') AND a.grantee = 0$$,
	'PUBLIC has no privilege on any table, view or sequence of schema migrate');
SELECT is_empty($$
	SELECT p.oid::regprocedure::text, a.privilege_type
	FROM pg_proc AS p,
		 aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) AS a
	WHERE p.pronamespace = 'migrate'::regnamespace AND a.grantee = 0$$,
	'PUBLIC has no privilege on any function of schema migrate');
SELECT is_empty($$
	SELECT t.oid::regtype::text, a.privilege_type
	FROM pg_type AS t,
		 aclexplode(coalesce(t.typacl, acldefault('T', t.typowner))) AS a
	WHERE t.typnamespace = 'migrate'::regnamespace
	  AND t.typsubscript <> 'array_subscript_handler'::regproc
	  AND t.typrelid = 0
	  AND a.grantee = 0$$,
	'PUBLIC has no privilege on any type of schema migrate but the row types');
-- The row types of tables and views keep their default privileges: the
-- schema guards them, and pg_dump cannot dump changed privileges of a row
-- type (it would warn at every dump).
SELECT is_empty($$
	SELECT t.oid::regtype::text, t.typacl::text
	FROM pg_type AS t
	WHERE t.typnamespace = 'migrate'::regnamespace AND t.typrelid <> 0
	  AND (t.typacl IS NOT NULL
		   OR EXISTS (SELECT FROM pg_init_privs AS i
					  WHERE i.classoid = 'pg_type'::regclass AND i.objoid = t.oid))$$,
	'the row types have default privileges and no initial privileges of their own');

--
-- So a role with no grants can use nothing: not the schema, not a
-- function, not a view (42501).
--
SET ROLE regress_extension_nobody;
SELECT throws_ok($$SELECT migrate.register('1', 'x', 'SELECT 1')$$, '42501',
				 'permission denied for schema migrate',
				 'without grants, migrate.register() is denied');
SELECT throws_ok($$SELECT * FROM migrate.run()$$, '42501',
				 'permission denied for schema migrate',
				 'without grants, migrate.run() is denied');
SELECT throws_ok($$SELECT * FROM migrate.status()$$, '42501',
				 'permission denied for schema migrate',
				 'without grants, migrate.status() is denied');
SELECT throws_ok($$SELECT * FROM migrate.migrations$$, '42501',
				 'permission denied for schema migrate',
				 'without grants, migrate.migrations is denied');
RESET ROLE;

-- USAGE on the schema alone is not enough either: every function (and so
-- every operator) still needs EXECUTE.
GRANT USAGE ON SCHEMA migrate TO regress_extension_user;
SET ROLE regress_extension_user;
SELECT is_empty($$SELECT * FROM call_every_migrate_function()
				  WHERE state <> '42501'$$,
				'with USAGE on the schema only, every migrate function is denied (42501)');
SELECT isnt_empty($$SELECT * FROM call_every_migrate_function()$$,
				  'and there are functions to call');
SELECT throws_ok($$SELECT migrate.register('1', 'x', 'SELECT 1')$$, '42501',
				 'permission denied for function register',
				 'with USAGE only, migrate.register() is denied');
SELECT throws_ok($$SELECT '1'::migrate.version OPERATOR(migrate.<) '2'::migrate.version$$,
				 '42501', 'permission denied for function version_lt',
				 'with USAGE only, the operators of migrate.version are denied');
SELECT throws_ok($$SELECT * FROM migrate.history$$, '42501',
				 'permission denied for view history',
				 'with USAGE only, migrate.history is denied');
SELECT throws_ok($$SELECT * FROM migrate.migration$$, '42501',
				 'permission denied for table migration',
				 'with USAGE only, the catalog table is denied');
RESET ROLE;

--
-- No function is SECURITY DEFINER without a pinned search_path.
--
SELECT is_empty($$
	SELECT p.oid::regprocedure::text FROM pg_proc AS p
	WHERE p.pronamespace = 'migrate'::regnamespace AND p.prosecdef
	  AND NOT EXISTS (SELECT FROM unnest(p.proconfig) AS c
					  WHERE c LIKE 'search_path=%')$$,
	'no SECURITY DEFINER function without a pinned search_path');

--
-- DROP EXTENSION migrate removes everything it created: the schema, its
-- objects, their dependencies and privileges.  What migrations created
-- belongs to the user and stays.
--
SELECT migrate.register('1', 'create kept', 'CREATE TABLE public.kept (id int)');
SELECT version, action, status FROM migrate.run();
GRANT SELECT ON migrate.migrations TO regress_extension_user;
GRANT EXECUTE ON FUNCTION migrate.status(text) TO regress_extension_user;

DROP EXTENSION migrate;

SELECT hasnt_schema('migrate', 'schema migrate is gone');
SELECT is(count(*), 0::bigint, 'the extension is gone')
FROM pg_extension WHERE extname = 'migrate';
SELECT has_table('public', 'kept', 'a table created by a migration stays');
DROP TABLE public.kept;

SELECT is(count(*), 0::bigint, 'nothing depends on the dropped extension')
FROM pg_depend WHERE refclassid = 'pg_extension'::regclass
				 AND refobjid = :migrate_oid;
SELECT is(count(*), 0::bigint, 'nothing is left in the dropped schema')
FROM (SELECT FROM pg_class WHERE relnamespace = :migrate_nsp
	  UNION ALL SELECT FROM pg_proc WHERE pronamespace = :migrate_nsp
	  UNION ALL SELECT FROM pg_type WHERE typnamespace = :migrate_nsp
	  UNION ALL SELECT FROM pg_operator WHERE oprnamespace = :migrate_nsp
	  UNION ALL SELECT FROM pg_opclass WHERE opcnamespace = :migrate_nsp
	  UNION ALL SELECT FROM pg_opfamily WHERE opfnamespace = :migrate_nsp) AS o;
SELECT results_eq($$SELECT * FROM object_counts() ORDER BY catalog$$,
				  $$SELECT * FROM counts_without_migrate ORDER BY catalog$$,
				  'every catalog has as many objects as before CREATE EXTENSION');

--
-- Only a superuser may create the extension.
--
SET ROLE regress_extension_creator;
SELECT throws_ok('CREATE EXTENSION migrate', '42501',
				 'permission denied to create extension "migrate"',
				 'a non-superuser cannot CREATE EXTENSION migrate');
RESET ROLE;

--
-- CREATE EXTENSION fails closed if a schema named migrate already exists:
-- it does not adopt someone else's schema.
--
CREATE SCHEMA migrate;
CREATE TABLE migrate.not_ours (id int);
SELECT throws_ok('CREATE EXTENSION migrate', '42P06',
				 'schema "migrate" already exists',
				 'CREATE EXTENSION fails if schema migrate exists');
\set VERBOSITY default
CREATE EXTENSION migrate;
SELECT is(count(*), 0::bigint, 'no extension was created')
FROM pg_extension WHERE extname = 'migrate';
SELECT has_table('migrate', 'not_ours', 'the existing schema is untouched');
DROP SCHEMA migrate CASCADE;

--
-- Installed again in the same session, it works (nothing cached from the
-- first installation is used).
--
CREATE EXTENSION migrate;
SELECT is(migrate.register('1', 'create kept', 'CREATE TABLE public.kept (id int)'),
		  'registered', 'register works after DROP and CREATE EXTENSION');
SELECT is(count(*), 1::bigint, 'and the new catalog has one migration')
FROM migrate.migrations;
SELECT version, action, status FROM migrate.run();
SELECT project, version, name, state FROM migrate.status();
SELECT has_table('public', 'kept', 'run works after DROP and CREATE EXTENSION');

SELECT * FROM finish();

\c contrib_regression
DROP DATABASE migrate_test_extension;
DROP ROLE regress_extension_nobody, regress_extension_user,
	regress_extension_creator;
