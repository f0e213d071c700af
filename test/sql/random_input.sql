--
-- Random input (README.md, "Concepts" and "Functions"): thousands of
-- generated versions
-- through the input of migrate.version and register(), and thousands of
-- generated scripts through register().  The generator is seeded, so the
-- inputs are the same on every run.
--
-- Versions: each input is valid or 22P02, never anything else; validity
-- agrees with the grammar; valid ones read back as written; and the
-- ordering agrees, pair by pair, with an independent implementation of
-- natural ordering written here in SQL, so it is a total order.
--
-- Scripts: random token soup (keywords, identifiers, literals of every
-- quoting style, punctuation, comments, backslashes, semicolons) is
-- either registered or refused with one of the documented SQLSTATEs,
-- never an internal error.  (src/script.c needs the server's parser, so
-- this is its fuzz test; test/fuzz fuzzes the plain-C parts.)
--
CREATE DATABASE migrate_test_random_input;
\c migrate_test_random_input
SET client_min_messages = warning;
CREATE EXTENSION pgtap;
CREATE EXTENSION migrate;
RESET client_min_messages;

SELECT plan(20);
SELECT setseed(0.20240601);

-- A random string of n characters drawn from charset.
CREATE FUNCTION random_string(charset text, n int) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	result text := '';
BEGIN
	FOR i IN 1 .. n LOOP
		result := result || substr(charset, 1 + floor(random() * length(charset))::int, 1);
	END LOOP;
	RETURN result;
END
$$;

--
-- Versions.  Mostly digits, letters and separators, some punctuation,
-- spaces and non-ASCII letters; short ones, and every 40th near the
-- 255-character limit.
--
CREATE TABLE version_input (i int PRIMARY KEY, s text);
DO $$
DECLARE
	charset text := '0123456789000111abczABCZ...---___ ,:;+/\''"$é😀' || E'\t';
BEGIN
	FOR i IN 1 .. 10000 LOOP
		INSERT INTO version_input VALUES (i, random_string(charset,
			CASE WHEN i % 40 = 0 THEN 250 + floor(random() * 10)::int
				 ELSE floor(random() * random() * 16)::int END));
	END LOOP;
	-- Mostly-valid ones: runs of digits and letters with one separator
	-- between, so that the valid sample is large and has equal pairs.
	FOR i IN 10001 .. 16000 LOOP
		INSERT INTO version_input VALUES (i,
			(SELECT string_agg(random_string('0123456789aAbZ', 1 + floor(random() * 3)::int),
							   random_string('.-_', 1) ORDER BY g)
			 FROM generate_series(0, floor(random() * 5)::int) AS g));
	END LOOP;
END
$$;

-- What the input function says about each: the version as it reads back,
-- or the SQLSTATE.
CREATE FUNCTION try_version(s text, OUT v migrate.version, OUT state text)
LANGUAGE plpgsql AS $$
BEGIN
	v := s::migrate.version;
	state := '00000';
EXCEPTION WHEN OTHERS THEN
	state := SQLSTATE;
END
$$;
CREATE TABLE version_outcome AS
	SELECT i, s, o.v, o.state AS sqlstate
	FROM version_input, LATERAL try_version(s) AS o;

SELECT is(array_agg(DISTINCT sqlstate ORDER BY sqlstate), '{00000,22P02}',
		  'every generated version is valid or 22P02, nothing else')
FROM version_outcome;
SELECT ok(count(*) FILTER (WHERE sqlstate = '00000') > 6000
		  AND count(*) FILTER (WHERE sqlstate = '22P02') > 4000,
		  'the sample has thousands of valid and of invalid versions')
FROM version_outcome;
SELECT is_empty($$
	SELECT s FROM version_outcome
	WHERE (sqlstate = '00000') <>
		  (s ~ '^[0-9A-Za-z]([0-9A-Za-z._-]*[0-9A-Za-z])?$' AND length(s) <= 255)$$,
	'valid exactly when the grammar says so (1-255 of [0-9A-Za-z._-], alphanumeric at both ends)');
SELECT is_empty($$SELECT s FROM version_outcome
				  WHERE sqlstate = '00000' AND v::text IS DISTINCT FROM s$$,
				'every valid version reads back exactly as written');
SELECT is_empty($$SELECT s FROM version_outcome
				  WHERE sqlstate = '00000' AND migrate.version(s)::text IS DISTINCT FROM s$$,
				'the same through migrate.version(text)');

--
-- The ordering, against an independent reading of the contract: cut the
-- text into runs of digits and runs of letters; a run of digits becomes
-- "0", its length without leading zeros (3 digits) and those digits; a
-- run of letters becomes "1" and the letters.  Arrays of these keys,
-- compared byte-wise element by element (a prefix first), order versions
-- naturally (in the "C" collation).
--
CREATE FUNCTION natural_key(v text) RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
	SELECT coalesce(array_agg(
		CASE WHEN m[1] ~ '^[0-9]'
			 THEN '0' || lpad(length(ltrim(m[1], '0'))::text, 3, '0') || ltrim(m[1], '0')
			 ELSE '1' || m[1] END ORDER BY n), '{}')
	FROM regexp_matches(v, '[0-9]+|[A-Za-z]+', 'g') WITH ORDINALITY AS t(m, n)
$$;
-- 400 valid versions, with a share of equal pairs ("1a" and "1.a",
-- "01" and "1").
CREATE TABLE sample AS
	SELECT row_number() OVER (ORDER BY i) AS k, v, natural_key(s) AS key
	FROM version_outcome WHERE sqlstate = '00000' AND i % 8 = 0
	ORDER BY i LIMIT 400;
CREATE TABLE pairs AS
	SELECT a.k AS ak, b.k AS bk, a.v AS a, b.v AS b,
		   migrate.version_cmp(a.v, b.v) AS cmp,
		   CASE WHEN a.key < b.key COLLATE "C" THEN -1
				WHEN a.key > b.key COLLATE "C" THEN 1 ELSE 0 END AS expected
	FROM sample AS a, sample AS b;

SELECT ok(count(*) = 160000 AND count(*) FILTER (WHERE cmp = 0 AND ak <> bk) > 0,
		  '160,000 ordered pairs, some of them equal versions written differently')
FROM pairs;
SELECT is_empty('SELECT a, b, cmp, expected FROM pairs WHERE cmp <> expected LIMIT 5',
				'version_cmp agrees with the independent natural ordering on every pair');
SELECT is_empty('SELECT a, b FROM pairs AS p WHERE cmp NOT IN (-1, 0, 1) LIMIT 5',
				'version_cmp returns -1, 0 or 1');
SELECT is_empty($$
	SELECT p.a, p.b FROM pairs AS p JOIN pairs AS q ON q.ak = p.bk AND q.bk = p.ak
	WHERE p.cmp <> -q.cmp LIMIT 5$$,
	'antisymmetric: cmp(a, b) = -cmp(b, a)');
SELECT is_empty($$
	SELECT a, b FROM pairs
	WHERE (a OPERATOR(migrate.<) b) <> (cmp < 0)
	   OR (a OPERATOR(migrate.<=) b) <> (cmp <= 0)
	   OR (a OPERATOR(migrate.=) b) <> (cmp = 0)
	   OR (a OPERATOR(migrate.<>) b) <> (cmp <> 0)
	   OR (a OPERATOR(migrate.>=) b) <> (cmp >= 0)
	   OR (a OPERATOR(migrate.>) b) <> (cmp > 0)
	LIMIT 5$$,
	'the six operators agree with version_cmp');
SELECT is_empty($$
	SELECT a, b FROM pairs
	WHERE cmp = 0 AND (migrate.version_hash(a) <> migrate.version_hash(b)
					   OR migrate.version_hash_extended(a, 42)
						  <> migrate.version_hash_extended(b, 42))
	LIMIT 5$$,
	'equal versions hash alike (hash and hash_extended)');
-- Sorting the whole valid set with the type's default opclass gives the
-- order of the keys: ORDER BY needs a total order, and gets one.
SELECT is_empty($$
	SELECT v, next FROM (
		SELECT v, key, lead(v) OVER w AS next, lead(key) OVER w AS next_key
		FROM (SELECT v, natural_key(v::text) AS key
			  FROM version_outcome WHERE sqlstate = '00000') AS t
		WINDOW w AS (ORDER BY v)) AS s
	WHERE next_key < key COLLATE "C" LIMIT 5$$,
	'ORDER BY version sorts all valid versions in natural order');
-- Equality classes are the same for DISTINCT (hash or sort), GROUP BY and
-- a unique btree index.
SELECT is((SELECT count(DISTINCT v) FROM version_outcome),
		  (SELECT count(DISTINCT natural_key(s)) FROM version_outcome WHERE sqlstate = '00000'),
		  'DISTINCT finds as many versions as there are natural keys');
SELECT is((SELECT count(*) FROM (SELECT v FROM version_outcome WHERE sqlstate = '00000'
								 GROUP BY v) AS g),
		  (SELECT count(DISTINCT natural_key(s)) FROM version_outcome WHERE sqlstate = '00000'),
		  'so does GROUP BY');
CREATE TABLE unique_versions (v migrate.version PRIMARY KEY);
INSERT INTO unique_versions
	SELECT v FROM version_outcome WHERE sqlstate = '00000' ORDER BY i
	ON CONFLICT DO NOTHING;
SELECT is((SELECT count(*) FROM unique_versions),
		  (SELECT count(DISTINCT natural_key(s)) FROM version_outcome WHERE sqlstate = '00000'),
		  'and a unique btree index');

--
-- The same inputs as register()'s version: registered, unchanged (an
-- equal version written differently is the same migration) or 22P02.
--
CREATE FUNCTION try_register(version text, script text,
							 transactional boolean DEFAULT true) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
	RETURN migrate.register(version, 'random', script,
							transactional => transactional, project => 'random');
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE;
END
$$;
CREATE TABLE register_outcome AS
	SELECT i, s, try_register(s, 'SELECT 1') AS outcome
	FROM version_input WHERE i % 4 = 0 ORDER BY i;
SELECT is(array_agg(DISTINCT outcome ORDER BY outcome), '{22P02,registered,unchanged}',
		  'register() with a generated version: registered, unchanged or 22P02')
FROM register_outcome;
SELECT is((SELECT count(*) FROM register_outcome WHERE outcome = 'registered'),
		  (SELECT count(DISTINCT natural_key(s)) FROM register_outcome
		   WHERE outcome <> '22P02'),
		  'one registration per distinct version');

--
-- Scripts.  Token soup from a vocabulary that covers what the checks
-- look at: transaction control, non-transactional commands, COPY, role
-- changes, psql meta-commands, quoting of every kind (complete and
-- unterminated), comments, semicolons.
--
CREATE TABLE vocabulary (n serial, token text);
INSERT INTO vocabulary (token) VALUES
	('SELECT'), ('CREATE'), ('TABLE'), ('INDEX'), ('CONCURRENTLY'), ('ON'),
	('INSERT'), ('INTO'), ('VALUES'), ('UPDATE'), ('SET'), ('DELETE'), ('FROM'),
	('WHERE'), ('DROP'), ('ALTER'), ('SYSTEM'), ('DATABASE'), ('VACUUM'),
	('ANALYZE'), ('REINDEX'), ('COPY'), ('STDIN'), ('STDOUT'), ('TO'),
	('BEGIN'), ('COMMIT'), ('ROLLBACK'), ('SAVEPOINT'), ('RELEASE'), ('START'),
	('TRANSACTION'), ('PREPARE'), ('END'), ('ABORT'), ('ROLE'), ('SESSION'),
	('AUTHORIZATION'), ('RESET'), ('DO'), ('FUNCTION'), ('RETURNS'), ('AS'),
	('LANGUAGE'), ('sql'), ('int'), ('text'), ('NULL'), ('TRUE'), ('NOT'),
	('AND'), ('OR'), ('LISTEN'), ('NOTIFY'), ('search_path'), ('public'),
	('t'), ('app.t'), ('x'), ('"Quoted"'), ('"a""b"'), ('U&"d\0061t"'),
	('1'), ('42'), ('1.5'), ('-1'), ($$'str'$$), ($$'it''s'$$), ($$E'a\nb'$$),
	($$E'\\'$$), ('$$dollar$$'), ('$t$tag$t$'), ($$B'101'$$), ($$X'FF'$$),
	($$U&'\0041'$$), ('('), (')'), (','), (';'), (';'), (';'), ('.'), ('::'),
	('='), ('<'), ('>'), ('+'), ('*'), ('/'), ('['), (']'), (':'), ('$1'),
	(E'-- comment\n'), ('/* comment */'), ('/* nested /* comment */ */'),
	-- the unterminated and the odd
	($$'$$), ('"'), ('$$'), ('$t$'), ('/*'), ('*/'), ('\'), ('\i'), ('\.'),
	('\set'), ($$E'\$$), ($$U&'\D800'$$), ('€'), ('😀'), (E'\t'), (E'\n');

CREATE FUNCTION random_script() RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	ntokens int := 1 + floor(random() * 14)::int;
	vocabulary_size int := (SELECT count(*) FROM vocabulary);
	pick int;
	script text := '';
BEGIN
	FOR i IN 1 .. ntokens LOOP
		pick := 1 + floor(random() * vocabulary_size)::int;
		script := script || (SELECT token FROM vocabulary WHERE n = pick)
			|| CASE WHEN random() < 0.8 THEN ' ' ELSE '' END;
	END LOOP;
	RETURN script;
END
$$;
-- Whole statements, valid and refused ones, so that most scripts get
-- past the parser to the other checks.
CREATE TABLE statements (n serial, statement text);
INSERT INTO statements (statement) VALUES
	('SELECT 1'), ('CREATE TABLE app.t (id int PRIMARY KEY, v text)'),
	($$INSERT INTO app.t VALUES (1, 'it''s')$$), ('UPDATE app.t SET v = $$x$$'),
	('CREATE INDEX ON app.t (v)'), ('DROP TABLE IF EXISTS app.t'),
	($s$CREATE FUNCTION app.f() RETURNS int LANGUAGE sql AS $f$SELECT 1$f$$s$),
	($s$DO $d$BEGIN PERFORM 1; END$d$$s$), ('SET search_path = app'),
	($$SELECT set_config('role', 'x', true)$$), ('NOTIFY x'), ('ANALYZE'),
	('BEGIN'), ('COMMIT'), ('ROLLBACK'), ('SAVEPOINT s'), ('RELEASE s'),
	('START TRANSACTION'), ($$PREPARE TRANSACTION 'x'$$), ('END'), ('ABORT'),
	('VACUUM'), ('VACUUM app.t'), ('CREATE INDEX CONCURRENTLY i ON app.t (v)'),
	('DROP INDEX CONCURRENTLY i'), ('REINDEX TABLE CONCURRENTLY app.t'),
	('CREATE DATABASE d'), ('ALTER SYSTEM SET work_mem = 1'),
	('COPY app.t FROM STDIN'), ('COPY app.t TO STDOUT'), ($$COPY app.t FROM '/dev/null'$$),
	('SET ROLE x'), ('RESET ROLE'), ('SET SESSION AUTHORIZATION x'),
	('SET LOCAL ROLE NONE'), ('\i file.sql'), ('\set x 1'), ('');

CREATE FUNCTION random_statements() RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	nstatements int := 1 + floor(random() * 4)::int;
	size int := (SELECT count(*) FROM statements);
	pick int;
	script text := '';
	separators text[] := ARRAY[';', '; ', E';\n', ';;', E'; -- c\n', ' /* c */ ;'];
BEGIN
	FOR i IN 1 .. nstatements LOOP
		pick := 1 + floor(random() * size)::int;
		script := script || (SELECT statement FROM statements WHERE n = pick)
			|| separators[1 + floor(random() * 6)::int];
	END LOOP;
	-- Now and then a random token somewhere.
	IF random() < 0.3 THEN
		pick := floor(random() * (length(script) + 1))::int;
		script := substr(script, 1, pick) || random_script() || substr(script, pick + 1);
	END IF;
	RETURN script;
END
$$;
CREATE TABLE script_input AS
	SELECT i, CASE WHEN i % 3 = 0 THEN random_script()
				   ELSE random_statements() END AS script,
		   random() < 0.8 AS transactional
	FROM generate_series(1, 6000) AS i;
-- (without the NOTICEs of the scripts that are empty, and accepted)
SET client_min_messages = warning;
CREATE TABLE script_outcome AS
	SELECT i, script, transactional,
		   try_register('s' || i, script, transactional) AS outcome
	FROM script_input ORDER BY i;
RESET client_min_messages;

-- The documented SQLSTATEs of register(), and two that the server's
-- lexer raises itself inside string constants: 22025 for an invalid
-- escape (E'\U...'), 22021 for bytes that are not UTF-8 (E'\377').
SELECT is_empty($$
	SELECT outcome, count(*) FROM script_outcome
	WHERE outcome NOT IN ('registered', '42601', '2D000', '25001', '0A000', '42501', '22023',
						  '22025', '22021')
	GROUP BY outcome$$,
	'every generated script is registered or refused with a documented SQLSTATE');
SELECT ok(count(*) FILTER (WHERE outcome = 'registered') > 400
		  AND count(*) FILTER (WHERE outcome = '42601') > 1000
		  AND count(DISTINCT outcome) >= 7,
		  'the scripts reach every check (hundreds registered, hundreds of syntax errors, all seven outcomes)')
FROM script_outcome;
-- Registering the same scripts again changes nothing: checks and
-- checksums are deterministic.
SELECT is_empty($$
	SELECT i, outcome, again FROM (
		SELECT i, outcome, try_register('s' || i, script, transactional) AS again
		FROM script_outcome ORDER BY i) AS t
	WHERE again <> CASE outcome WHEN 'registered' THEN 'unchanged' ELSE outcome END$$,
	'registering every script again gives unchanged, or the same error');

SELECT * FROM finish();

\c contrib_regression
DROP DATABASE migrate_test_random_input;
