--
-- migrate.lint() (README.md, "Hazards"): each rule's unsafe statement and
-- its safe alternative, on tables with real rows (ANALYZEd) and on new and
-- empty ones; the statement, line, relation, size and the lock
-- PostgreSQL takes; allow comments; relations that do not exist yet; a
-- reader that works in a read-only transaction.
--
CREATE DATABASE migrate_test_lint;
\c migrate_test_lint
SET client_min_messages = warning;
CREATE EXTENSION pgtap;
CREATE EXTENSION migrate;
RESET client_min_messages;

SELECT plan(27);

CREATE TABLE customers (id bigint PRIMARY KEY, name text);
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint, qty integer,
					 note varchar(10), code varchar(10), placed timestamp,
					 amount numeric(10, 2));
CREATE TABLE empty_t (id bigint PRIMARY KEY, v text);
INSERT INTO customers SELECT g, 'c' || g FROM generate_series(1, 100) AS g;
INSERT INTO orders SELECT g, g % 100 + 1, g, 'n', 'c', now(), g
	FROM generate_series(1, 1000) AS g;
CREATE INDEX orders_qty ON orders (qty);
ANALYZE customers, orders, empty_t;
SET migrate.lint_big_rows = 500;

-- The findings at registration are below (policy); here lint() shows them.
SET migrate.lint = off;
SET client_min_messages = warning;
-- Rewrites, and the changes that do not rewrite.
SELECT migrate.register('01', 'types', $$
ALTER TABLE orders ALTER COLUMN qty TYPE bigint;
ALTER TABLE orders ALTER COLUMN note TYPE varchar(20);
ALTER TABLE orders ALTER COLUMN code TYPE text;
ALTER TABLE orders ALTER COLUMN amount TYPE numeric(12, 2);
ALTER TABLE orders ALTER COLUMN amount TYPE numeric(12, 4);
ALTER TABLE empty_t ALTER COLUMN id TYPE integer;
ALTER TABLE orders ALTER COLUMN code TYPE varchar(30) USING code;
ALTER TABLE orders ALTER COLUMN code TYPE varchar(40) USING code::varchar(40);
ALTER TABLE orders ALTER COLUMN code TYPE varchar(50) USING upper(code);
$$);
SELECT migrate.register('02', 'columns', $$
ALTER TABLE orders ADD COLUMN r double precision DEFAULT random();
ALTER TABLE orders ADD COLUMN created timestamptz DEFAULT now();
ALTER TABLE orders ADD COLUMN flag boolean NOT NULL;
ALTER TABLE orders ADD COLUMN flag2 boolean NOT NULL DEFAULT false;
ALTER TABLE orders ADD COLUMN seq bigserial;
ALTER TABLE orders SET UNLOGGED;
$$);
-- Indexes.
SELECT migrate.register('03', 'indexes', $$
CREATE INDEX orders_customer ON orders (customer_id);
CREATE INDEX empty_v ON empty_t (v);
-- migrate:allow index-not-concurrent
CREATE INDEX orders_note ON orders (note);
CREATE INDEX orders_code ON orders (code); -- migrate:allow index-not-concurrent
DROP INDEX orders_qty;
REINDEX TABLE orders;
ALTER TABLE orders ADD UNIQUE (id), ADD CHECK (qty > 0); -- migrate:allow unique-without-index
$$);
SELECT migrate.register('04', 'concurrent indexes', $$
CREATE INDEX CONCURRENTLY orders_placed ON orders (placed);
DROP INDEX CONCURRENTLY orders_placed;
VACUUM FULL orders;
$$, transactional => NULL);
-- Constraints.
SELECT migrate.register('05', 'constraints', $$
ALTER TABLE orders ADD CONSTRAINT orders_customer_fk
	FOREIGN KEY (customer_id) REFERENCES customers;
ALTER TABLE orders ADD CONSTRAINT orders_customer_fk2
	FOREIGN KEY (customer_id) REFERENCES customers NOT VALID;
ALTER TABLE orders VALIDATE CONSTRAINT orders_customer_fk2;
ALTER TABLE orders ADD CONSTRAINT qty_positive CHECK (qty > 0);
ALTER TABLE orders ALTER COLUMN customer_id SET NOT NULL;
ALTER TABLE orders ADD CONSTRAINT note_nn CHECK (note IS NOT NULL) NOT VALID;
ALTER TABLE orders VALIDATE CONSTRAINT note_nn;
ALTER TABLE orders ALTER COLUMN note SET NOT NULL;
ALTER TABLE orders ADD CONSTRAINT code_unique UNIQUE (code);
ALTER TABLE orders ADD CONSTRAINT code_unique2 UNIQUE USING INDEX orders_code;
$$);
-- What breaks running code, and locks.
SELECT migrate.register('06', 'breaking', $$
ALTER TABLE orders RENAME COLUMN placed TO placed_at;
ALTER TABLE customers RENAME TO clients;
ALTER TABLE orders DROP COLUMN amount;
DROP TABLE empty_t;
LOCK TABLE orders IN SHARE MODE;
UPDATE orders SET qty = qty + 1;
UPDATE orders SET qty = qty + 1 WHERE id = 1;
DELETE FROM customers;
$$);
-- New tables: created here or by an earlier pending migration, or not
-- existing yet, they are new and empty.
SELECT migrate.register('07', 'new table', $$
CREATE TABLE invoices (id serial PRIMARY KEY, title varchar(50), due timestamp);
CREATE INDEX invoices_title ON invoices (title);
ALTER TABLE invoices ALTER COLUMN id TYPE bigint;
ALTER TABLE not_yet ADD COLUMN x int NOT NULL;
CREATE TABLE lines (invoice_id bigint, n int, PRIMARY KEY (invoice_id, n));
$$);
SELECT migrate.register('08', 'on the new table', $$
ALTER TABLE invoices ADD COLUMN paid boolean NOT NULL;
CREATE INDEX invoices_due ON invoices (due);
$$);
RESET client_min_messages;
RESET migrate.lint;

-- Every finding, in order.
SELECT version, statement AS st, line, rule, severity, relation,
	   relation_rows AS rows, lock_mode
FROM migrate.lint() ORDER BY version, statement, rule;

-- Sizes are pg_class's.
SELECT results_eq(
	$$SELECT DISTINCT relation_rows, relation_bytes FROM migrate.lint()
	  WHERE relation = 'orders'::regclass$$,
	$$SELECT reltuples::bigint, relpages::bigint * current_setting('block_size')::bigint
	  FROM pg_class WHERE oid = 'orders'::regclass$$,
	'relation_rows and relation_bytes are pg_class''s estimates');
SELECT is((SELECT DISTINCT relation_rows FROM migrate.lint() WHERE relation = 'orders'::regclass),
		  1000::bigint, 'orders has its 1,000 rows');

-- Messages and hints, for one rule.
SELECT message, hint FROM migrate.lint() WHERE version::text = '01' AND statement = 1;

-- The lock modes are the server's: the same as a dry run takes.
SELECT is((SELECT lock_mode FROM migrate.lint() WHERE version::text = '05' AND statement = 1),
		  'ShareRowExclusiveLock', 'ADD FOREIGN KEY: ShareRowExclusiveLock (AlterTableGetLockLevel)');
BEGIN;
ALTER TABLE orders ADD CONSTRAINT probe_fk FOREIGN KEY (customer_id) REFERENCES customers NOT VALID;
SELECT is((SELECT mode FROM pg_locks WHERE relation = 'orders'::regclass
		   AND pid = pg_backend_pid() ORDER BY mode DESC LIMIT 1),
		  'ShareRowExclusiveLock', 'which is what the server takes for it');
ROLLBACK;
SELECT is((SELECT lock_mode FROM migrate.lint() WHERE version::text = '05' AND statement = 3),
		  NULL, 'VALIDATE CONSTRAINT is no finding');

-- Allowed rules are silent; others on the same statement are not.
SELECT is((SELECT count(*) FROM migrate.lint() WHERE version::text = '03' AND statement IN (3, 4)),
		  0::bigint, '-- migrate:allow above a statement or on its first line silences the rule');
SELECT results_eq($$SELECT rule FROM migrate.lint() WHERE version::text = '03' AND statement = 7$$,
				  $$VALUES ('constraint-not-valid')$$,
				  'and only the rules it names');

-- Only pending migrations: once applied, a migration is not linted.
SET client_min_messages = warning;
SELECT migrate.register('00', 'applied first', 'ALTER TABLE orders ALTER COLUMN id TYPE integer');
SELECT migrate.baseline('00');
RESET client_min_messages;
SELECT is((SELECT count(*) FROM migrate.lint() WHERE version::text = '00'), 0::bigint,
		  'an applied migration is not linted');
SELECT is((SELECT count(*) FROM migrate.lint('other')), 0::bigint,
		  'lint(project) lints that project only');
SELECT throws_ok($$SELECT * FROM migrate.lint('Not A Project')$$, '22023', NULL,
				 'an invalid project name is 22023');

-- A reader: in a read-only transaction, and it changes nothing.
BEGIN READ ONLY;
SELECT ok((SELECT count(*) FROM migrate.lint()) > 20, 'lint() works in a read-only transaction');
SELECT is((SELECT count(*) FROM pg_locks WHERE pid = pg_backend_pid()
		   AND locktype = 'relation' AND relation IN ('orders'::regclass, 'customers'::regclass)),
		  0::bigint, 'and takes no lock on the tables it looks at');
COMMIT;
SELECT is((SELECT count(*) FROM migrate.history), 1::bigint, 'lint() wrote nothing');

--
-- What only the catalog knows, and odd statements.
--
CREATE TABLE parts (id bigint, v int) PARTITION BY RANGE (id);
CREATE TABLE parts_1 PARTITION OF parts FOR VALUES FROM (0) TO (1000);
CREATE TABLE parts_2 PARTITION OF parts FOR VALUES FROM (1000) TO (2000);
INSERT INTO parts SELECT g, g FROM generate_series(0, 1999) AS g;
ANALYZE parts_1, parts_2;
CREATE DOMAIN posint AS int CHECK (VALUE > 0);
CREATE DOMAIN nnint AS int NOT NULL;
CREATE SCHEMA app;
CREATE TABLE app.big (id bigint, v int);
INSERT INTO app.big SELECT g, g FROM generate_series(1, 600) AS g;
ANALYZE app.big;
ALTER TABLE orders ADD CONSTRAINT qty_nn CHECK (qty IS NOT NULL) NOT VALID;
ALTER TABLE orders ADD CONSTRAINT code_pos CHECK (length(code) > 0);
SET migrate.lint = off;
SET client_min_messages = warning;
SELECT migrate.register('1', 'catalog', $$
ALTER TABLE parts ALTER COLUMN v TYPE bigint;
ALTER TABLE orders ADD COLUMN p posint;
ALTER TABLE orders ADD COLUMN nn nnint;
ALTER TABLE orders ADD COLUMN z int NOT NULL DEFAULT NULL;
ALTER TABLE orders ALTER COLUMN id SET NOT NULL;
ALTER TABLE orders VALIDATE CONSTRAINT qty_nn;
ALTER TABLE orders ALTER COLUMN qty SET NOT NULL;
ALTER TABLE orders ALTER COLUMN code SET NOT NULL;
CREATE TABLE IF NOT EXISTS customers (id bigint);
CREATE INDEX customers_name ON customers (name);
SET search_path = app, public;
CREATE INDEX big_v ON big (v);
ALTER TABLE orders ADD COLUMN u int UNIQUE;
ALTER TABLE orders SET LOGGED;
$$, project => 'cat');
SELECT migrate.register('1', 'odd', $$
ALTER TABLE orders ALTER COLUMN note TYPE varchar(0);
ALTER TABLE otherdb.public.orders ADD COLUMN x int NOT NULL;
DROP TABLE a.b.c.d;
VACUUM (FULL 2) orders;
ALTER TABLE IF EXISTS nothing_here ADD COLUMN x int NOT NULL;
ALTER TABLE ONLY orders ADD COLUMN y int NOT NULL;
ALTER INDEX orders_qty RENAME TO orders_qty2;
$$, transactional => NULL, project => 'odd');
SELECT migrate.register_repeatable('report', 'CREATE INDEX orders_r ON orders (qty)', project => 'odd');
RESET client_min_messages;
RESET migrate.lint;
SELECT version, statement AS st, line, rule, severity, relation, relation_rows AS rows, lock_mode
FROM migrate.lint('cat') ORDER BY statement, rule;
SELECT coalesce(version::text, name) AS migration, statement AS st, rule, severity, relation
FROM migrate.lint('odd') ORDER BY version NULLS LAST, statement, rule;
SELECT is((SELECT relation_rows FROM migrate.lint('cat') WHERE statement = 1), 2000::bigint,
		  'a partitioned table''s rows are its partitions''');
SELECT is((SELECT count(*) FROM migrate.lint('cat') WHERE statement IN (5, 7)), 0::bigint,
		  'SET NOT NULL on a column already NOT NULL, or with a CHECK (col IS NOT NULL) an earlier statement validates: no finding');
SELECT is((SELECT rule FROM migrate.lint('cat') WHERE statement = 8), 'set-not-null',
		  'a CHECK that allows NULL (length(code) > 0, like every CHECK a NULL passes) proves nothing');

--
-- Policy, migrate.lint: warn (the default) makes register() warn of each
-- error finding, once, when it registers or changes a migration; error
-- makes run() and deploy refuse a plan with one before anything runs;
-- off does neither.  Info findings never warn.
--
CREATE TABLE pol_t (id bigint, v int);
INSERT INTO pol_t SELECT g, g FROM generate_series(1, 50) AS g;
ANALYZE pol_t;
SELECT migrate.register('1', 'index pol_t', 'CREATE INDEX pol_v ON pol_t (v)', project => 'pol');
SELECT is(migrate.register('1', 'index pol_t', 'CREATE INDEX pol_v ON pol_t (v)', project => 'pol'),
		  'unchanged', 'registering it again: unchanged, and no WARNING');
SELECT migrate.register('2', 'empty index', 'CREATE INDEX pol_e ON empty_t (v)', project => 'pol');
SELECT migrate.register('3', 'allowed', E'-- migrate:allow index-not-concurrent\nCREATE INDEX pol_w ON pol_t (id)',
						project => 'pol');
SET migrate.lint = off;
SELECT migrate.register('4', 'quiet', 'ALTER TABLE pol_t ALTER COLUMN v TYPE bigint', project => 'pol');
SET migrate.lint = error;
SELECT throws_ok($$SELECT * FROM migrate.run(project => 'pol')$$, '55000',
				 'statement 1 of migration pol 1 "index pol_t" breaks lint rule "index-not-concurrent"',
				 'with migrate.lint = error, run() refuses the plan');
\set ON_ERROR_STOP 0
CALL migrate.deploy(project => 'pol');
\set ON_ERROR_STOP 1
SELECT is(:'LAST_ERROR_SQLSTATE'::text, '55000', 'and so does the deploy procedure');
SELECT is((SELECT count(*) FROM migrate.status('pol') WHERE state <> 'pending'), 0::bigint,
		  'nothing ran');
SELECT hasnt_index('pol_t', 'pol_v', 'not even the first migration');
SET migrate.lint = warn;
SET client_min_messages = warning;
SELECT results_eq($$SELECT version::text FROM migrate.run(project => 'pol')$$,
				  $$VALUES ('1'), ('2'), ('3'), ('4')$$,
				  'with migrate.lint = warn, run() applies them');
RESET client_min_messages;
SELECT throws_ok($$SET migrate.lint = 'loud'$$, '22023', NULL,
				 'migrate.lint takes off, warn or error');

-- An allow directive is part of the registration: adding one to a pending
-- migration updates it (another comment does not).
SET client_min_messages = warning;
SELECT migrate.register('5', 'index again', 'CREATE INDEX pol_i ON pol_t (id)', project => 'pol');
RESET client_min_messages;
SELECT is(migrate.register('5', 'index again', E'-- just a comment\nCREATE INDEX pol_i ON pol_t (id)',
						   project => 'pol'),
		  'unchanged', 'an ordinary comment changes nothing');
SELECT is(migrate.register('5', 'index again', E'-- migrate:allow index-not-concurrent\nCREATE INDEX pol_i ON pol_t (id)',
						   project => 'pol'),
		  'updated', 'an allow directive is a change: updated');
SELECT is((SELECT count(*) FROM migrate.lint('pol')), 0::bigint, 'and lint() honours it');
SELECT is(migrate.register('5', 'index again', E'CREATE INDEX pol_i ON pol_t (id) -- migrate:allow index-not-concurrent',
						   project => 'pol'),
		  'unchanged', 'the same directive at the end of the statement''s first line is the same registration');

SELECT * FROM finish();

\c contrib_regression
DROP DATABASE migrate_test_lint;
