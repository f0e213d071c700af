--
-- migrate.register() and migrate.unregister(): what a deploy sees when it
-- registers its migrations (README.md, "migrate.register").
--
-- Results (registered, unchanged, updated), the v1 checksum and what it
-- ignores, applied migrations, checks made at registration (syntax,
-- transaction control, non-transactional statements, COPY, psql
-- meta-commands, role changes, empty scripts), arguments (NULLs, versions,
-- projects, requires), registrants and roles, unregister.  After every
-- group of errors the catalog is compared with a snapshot taken before it.
--
CREATE DATABASE migrate_test_register;
\c migrate_test_register
SET client_min_messages = warning;
CREATE EXTENSION pgtap;
CREATE EXTENSION migrate;
RESET client_min_messages;

SELECT plan(183);

-- The checksum register would store for a script, without keeping the
-- registration: the exception block rolls it back.
CREATE FUNCTION checksum_of(script text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	result text;
BEGIN
	BEGIN
		PERFORM migrate.register('1', 'probe', script, project => 'probe');
		SELECT m.checksum INTO result
		FROM migrate.migrations AS m WHERE m.project = 'probe';
		RAISE EXCEPTION 'undo the probe';
	EXCEPTION WHEN raise_exception THEN
		NULL;
	END;
	RETURN result;
END
$$;

-- Everything a registration stores, and the history, as one text: equal
-- snapshots mean nothing changed.
CREATE FUNCTION catalog_state() RETURNS text
LANGUAGE sql AS $$
	SELECT coalesce(string_agg(format('%s|%s|%s|%s|%s|%s|%s|%s|%s|%s', m.project,
					  m.version, m.name, m.state, m.checksum, m.down,
					  m.requires, m.transactional, m.registered_by,
					  m.registered_at),
			  E'\n' ORDER BY m.project, m.version::text), '')
		   || E'\nhistory rows: '
		   || (SELECT count(*) FROM migrate.history)
	FROM migrate.migrations AS m
$$;

--
-- A new migration is "registered"; registering it again with the same
-- content is "unchanged", so a deploy can register everything every time.
--
SELECT is(migrate.register('001', 'create users',
		  up => $$CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL)$$,
		  down => $$DROP TABLE users$$),
		  'registered', 'a new migration is registered');
SELECT is(migrate.register('001', 'create users',
		  up => $$CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL)$$,
		  down => $$DROP TABLE users$$),
		  'unchanged', 'the same registration again is unchanged');

-- What is stored, with the defaults: no requirements, transactional,
-- project "default", pending.
SELECT project, version, name, kind, state, down, requires, transactional
FROM migrate.migrations;
SELECT is(registered_by, current_user, 'the registering role is recorded')
FROM migrate.migrations;

--
-- The checksum: "v1:" and the SHA-256 of the script's tokens.  Each token
-- is hashed as a class byte ('k' keyword, 'w' identifier, 'o' operator or
-- punctuation, 's' string, 'i' integer, ...), its length as 4 bytes, big
-- endian, and its text; keywords and unquoted identifiers in lower case.
-- Histories keep checksums forever, so v1 must never change: this
-- computes it independently for the script above.
--
SELECT matches(checksum, '^v1:[0-9a-f]{64}$', 'the checksum is tagged v1:')
FROM migrate.migrations;
SELECT is(m.checksum,
		  (SELECT 'v1:' || encode(sha256(string_agg(
					convert_to(class, 'UTF8') || int4send(octet_length(tok))
					|| convert_to(tok, 'UTF8'), ''::bytea ORDER BY n)), 'hex')
		   FROM (VALUES (1, 'k', 'create'), (2, 'k', 'table'),
						(3, 'w', 'users'), (4, 'o', '('), (5, 'w', 'id'),
						(6, 'k', 'bigint'), (7, 'k', 'primary'),
						(8, 'k', 'key'), (9, 'o', ','), (10, 'w', 'email'),
						(11, 'k', 'text'), (12, 'k', 'not'), (13, 'k', 'null'),
						(14, 'o', ')')) AS t(n, class, tok)),
		  'the v1 checksum is the SHA-256 of the tokens')
FROM migrate.migrations AS m;

--
-- While a migration is pending, a changed registration replaces it
-- ("updated") with a NOTICE naming what changed.
--
SELECT is(migrate.register('001', 'create the users table',
		  up => $$CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL)$$,
		  down => $$DROP TABLE users$$),
		  'updated', 'a new name updates a pending migration');
SELECT is(migrate.register('001', 'create the users table',
		  up => $$CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL UNIQUE)$$,
		  down => $$DROP TABLE users$$),
		  'updated', 'a new up updates a pending migration');
SELECT is(migrate.register('001', 'create the users table',
		  up => $$CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL UNIQUE)$$),
		  'updated', 'dropping the down updates a pending migration');
SELECT is(migrate.register('001', 'create the users table',
		  up => $$CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL UNIQUE)$$,
		  requires => '{000}'),
		  'updated', 'new requirements update a pending migration');
SELECT is(migrate.register('001', 'create the users table',
		  up => $$CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL UNIQUE)$$,
		  requires => '{000}', transactional => false),
		  'updated', 'a new transactional flag updates a pending migration');
SELECT is(migrate.register('001', 'create users',
		  up => $$CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL)$$,
		  down => $$DROP TABLE users$$),
		  'updated', 'several changes at once are one update');
SELECT is(checksum, checksum_of($$CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL)$$),
		  'the stored checksum is the checksum of the new up')
FROM migrate.migrations;
SELECT name, down, requires, transactional FROM migrate.migrations;

--
-- What the checksum ignores.  Each of these registrations of 002 differs
-- from the first one only in whitespace, comments, line endings, the case
-- of keywords and unquoted identifiers, or empty statements: each is
-- "unchanged".
--
SELECT is(migrate.register('002', 'create accounts', $$CREATE TABLE accounts (id bigint PRIMARY KEY, owner text NOT NULL DEFAULT 'nobody');
CREATE INDEX accounts_owner_idx ON accounts (owner)$$),
		  'registered', 'a two-statement migration is registered');
SELECT is(migrate.register('002', 'create accounts', $$
	CREATE TABLE accounts (
		id    bigint PRIMARY KEY,
		owner text   NOT NULL DEFAULT 'nobody'
	);

	CREATE INDEX accounts_owner_idx
		ON accounts (owner)
$$),
		  'unchanged', 'whitespace does not count');
SELECT is(migrate.register('002', 'create accounts', $$-- Accounts, one per owner.
CREATE TABLE accounts (id bigint PRIMARY KEY, /* surrogate */ owner text NOT NULL DEFAULT 'nobody');
/* owners are looked up often */ CREATE INDEX accounts_owner_idx ON accounts (owner) -- the end
$$),
		  'unchanged', 'comments do not count');
SELECT is(migrate.register('002', 'create accounts', replace($$
CREATE TABLE accounts (
	id bigint PRIMARY KEY,
	owner text NOT NULL DEFAULT 'nobody'
);
CREATE INDEX accounts_owner_idx ON accounts (owner);
$$, E'\n', E'\r\n')),
		  'unchanged', 'CRLF line endings do not count');
SELECT is(migrate.register('002', 'create accounts', $$create table ACCOUNTS (ID BIGINT primary key, Owner TEXT not null default 'nobody');
create index Accounts_Owner_Idx on Accounts (OWNER)$$),
		  'unchanged', 'the case of keywords and unquoted identifiers does not count');
SELECT is(migrate.register('002', 'create accounts', $$;;CREATE TABLE accounts (id bigint PRIMARY KEY, owner text NOT NULL DEFAULT 'nobody');;;
CREATE INDEX accounts_owner_idx ON accounts (owner);;$$),
		  'unchanged', 'stray semicolons do not count');
SELECT is(migrate.register('002', 'create accounts', $$CREATE TABLE accounts (id bigint PRIMARY KEY, owner text NOT NULL DEFAULT $q$nobody$q$);
CREATE INDEX accounts_owner_idx ON accounts (owner)$$),
		  'unchanged', 'the quoting style of a string constant does not count');

--
-- Any other change to the SQL changes the checksum.  The last two pairs
-- mean different things: current_user is the role, "current_user" a
-- column named so.
--
SELECT isnt(checksum_of(a), checksum_of(b), description)
FROM (VALUES
	('CREATE TABLE t (a int)', 'CREATE TABLE t2 (a int)',
	 'a renamed identifier counts'),
	('CREATE TABLE t (a int)', 'CREATE TABLE "T" (a int)',
	 'the case of a quoted identifier counts'),
	($q$SELECT 'nobody'$q$, $q$SELECT 'Nobody'$q$,
	 'the case inside a string constant counts'),
	($q$SELECT 'a b'$q$, $q$SELECT 'a  b'$q$,
	 'whitespace inside a string constant counts'),
	($q$SELECT '-- not a comment'$q$, $q$SELECT ''$q$,
	 'comment-like text inside a string constant counts'),
	($q$SELECT 'a;b'$q$, $q$SELECT 'a;;b'$q$,
	 'semicolons inside a string constant count'),
	('SELECT 1', 'SELECT 2', 'a number counts'),
	('SELECT 1.0', 'SELECT 1.00', 'the scale of a numeric constant counts'),
	('SELECT 1 < 2', 'SELECT 1 <= 2', 'an operator counts'),
	('SELECT 1 AS a, 2 AS b', 'SELECT 2 AS b, 1 AS a', 'the order counts'),
	('SELECT 1; SELECT 2', 'SELECT 1; SELECT 2; SELECT 2',
	 'a repeated statement counts'),
	($q$CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $f$SELECT 1$f$$q$,
	 $q$CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $f$SELECT 2$f$$q$,
	 'a function body counts'),
	('SELECT current_user', 'SELECT "current_user"',
	 'a keyword and the quoted identifier spelled like it differ'),
	('SELECT user', 'SELECT "user"',
	 'the keyword user and the column "user" differ')
) AS t(a, b, description);

--
-- Applying 001 and 002.  Once applied, the same content is still
-- "unchanged", the name and the down may change, the up may not.
--
SELECT project, version, name, action, status, message
FROM migrate.run(project => 'default');

SELECT is(migrate.register('001', 'create users',
		  up => $$create table users (id bigint primary key, email text not null);$$,
		  down => $$DROP TABLE users$$),
		  'unchanged', 'an applied migration re-registered unchanged');
SELECT is(migrate.register('001', 'create table users',
		  up => $$CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL)$$,
		  down => $$DROP TABLE users$$),
		  'updated', 'an applied migration may get a new name');
SELECT is(migrate.register('001', 'create table users',
		  up => $$CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL)$$,
		  down => $$DROP TABLE IF EXISTS users$$),
		  'updated', 'an applied migration may get a new down');
SELECT is(migrate.register('002', 'create accounts', $$CREATE TABLE accounts (id bigint PRIMARY KEY, owner text NOT NULL DEFAULT 'nobody');
CREATE INDEX accounts_owner_idx ON accounts (owner)$$,
		  down => 'DROP TABLE accounts'),
		  'updated', 'an applied migration may get a down it did not have');
SELECT version, name, state, down FROM migrate.migrations ORDER BY version;

SELECT catalog_state() AS before_errors \gset

SELECT throws_ok($$SELECT migrate.register('001', 'create table users',
		  up => $q$CREATE TABLE users (id bigint PRIMARY KEY, email text)$q$,
		  down => $q$DROP TABLE IF EXISTS users$q$)$$,
		  '55000',
		  'migration default 001 "create table users" is applied and its up script cannot change',
		  'a new up for an applied migration is refused');
SELECT throws_ok($$SELECT migrate.register('001', 'renamed again',
		  up => $q$CREATE TABLE users (id bigint PRIMARY KEY, email text)$q$)$$,
		  '55000', NULL,
		  'a new up is refused even with other changes that would be allowed');

-- The error, as psql shows it: both checksums, and the way out.
\set VERBOSITY default
SELECT migrate.register('001', 'create table users',
	up => $$CREATE TABLE users (id bigint PRIMARY KEY, email text)$$,
	down => $$DROP TABLE IF EXISTS users$$);

SELECT is(catalog_state(), :'before_errors',
		  'refused changes to applied migrations change nothing');

--
-- Syntax errors are found at registration (42601), named by migration and
-- script, with the position inside the script.
--
SELECT throws_ok($$SELECT migrate.register('003', 'add nickname',
		  E'ALTER TABLE users ADD COLUMN nickname text;\nSELEC count(*) FROM users')$$,
		  '42601', 'syntax error at or near "SELEC"',
		  'a syntax error in up is refused');
SELECT throws_ok($$SELECT migrate.register('003', 'add nickname',
		  'ALTER TABLE users ADD COLUMN nickname text',
		  down => 'ALTER TABLE users DROP COLUMN nickname text')$$,
		  '42601', 'syntax error at or near "text"',
		  'a syntax error in down is refused');
SELECT throws_ok($$SELECT migrate.register('003', 'add nickname',
		  E'ALTER TABLE users ADD COLUMN nickname text DEFAULT \'none')$$,
		  '42601', 'unterminated quoted string at or near "''none"',
		  'an unterminated string constant is refused');
SELECT throws_ok($$SELECT migrate.register('003', 'add nickname',
		  'ALTER TABLE users ADD COLUMN nickname text; CREATE FUNCTION f() RETURNS int AS $f$ SELECT 1')$$,
		  '42601', 'unterminated dollar-quoted string at or near "$f$ SELECT 1"',
		  'an unterminated dollar-quoted body is refused');

-- As psql shows it: the line of the script, a caret under the error (a
-- non-ASCII identifier earlier on the line does not shift it), and the
-- migration and script in CONTEXT.
SELECT migrate.register('003', 'add first name', $$
ALTER TABLE users ADD COLUMN nickname text;
ALTER TABLE users ADD COLUMN prénom text NOT NUL;
$$);
SELECT migrate.register('003', 'add first name',
	up => $$ALTER TABLE users ADD COLUMN prénom text$$,
	down => $$ALTER TABLE users
	DROP COLUMN prénom,
	DROP COLUMN;$$);

SELECT is(catalog_state(), :'before_errors',
		  'scripts with syntax errors are not registered');

--
-- migrate owns the transactions: transaction control is refused anywhere
-- in a script, in up and in down, transactional or not.
--
SELECT throws_ok(format('SELECT migrate.register(%L, %L, %L)', '003',
						'add nickname',
						'ALTER TABLE users ADD COLUMN nickname text; ' || stmt),
				 '2D000',
				 'transaction control statements are not allowed in migration scripts',
				 stmt || ' is refused')
FROM (VALUES ('BEGIN'), ('START TRANSACTION'), ('COMMIT'), ('END'),
			 ('ROLLBACK'), ('ABORT'), ('SAVEPOINT s'),
			 ('RELEASE SAVEPOINT s'), ('ROLLBACK TO SAVEPOINT s'),
			 ($$PREPARE TRANSACTION 't'$$), ($$COMMIT PREPARED 't'$$),
			 ($$ROLLBACK PREPARED 't'$$), ('COMMIT AND CHAIN')) AS t(stmt);
SELECT throws_ok($$SELECT migrate.register('003', 'add nickname',
		  'ALTER TABLE users ADD COLUMN nickname text',
		  down => 'BEGIN; ALTER TABLE users DROP COLUMN nickname; COMMIT')$$,
		  '2D000',
		  'transaction control statements are not allowed in migration scripts',
		  'transaction control in down is refused');
SELECT throws_ok($$SELECT migrate.register('003', 'reindex',
		  'COMMIT; REINDEX INDEX CONCURRENTLY users_pkey',
		  transactional => false)$$,
		  '2D000',
		  'transaction control statements are not allowed in migration scripts',
		  'transaction control is refused in a non-transactional migration too');

\set VERBOSITY default
SELECT migrate.register('003', 'add nickname', $$
ALTER TABLE users ADD COLUMN nickname text;
COMMIT;
$$);

--
-- A transactional migration cannot contain what cannot run inside a
-- transaction block (25001, with a hint about transactional => false);
-- the same statements are accepted with transactional => false.
--
CREATE TEMP TABLE non_transactional (stmt text, message text);
INSERT INTO non_transactional VALUES
	('CREATE INDEX CONCURRENTLY users_email_idx ON users (email)',
	 'CREATE INDEX CONCURRENTLY cannot run inside a transaction block'),
	('CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS users_email_key ON users (email)',
	 'CREATE INDEX CONCURRENTLY cannot run inside a transaction block'),
	('DROP INDEX CONCURRENTLY users_email_idx',
	 'DROP INDEX CONCURRENTLY cannot run inside a transaction block'),
	('REINDEX TABLE CONCURRENTLY users',
	 'REINDEX CONCURRENTLY cannot run inside a transaction block'),
	('REINDEX (CONCURRENTLY, VERBOSE) INDEX users_pkey',
	 'REINDEX CONCURRENTLY cannot run inside a transaction block'),
	('VACUUM',
	 'VACUUM cannot run inside a transaction block'),
	('VACUUM (ANALYZE) users',
	 'VACUUM cannot run inside a transaction block'),
	('CREATE DATABASE migrate_never_created',
	 'CREATE DATABASE cannot run inside a transaction block'),
	($$ALTER SYSTEM SET work_mem = '64MB'$$,
	 'ALTER SYSTEM cannot run inside a transaction block');

SELECT throws_ok(format('SELECT migrate.register(%L, %L, %L)', '003',
						'maintenance', 'ANALYZE users; ' || stmt),
				 '25001', message, stmt || ' is refused in a transactional migration')
FROM non_transactional;

\set VERBOSITY default
SELECT migrate.register('003', 'index emails', $$
-- emails are looked up at login
CREATE INDEX CONCURRENTLY users_email_idx ON users (email);
$$);

SELECT is(catalog_state(), :'before_errors',
		  'refused transaction control and non-transactional statements change nothing');

-- A statement nested in CREATE SCHEMA is no different.
SELECT throws_ok($$SELECT migrate.register('1', 'schema with index',
		  'CREATE SCHEMA reports CREATE INDEX CONCURRENTLY users_email_idx ON public.users (email)',
		  project => 'nested')$$,
		  '25001', NULL,
		  'CREATE INDEX CONCURRENTLY inside CREATE SCHEMA is refused too');

-- ANALYZE can run in a transaction block: accepted.  The refused
-- statements are accepted with transactional => false (project
-- "maintenance", never run here: migrate.run() cannot run them yet).
SELECT is(migrate.register('1', 'analyze', 'ANALYZE users', project => 'accepted'),
		  'registered', 'ANALYZE is accepted in a transactional migration');
SELECT is(migrate.register(format('%s', row_number() OVER ()), 'maintenance',
						   stmt, transactional => false,
						   project => 'maintenance'),
		  'registered', stmt || ' is accepted with transactional => false')
FROM non_transactional;

SELECT catalog_state() AS before_errors \gset

--
-- COPY to or from the client and psql meta-commands are refused: a
-- migration runs in the server, with no client and no psql.  COPY from a
-- file on the server and a backslash inside a string constant are fine.
--
SELECT throws_ok($$SELECT migrate.register('004', 'load users',
		  'COPY users (id, email) FROM STDIN')$$,
		  '0A000', 'COPY FROM STDIN is not supported in migration scripts',
		  'COPY FROM STDIN is refused');
SELECT throws_ok($$SELECT migrate.register('004', 'load users',
		  'COPY users (id, email) FROM STDIN WITH (FORMAT csv)')$$,
		  '0A000', 'COPY FROM STDIN is not supported in migration scripts',
		  'COPY FROM STDIN with options is refused');
SELECT throws_ok($$SELECT migrate.register('004', 'dump users',
		  'COPY users TO STDOUT')$$,
		  '0A000', 'COPY TO STDOUT is not supported in migration scripts',
		  'COPY TO STDOUT is refused');
SELECT throws_ok($$SELECT migrate.register('004', 'dump users',
		  'COPY (SELECT email FROM users) TO STDOUT')$$,
		  '0A000', 'COPY TO STDOUT is not supported in migration scripts',
		  'COPY (query) TO STDOUT is refused');
SELECT throws_ok($$SELECT migrate.register('004', 'load users',
		  E'COPY users (id, email) FROM stdin;\n1\talice@example.com\n\\.\n')$$,
		  '0A000', 'COPY data (ending with "\.") is not supported in migration scripts',
		  'COPY with inline data, as pg_dump writes it, is refused');
SELECT throws_ok(format('SELECT migrate.register(%L, %L, %L)', '004',
						'psql', script),
				 '42601',
				 format('psql meta-command "%s" is not supported in migration scripts',
						command),
				 command || ' is refused')
FROM (VALUES ('\i', E'\\i 004_users.sql'),
			 ('\ir', E'CREATE TABLE t (a int);\n\\ir more.sql\n'),
			 ('\set', E'\\set ON_ERROR_STOP on\nCREATE TABLE t (a int);'),
			 ('\connect', E'\\connect other\nCREATE TABLE t (a int);'),
			 ('\gexec', E'SELECT format(\'CREATE TABLE t%s (a int)\', i) FROM generate_series(1, 3) AS i \\gexec'))
	AS t(command, script);

\set VERBOSITY default
SELECT migrate.register('004', 'load users', $$
CREATE TABLE imported (id int);
\i users_data.sql
$$);
SELECT migrate.register('004', 'load users', $$
COPY users (id, email) FROM stdin;
$$);

--
-- A migration runs as its registrant and cannot change its role.
--
SELECT throws_ok(format('SELECT migrate.register(%L, %L, %L)', '004',
						'role', 'CREATE TABLE t (a int); ' || stmt),
				 '42501', 'a migration cannot change its role',
				 stmt || ' is refused')
FROM (VALUES ('SET ROLE postgres'), ('SET LOCAL ROLE postgres'),
			 ('SET role = DEFAULT'), ('RESET ROLE'),
			 ('SET SESSION AUTHORIZATION postgres'),
			 ('SET LOCAL SESSION AUTHORIZATION DEFAULT'),
			 ('RESET SESSION AUTHORIZATION')) AS t(stmt);

--
-- NULL for a required argument is 22004 naming the argument; a NULL down
-- means no down.  (Empty scripts and transactional => NULL are accepted:
-- test/sql/folders.sql.)
--
SELECT throws_ok(format('SELECT migrate.register(%s)', args), '22004',
				 format('argument "%s" of migrate.register() must not be null',
						argument),
				 'register: NULL ' || argument || ' is refused')
FROM (VALUES
	('version', $$NULL, 'n', 'SELECT 1'$$),
	('name', $$'004', NULL, 'SELECT 1'$$),
	('up', $$'004', 'n', NULL$$),
	('requires', $$'004', 'n', 'SELECT 1', requires => NULL$$),
	('project', $$'004', 'n', 'SELECT 1', project => NULL$$)
) AS t(argument, args);
SELECT throws_ok($$SELECT migrate.register('004', 'n', 'SELECT 1', requires => '{002, NULL}')$$,
				 '22004', 'requires must not contain NULL',
				 'register: a NULL in requires is refused');

--
-- Versions are migrate.version literals (22P02 otherwise).
--
SELECT throws_ok(format('SELECT migrate.register(%L, %L, %L)', version,
						'bad version', 'SELECT 1'),
				 '22P02',
				 format('invalid input syntax for type migrate.version: "%s"',
						version),
				 format('version %s is refused', description))
FROM (VALUES ('', '"" (empty)'), ('1.', '"1." (ends with a separator)'),
			 ('-1', '"-1" (starts with a separator)'),
			 ('1 0', '"1 0" (space)'), ('1/0', '"1/0" (slash)'),
			 ('v1:0', '"v1:0" (colon)'),
			 (repeat('9', 256), 'of 256 characters')) AS t(version, description);

--
-- Project names: [a-z_][a-z0-9_]*, at most 63 bytes (22023 otherwise).
--
SELECT throws_ok(format('SELECT migrate.register(%L, %L, %L, project => %L)',
						'1', 'p', 'SELECT 1', project),
				 '22023', format('invalid project name "%s"', project),
				 format('project %s is refused', description))
FROM (VALUES ('Default', '"Default" (uppercase)'),
			 ('1app', '"1app" (starts with a digit)'),
			 (repeat('p', 64), 'of 64 bytes'),
			 ('', '"" (empty)'),
			 ('my-app', '"my-app" (hyphen)'),
			 ('lib:core', '"lib:core" (colon)'),
			 (' app', '" app" (space)'),
			 ('appé', '"appé" (non-ASCII)')) AS t(project, description);

SELECT is(catalog_state(), :'before_errors',
		  'refused scripts and arguments change nothing');

--
-- What is accepted: COPY from a server file, backslashes in strings,
-- versions that compare equal (the same migration), project names up to
-- 63 bytes.
--
SELECT is(migrate.register('2', 'load users',
		  $q$COPY users (id, email) FROM '/srv/users.csv' WITH (FORMAT csv)$q$,
		  project => 'accepted'),
		  'registered', 'COPY from a server file is accepted');
SELECT is(migrate.register('3', 'backslash',
		  $q$INSERT INTO accounts (id, owner) VALUES (1, '\i'), (2, E'\\set')$q$,
		  project => 'accepted'),
		  'registered', 'a backslash inside a string constant is not a meta-command');
SELECT throws_ok($$SELECT migrate.register('01', 'create users',
		  up => $q$CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL)$q$,
		  down => $q$DROP TABLE IF EXISTS users$q$)$$,
		  '22023', 'version "01" of project "default" is already registered as "001" with other content',
		  'version 01 is version 001: with other content (a new name) it is refused, two files collided');
-- As psql shows it: what differs, and the way out.
SELECT migrate.register('01', 'create users',
	up => $$CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL)$$,
	down => $$DROP TABLE IF EXISTS users$$);
SELECT is(migrate.register('001', 'create users',
		  up => $$CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL)$$,
		  down => $$DROP TABLE IF EXISTS users$$),
		  'updated', 'under the spelling it was registered with, it changes');
SELECT is(migrate.register('1', 'create users',
		  up => $$CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL)$$,
		  down => $$DROP TABLE IF EXISTS users$$),
		  'unchanged', 'version 1 is version 001');
SELECT is(count(*), 2::bigint, 'still two migrations in project default')
FROM migrate.migrations WHERE project = 'default';
SELECT is(migrate.register('1', 'p', 'SELECT 1', project => project), 'registered',
		  format('project %s is accepted', description))
FROM (VALUES (repeat('p', 63), 'of 63 bytes'), ('_private', '"_private"'),
			 ('app2_v3', '"app2_v3"')) AS t(project, description);

--
-- requires: "version" (same project) or "project:version".  Entries are
-- stored as project:version, without duplicates; a requirement need not be
-- registered yet (migrate.run() checks).
--
SELECT is(migrate.register('1.0', 'base', 'SELECT 1', project => 'deps'),
		  'registered', 'deps 1.0 is registered');
SELECT is(migrate.register('1.1', 'needs base', 'SELECT 1', requires => '{1.0}',
						   project => 'deps'),
		  'registered', 'a requirement in the same project');
SELECT is(migrate.register('2.0', 'cross', 'SELECT 1',
						   requires => '{1.1, default:001, lib:3.0-rc1, 1.01, deps:1.1}',
						   project => 'deps'),
		  'registered', 'requirements in other projects, not all registered');
SELECT version, requires FROM migrate.migrations
WHERE project = 'deps' ORDER BY version;
SELECT is(migrate.register('2.0', 'cross', 'SELECT 1',
						   requires => '{lib:3.0-rc1, default:001, deps:1.1}',
						   project => 'deps'),
		  'unchanged', 'the same requirements in another order are unchanged');
SELECT is(migrate.register('2.0', 'cross', 'SELECT 1',
						   requires => '{deps:1.1, default:1, lib:3.0-rc1}',
						   project => 'deps'),
		  'unchanged', 'a required version spelled differently (1 for 001) is unchanged');

SELECT catalog_state() AS before_errors \gset

SELECT throws_ok(format('SELECT migrate.register(%L, %L, %L, requires => %L, project => %L)',
						'2.1', 'bad', 'SELECT 1', ARRAY[entry], 'deps'),
				 '22023', format('invalid requires entry "%s"', entry),
				 format('requires entry %s is refused', description))
FROM (VALUES ('Lib:1.0', '"Lib:1.0" (invalid project)'),
			 (':1.0', '":1.0" (empty project)'),
			 ('lib:', '"lib:" (empty version)'),
			 ('1.', '"1." (invalid version)'),
			 ('', '"" (empty)'),
			 ('lib:1.0:2', '"lib:1.0:2" (two colons)'),
			 ('lib 1.0', '"lib 1.0" (space)')) AS t(entry, description);
SELECT throws_ok(format('SELECT migrate.register(%L, %L, %L, requires => %L, project => %L)',
						'2.1', 'self', 'SELECT 1', ARRAY[entry], 'deps'),
				 '22023', 'migration deps 2.1 cannot require itself',
				 format('requires entry "%s" (itself) is refused', entry))
FROM (VALUES ('2.1'), ('deps:2.1'), ('2.01'), ('2-1')) AS t(entry);

\set VERBOSITY default
SELECT migrate.register('2.2', 'bad', 'SELECT 1', requires => '{1.1, lib-core:1.0}',
						project => 'deps');

SELECT is(catalog_state(), :'before_errors',
		  'refused requirements change nothing');
SELECT is(migrate.register('2.1', 'not self', 'SELECT 1', requires => '{other:2.1}',
						   project => 'deps'),
		  'registered', 'the same version in another project is not itself');

--
-- Registrants.  Changing or unregistering a registration takes the right
-- to act as the role that registered it (membership, as SET ROLE needs;
-- 42501 otherwise); the new registrant is recorded.  Re-registering the
-- same content is "unchanged" for anyone allowed to call register.
--
SET client_min_messages = warning;
CREATE ROLE regress_register_owner;
CREATE ROLE regress_register_member IN ROLE regress_register_owner;
CREATE ROLE regress_register_other;
RESET client_min_messages;
GRANT USAGE ON SCHEMA migrate TO regress_register_owner,
	regress_register_member, regress_register_other;
GRANT EXECUTE ON FUNCTION migrate.register(text, text, text, text, text[], boolean, text, text),
	migrate.unregister(text, text)
	TO regress_register_owner, regress_register_member, regress_register_other;

SET ROLE regress_register_owner;
SELECT is(migrate.register('1', 'owned', 'SELECT 1', project => 'roles'),
		  'registered', 'a role with EXECUTE registers a migration');
SELECT is(migrate.register('2', 'also owned', 'SELECT 2', project => 'roles'),
		  'registered', 'and another');
RESET ROLE;
SELECT is(string_agg(version || ' ' || registered_by, ', ' ORDER BY version),
		  '1 regress_register_owner, 2 regress_register_owner',
		  'the registrant is recorded')
FROM migrate.migrations WHERE project = 'roles';

SELECT catalog_state() AS before_errors \gset

SET ROLE regress_register_other;
SELECT is(migrate.register('1', 'owned', 'SELECT 1', project => 'roles'),
		  'unchanged', 'another role re-registers the same content: unchanged');
SELECT is(migrate.register('1', 'owned', 'select 1; -- the same', project => 'roles'),
		  'unchanged', 'the same content spelled differently: unchanged');
SELECT throws_ok($$SELECT migrate.register('1', 'renamed', 'SELECT 1', project => 'roles')$$,
				 '42501', 'permission denied to change migration roles 1 "owned"',
				 'a non-member cannot rename it');
SELECT throws_ok($$SELECT migrate.register('1', 'owned', 'SELECT 42', project => 'roles')$$,
				 '42501', 'permission denied to change migration roles 1 "owned"',
				 'a non-member cannot change its up');
SELECT throws_ok($$SELECT migrate.register('1', 'owned', 'SELECT 1', down => 'SELECT 0', project => 'roles')$$,
				 '42501', 'permission denied to change migration roles 1 "owned"',
				 'a non-member cannot add a down');
SELECT throws_ok($$SELECT migrate.unregister('1', 'roles')$$,
				 '42501', 'permission denied to unregister migration roles 1 "owned"',
				 'a non-member cannot unregister it');
\set VERBOSITY default
SELECT migrate.register('1', 'renamed', 'SELECT 1', project => 'roles');
RESET ROLE;

SELECT is(catalog_state(), :'before_errors',
		  'refused changes by another role change nothing');

-- A member of the registrant may change it; it then belongs to the member,
-- which the first registrant is not a member of.
SET ROLE regress_register_member;
SELECT is(migrate.register('1', 'owned by the member', 'SELECT 1', project => 'roles'),
		  'updated', 'a member of the registrant may change it');
RESET ROLE;
SELECT is(registered_by::text, 'regress_register_member',
		  'the new registrant is recorded')
FROM migrate.migrations WHERE project = 'roles' AND version::text = '1';
SET ROLE regress_register_owner;
SELECT throws_ok($$SELECT migrate.register('1', 'owned', 'SELECT 1', project => 'roles')$$,
				 '42501',
				 'permission denied to change migration roles 1 "owned by the member"',
				 'the first registrant is not a member of the new one');
RESET ROLE;
SET ROLE regress_register_member;
SELECT lives_ok($$SELECT migrate.unregister('2', 'roles')$$,
				'a member of the registrant may unregister it');
RESET ROLE;

-- A superuser may change anything; the change is then the superuser's.
SELECT is(migrate.register('1', 'owned by the superuser', 'SELECT 1', project => 'roles'),
		  'updated', 'a superuser may change any registration');
SELECT is(registered_by, current_user, 'and becomes its registrant')
FROM migrate.migrations WHERE project = 'roles';

--
-- unregister removes a pending registration; applied ones, unknown ones
-- and ones that other registrations require are refused.  History stays.
--
SELECT is(migrate.register('005', 'create orders',
		  'CREATE TABLE orders (id bigint PRIMARY KEY)', down => 'DROP TABLE orders'),
		  'registered', 'default 005 is registered');
SELECT lives_ok($$SELECT migrate.unregister('005')$$,
				'a pending migration is unregistered');
SELECT is(count(*), 0::bigint, 'it is no longer registered')
FROM migrate.migrations WHERE version::text = '005';

SELECT catalog_state() AS before_errors \gset

SELECT throws_ok($$SELECT migrate.unregister('005')$$, '42704',
				 'migration default 005 is not registered',
				 'unregistering an unknown migration is refused');
SELECT throws_ok($$SELECT migrate.unregister('005', 'nowhere')$$, '42704',
				 'migration nowhere 005 is not registered',
				 'unregistering in an unknown project is refused');
SELECT throws_ok($$SELECT migrate.unregister('001')$$, '55000',
				 'cannot unregister migration default 001 "create users" because it is applied',
				 'unregistering an applied migration is refused');
SELECT throws_ok($$SELECT migrate.unregister('1.0', 'deps')$$, '2BP01', NULL,
				 'unregistering a migration that another requires is refused');
SELECT throws_ok($$SELECT migrate.unregister('001')$$, '55000', NULL,
				 'applied and required: refused as applied');
SELECT throws_ok($$SELECT migrate.unregister(NULL)$$, '22004',
				 'argument "version" of migrate.unregister() must not be null',
				 'unregister: NULL version is refused');
SELECT throws_ok($$SELECT migrate.unregister('001', NULL)$$, '22004',
				 'argument "project" of migrate.unregister() must not be null',
				 'unregister: NULL project is refused');
SELECT throws_ok($$SELECT migrate.unregister('1.')$$, '22P02',
				 'invalid input syntax for type migrate.version: "1."',
				 'unregister: an invalid version is refused');
SELECT throws_ok($$SELECT migrate.unregister('001', 'Default')$$, '22023',
				 'invalid project name "Default"',
				 'unregister: an invalid project is refused');

\set VERBOSITY default
SELECT migrate.unregister('001');
SELECT migrate.unregister('1.1', 'deps');

SELECT is(catalog_state(), :'before_errors',
		  'refused unregistrations change nothing');

-- Once what requires it is gone, it can go.
SELECT lives_ok($$SELECT migrate.unregister('2.0', 'deps')$$, 'deps 2.0 is unregistered');
SELECT lives_ok($$SELECT migrate.unregister('1.1', 'deps')$$, 'then deps 1.1');
SELECT lives_ok($$SELECT migrate.unregister('1.00', 'deps')$$, 'then deps 1.0 (as 1.00)');

-- Applied, reverted (pending again), unregistered: the history keeps both
-- events.
SELECT is(migrate.register('005', 'create orders',
		  'CREATE TABLE orders (id bigint PRIMARY KEY)', down => 'DROP TABLE orders'),
		  'registered', 'default 005 is registered again');
SELECT version, action, status FROM migrate.run(project => 'default');
SELECT version, action, status FROM migrate.rollback();
SELECT lives_ok($$SELECT migrate.unregister('005')$$,
				'a reverted migration is pending and can be unregistered');
SELECT results_eq($$SELECT version::text, name, action, status FROM migrate.history
					WHERE version::text = '005' ORDER BY id$$,
				  $$VALUES ('005', 'create orders', 'up', 'ok'),
						   ('005', 'create orders', 'down', 'ok')$$,
				  'the history of an unregistered migration is kept');
SELECT is(count(*), 0::bigint, 'and 005 is not registered')
FROM migrate.migrations WHERE version::text = '005';

SELECT * FROM finish();

\c contrib_regression
DROP DATABASE migrate_test_register;
DROP ROLE regress_register_owner, regress_register_member, regress_register_other;
