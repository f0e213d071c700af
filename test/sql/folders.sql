--
-- What migration folders need from register() (README.md, "Registering"):
-- transactional => NULL lets the parse tree decide, empty scripts are
-- explicit no-ops, a verify script runs right after up in its
-- transaction, and two spellings of one version with other content are
-- refused.
--
CREATE DATABASE migrate_test_folders;
\c migrate_test_folders
SET client_min_messages = warning;
CREATE EXTENSION pgtap;
CREATE EXTENSION migrate;
RESET client_min_messages;

SELECT plan(50);

CREATE TABLE items (id int, label text);
INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 10) AS g;

--
-- transactional => NULL: a statement that cannot run in a transaction
-- block, in up or in down, makes the migration non-transactional;
-- otherwise it is transactional.  An explicit true still refuses one.
--
SELECT is(migrate.register('1', 'plain', 'CREATE TABLE plain (id int)',
						   down => 'DROP TABLE plain', transactional => NULL),
		  'registered', 'a plain migration registers with transactional => NULL');
SELECT is(migrate.register('2', 'index', 'CREATE INDEX CONCURRENTLY items_id ON items (id)',
						   down => 'DROP INDEX items_id', transactional => NULL),
		  'registered', 'so does a concurrent index build');
SELECT is(migrate.register('3', 'drop index', 'SELECT 1',
						   down => 'DROP INDEX CONCURRENTLY IF EXISTS nothing_here',
						   transactional => NULL),
		  'registered', 'and a migration whose down drops an index concurrently');
SELECT results_eq(
	$$SELECT version::text, transactional FROM migrate.migrations ORDER BY version$$,
	$$VALUES ('1', true), ('2', false), ('3', false)$$,
	'the server decided: transactional unless a statement cannot run in a transaction block');
SELECT is(migrate.register('2', 'index', 'CREATE INDEX CONCURRENTLY items_id ON items (id)',
						   down => 'DROP INDEX items_id', transactional => NULL),
		  'unchanged', 'deciding again gives the same registration: unchanged');
SELECT is(migrate.register('2', 'index', 'CREATE INDEX CONCURRENTLY items_id ON items (id)',
						   down => 'DROP INDEX items_id', transactional => false),
		  'unchanged', 'and saying it explicitly is the same registration');
SELECT throws_ok($$SELECT migrate.register('4', 'forced', 'CREATE INDEX CONCURRENTLY i4 ON items (id)',
										   transactional => true)$$,
				 '25001', 'CREATE INDEX CONCURRENTLY cannot run inside a transaction block',
				 'an explicit transactional => true still refuses it');
SELECT throws_ok($$SELECT migrate.register('4', 'forced', 'CREATE INDEX CONCURRENTLY i4 ON items (id)')$$,
				 '25001', NULL, 'and so does the default (true)');
SELECT throws_ok($$SELECT migrate.register('4', 'tx', 'COMMIT', transactional => NULL)$$,
				 '2D000', NULL, 'transaction control is refused whatever decides');
SELECT migrate.unregister(v) FROM unnest('{1,2,3}'::text[]) AS v;

--
-- Empty scripts: registered with a NOTICE (only when the registration is
-- new or changes), applied and reverted as no-ops, listed by validate()
-- as info.  An empty down reverts nothing; a NULL down cannot revert.
--
SELECT is(migrate.register('10', 'empty up', E'-- only needed on another database\n;',
						   down => ''),
		  'registered', 'an empty up and an empty down register');
SELECT is(migrate.register('10', 'empty up', '/* nothing */', down => ' ; '),
		  'unchanged', 'another spelling of nothing is the same registration');
SELECT is(migrate.register('11', 'real', 'CREATE TABLE real_one (id int)',
						   down => '-- nothing to undo'),
		  'registered', 'a real up with an empty down registers');
SELECT is(migrate.register('12', 'no down', 'CREATE TABLE no_down (id int)'),
		  'registered', 'and one without a down');
-- As psql shows them:
SELECT migrate.register('13', 'placeholder', '-- later', down => '-- later');
SELECT migrate.unregister('13');

SELECT results_eq(
	$$SELECT version::text, problem, detail FROM migrate.validate()
	  WHERE problem = 'empty script'$$,
	$$VALUES ('10', 'empty script', 'Migration default 10 "empty up" has an empty up script: applying it changes nothing.'),
			 ('10', 'empty script', 'Migration default 10 "empty up" has an empty down script: reverting it changes nothing.'),
			 ('11', 'empty script', 'Migration default 11 "real" has an empty down script: reverting it changes nothing.')$$,
	'validate() lists every empty script, as info');
SELECT is((SELECT DISTINCT severity FROM migrate.validate() WHERE problem = 'empty script'),
		  'info', 'with severity info');
BEGIN;
SELECT migrate.register_repeatable('nothing yet', '-- later');
SELECT is((SELECT detail FROM migrate.validate() WHERE problem = 'empty script' AND version IS NULL),
		  'Migration default repeatable "nothing yet" has an empty script: applying it changes nothing.',
		  'an empty repeatable script is listed too');
ROLLBACK;

SELECT results_eq(
	$$SELECT version::text, status FROM migrate.run() ORDER BY version$$,
	$$VALUES ('10', 'ok'), ('11', 'ok'), ('12', 'ok')$$,
	'run() applies the empty migration like any other');
SELECT results_eq(
	$$SELECT version::text, state FROM migrate.status() ORDER BY version$$,
	$$VALUES ('10', 'applied'), ('11', 'applied'), ('12', 'applied')$$,
	'all three are applied');
SELECT throws_ok($$SELECT * FROM migrate.rollback()$$, '55000', NULL,
				 'a NULL down cannot be reverted');
SELECT migrate.register('12', 'no down', 'CREATE TABLE no_down (id int)',
						down => 'DROP TABLE no_down');
SELECT results_eq(
	$$SELECT version::text, action, status FROM migrate.rollback_all('default') ORDER BY version DESC$$,
	$$VALUES ('12', 'down', 'ok'), ('11', 'down', 'ok'), ('10', 'down', 'ok')$$,
	'an empty down reverts: nothing is done, and the migration is pending again');
SELECT has_table('real_one', 'reverting with an empty down left what up made');
SELECT results_eq(
	$$SELECT version::text, state FROM migrate.status() ORDER BY version$$,
	$$VALUES ('10', 'pending'), ('11', 'pending'), ('12', 'pending')$$,
	'all are pending');
DROP TABLE real_one;
SELECT migrate.unregister(v) FROM unnest('{10,11,12}'::text[]) AS v;

--
-- Two spellings of one version: identical content is unchanged, other
-- content is refused (two files collided); the registered spelling stays.
--
SELECT is(migrate.register('0010', 'ten', 'SELECT 10'), 'registered', '0010 registers');
SELECT is(migrate.register('00010', 'ten', 'SELECT 10'), 'unchanged',
		  '00010 with the same content is the same registration');
SELECT throws_ok($$SELECT migrate.register('00010', 'ten', 'SELECT 11')$$,
				 '22023', 'version "00010" of project "default" is already registered as "0010" with other content',
				 '00010 with other content is refused, naming both spellings');
SELECT is(migrate.register('0010', 'ten', 'SELECT 11'), 'updated',
		  'under its registered spelling it changes');
SELECT is((SELECT version::text FROM migrate.migrations), '0010',
		  'and keeps that spelling');
SELECT migrate.unregister('10');

--
-- verify: run right after up in the same transaction, as the registrant;
-- if it raises, the migration fails and nothing of it stays.
--
SELECT is(migrate.register('20', 'add checked', 'CREATE TABLE checked (id int PRIMARY KEY)',
						   down => 'DROP TABLE checked',
						   verify => $$SELECT 'checked'::regclass$$),
		  'registered', 'a migration with a verify script registers');
SELECT is((SELECT verify FROM migrate.migrations WHERE version::text = '20'),
		  $$SELECT 'checked'::regclass$$, 'migrations shows the verify script');
SELECT is(migrate.register('20', 'add checked', 'CREATE TABLE checked (id int PRIMARY KEY)',
						   down => 'DROP TABLE checked',
						   verify => $$SELECT 'checked'::regclass$$),
		  'unchanged', 'the same verify script: unchanged');
SELECT is(migrate.register('21', 'fill checked',
						   'INSERT INTO checked SELECT id FROM items', down => 'DELETE FROM checked',
						   verify => $q$DO $v$ BEGIN
							   IF (SELECT count(*) FROM checked) <> 11 THEN
								   RAISE EXCEPTION 'checked has % rows, expected 11',
									   (SELECT count(*) FROM checked);
							   END IF;
						   END $v$$q$),
		  'registered', 'a verify script that will fail registers');
SET client_min_messages = warning;
SELECT results_eq(
	$$SELECT version::text, status, message FROM migrate.run(atomic => false) ORDER BY version$$,
	$$VALUES ('20', 'ok', NULL),
			 ('21', 'failed', 'checked has 10 rows, expected 11')$$,
	'run() applies 20 and fails 21 on its verify script');
RESET client_min_messages;
SELECT is((SELECT count(*) FROM checked), 0::bigint,
		  'nothing of the failed migration stays: its up was rolled back with it');
SELECT ok(strpos((SELECT context FROM migrate.history
				  WHERE version::text = '21' AND status = 'failed'),
				 E'\nstatement 1 of verify script of migration default 21 "fill checked", line 1\n') > 0,
		  'the history says it was the verify script');
SELECT is(migrate.register('21', 'fill checked',
						   'INSERT INTO checked SELECT id FROM items', down => 'DELETE FROM checked',
						   verify => $$SELECT 1 / (count(*) = 10)::int FROM checked$$),
		  'updated', 'a corrected verify script');
SELECT results_eq(
	$$SELECT version::text, status FROM migrate.run()$$,
	$$VALUES ('21', 'ok')$$,
	'and the migration applies');
SELECT is(migrate.register('21', 'fill checked',
						   'INSERT INTO checked SELECT id FROM items', down => 'DELETE FROM checked',
						   verify => $$SELECT 1 FROM checked LIMIT 1$$),
		  'updated', 'the verify script of an applied migration may change: it is not part of up');
SELECT is(migrate.register('21', 'fill checked',
						   'INSERT INTO checked SELECT id FROM items', down => 'DELETE FROM checked'),
		  'updated', 'and may be removed');
SELECT results_eq(
	$$SELECT version::text, status FROM migrate.rollback(2) ORDER BY version DESC$$,
	$$VALUES ('21', 'ok'), ('20', 'ok')$$,
	'rollback does not run verify scripts');

-- A dry run runs verify scripts too, and keeps nothing; under run() a
-- failing verify script fails the run with its own SQLSTATE, naming the
-- migration, with a CONTEXT naming the verify script.
SELECT migrate.register('23', 'checked twice', 'CREATE TABLE twice (id int)',
						down => 'DROP TABLE twice',
						verify => $$SELECT 1 / count(*)::int FROM twice$$);
SET client_min_messages = warning;
SELECT results_eq(
	$$SELECT version::text, status, message FROM migrate.run(dry_run => true) ORDER BY version$$,
	$$VALUES ('20', 'ok', NULL), ('21', 'ok', NULL), ('23', 'failed', 'division by zero')$$,
	'a dry run runs the verify scripts: 23''s fails');
RESET client_min_messages;
SELECT hasnt_table('twice', 'and keeps nothing');
SELECT * FROM migrate.run();
SELECT is(:'LAST_ERROR_SQLSTATE'::text, '22012', 'run() fails with the verify script''s SQLSTATE');
SELECT migrate.register('23', 'checked twice', 'CREATE TABLE twice (id int); INSERT INTO twice VALUES (1)',
						down => 'DROP TABLE twice',
						verify => $$SELECT 1 / count(*)::int FROM twice$$);

-- The verify script sees the session's settings, not those its up script
-- set: for a transactional migration, and for a non-transactional one.
SELECT migrate.register('24', 'settings, transactional',
	$$SET application_name = 'set by up'; SELECT 1$$, down => '',
	verify => $$SELECT 1 / (current_setting('application_name') <> 'set by up')::int$$);
SELECT migrate.register('25', 'settings, non-transactional',
	$$SET application_name = 'set by up'; CREATE INDEX CONCURRENTLY twice_id ON twice (id)$$,
	down => 'DROP INDEX CONCURRENTLY twice_id', transactional => NULL,
	verify => $$SELECT 1 / (current_setting('application_name') <> 'set by up')::int$$);
SET client_min_messages = warning;
CALL migrate.deploy();
RESET client_min_messages;
SELECT results_eq(
	$$SELECT version::text, state FROM migrate.status() WHERE version::text IN ('20', '21', '23', '24', '25') ORDER BY version$$,
	$$VALUES ('20', 'applied'), ('21', 'applied'), ('23', 'applied'), ('24', 'applied'), ('25', 'applied')$$,
	'the verify scripts of 24 and 25 do not see application_name as their up scripts set it');
SET client_min_messages = warning;
CALL migrate.deploy_rollback(3);
SELECT migrate.unregister(v) FROM unnest('{23,24,25}'::text[]) AS v;
RESET client_min_messages;

-- Checked at registration like up, always as transactional.
SELECT throws_ok($$SELECT migrate.register('22', 'v', 'SELECT 1', verify => 'SELEC 1')$$,
				 '42601', 'syntax error at or near "SELEC"',
				 'a syntax error in verify is refused');
SELECT throws_ok($$SELECT migrate.register('22', 'v', 'SELECT 1', verify => 'ROLLBACK')$$,
				 '2D000', NULL, 'transaction control in verify is refused');
SELECT throws_ok($$SELECT migrate.register('22', 'v', 'CREATE INDEX CONCURRENTLY i22 ON items (id)',
										   transactional => false,
										   verify => 'VACUUM items')$$,
				 '25001', 'VACUUM cannot run inside a transaction block',
				 'verify runs in a transaction, even for a non-transactional migration');
-- As psql shows it:
SELECT migrate.register('22', 'v', 'CREATE INDEX CONCURRENTLY i22 ON items (id)',
						transactional => false, verify => 'VACUUM items');
-- As psql shows it:
SELECT migrate.register('22', 'v', 'SELECT 1', verify => E'SELECT 1;\nSELEC 2');

--
-- The deploy procedure runs verify scripts too: after a transactional
-- migration's up in its transaction, and after a non-transactional
-- migration's last statement in the transaction that records it applied.
-- A failed verify of a non-transactional migration keeps its statements
-- done: the next deploy runs the verify script again, and only that.
--
SELECT migrate.register('30', 'index checked', 'CREATE INDEX CONCURRENTLY checked_id ON checked (id)',
						down => 'DROP INDEX CONCURRENTLY checked_id', transactional => NULL,
						verify => $$SELECT 1 / (count(*) = 1)::int FROM checked$$);
SET client_min_messages = warning;
CALL migrate.deploy(target => '20', project => 'default');
\set ON_ERROR_STOP 0
CALL migrate.deploy();
\set ON_ERROR_STOP 1
RESET client_min_messages;
SELECT results_eq(
	$$SELECT version::text, state FROM migrate.status() ORDER BY version$$,
	$$VALUES ('20', 'applied'), ('21', 'applied'), ('30', 'failed')$$,
	'the deploy fails 30 on its verify script (checked has 10 rows, not 1)');
SELECT is((SELECT indisvalid FROM pg_index WHERE indexrelid = 'checked_id'::regclass), true,
		  'its statement is done and committed: the index exists');
DELETE FROM checked;
INSERT INTO checked VALUES (1);
SELECT is(migrate.register('30', 'index checked', 'CREATE INDEX CONCURRENTLY checked_id ON checked (id)',
						   down => 'DROP INDEX CONCURRENTLY checked_id', transactional => NULL,
						   verify => $$SELECT 1 / (count(*) = 1)::int FROM checked$$),
		  'unchanged', 'the same registration');
CALL migrate.deploy();
SELECT results_eq(
	$$SELECT version::text, state FROM migrate.status() ORDER BY version$$,
	$$VALUES ('20', 'applied'), ('21', 'applied'), ('30', 'applied')$$,
	'the next deploy runs only the verify script, which now holds');

SELECT * FROM finish();

\c contrib_regression
DROP DATABASE migrate_test_folders;
