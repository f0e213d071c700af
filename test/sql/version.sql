--
-- The migrate.version type: literals, natural ordering, indexes, hashing.
--
-- The last part checks the ordering on thousands of generated literals
-- against a reference implementation written in SQL.
--
CREATE DATABASE migrate_test_version;
\c migrate_test_version
SET client_min_messages = warning;
CREATE EXTENSION pgtap;
CREATE EXTENSION migrate;
RESET client_min_messages;

-- The comparison operators live in schema migrate; put it on the path,
-- as the README suggests.  A later part shows what works without it.
SET search_path = public, migrate;

SELECT plan(116);

--
-- Literals.  A version is kept and shown exactly as written.
--
SELECT v, v::text AS as_text
FROM (VALUES ('1.0.6-001'::migrate.version), ('20231201_001'),
			 ('V2__Add-users'), ('01.00-RC1'), ('0')) AS t(v);

SELECT is('01.00-RC1'::migrate.version::text, '01.00-RC1',
		  'output is the text as written');
SELECT is(pg_typeof('1.0'::migrate.version), 'migrate.version'::regtype,
		  'a version literal has type migrate.version');
SELECT lives_ok($$SELECT repeat('9', 255)::migrate.version$$,
				'a version may be 255 characters long');
SELECT is(migrate.version_send('1.0-rc1'), '\x312e302d726331'::bytea,
		  'binary output is the text');

-- Invalid literals fail with 22P02 and a detail naming the rule broken.
SELECT '1.'::migrate.version;
SELECT 'release 1'::migrate.version;

SELECT throws_ok($$SELECT ''::migrate.version$$, '22P02',
				 'invalid input syntax for type migrate.version: ""',
				 'the empty string is not a version');
SELECT throws_ok(format('SELECT %L::migrate.version', repeat('1', 256)),
				 '22P02',
				 format('invalid input syntax for type migrate.version: "%s"',
						repeat('1', 256)),
				 '256 characters are too many');
SELECT throws_ok($$SELECT '1 0'::migrate.version$$, '22P02',
				 'invalid input syntax for type migrate.version: "1 0"',
				 'a space is not allowed');
SELECT throws_ok($$SELECT ' 1.0'::migrate.version$$, '22P02',
				 'invalid input syntax for type migrate.version: " 1.0"',
				 'a leading space is not allowed');
SELECT throws_ok($$SELECT '1.0 '::migrate.version$$, '22P02',
				 'invalid input syntax for type migrate.version: "1.0 "',
				 'a trailing space is not allowed');
SELECT throws_ok($$SELECT '1/0'::migrate.version$$, '22P02',
				 'invalid input syntax for type migrate.version: "1/0"',
				 'a slash is not allowed');
SELECT throws_ok($$SELECT '1+0'::migrate.version$$, '22P02',
				 'invalid input syntax for type migrate.version: "1+0"',
				 'a plus sign is not allowed');
SELECT throws_ok($$SELECT 'v1.0é'::migrate.version$$, '22P02',
				 'invalid input syntax for type migrate.version: "v1.0é"',
				 'a non-ASCII letter is not allowed');
SELECT throws_ok($$SELECT E'1\n0'::migrate.version$$, '22P02',
				 E'invalid input syntax for type migrate.version: "1\n0"',
				 'a newline is not allowed');
SELECT throws_ok($$SELECT '1.'::migrate.version$$, '22P02',
				 'invalid input syntax for type migrate.version: "1."',
				 'a version cannot end with "."');
SELECT throws_ok($$SELECT '1.0-'::migrate.version$$, '22P02',
				 'invalid input syntax for type migrate.version: "1.0-"',
				 'a version cannot end with "-"');
SELECT throws_ok($$SELECT '1__'::migrate.version$$, '22P02',
				 'invalid input syntax for type migrate.version: "1__"',
				 'a version cannot end with "__"');
SELECT throws_ok($$SELECT '-1'::migrate.version$$, '22P02',
				 'invalid input syntax for type migrate.version: "-1"',
				 'a version cannot start with "-"');
SELECT throws_ok($$SELECT '.1'::migrate.version$$, '22P02',
				 'invalid input syntax for type migrate.version: ".1"',
				 'a version cannot start with "."');
SELECT throws_ok($$SELECT '_1'::migrate.version$$, '22P02',
				 'invalid input syntax for type migrate.version: "_1"',
				 'a version cannot start with "_"');
SELECT throws_ok($$SELECT '.'::migrate.version$$, '22P02',
				 'invalid input syntax for type migrate.version: "."',
				 'a lone separator is not a version');

-- The detail of each error, through the cast from text this time.
CREATE SCHEMA ref;
CREATE FUNCTION ref.input_error(literal text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	state text;
	detail text;
BEGIN
	PERFORM literal::migrate.version;
	RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE,
		detail = PG_EXCEPTION_DETAIL;
	RETURN state || ' ' || detail;
END
$$;

SELECT results_eq(
	$$SELECT ref.input_error(l)
	  FROM unnest(ARRAY['', repeat('a', 256), '1 0', 'v1.0é', '1/0', '1.',
						'-1', '.1', '1 .', '1.0'])
		   WITH ORDINALITY AS t(l, n)
	  ORDER BY n$$,
	$$VALUES ('22P02 A version cannot be empty.'),
			 ('22P02 A version is at most 255 characters long.'),
			 ('22P02 A version may contain only letters, digits, ".", "-" and "_".'),
			 ('22P02 A version may contain only letters, digits, ".", "-" and "_".'),
			 ('22P02 A version may contain only letters, digits, ".", "-" and "_".'),
			 ('22P02 A version must end with a letter or a digit.'),
			 ('22P02 A version must start with a letter or a digit.'),
			 ('22P02 A version must start with a letter or a digit.'),
			 ('22P02 A version may contain only letters, digits, ".", "-" and "_".'),
			 ('no error')$$,
	'each invalid version gets a detail naming the rule it breaks');

--
-- Natural ordering, as README.md ("Concepts", "Version") describes it.
--
SELECT ok('1.0.6-001'::migrate.version < '1.0.6-002', '1.0.6-001 < 1.0.6-002');
SELECT ok('1.0.6-002'::migrate.version < '1.0.10-001', '1.0.6-002 < 1.0.10-001');
SELECT ok('1.0.10-001'::migrate.version < '1.1.0-001', '1.0.10-001 < 1.1.0-001');
SELECT ok('9'::migrate.version < '10', '9 < 10 (as text, ''9'' > ''10'')');
SELECT ok('20231201_001'::migrate.version < '20231202_001',
		  '20231201_001 < 20231202_001');
SELECT ok('1.0'::migrate.version < '1.0.1', '1.0 < 1.0.1: a prefix sorts first');
SELECT ok('1.0'::migrate.version < '1.0-rc1', '1.0 < 1.0-rc1: a prefix sorts first');
SELECT ok('1.0.10'::migrate.version < '1.0-rc1', '1.0.10 < 1.0-rc1: 10 is a digit segment, rc a letter one');
SELECT ok('1.0'::migrate.version < '1.0a', '1.0 < 1.0a');
SELECT ok('1.9'::migrate.version < '1.a', '1.9 < 1.a: digits sort before letters');
SELECT ok('999'::migrate.version < 'a', '999 < a');
SELECT ok('Z'::migrate.version < 'a', 'Z < a: letters compare byte-wise');
SELECT ok('RC'::migrate.version < 'rc', 'RC < rc');
SELECT ok('alpha'::migrate.version < 'beta', 'alpha < beta');
SELECT ok('a'::migrate.version < 'ab', 'a < ab');
SELECT ok('1.a9'::migrate.version < '1.ab', '1.a9 < 1.ab');
SELECT ok('123456789012345678901234567890'::migrate.version
		  < '123456789012345678901234567891',
		  '30-digit numbers compare as numbers');
SELECT ok('99999999999999999999999999999'::migrate.version
		  < '100000000000000000000000000000',
		  'a 29-digit number < a 30-digit number');
SELECT ok(repeat('9', 254)::migrate.version < ('1' || repeat('0', 254)),
		  'numbers of any length compare as numbers');
SELECT ok(('000' || repeat('9', 252))::migrate.version < repeat('1', 254),
		  'leading zeros do not make a number longer');

SELECT ok('1.0'::migrate.version = '1.00', '1.0 = 1.00: leading zeros are ignored');
SELECT ok('0'::migrate.version = '000', '0 = 000');
SELECT ok('1.0'::migrate.version = '1-0', '1.0 = 1-0: separators are interchangeable');
SELECT ok('1.0'::migrate.version = '1_0', '1.0 = 1_0');
SELECT ok('1.0'::migrate.version = '1..0', '1.0 = 1..0: a run of separators counts as one');
SELECT ok('1.0'::migrate.version = '1._-0', '1.0 = 1._-0');
SELECT ok('1a'::migrate.version = '1.a', '1a = 1.a: digits and letters are split anyway');
SELECT ok('v2'::migrate.version <> 'V2', 'v2 <> V2: case counts');
SELECT ok('1'::migrate.version <> '1.0', '1 <> 1.0');

SELECT is(migrate.version_cmp('9', '10'), -1, 'version_cmp(9, 10) = -1');
SELECT is(migrate.version_cmp('1.0', '1.00'), 0, 'version_cmp(1.0, 1.00) = 0');
SELECT is(migrate.version_cmp('1.0.10', '1.0.9'), 1, 'version_cmp(1.0.10, 1.0.9) = 1');

SELECT is(ARRAY(SELECT v::text AS t
				FROM unnest(ARRAY['1.1.0-001', '1.0.10-001', '10', '1.0.6-002',
								  '9', '1.0.6-001', '1.0', '1.0.1', 'a', '1.0-rc1'
								 ]::migrate.version[]) AS v
				ORDER BY v),
		  ARRAY['1.0', '1.0.1', '1.0.6-001', '1.0.6-002', '1.0.10-001',
				'1.0-rc1', '1.1.0-001', '9', '10', 'a'],
		  'ORDER BY is natural');

-- Equal versions are the same version, whatever their text.
SELECT ok('1.0'::migrate.version = '1.00' AND '1.0'::migrate.version::text <> '1.00',
		  '1.0 and 1.00 are equal versions with different texts');
SELECT ok(NOT ('1.0'::migrate.version < '1.00') AND NOT ('1.0'::migrate.version > '1.00')
		  AND '1.0'::migrate.version <= '1.00' AND '1.0'::migrate.version >= '1.00',
		  'neither of two equal versions sorts before the other');

--
-- The implicit cast from text.
--
CREATE TABLE released (v text);
INSERT INTO released VALUES ('1.9'), ('1.10'), ('1.0');
CREATE TABLE versions (v migrate.version);
INSERT INTO versions SELECT v FROM released;

SELECT results_eq('SELECT v::text AS t FROM versions ORDER BY v',
				  ARRAY['1.0', '1.9', '1.10'],
				  'text goes into a version column without a cast');
SELECT results_eq('SELECT v FROM released ORDER BY v',
				  ARRAY['1.0', '1.10', '1.9'],
				  'text sorts as text');
SELECT results_eq('SELECT v FROM released ORDER BY v::migrate.version',
				  ARRAY['1.0', '1.9', '1.10'],
				  'text cast to version sorts naturally');
SELECT is((SELECT count(*) FROM versions v JOIN released r ON v.v = r.v),
		  3::bigint, 'a version compares with a text');
SELECT is((SELECT count(*) FROM released r WHERE r.v::migrate.version > '1.9.0'),
		  1::bigint, 'a text cast to version compares naturally');
SELECT is(migrate.version_cmp('1.9'::text, '1.10'::text), -1,
		  'a text is accepted where a version is expected');
SELECT throws_ok($$SELECT 'v 1'::text::migrate.version$$, '22P02',
				 'invalid input syntax for type migrate.version: "v 1"',
				 'the cast from text validates');
INSERT INTO released VALUES ('2.0.');
SELECT throws_ok('INSERT INTO versions SELECT v FROM released', '22P02',
				 'invalid input syntax for type migrate.version: "2.0."',
				 'an invalid text cannot go into a version column');
SELECT is('1.0-rc1'::migrate.version::text, '1.0-rc1',
		  'a version casts to text as written');

--
-- Binary input validates too.
--
CREATE TABLE copied (v migrate.version);
\copy (SELECT v FROM (VALUES ('01.0'::migrate.version), ('1.0-RC1')) AS t(v)) TO '/tmp/migrate_test_version.copy' (FORMAT binary)
\copy copied FROM '/tmp/migrate_test_version.copy' (FORMAT binary)
SELECT results_eq('SELECT v::text AS t FROM copied ORDER BY v',
				  ARRAY['01.0', '1.0-RC1'],
				  'binary copy keeps the text');
\copy (SELECT '1.0-'::text) TO '/tmp/migrate_test_version.copy' (FORMAT binary)
\copy copied FROM '/tmp/migrate_test_version.copy' (FORMAT binary)
\! rm -f /tmp/migrate_test_version.copy
SELECT is((SELECT count(*) FROM copied), 2::bigint,
		  'binary input rejects an invalid version');

--
-- ORDER BY, DISTINCT and indexes find the default operator classes by
-- type: they need no search_path.  The operators need OPERATOR(migrate.x)
-- when migrate is not on the path.
--
SET search_path = pg_catalog;
SELECT v FROM public.versions ORDER BY v;
SELECT v FROM public.versions ORDER BY v DESC;
SELECT count(DISTINCT v) FROM (VALUES ('1.0'::migrate.version), ('1.00')) AS t(v);
SELECT '1.9'::migrate.version OPERATOR(migrate.<) '1.10' AS "1.9 < 1.10";
SELECT '1.9'::migrate.version < '1.10';
CREATE TEMP TABLE without_path AS
	SELECT array_agg(v::text ORDER BY v) AS ascending,
		   array_agg(v::text ORDER BY v DESC) AS descending
	FROM public.versions;

-- pgTAP needs public on the search_path; migrate stays off it.
SET search_path = public;

SELECT is(ascending, ARRAY['1.0', '1.9', '1.10'],
		  'ORDER BY is natural with search_path = pg_catalog')
FROM without_path;
SELECT is(descending, ARRAY['1.10', '1.9', '1.0'],
		  'ORDER BY DESC is natural with search_path = pg_catalog')
FROM without_path;
SELECT results_eq('SELECT v::text AS t FROM versions ORDER BY v',
				  ARRAY['1.0', '1.9', '1.10'],
				  'ORDER BY is natural without migrate on the search_path');
SELECT ok('1.9'::migrate.version OPERATOR(migrate.<) '1.10',
		  '1.9 OPERATOR(migrate.<) 1.10');
SELECT ok('1.0'::migrate.version OPERATOR(migrate.=) '1.00',
		  '1.0 OPERATOR(migrate.=) 1.00');
SELECT is((SELECT count(*) FROM versions WHERE v OPERATOR(migrate.>=) '1.9'),
		  2::bigint, 'OPERATOR(migrate.>=) with a literal');
SELECT throws_ok($$SELECT '1.9'::migrate.version < '1.10'$$, '42883',
				 'operator does not exist: migrate.version < unknown',
				 'a bare < needs migrate on the search_path');

SET search_path = public, migrate;

--
-- Indexes.  The btree index answers natural range queries; the hash index
-- finds 1.0 when asked for 1.00.
--
CREATE FUNCTION ref.plan(query text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	line text;
	result text := '';
BEGIN
	FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || query LOOP
		result := result || line || E'\n';
	END LOOP;
	RETURN result;
END
$$;

-- 2.0 ... 2.20 and 3.0 ... 3.20, odd minors written with a leading zero
CREATE TABLE releases (v migrate.version);
INSERT INTO releases
	SELECT major || '.' || CASE WHEN minor % 2 = 1 THEN '0' ELSE '' END || minor
	FROM generate_series(2, 3) AS major, generate_series(0, 20) AS minor;
CREATE INDEX releases_btree ON releases (v);
ANALYZE releases;

SET enable_seqscan = off;
SELECT matches(ref.plan($$SELECT v FROM releases
						  WHERE v >= '2.9' AND v < '2.12'$$),
			   'releases_btree', 'a range query uses the btree index');
SELECT results_eq($$SELECT v::text AS t FROM releases
					WHERE v >= '2.9' AND v < '2.12' ORDER BY v$$,
				  ARRAY['2.09', '2.10', '2.011'],
				  'the btree index finds a natural range');
SELECT results_eq($$SELECT v::text FROM releases WHERE v = '3.0020'$$,
				  ARRAY['3.20'],
				  'the btree index finds an equal version');
SELECT results_eq($$SELECT v::text AS t FROM releases
					WHERE v > '2.19' ORDER BY v LIMIT 3$$,
				  ARRAY['2.20', '3.0', '3.01'],
				  'the btree index returns versions in natural order');
SELECT matches(ref.plan($$SELECT v FROM releases
						  WHERE v > '2.19' ORDER BY v LIMIT 3$$),
			   'Index (Only )?Scan using releases_btree',
			   'ORDER BY uses the btree index');

DROP INDEX releases_btree;
CREATE INDEX releases_hash ON releases USING hash (v);
ANALYZE releases;
SELECT matches(ref.plan($$SELECT v FROM releases WHERE v = '2.5'$$),
			   'releases_hash', 'an equality query uses the hash index');
SELECT results_eq($$SELECT v::text FROM releases WHERE v = '2.5'$$,
				  ARRAY['2.05'],
				  'the hash index finds 2.05 for 2.5');
SELECT results_eq($$SELECT v::text FROM releases WHERE v = '2-000005'$$,
				  ARRAY['2.05'],
				  'the hash index finds 2.05 for 2-000005');
SELECT is_empty($$SELECT v FROM releases WHERE v = '2.5.0'$$,
				'the hash index does not find 2.05 for 2.5.0');
RESET enable_seqscan;

-- Equal versions are duplicates for a unique index or an exclusion
-- constraint.
CREATE TABLE unique_versions (v migrate.version UNIQUE);
INSERT INTO unique_versions VALUES ('1.00');
SELECT throws_ok($$INSERT INTO unique_versions VALUES ('1.0')$$, '23505',
				 'duplicate key value violates unique constraint "unique_versions_v_key"',
				 'a unique index rejects 1.0 after 1.00');
SELECT throws_ok($$INSERT INTO unique_versions VALUES ('1-0')$$, '23505',
				 'duplicate key value violates unique constraint "unique_versions_v_key"',
				 'a unique index rejects 1-0 after 1.00');
SELECT lives_ok($$INSERT INTO unique_versions VALUES ('1.0.0')$$,
				'a unique index accepts 1.0.0 after 1.00');

CREATE TABLE exclusive_versions (v migrate.version,
	EXCLUDE USING hash (v WITH OPERATOR(migrate.=)));
INSERT INTO exclusive_versions VALUES ('2.0');
SELECT throws_ok($$INSERT INTO exclusive_versions VALUES ('02_0')$$, '23P01',
				 'conflicting key value violates exclusion constraint "exclusive_versions_v_excl"',
				 'a hash exclusion constraint rejects 02_0 after 2.0');

--
-- Joins, GROUP BY and DISTINCT treat equal versions as one value, whether
-- they hash or sort.
--
CREATE TABLE wanted (v migrate.version);
INSERT INTO wanted VALUES ('1.0'), ('2.0'), ('3.0');
CREATE TABLE present (v migrate.version);
INSERT INTO present VALUES ('1.00'), ('1-0'), ('1..0'), ('02.0'), ('3.0.0'), ('4');
ANALYZE wanted;
ANALYZE present;

SET enable_nestloop = off;
SET enable_mergejoin = off;
SELECT matches(ref.plan('SELECT * FROM wanted w JOIN present p ON w.v = p.v'),
			   'Hash Join', 'the join can be a hash join');
SELECT results_eq($$SELECT w.v::text, p.v::text
					FROM wanted w JOIN present p ON w.v = p.v
					ORDER BY 1, 2$$,
				  $$VALUES ('1.0', '1-0'), ('1.0', '1..0'), ('1.0', '1.00'),
						   ('2.0', '02.0')$$,
				  'a hash join matches equal versions');
RESET enable_mergejoin;
SET enable_hashjoin = off;
SELECT matches(ref.plan('SELECT * FROM wanted w JOIN present p ON w.v = p.v'),
			   'Merge Join', 'the join can be a merge join');
SELECT results_eq($$SELECT w.v::text, p.v::text
					FROM wanted w JOIN present p ON w.v = p.v
					ORDER BY 1, 2$$,
				  $$VALUES ('1.0', '1-0'), ('1.0', '1..0'), ('1.0', '1.00'),
						   ('2.0', '02.0')$$,
				  'a merge join matches equal versions');
RESET enable_hashjoin;
RESET enable_nestloop;

SET enable_sort = off;
SELECT matches(ref.plan('SELECT v, count(*) FROM present GROUP BY v'),
			   'HashAggregate', 'GROUP BY can hash');
SELECT results_eq('SELECT count(*) FROM present GROUP BY v ORDER BY 1',
				  ARRAY[1, 1, 1, 3]::bigint[],
				  'GROUP BY by hashing puts 1.00, 1-0 and 1..0 in one group');
SELECT matches(ref.plan('SELECT DISTINCT v FROM present'),
			   'HashAggregate', 'DISTINCT can hash');
SELECT is((SELECT count(*) FROM (SELECT DISTINCT v FROM present) AS d),
		  4::bigint, 'DISTINCT by hashing keeps one of 1.00, 1-0 and 1..0');
RESET enable_sort;
SET enable_hashagg = off;
SELECT matches(ref.plan('SELECT v, count(*) FROM present GROUP BY v'),
			   'GroupAggregate', 'GROUP BY can sort');
SELECT results_eq('SELECT count(*) FROM present GROUP BY v ORDER BY 1',
				  ARRAY[1, 1, 1, 3]::bigint[],
				  'GROUP BY by sorting puts 1.00, 1-0 and 1..0 in one group');
SELECT is((SELECT count(*) FROM (SELECT DISTINCT v FROM present) AS d),
		  4::bigint, 'DISTINCT by sorting keeps one of 1.00, 1-0 and 1..0');
RESET enable_hashagg;
SELECT is((SELECT count(*) FROM (SELECT v FROM present UNION SELECT v FROM wanted) AS u),
		  5::bigint, 'UNION keeps one of each version');

--
-- Hash functions: equal versions hash alike.
--
SELECT is(count(DISTINCT migrate.version_hash(v)), 1::bigint,
		  'version_hash is the same for 1.0, 1.00, 1-0, 1..0 and 01_000')
FROM unnest(ARRAY['1.0', '1.00', '1-0', '1..0', '01_000']::migrate.version[]) AS v;
SELECT is(count(DISTINCT migrate.version_hash_extended(v, 42)), 1::bigint,
		  'version_hash_extended is the same for 1.0, 1.00, 1-0, 1..0 and 01_000')
FROM unnest(ARRAY['1.0', '1.00', '1-0', '1..0', '01_000']::migrate.version[]) AS v;
SELECT is(migrate.version_hash('1a2b'), migrate.version_hash('1.a-2_b'),
		  'version_hash is the same for 1a2b and 1.a-2_b');
SELECT isnt(migrate.version_hash_extended('1.0', 0),
			migrate.version_hash_extended('1.0', 1),
			'version_hash_extended depends on the seed');

--
-- The exhaustive part.  An independent reference implementation of the
-- ordering: the literal becomes an array of segments, digits as numeric,
-- letters as bytea, and PostgreSQL's own array and row comparisons do the
-- rest (element by element, a shorter array first when it is a prefix).
--
CREATE TYPE ref.segment AS (is_letters boolean, number numeric, letters bytea);
CREATE FUNCTION ref.key(literal text) RETURNS ref.segment[]
LANGUAGE sql IMMUTABLE STRICT AS $$
	SELECT array_agg(CASE WHEN m[1] ~ '^[0-9]'
					 THEN ROW(false, m[1]::numeric, ''::bytea)::ref.segment
					 ELSE ROW(true, 0, convert_to(m[1], 'UTF8'))::ref.segment
					 END ORDER BY n)
	FROM regexp_matches(literal, '[0-9]+|[A-Za-z]+', 'g') WITH ORDINALITY AS r(m, n)
$$;

SELECT is(ref.key('1.0-rc01'),
		  ARRAY[ROW(false, 1, ''), ROW(false, 0, ''), ROW(true, 0, '\x7263'),
				ROW(false, 1, '')]::ref.segment[],
		  'the reference splits 1.0-rc01 into 1, 0, rc, 1');

-- Random literals made of 1 to 6 parts: small numbers with up to two
-- leading zeros, 29- and 30-digit numbers, letter runs of both cases,
-- joined by nothing, by one separator or by a run of them.  The alphabets
-- are small so that many literals share prefixes or are equal.
CREATE FUNCTION ref.random_version() RETURNS text
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	parts integer := 1 + floor(random() * 6)::integer;
	result text := '';
	r float8;
BEGIN
	FOR i IN 1..parts LOOP
		IF i > 1 THEN
			result := result ||
				(ARRAY['', '.', '.', '-', '-', '_', '_', '..', '-_', '._-'])
					[1 + floor(random() * 10)::integer];
		END IF;
		r := random();
		IF r < 0.45 THEN
			result := result || repeat('0', floor(random() * 3)::integer)
				|| floor(random() * 12)::integer;
		ELSIF r < 0.55 THEN
			result := result ||
				(ARRAY[repeat('9', 30), repeat('9', 29),
					   '1' || repeat('0', 29), '0001' || repeat('0', 29),
					   '1' || repeat('0', 28) || '1', lpad('7', 30, '0')])
					[1 + floor(random() * 6)::integer];
		ELSE
			result := result ||
				(ARRAY['a', 'b', 'z', 'A', 'B', 'Z', 'aa', 'ab', 'aB', 'rc', 'RC'])
					[1 + floor(random() * 11)::integer];
		END IF;
	END LOOP;
	RETURN result;
END
$$;

SELECT setseed(0.25);
CREATE TABLE sample AS
	SELECT id, t, t::migrate.version AS v, ref.key(t) AS key
	FROM (SELECT id, ref.random_version() AS t
		  FROM generate_series(1, 3000) AS id
		  UNION ALL
		  SELECT 3000 + n, t
		  FROM unnest(ARRAY['0', '000', '1', '01', '1.0', '1.00', '1-0',
							'1..0', '1a', '1.a', 'a1', 'a.1', 'a', 'A', 'z',
							'Z', repeat('9', 255), '1' || repeat('0', 254),
							repeat('0', 254) || '1', repeat('a', 255),
							repeat('1.', 127) || '1', repeat('a1', 127) || 'a'])
			   WITH ORDINALITY AS e(t, n)) AS s;

-- A few of them:
SELECT t FROM sample ORDER BY id LIMIT 8;

-- Ranks in the reference order (equal versions share a rank), and
-- positions in the order ORDER BY v gives.
CREATE TABLE ranked AS
	SELECT id, t, v, dense_rank() OVER (ORDER BY key) AS ref_rank,
		   row_number() OVER (ORDER BY v, id) AS pos
	FROM sample;

SELECT is(count(*), 3022::bigint, 'the sample has 3022 literals')
FROM ranked;
SELECT cmp_ok(count(DISTINCT ref_rank), '>', 2000::bigint,
			  'the sample has more than 2000 different versions')
FROM ranked;
SELECT cmp_ok(count(*), '>', 1500::bigint,
			  'the sample has more than 1500 pairs of different texts for equal versions')
FROM ranked a JOIN ranked b ON a.ref_rank = b.ref_rank AND a.t < b.t;
SELECT is_empty('SELECT t FROM ranked WHERE v::text <> t',
				'every literal is shown as written');

SELECT is_empty($$
	SELECT a.t, b.t, migrate.version_cmp(a.v, b.v) AS cmp
	FROM ranked a, ranked b
	WHERE migrate.version_cmp(a.v, b.v) <> sign(a.ref_rank - b.ref_rank)
	LIMIT 10$$,
	'version_cmp agrees with the reference on all pairs');
SELECT is_empty($$
	SELECT a.t, b.t
	FROM ranked a JOIN ranked b ON a.id <= b.id
	WHERE migrate.version_cmp(a.v, b.v) <> -migrate.version_cmp(b.v, a.v)
	LIMIT 10$$,
	'version_cmp is antisymmetric on all pairs');
SELECT is_empty($$
	SELECT a.t, b.t
	FROM ranked a JOIN ranked b ON a.pos < b.pos
	WHERE migrate.version_cmp(a.v, b.v) > 0
	LIMIT 10$$,
	'after ORDER BY, no version is greater than one after it (transitivity)');
SELECT is_empty($$
	SELECT a.t, b.t
	FROM ranked a, ranked b,
		 LATERAL (SELECT migrate.version_cmp(a.v, b.v) AS c) AS c
	WHERE (a.v < b.v) <> (c < 0)
	   OR (a.v <= b.v) <> (c <= 0)
	   OR (a.v = b.v) <> (c = 0)
	   OR (a.v <> b.v) <> (c <> 0)
	   OR (a.v >= b.v) <> (c >= 0)
	   OR (a.v > b.v) <> (c > 0)
	LIMIT 10$$,
	'the six operators agree with version_cmp on all pairs');
SELECT is_empty($$
	SELECT a.t, b.t
	FROM ranked a JOIN ranked b ON a.ref_rank = b.ref_rank
	WHERE migrate.version_hash(a.v) <> migrate.version_hash(b.v)
	   OR migrate.version_hash_extended(a.v, 0)
		  <> migrate.version_hash_extended(b.v, 0)
	   OR migrate.version_hash_extended(a.v, -7)
		  <> migrate.version_hash_extended(b.v, -7)
	LIMIT 10$$,
	'equal versions have equal hashes on all pairs');
SELECT is(count(DISTINCT migrate.version_hash(v)), count(DISTINCT ref_rank),
		  'different versions of the sample have different hashes')
FROM ranked;
SELECT is_empty($$
	SELECT t FROM ranked
	WHERE migrate.version_hash_extended(v, 0) & 4294967295
		  <> migrate.version_hash(v)::bigint & 4294967295$$,
	'version_hash_extended with seed 0 extends version_hash');
SELECT is((SELECT count(*) FROM (SELECT DISTINCT v FROM ranked) AS d),
		  count(DISTINCT ref_rank),
		  'DISTINCT finds as many versions as the reference')
FROM ranked;

SELECT * FROM finish();

\c contrib_regression
DROP DATABASE migrate_test_version;
