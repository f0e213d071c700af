--
-- migrate.adopt(tool, project, history) (README.md, "Coming from another
-- tool"): each tool's history table, created with the DDL the tool itself
-- issues and filled as the tool fills it; what adopt marks applied, with
-- the peer's time and user; its refusals (failed or dirty history, an
-- unregistered version, a Flyway checksum that does not match), which
-- adopt nothing; and run() afterwards applying only what the peer had not.
--
CREATE DATABASE migrate_test_adopt;
\c migrate_test_adopt
SET client_min_messages = warning;
CREATE EXTENSION pgtap;
CREATE EXTENSION migrate;
RESET client_min_messages;

SELECT plan(48);

-- How many migrations adopt() has marked, in all.
CREATE FUNCTION adopted() RETURNS bigint LANGUAGE sql AS $$
	SELECT count(*) FROM migrate.history WHERE action = 'adopt'
$$;

--
-- Flyway.  The table as Flyway 13 creates it (PostgreSQLDatabase.java),
-- the rows as it writes them.  Registered: the files' exact text.
--
CREATE TABLE "public"."flyway_schema_history" (
    "installed_rank" INT NOT NULL,
    "version" VARCHAR(50),
    "description" VARCHAR(200) NOT NULL,
    "type" VARCHAR(20) NOT NULL,
    "script" VARCHAR(1000) NOT NULL,
    "checksum" INTEGER,
    "installed_by" VARCHAR(100) NOT NULL,
    "installed_on" TIMESTAMP NOT NULL DEFAULT now(),
    "execution_time" INTEGER NOT NULL,
    "success" BOOLEAN NOT NULL
);
ALTER TABLE "public"."flyway_schema_history" ADD CONSTRAINT "flyway_schema_history_pk" PRIMARY KEY ("installed_rank");
CREATE INDEX "flyway_schema_history_s_idx" ON "public"."flyway_schema_history" ("success");

-- What Flyway did to the schema.
CREATE TABLE person (id INT PRIMARY KEY, name VARCHAR(100), email TEXT);
CREATE VIEW person_v AS SELECT id, name FROM person;

SET client_min_messages = warning;
SELECT migrate.register('1', 'create person',
	E'CREATE TABLE person (\r\n    id INT PRIMARY KEY,\r\n    name VARCHAR(100)\r\n);\r\n', project => 'fly');
SELECT migrate.register('1.1', 'add email', E'ALTER TABLE person ADD COLUMN email TEXT;\n',
						project => 'fly');
SELECT migrate.register('1.2', 'add age', E'ALTER TABLE person ADD COLUMN age INT;\n',
						project => 'fly');
SELECT migrate.register('2', 'person by name', E'CREATE INDEX person_name ON person (name);\n',
						project => 'fly');
SELECT migrate.register('3', 'add note', E'ALTER TABLE person ADD COLUMN note TEXT;\n',
						project => 'fly');
SELECT migrate.register_repeatable('person view',
	E'CREATE OR REPLACE VIEW person_v AS SELECT id, name FROM person;\n', project => 'fly');
RESET client_min_messages;
CREATE INDEX person_name ON person (name);

INSERT INTO flyway_schema_history VALUES
	(1, '1', 'create person', 'SQL', 'V1__create_person.sql', -1586587850, 'flyway_user', '2024-01-15 10:00:00', 12, true),
	(2, '1.1', 'add email', 'SQL', 'V1_1__add_email.sql', 1488133532, 'flyway_user', '2024-01-16 10:00:00', 5, true),
	(3, '1.2', 'add age', 'SQL', 'V1_2__add_age.sql', 1111, 'flyway_user', '2024-01-17 10:00:00', 5, true),
	(4, '1.2', 'add age', 'DELETE', 'V1_2__add_age.sql', 1111, 'flyway_user', '2024-01-18 10:00:00', 0, true),
	(5, NULL, 'person view', 'SQL', 'R__person_view.sql', 424242, 'flyway_user', '2024-01-19 10:00:00', 3, true),
	(6, NULL, 'person view', 'SQL', 'R__person_view.sql', -185111499, 'flyway_user', '2024-01-20 10:00:00', 3, true),
	(7, '2', 'person by name', 'JDBC', 'db.migration.V2__person_by_name', NULL, 'flyway_user', '2024-01-21 10:00:00', 8, true);

-- Refusals first: each leaves nothing adopted.
INSERT INTO flyway_schema_history VALUES
	(8, '3', 'add note', 'SQL', 'V3__add_note.sql', 5, 'flyway_user', '2024-01-22 10:00:00', 1, false);
SELECT throws_ok($$SELECT * FROM migrate.adopt('flyway', 'fly')$$, '55000',
	'history table "public.flyway_schema_history" records a failed migration',
	'a failed Flyway row is refused (55000)');
-- As psql shows it, naming the row:
\set VERBOSITY default
SELECT * FROM migrate.adopt('flyway', 'fly');
\set VERBOSITY terse
DELETE FROM flyway_schema_history WHERE installed_rank = 8;
INSERT INTO flyway_schema_history VALUES
	(8, '4', 'add phone', 'SQL', 'V4__add_phone.sql', 5, 'flyway_user', '2024-01-22 10:00:00', 1, true);
SELECT throws_ok($$SELECT * FROM migrate.adopt('flyway', 'fly')$$, '42704',
	'history table "public.flyway_schema_history" lists version 4, which is not registered in project "fly"',
	'a version that is not registered is refused (42704)');
DELETE FROM flyway_schema_history WHERE installed_rank = 8;
UPDATE flyway_schema_history SET checksum = 1488133533 WHERE installed_rank = 2;
SELECT throws_ok($$SELECT * FROM migrate.adopt('flyway', 'fly')$$, '55000',
	'migration fly 1.1 "add email" does not match the file Flyway applied',
	'a checksum that does not match the registered up is refused (55000)');
-- As psql shows it:
\set VERBOSITY default
SELECT * FROM migrate.adopt('flyway', 'fly');
\set VERBOSITY terse
UPDATE flyway_schema_history SET checksum = 1488133532 WHERE installed_rank = 2;
SELECT is(adopted(), 0::bigint, 'the refusals adopted nothing');

SELECT results_eq(
	$$SELECT project, version::text, name, applied_at, applied_by::text COLLATE "default"
	  FROM migrate.adopt('flyway', 'fly')$$,
	$$VALUES ('fly', '1', 'create person', '2024-01-15 10:00:00'::timestamptz, 'flyway_user'),
			 ('fly', '1.1', 'add email', '2024-01-16 10:00:00', 'flyway_user'),
			 ('fly', '2', 'person by name', '2024-01-21 10:00:00', 'flyway_user'),
			 ('fly', NULL, 'person view', '2024-01-20 10:00:00', 'flyway_user')$$,
	'adopt(flyway) marks applied what Flyway applied: not 1.2 (deleted by repair), with Flyway''s time and user');
SELECT results_eq(
	$$SELECT version::text, name, state FROM migrate.status('fly')$$,
	$$VALUES ('1', 'create person', 'applied'), ('1.1', 'add email', 'applied'),
			 ('1.2', 'add age', 'pending'), ('2', 'person by name', 'applied'),
			 ('3', 'add note', 'pending'), (NULL, 'person view', 'applied')$$,
	'status() shows them applied');
SELECT results_eq(
	$$SELECT action, status, role::text COLLATE "default", started_at, message FROM migrate.history
	  WHERE project = 'fly' ORDER BY id LIMIT 1$$,
	$$VALUES ('adopt', 'ok', 'flyway_user', '2024-01-15 10:00:00'::timestamptz,
			  'public.flyway_schema_history installed_rank 1; adopted by ' || current_user::text COLLATE "default")$$,
	'the history says adopt, with Flyway''s user and time and the row it came from');
SELECT is_empty($$SELECT * FROM migrate.adopt('flyway', 'fly')$$,
				'adopting again adopts nothing');
SET client_min_messages = warning;
SELECT results_eq(
	$$SELECT version::text, name, action FROM migrate.run(project => 'fly', out_of_order => true)$$,
	$$VALUES ('1.2', 'add age', 'up'), ('3', 'add note', 'up')$$,
	'run() then applies only what Flyway had not (the repeatable is up to date)');
RESET client_min_messages;

-- A baseline covers every version at or below it; a repeatable Flyway
-- applied with another script is adopted outdated, and run() applies it
-- again; a history elsewhere is named by history.
CREATE SCHEMA fb;
CREATE TABLE fb.flyway_schema_history (LIKE public.flyway_schema_history INCLUDING ALL);
INSERT INTO fb.flyway_schema_history VALUES
	(1, '2', '<< Flyway Baseline >>', 'BASELINE', '<< Flyway Baseline >>', NULL, 'dba', '2024-02-01 09:00:00', 0, true),
	(2, '3', 'three', 'SQL', 'V3__three.sql', 914641374, 'deployer', '2024-02-02 09:00:00', 1, true),
	(3, NULL, 'report', 'SQL', 'R__report.sql', 99, 'deployer', '2024-02-03 09:00:00', 1, true),
	(4, '5', 'five', 'SQL', 'V5__five.sql', 777, 'deployer', '2024-02-04 09:00:00', 1, true);
SET client_min_messages = warning;
SELECT migrate.register(v, 'v' || v, 'SELECT ' || v, project => 'fbase')
FROM unnest('{1,2,4}'::text[]) AS v;
SELECT migrate.register('3', 'three', E'SELECT 3;\n', project => 'fbase');
-- placeholders substituted by migrate-bundle: its first line keeps Flyway's checksum
SELECT migrate.register('5', 'five',
	E'-- migrate-bundle: Flyway checksum 777 (placeholders substituted)\nSELECT 5;\n',
	project => 'fbase');
SELECT migrate.register_repeatable('report', 'CREATE OR REPLACE VIEW report AS SELECT 1 AS x',
								   project => 'fbase');
RESET client_min_messages;
SELECT throws_ok($$SELECT * FROM migrate.adopt('flyway', 'nothing_here', 'public.no_such_table')$$,
				 '42P01', NULL, 'a history table that does not exist is 42P01');
SELECT results_eq(
	$$SELECT version::text, name, applied_by::text COLLATE "default" FROM migrate.adopt('flyway', 'fbase',
		history => 'fb.flyway_schema_history')$$,
	$$VALUES ('1', 'v1', 'dba'), ('2', 'v2', 'dba'), ('3', 'three', 'deployer'),
			 ('5', 'five', 'deployer'), (NULL, 'report', 'deployer')$$,
	'a baseline covers 1 and 2; 3 matches its checksum, 5 the checksum migrate-bundle kept');
SELECT results_eq(
	$$SELECT problem FROM migrate.validate('fbase') WHERE severity = 'info' AND version IS NULL$$,
	$$VALUES ('outdated')$$,
	'the repeatable, applied by Flyway with another script, is outdated');
SET client_min_messages = warning;
SELECT results_eq(
	$$SELECT version::text, name, action FROM migrate.run(project => 'fbase', out_of_order => true)$$,
	$$VALUES ('4', 'v4', 'up'), (NULL, 'report', 'repeat')$$,
	'run() applies 4 and the repeatable again');
RESET client_min_messages;

-- Latest row wins, however often a version was undone and applied again;
-- a SCHEMA row is a marker; a baseline migration (B script) is applied and
-- covers what is below it.
CREATE SCHEMA fu;
CREATE TABLE fu.flyway_schema_history (LIKE fb.flyway_schema_history INCLUDING ALL);
INSERT INTO fu.flyway_schema_history VALUES
	(0, NULL, '<< Flyway Schema Creation >>', 'SCHEMA', '"fu"', NULL, 'dba', '2024-03-01 09:00:00', 0, true),
	(1, '2', 'b two', 'SQL_BASELINE', 'B2__b_two.sql', NULL, 'dba', '2024-03-01 09:00:01', 1, true),
	(2, '3', 'three', 'SQL', 'V3__three.sql', NULL, 'dba', '2024-03-01 09:00:02', 1, true),
	(3, '3', 'three', 'UNDO_SQL', 'U3__three.sql', NULL, 'dba', '2024-03-01 09:00:03', 1, true),
	(4, '3', 'three', 'SQL', 'V3__three.sql', NULL, 'dba', '2024-03-01 09:00:04', 1, true),
	(5, '3', 'three', 'UNDO_SQL', 'U3__three.sql', NULL, 'dba', '2024-03-01 09:00:05', 1, true),
	(6, '4', 'four', 'SQL', 'V4__four.sql', NULL, 'dba', '2024-03-01 09:00:06', 1, true),
	(7, '4', 'four', 'UNDO_SQL', 'U4__four.sql', NULL, 'dba', '2024-03-01 09:00:07', 1, true),
	(8, '4', 'four', 'SQL', 'V4__four.sql', NULL, 'dba', '2024-03-01 09:00:08', 1, true);
SET client_min_messages = warning;
SELECT migrate.register(v, 'v' || v, 'SELECT ' || v, project => 'fundo')
FROM unnest('{1,2,3,4}'::text[]) AS v;
RESET client_min_messages;
SELECT results_eq(
	$$SELECT version::text, applied_at FROM migrate.adopt('flyway', 'fundo', 'fu.flyway_schema_history')$$,
	$$VALUES ('1', '2024-03-01 09:00:01'::timestamptz), ('2', '2024-03-01 09:00:01'),
			 ('4', '2024-03-01 09:00:08')$$,
	'a baseline migration covers 1 and 2; 3, undone last, is not adopted; 4, applied again last, is');

-- A row with a NULL where the tool writes none is refused, naming the
-- column (a history table can be any table).
CREATE TABLE fu.nulls (LIKE fb.flyway_schema_history);
ALTER TABLE fu.nulls ALTER COLUMN success DROP NOT NULL;
INSERT INTO fu.nulls VALUES (1, '1', 'v1', 'SQL', 'V1__v1.sql', NULL, 'dba', now(), 1, NULL);
SELECT throws_ok($$SELECT * FROM migrate.adopt('flyway', 'fundo', 'fu.nulls')$$, '22004',
	'history table "fu.nulls" has a NULL in column "success"',
	'a NULL where Flyway writes none is refused (22004)');
SELECT throws_ok($$SELECT * FROM migrate.adopt('flyway', 'fundo', 987654321::oid::regclass)$$, '42P01',
	'relation with OID 987654321 does not exist',
	'a history table that no longer exists is 42P01');

--
-- golang-migrate: one row, version and dirty (postgres.go).
--
CREATE SCHEMA gm;
CREATE TABLE IF NOT EXISTS "gm"."schema_migrations" (version bigint not null primary key, dirty boolean not null);
SET client_min_messages = warning;
SELECT migrate.register(v, 'step ' || v, 'SELECT 1', project => 'gm')
FROM unnest('{20240101000000,20240102000000,20240103000000}'::text[]) AS v;
RESET client_min_messages;
INSERT INTO gm.schema_migrations (version, dirty) VALUES (20240102000000, true);
SELECT throws_ok($$SELECT * FROM migrate.adopt('golang-migrate', 'gm', 'gm.schema_migrations')$$,
				 '55000', 'history table "gm.schema_migrations" is dirty at version 20240102000000',
				 'a dirty golang-migrate history is refused (55000)');
TRUNCATE gm.schema_migrations;
INSERT INTO gm.schema_migrations (version, dirty) VALUES (20249999000000, false);
SELECT throws_ok($$SELECT * FROM migrate.adopt('golang-migrate', 'gm', 'gm.schema_migrations')$$,
				 '42704', NULL, 'a current version that is not registered is refused (42704)');
TRUNCATE gm.schema_migrations;
INSERT INTO gm.schema_migrations (version, dirty) VALUES (20240102000000, false);
SELECT results_eq(
	$$SELECT version::text FROM migrate.adopt('golang-migrate', 'gm', 'gm.schema_migrations')$$,
	$$VALUES ('20240101000000'), ('20240102000000')$$,
	'adopt(golang-migrate) marks applied every version at or below the current one');
SELECT is((SELECT role::text COLLATE "default" FROM migrate.history WHERE project = 'gm' LIMIT 1),
		  current_user::text,
		  'golang-migrate records no user: the history names the caller');
SET client_min_messages = warning;
SELECT results_eq($$SELECT version::text FROM migrate.run(project => 'gm')$$,
				  $$VALUES ('20240103000000')$$, 'run() applies the rest');
RESET client_min_messages;
TRUNCATE gm.schema_migrations;
SELECT is_empty($$SELECT * FROM migrate.adopt('golang-migrate', 'gm', 'gm.schema_migrations')$$,
				'an empty golang-migrate history adopts nothing');
INSERT INTO gm.schema_migrations (version, dirty) VALUES (-1, false);
SELECT is_empty($$SELECT * FROM migrate.adopt('golang-migrate', 'gm', 'gm.schema_migrations')$$,
				'nor does its "nothing applied" row (version -1)');
SELECT throws_ok($$SELECT * FROM migrate.adopt('dbmate', 'gm', 'gm.schema_migrations')$$, '42809',
	'table "gm.schema_migrations" is not a history table of dbmate',
	'golang-migrate''s table read as dbmate''s is refused (42809): both are schema_migrations');

--
-- dbmate: one row per applied version (postgres.go).
--
CREATE SCHEMA dbm;
create table if not exists dbm.schema_migrations (version varchar primary key);
SET client_min_messages = warning;
SELECT migrate.register(v, 'step ' || v, 'SELECT 1', down => '', project => 'dbm')
FROM unnest('{20240101000000,20240102000000,20240103000000}'::text[]) AS v;
RESET client_min_messages;
insert into dbm.schema_migrations (version) values ('20240101000000');
insert into dbm.schema_migrations (version) values ('20240103000000');
SELECT results_eq(
	$$SELECT version::text FROM migrate.adopt('dbmate', 'dbm', 'dbm.schema_migrations')$$,
	$$VALUES ('20240101000000'), ('20240103000000')$$,
	'adopt(dbmate) marks applied each version dbmate lists');
SELECT results_eq($$SELECT version::text, state FROM migrate.status('dbm')$$,
	$$VALUES ('20240101000000', 'applied'), ('20240102000000', 'pending'),
			 ('20240103000000', 'applied')$$,
	'and leaves the one it lacks pending');
insert into dbm.schema_migrations (version) values ('20240104000000');
SELECT throws_ok($$SELECT * FROM migrate.adopt('golang-migrate', 'dbm', 'dbm.schema_migrations')$$, '42809',
	'table "dbm.schema_migrations" is not a history table of golang-migrate',
	'and dbmate''s read as golang-migrate''s too');
SELECT throws_ok($$SELECT * FROM migrate.adopt('dbmate', 'dbm', 'dbm.schema_migrations')$$,
	'42704', 'history table "dbm.schema_migrations" lists version 20240104000000, which is not registered in project "dbm"',
	'a dbmate version that is not registered is refused (42704)');

--
-- Sqitch: the registry tables a deploy fills (pg.sql), one project with
-- a reworked change deployed twice.
--
CREATE SCHEMA IF NOT EXISTS sqitch;
CREATE TABLE sqitch.projects (
    project         TEXT        PRIMARY KEY,
    uri             TEXT            NULL UNIQUE,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    creator_name    TEXT        NOT NULL,
    creator_email   TEXT        NOT NULL
);
CREATE TABLE sqitch.changes (
    change_id       TEXT        PRIMARY KEY,
    script_hash     TEXT            NULL,
    change          TEXT        NOT NULL,
    project         TEXT        NOT NULL REFERENCES sqitch.projects(project) ON UPDATE CASCADE,
    note            TEXT        NOT NULL DEFAULT '',
    committed_at    TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    committer_name  TEXT        NOT NULL,
    committer_email TEXT        NOT NULL,
    planned_at      TIMESTAMPTZ NOT NULL,
    planner_name    TEXT        NOT NULL,
    planner_email   TEXT        NOT NULL,
    UNIQUE(project, script_hash)
);
INSERT INTO sqitch.projects (project, uri, creator_name, creator_email)
VALUES ('flipr', NULL, 'Marge N. Overa', 'marge@example.com');
INSERT INTO sqitch.changes (change_id, script_hash, change, project, note, committer_name, committer_email, planned_at, planner_name, planner_email, committed_at) VALUES
	('fe7ccdde16751ddfa900fbdd95c4fc095d6cd718', '5c4b2be44e4ed974a8268c671621c7a5904bd2b7', 'appschema', 'flipr', 'Add schema for all flipr objects.', 'Marge N. Overa', 'marge@example.com', '2024-01-15 10:00:00 +0000', 'Marge N. Overa', 'marge@example.com', '2024-01-15 10:00:01 +0000'),
	('ecf5ac197d3648e42f1970458cbe4ff839e285d9', 'b27ea29ca13d9398bedfbf684b9a6c21a322f2c1', 'users', 'flipr', 'Creates table to track our users.', 'Marge N. Overa', 'marge@example.com', '2024-01-15 10:05:00 +0000', 'Marge N. Overa', 'marge@example.com', '2024-01-15 10:05:01 +0000'),
	('ea652525eb120a13724082052ba9642cc77874ac', 'f190629fc0f9ac5f98a828ac97c2c1609bd84d48', 'users', 'flipr', 'Add email column to users.', 'Homer', 'homer@example.com', '2024-01-20 09:00:00 +0000', 'Marge N. Overa', 'marge@example.com', '2024-01-20 09:00:01 +0000');
SET client_min_messages = warning;
SELECT migrate.register('0001', 'appschema', 'SELECT 1', project => 'flipr');
SELECT migrate.register('0002', 'users', 'SELECT 2', project => 'flipr');
SELECT migrate.register('0003', 'widgets', 'SELECT 3', project => 'flipr');
SELECT migrate.register('0004', 'users', 'SELECT 4', project => 'flipr');
SELECT migrate.register('0005', 'users', 'SELECT 5', project => 'flipr');
RESET client_min_messages;
SELECT results_eq(
	$$SELECT version::text, name, applied_at, applied_by::text COLLATE "default"
	  FROM migrate.adopt('sqitch', 'flipr')$$,
	$$VALUES ('0001', 'appschema', '2024-01-15 10:00:01 +0000'::timestamptz, 'Marge N. Overa'),
			 ('0002', 'users', '2024-01-15 10:05:01 +0000', 'Marge N. Overa'),
			 ('0004', 'users', '2024-01-20 09:00:01 +0000', 'Homer')$$,
	'adopt(sqitch) matches deployed changes by name, a reworked change''s instances in plan order');
SELECT results_eq($$SELECT version::text, state FROM migrate.status('flipr')$$,
	$$VALUES ('0001', 'applied'), ('0002', 'applied'), ('0003', 'pending'),
			 ('0004', 'applied'), ('0005', 'pending')$$,
	'what Sqitch had not deployed stays pending');
INSERT INTO sqitch.changes (change_id, script_hash, change, project, note, committer_name, committer_email, planned_at, planner_name, planner_email) VALUES
	('0000000000000000000000000000000000000001', NULL, 'gadgets', 'flipr', '', 'Homer', 'homer@example.com', '2024-01-21 09:00:00 +0000', 'Homer', 'homer@example.com');
SELECT throws_ok($$SELECT * FROM migrate.adopt('sqitch', 'flipr')$$, '42704',
	'history table "sqitch.changes" lists change "gadgets", which is not registered in project "flipr"',
	'a Sqitch change that is not registered is refused (42704)');

DELETE FROM sqitch.changes WHERE change = 'gadgets';
INSERT INTO sqitch.projects (project, uri, creator_name, creator_email)
VALUES ('other', NULL, 'Homer', 'homer@example.com');
INSERT INTO sqitch.changes (change_id, script_hash, change, project, note, committer_name, committer_email, planned_at, planner_name, planner_email) VALUES
	('0000000000000000000000000000000000000002', NULL, 'elsewhere', 'other', '', 'Homer', 'homer@example.com', '2024-01-21 09:00:00 +0000', 'Homer', 'homer@example.com');
SELECT is_empty($$SELECT * FROM migrate.adopt('sqitch', 'flipr')$$,
	'with several Sqitch projects, the one named like the project is read (nothing new in it)');
SELECT throws_ok($$SELECT * FROM migrate.adopt('sqitch', 'node')$$, '22023',
	'Sqitch registry table "sqitch.changes" holds several projects, none of them named "node"',
	'and with none named like it, adopt refuses (22023)');

--
-- node-pg-migrate: one row per applied file (runner.ts).
--
CREATE TABLE "public"."pgmigrations" (id SERIAL PRIMARY KEY, name varchar(255) NOT NULL, run_on timestamp NOT NULL);
INSERT INTO "public"."pgmigrations" (name, run_on) VALUES ('1705312800000_create-person', '2024-01-15 10:00:00');
INSERT INTO "public"."pgmigrations" (name, run_on) VALUES ('1705741200000_add-email', '2024-01-20 09:00:00');
SET client_min_messages = warning;
SELECT migrate.register('1705312800000', 'create-person', 'SELECT 1', project => 'node');
SELECT migrate.register('1705741200000', 'add-email', 'SELECT 2', project => 'node');
SELECT migrate.register('1706000000000', 'add-phone', 'SELECT 3', project => 'node');
RESET client_min_messages;
SELECT results_eq(
	$$SELECT version::text, applied_at FROM migrate.adopt('node-pg-migrate', 'node')$$,
	$$VALUES ('1705312800000', '2024-01-15 10:00:00'::timestamptz),
			 ('1705741200000', '2024-01-20 09:00:00')$$,
	'adopt(node-pg-migrate) reads the version from each name, with run_on');
SET client_min_messages = warning;
SELECT results_eq($$SELECT version::text FROM migrate.run(project => 'node')$$,
				  $$VALUES ('1706000000000')$$, 'run() applies the rest');
RESET client_min_messages;
INSERT INTO "public"."pgmigrations" (name, run_on) VALUES ('create-table', now());
SELECT throws_ok($$SELECT * FROM migrate.adopt('node-pg-migrate', 'node')$$, '22023', NULL,
				 'a node-pg-migrate name without a version is refused (22023)');

--
-- What migrate itself attempted is not overwritten; requirements hold.
--
CREATE SCHEMA st;
create table if not exists st.schema_migrations (version varchar primary key);
SET client_min_messages = warning;
SELECT migrate.register('1', 'fails here', 'SELECT 1 / 0', project => 'st');
SELECT count(*) FROM migrate.run(project => 'st', atomic => false);
SELECT migrate.register('1', 'lib one', 'SELECT 1', project => 'lib');
SELECT migrate.register('1', 'needs lib', 'SELECT 1', requires => '{lib:1}', project => 'rq');
RESET client_min_messages;
insert into st.schema_migrations (version) values ('1');
SELECT throws_ok($$SELECT * FROM migrate.adopt('dbmate', 'st', 'st.schema_migrations')$$, '55000',
	'cannot adopt migration st 1 "fails here" because its last attempt failed',
	'a migration whose last attempt under migrate failed is not adopted (55000)');
SELECT throws_ok($$SELECT * FROM migrate.adopt('dbmate', 'rq', 'st.schema_migrations')$$, '55000',
	'cannot adopt migration rq 1 "needs lib" because it requires migration lib 1, which would not be applied',
	'nor one whose requirement is not applied (55000)');
SET client_min_messages = warning;
SELECT count(*) FROM migrate.run(project => 'lib');
RESET client_min_messages;
SELECT results_eq($$SELECT version::text, name FROM migrate.adopt('dbmate', 'rq', 'st.schema_migrations')$$,
	$$VALUES ('1', 'needs lib')$$, 'once it is applied, adopt goes ahead');

--
-- Arguments.
--
SELECT throws_ok($$SELECT * FROM migrate.adopt('liquibase')$$, '22023',
				 'unknown migration tool "liquibase"', 'an unknown tool is 22023');
SELECT throws_ok($$SELECT * FROM migrate.adopt(NULL)$$, '22004', NULL, 'a NULL tool is 22004');
SELECT throws_ok($$SELECT * FROM migrate.adopt('flyway', NULL)$$, '22004', NULL, 'a NULL project is 22004');
SELECT throws_ok($$SELECT * FROM migrate.adopt('dbmate', 'Bad Project')$$, '22023', NULL,
				 'an invalid project is 22023');
SELECT throws_ok($$SELECT * FROM migrate.adopt('golang-migrate')$$, '42P01',
				 'history table "schema_migrations" of golang-migrate does not exist',
				 'with no history table of the tool in the search_path: 42P01');
-- As psql shows it:
\set VERBOSITY default
SELECT * FROM migrate.adopt('golang-migrate');
\set VERBOSITY terse

-- The peer's table is read with the caller's privileges: a role granted
-- adopt() and SELECT on the table adopts; without SELECT, it cannot.
CREATE ROLE regress_adopt_user;
GRANT USAGE ON SCHEMA migrate TO regress_adopt_user;
GRANT EXECUTE ON FUNCTION migrate.adopt(text, text, regclass) TO regress_adopt_user;
CREATE SCHEMA ro;
create table if not exists ro.schema_migrations (version varchar primary key);
insert into ro.schema_migrations (version) values ('1');
SET client_min_messages = warning;
SELECT migrate.register('1', 'one', 'SELECT 1', project => 'ro');
SELECT migrate.register('2', 'two', 'SELECT 2', project => 'ro');
RESET client_min_messages;
SET ROLE regress_adopt_user;
SELECT throws_ok($$SELECT * FROM migrate.adopt('dbmate', 'ro', 'ro.schema_migrations')$$,
				 '42501', NULL, 'a caller who may not read the history table cannot adopt from it');
RESET ROLE;
GRANT USAGE ON SCHEMA ro TO regress_adopt_user;
GRANT SELECT ON ro.schema_migrations TO regress_adopt_user;
SET ROLE regress_adopt_user;
SELECT results_eq($$SELECT version::text, applied_by::text COLLATE "default"
				   FROM migrate.adopt('dbmate', 'ro', 'ro.schema_migrations')$$,
				  $$VALUES ('1', 'regress_adopt_user')$$,
				  'a role granted adopt() and SELECT on the table adopts, without privileges on migrate''s tables');
RESET ROLE;
SELECT is((SELECT message FROM migrate.history WHERE project = 'ro'),
		  'ro.schema_migrations version 1; adopted by regress_adopt_user',
		  'the history names the row and the role that adopted it');
SELECT is((SELECT state FROM migrate.status('ro') WHERE version::text = '2'), 'pending',
		  'what the table does not list stays pending');
DROP OWNED BY regress_adopt_user;
DROP ROLE regress_adopt_user;

SELECT * FROM finish();

\c contrib_regression
DROP DATABASE migrate_test_adopt;
