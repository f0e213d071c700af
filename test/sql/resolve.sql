--
-- migrate.resolve(version, state, reason, project): the operator's audited
-- way out, for a migration a person fixed by hand.
--
-- Its arguments, the states it moves between (applied, pending, from
-- failed and interrupted too), the requirements it keeps, the history row
-- with the role and the reason, and what run() does afterwards.
--
CREATE DATABASE migrate_test_resolve;
\c migrate_test_resolve
SET client_min_messages = warning;
CREATE EXTENSION pgtap;
CREATE EXTENSION migrate;
RESET client_min_messages;

SELECT plan(20);

SET client_min_messages = warning;
SELECT migrate.register('1', 'one', $$CREATE TABLE one (id int)$$);
SELECT migrate.register('2', 'two needs one', $$CREATE TABLE two (id int)$$,
						requires => '{1}');
SELECT migrate.register('3', 'fails', $$SELECT 1 / 0$$);
SELECT count(*) FROM migrate.run(atomic => false);
RESET client_min_messages;

--
-- Arguments.
--
SELECT throws_ok($$SELECT migrate.resolve('3', 'done', 'fixed by hand')$$,
				 '22023', 'invalid state "done"', 'a state other than applied or pending is 22023');
SELECT throws_ok($$SELECT migrate.resolve('3', 'applied', '  ')$$,
				 '22023', 'a resolution needs a reason', 'a blank reason is 22023');
SELECT throws_ok($$SELECT migrate.resolve('3', 'applied', NULL)$$,
				 '22004', NULL, 'a NULL reason is 22004');
SELECT throws_ok($$SELECT migrate.resolve('9', 'applied', 'fixed')$$,
				 '42704', 'migration default 9 is not registered',
				 'an unregistered migration is 42704');
SELECT throws_ok($$SELECT migrate.resolve('1', 'applied', 'fixed')$$,
				 '55000', 'migration default 1 "one" is applied already',
				 'an applied migration cannot be resolved as applied');

--
-- A failed migration, fixed by hand, resolved as applied.
--
SELECT is((SELECT state FROM migrate.status() WHERE version::text = '3'), 'failed',
		  'migration 3 failed');
SELECT lives_ok($$SELECT migrate.resolve('3', 'applied', 'ran the fixed SQL by hand, ticket 42')$$,
				'a failed migration is resolved as applied');
SELECT results_eq(
	$$SELECT state, last_error FROM migrate.status() WHERE version::text = '3'$$,
	$$VALUES ('applied', NULL::text)$$,
	'it is applied, with no error left');
SELECT results_eq(
	$$SELECT action, status, role::text COLLATE "default", message, ran_as IS NULL
	  FROM migrate.history WHERE version::text = '3' ORDER BY id DESC LIMIT 1$$,
	$$VALUES ('resolve', 'ok', 'postgres', 'ran the fixed SQL by hand, ticket 42', true)$$,
	'the history keeps the resolution, the role and the reason');
SELECT is_empty($$SELECT * FROM migrate.run()$$, 'run() has nothing left to do');
SELECT is_empty($$SELECT * FROM migrate.validate() WHERE severity = 'error'$$,
				'validate() finds nothing wrong: the applied checksum is the registered one');

--
-- Requirements stay true.
--
SELECT throws_ok($$SELECT migrate.resolve('1', 'pending', 'dropped by hand')$$,
				 '2BP01',
				 'cannot mark migration default 1 "one" pending because applied migration default 2 "two needs one" requires it',
				 'a migration another applied one requires cannot become pending');
SET client_min_messages = warning;
SELECT migrate.register('1', 'base', $$CREATE TABLE base (id int)$$, project => 'other');
SELECT migrate.register('2', 'needs base', $$CREATE TABLE needs_base (id int)$$,
						requires => '{1}', project => 'other');
RESET client_min_messages;
SELECT throws_ok($$SELECT migrate.resolve('2', 'applied', 'made by hand', 'other')$$,
				 '55000',
				 'cannot mark migration other 2 "needs base" applied because it requires migration other 1, which is not applied',
				 'a migration cannot become applied before what it requires');
SET client_min_messages = warning;
SELECT count(*) FROM migrate.run(target => '1', project => 'other');
RESET client_min_messages;
SELECT lives_ok($$SELECT migrate.resolve('2', 'applied', 'made by hand', 'other')$$,
				'once what it requires is applied, it can be');

--
-- Applied, resolved as pending: run() applies it again.
--
SELECT lives_ok($$SELECT migrate.resolve('2', 'pending', 'dropped table two by hand')$$,
				'an applied migration is resolved as pending');
SELECT throws_ok($$SELECT migrate.resolve('2', 'pending', 'again')$$,
				 '55000', 'migration default 2 "two needs one" is pending already',
				 'a pending migration cannot be resolved as pending');
DROP TABLE two;
SET client_min_messages = warning;
SELECT results_eq($$SELECT version::text, status FROM migrate.run(project => 'default',
																	 out_of_order => true)$$,
				  $$VALUES ('2', 'ok')$$, 'run() applies it again');
RESET client_min_messages;
SELECT has_table('two', 'and its table is back');
SELECT results_eq(
	$$SELECT action, status FROM migrate.history WHERE version::text = '2' AND project = 'default'
	  ORDER BY id$$,
	$$VALUES ('up', 'ok'), ('resolve', 'ok'), ('up', 'ok')$$,
	'its history: applied, resolved as pending, applied again');

--
-- Privileges: a role needs EXECUTE on resolve().
--
CREATE ROLE regress_resolve_user;
GRANT USAGE ON SCHEMA migrate TO regress_resolve_user;
SET ROLE regress_resolve_user;
SELECT throws_ok($$SELECT migrate.resolve('1', 'applied', 'x', 'other')$$, '42501', NULL,
				 'without EXECUTE, resolve() is denied');
RESET ROLE;

SELECT * FROM finish();

\c contrib_regression
DROP DATABASE migrate_test_resolve;
DROP ROLE regress_resolve_user;
