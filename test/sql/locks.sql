--
-- migrate.locks() (README.md, "Hazards"): the locks each statement of the
-- pending migrations really takes, measured in a dry run, against the
-- lock modes PostgreSQL documents for each statement family; rewrites
-- (relfilenode changed); no trace left; a lock held by another backend
-- makes it fail after lock_timeout, naming that backend.
--
CREATE DATABASE migrate_test_locks;
\c migrate_test_locks
SET client_min_messages = warning;
CREATE EXTENSION pgtap;
CREATE EXTENSION migrate;
CREATE EXTENSION dblink;
RESET client_min_messages;

SELECT plan(9);

CREATE TABLE customers (id bigint PRIMARY KEY, name text);
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint, qty integer,
					 note varchar(10));
INSERT INTO customers SELECT g, 'c' || g FROM generate_series(1, 100) AS g;
INSERT INTO orders SELECT g, g % 100 + 1, g, 'n' FROM generate_series(1, 1000) AS g;
CREATE INDEX orders_qty ON orders (qty);

-- One project per statement family: each locks() call is its own dry run.
SET migrate.lint = off;
SET client_min_messages = warning;
SELECT migrate.register('1', s, s, project => p)
FROM (VALUES
	('type_bigint', 'ALTER TABLE orders ALTER COLUMN qty TYPE bigint'),
	('type_varchar', 'ALTER TABLE orders ALTER COLUMN note TYPE varchar(20)'),
	('add_column', 'ALTER TABLE orders ADD COLUMN flag boolean'),
	('add_volatile', 'ALTER TABLE orders ADD COLUMN r float8 DEFAULT random()'),
	('create_index', 'CREATE INDEX orders_customer ON orders (customer_id)'),
	('drop_index', 'DROP INDEX orders_qty'),
	('foreign_key', 'ALTER TABLE orders ADD FOREIGN KEY (customer_id) REFERENCES customers NOT VALID'),
	('check_valid', 'ALTER TABLE orders ADD CONSTRAINT qty_pos CHECK (qty > 0)'),
	('update', 'UPDATE orders SET qty = qty + 1 WHERE id = 1'),
	('lock_share', 'LOCK TABLE orders IN SHARE MODE'),
	('select', 'SELECT count(*) FROM orders'),
	('set_not_null', 'ALTER TABLE orders ALTER COLUMN qty SET NOT NULL')) AS t(p, s);
SELECT migrate.register('1', 'concurrently', 'CREATE INDEX CONCURRENTLY orders_note ON orders (note)',
						transactional => NULL, project => 'concurrent');
-- The safe unique pattern: a non-transactional index build, then a
-- migration that needs the index; from the first non-transactional
-- migration on, nothing runs and the rows are PostgreSQL's rules.
SELECT migrate.register('1', 'unique index', 'CREATE UNIQUE INDEX CONCURRENTLY orders_id_u ON orders (id)',
						transactional => NULL, project => 'safe_unique');
SELECT migrate.register('2', 'unique constraint', 'ALTER TABLE orders ADD CONSTRAINT orders_id_uc UNIQUE USING INDEX orders_id_u',
						project => 'safe_unique');
RESET client_min_messages;
RESET migrate.lint;

CREATE TEMP TABLE before_history AS SELECT count(*) AS n FROM migrate.history;
CREATE TEMP TABLE before_relations AS
	SELECT oid, relfilenode FROM pg_class WHERE relnamespace = 'public'::regnamespace;

-- Every family: the locks, whether the relation was rewritten, and that
-- it was timed (not run: NULL).
SET client_min_messages = warning;
SELECT p AS project, l.version, l.statement, l.relation, l.mode, l.rewritten,
	   l.duration_ms IS NOT NULL AS timed
FROM unnest('{type_bigint,type_varchar,add_column,add_volatile,create_index,drop_index,foreign_key,check_valid,update,lock_share,select,set_not_null,concurrent,safe_unique}'::text[])
	 WITH ORDINALITY AS u(p, ord),
	 LATERAL migrate.locks(p) AS l
ORDER BY u.ord, l.version, l.statement, l.relation::text, l.mode;
RESET client_min_messages;

SELECT is((SELECT rewritten FROM migrate.locks('type_bigint') WHERE relation = 'orders'::regclass
		   AND mode = 'AccessExclusiveLock'),
		  true, 'int to bigint rewrites the table (its relfilenode changed)');
SELECT is((SELECT rewritten FROM migrate.locks('type_varchar') WHERE relation = 'orders'::regclass
		   AND mode = 'AccessExclusiveLock'),
		  false, 'varchar(10) to varchar(20) does not');
SELECT is((SELECT rewritten FROM migrate.locks('add_volatile') WHERE relation = 'orders'::regclass
		   AND mode = 'AccessExclusiveLock'),
		  true, 'a column added with a volatile default rewrites it');
SELECT is((SELECT lock_mode FROM migrate.lint('check_valid')),
		  (SELECT mode FROM migrate.locks('check_valid') WHERE relation = 'orders'::regclass),
		  'lint() and locks() agree on the lock of ADD CHECK');

-- No trace.
SELECT is((SELECT count(*) FROM migrate.status() WHERE state <> 'pending'), 0::bigint,
		  'every migration is still pending');
SELECT is((SELECT count(*) FROM migrate.history), (SELECT n FROM before_history),
		  'the history has no row of the dry runs');
SELECT set_eq($$SELECT oid, relfilenode FROM pg_class WHERE relnamespace = 'public'::regnamespace$$,
			  $$SELECT oid, relfilenode FROM before_relations$$,
			  'no relation was created, dropped or rewritten');

-- A lock held by another backend: locks() fails after lock_timeout (1 s
-- when the caller has none), naming the statement and the backend.
SELECT dblink_connect('holder', format('host=%s port=%s dbname=%s user=%s',
	coalesce(host(inet_server_addr()),
			 split_part(current_setting('unix_socket_directories'), ',', 1)),
	current_setting('port'), current_database(), current_user));
SELECT dblink_exec('holder', 'BEGIN; LOCK TABLE orders IN ACCESS EXCLUSIVE MODE');
SET lock_timeout = '200ms';
SELECT throws_ok($$SELECT * FROM migrate.locks('add_column')$$, '55P03',
				 'statement 1 of migration add_column 1 "ALTER TABLE orders ADD COLUMN flag boolean" could not get its lock within lock_timeout',
				 'a lock held elsewhere: 55P03 after lock_timeout, naming the statement');
CREATE FUNCTION pg_temp.lock_failure_detail() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	detail text;
BEGIN
	PERFORM * FROM migrate.locks('add_column');
	RETURN 'no error';
EXCEPTION WHEN lock_not_available THEN
	GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
	RETURN detail;
END
$$;
SELECT is(pg_temp.lock_failure_detail(),
		  format('Backend %s holds AccessExclusiveLock on relation "orders".',
				 (SELECT pid FROM dblink('holder', 'SELECT pg_backend_pid()') AS t(pid int))),
		  'and the detail names the backend that holds the lock');
RESET lock_timeout;
SELECT dblink_exec('holder', 'ROLLBACK');
SELECT dblink_disconnect('holder');

SELECT * FROM finish();

\c contrib_regression
DROP DATABASE migrate_test_locks;
