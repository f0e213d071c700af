--
-- Hostile and malformed input (README.md, "Functions" and "Privileges
-- and security model"): for every function,
-- NULLs, empty strings, over-long and invalid names, versions and
-- projects, quotes, dollar quotes, backslashes and unicode, wrong types,
-- huge scripts, unterminated quotes and comments; and migrations that
-- attack migrate's own catalog.  Each case ends in a clear error with a
-- specific SQLSTATE (never XX000), no crash, and nothing half-written.
--
CREATE DATABASE migrate_test_hostile_input;
\c migrate_test_hostile_input
SET client_min_messages = warning;
CREATE EXTENSION pgtap;
CREATE EXTENSION migrate;
RESET client_min_messages;

SELECT plan(329);

-- sqlstate_of(sql) runs sql and returns '00000' if it worked, else its
-- SQLSTATE.  Either way nothing it did is kept: the block rolls it back.
CREATE FUNCTION sqlstate_of(sql text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
	BEGIN
		EXECUTE sql;
		RAISE EXCEPTION USING ERRCODE = 'U0001';
	EXCEPTION WHEN SQLSTATE 'U0001' THEN
		RETURN '00000';
	END;
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE;
END
$$;

-- Everything the catalog holds, and the history, as one text: equal
-- snapshots mean nothing was written.
CREATE FUNCTION catalog_state() RETURNS text
LANGUAGE sql AS $$
	SELECT coalesce((SELECT string_agg(m::text, E'\n' ORDER BY m.project, m.kind,
									   m.version, m.name)
					 FROM migrate.migrations AS m), '')
		   || E'\n--\n'
		   || coalesce((SELECT string_agg(h::text, E'\n' ORDER BY h.id)
						FROM (SELECT id, run_id, project, version, name, action,
									 status, role, ran_as, checksum, sqlstate,
									 message
							  FROM migrate.history) AS h), '')
$$;

CREATE SCHEMA app;
SET client_min_messages = warning;
-- 1 is applied (with a down), 2 is pending: every function has something
-- to work on, so a call that is not refused succeeds.
SELECT migrate.register('1', 'one', 'CREATE TABLE app.one (id int)',
						down => 'DROP TABLE app.one');
SELECT count(*) FROM migrate.run();
SELECT migrate.register('2', 'two', 'SELECT 2');
RESET client_min_messages;
CREATE TABLE before AS SELECT catalog_state() AS state;

--
-- NULL for every argument of every function.  A required argument is
-- 22004 naming it; the arguments documented as optional accept NULL
-- (register's transactional NULL lets the server decide).
-- (The version type's own functions are STRICT: NULL in, NULL out.)
--
CREATE TABLE null_calls (ord serial, function text, argument text,
						 call text, expected text);
INSERT INTO null_calls (function, argument, call, expected) VALUES
	('register', 'version', $$migrate.register(NULL, 'n', 'SELECT 1')$$, '22004'),
	('register', 'name', $$migrate.register('3', NULL, 'SELECT 1')$$, '22004'),
	('register', 'up', $$migrate.register('3', 'n', NULL)$$, '22004'),
	('register', 'down', $$migrate.register('3', 'n', 'SELECT 1', NULL)$$, '00000'),
	('register', 'requires', $$migrate.register('3', 'n', 'SELECT 1', requires => NULL)$$, '22004'),
	('register', 'requires[1]', $$migrate.register('3', 'n', 'SELECT 1', requires => '{NULL}')$$, '22004'),
	('register', 'transactional', $$migrate.register('3', 'n', 'SELECT 1', transactional => NULL)$$, '00000'),
	('register', 'verify', $$migrate.register('3', 'n', 'SELECT 1', verify => NULL)$$, '00000'),
	('register', 'project', $$migrate.register('3', 'n', 'SELECT 1', project => NULL)$$, '22004'),
	('register_repeatable', 'name', $$migrate.register_repeatable(NULL, 'SELECT 1')$$, '22004'),
	('register_repeatable', 'up', $$migrate.register_repeatable('r', NULL)$$, '22004'),
	('register_repeatable', 'project', $$migrate.register_repeatable('r', 'SELECT 1', NULL)$$, '22004'),
	('unregister', 'version', $$migrate.unregister(NULL)$$, '22004'),
	('unregister', 'project', $$migrate.unregister('2', NULL)$$, '22004'),
	('run', 'target', $$migrate.run(target => NULL)$$, '00000'),
	('run', 'project', $$migrate.run(project => NULL)$$, '00000'),
	('run', 'dry_run', $$migrate.run(dry_run => NULL)$$, '22004'),
	('run', 'atomic', $$migrate.run(atomic => NULL)$$, '22004'),
	('run', 'wait', $$migrate.run(wait => NULL)$$, '22004'),
	('run', 'out_of_order', $$migrate.run(out_of_order => NULL)$$, '22004'),
	('rollback', 'steps', $$migrate.rollback(NULL)$$, '22004'),
	('rollback', 'project', $$migrate.rollback(1, NULL)$$, '22004'),
	('rollback', 'dry_run', $$migrate.rollback(dry_run => NULL)$$, '22004'),
	('rollback', 'wait', $$migrate.rollback(wait => NULL)$$, '22004'),
	('rollback_to', 'target', $$migrate.rollback_to(NULL)$$, '22004'),
	('rollback_to', 'project', $$migrate.rollback_to('1', NULL)$$, '22004'),
	('rollback_to', 'dry_run', $$migrate.rollback_to('1', dry_run => NULL)$$, '22004'),
	('rollback_to', 'wait', $$migrate.rollback_to('1', wait => NULL)$$, '22004'),
	('rollback_all', 'project', $$migrate.rollback_all(NULL)$$, '22004'),
	('rollback_all', 'dry_run', $$migrate.rollback_all('default', NULL)$$, '22004'),
	('rollback_all', 'wait', $$migrate.rollback_all('default', wait => NULL)$$, '22004'),
	('baseline', 'version', $$migrate.baseline(NULL, 'other')$$, '22004'),
	('baseline', 'project', $$migrate.baseline('1', NULL)$$, '22004'),
	('validate', 'project', $$migrate.validate(NULL)$$, '00000'),
	('status', 'project', $$migrate.status(NULL)$$, '00000'),
	('current_version', 'project', $$migrate.current_version(NULL)$$, '22004'),
	('version', 'text', $$migrate.version(NULL)$$, '00000');
SELECT is(sqlstate_of('SELECT * FROM ' || call), expected,
		  format('%s(%s => NULL): %s', function, argument, expected))
FROM null_calls ORDER BY ord;
-- The message names the argument and the function.
SELECT throws_ok($$SELECT migrate.register('3', 'n', 'SELECT 1', requires => NULL)$$,
				 '22004', 'argument "requires" of migrate.register() must not be null',
				 'the 22004 message names the argument');
SELECT throws_ok($$SELECT * FROM migrate.run(out_of_order => NULL)$$,
				 '22004', 'argument "out_of_order" of migrate.run() must not be null',
				 'the same for run()');

--
-- Empty strings.  An empty version is malformed (22P02); an empty name,
-- project or requires entry is an invalid value (22023); an empty script
-- is a migration that does nothing, on purpose, and is accepted.
--
CREATE TABLE empty_calls (ord serial, call text, expected text);
INSERT INTO empty_calls (call, expected) VALUES
	($$migrate.register('', 'n', 'SELECT 1')$$, '22P02'),
	($$migrate.register('3', '', 'SELECT 1')$$, '22023'),
	($$migrate.register('3', 'n', '')$$, '00000'),
	($$migrate.register('3', 'n', 'SELECT 1', down => '')$$, '00000'),
	($$migrate.register('3', 'n', 'SELECT 1', verify => '')$$, '00000'),
	($$migrate.register('3', 'n', 'SELECT 1', requires => '{""}')$$, '22023'),
	($$migrate.register('3', 'n', 'SELECT 1', requires => '{":1"}')$$, '22023'),
	($$migrate.register('3', 'n', 'SELECT 1', requires => '{"lib:"}')$$, '22023'),
	($$migrate.register('3', 'n', 'SELECT 1', project => '')$$, '22023'),
	($$migrate.register_repeatable('', 'SELECT 1')$$, '22023'),
	($$migrate.register_repeatable('r', '')$$, '00000'),
	($$migrate.register_repeatable('r', 'SELECT 1', '')$$, '22023'),
	($$migrate.unregister('')$$, '22P02'),
	($$migrate.unregister('2', '')$$, '22023'),
	($$migrate.run(target => '', project => 'default')$$, '22P02'),
	($$migrate.run(project => '')$$, '22023'),
	($$migrate.rollback(1, '')$$, '22023'),
	($$migrate.rollback_to('')$$, '22P02'),
	($$migrate.rollback_to('1', '')$$, '22023'),
	($$migrate.rollback_all('')$$, '22023'),
	($$migrate.baseline('', 'other')$$, '22P02'),
	($$migrate.baseline('1', '')$$, '22023'),
	($$migrate.validate('')$$, '22023'),
	($$migrate.status('')$$, '22023'),
	($$migrate.current_version('')$$, '22023'),
	($$migrate.version('')$$, '22P02');
SELECT is(sqlstate_of('SELECT * FROM ' || call), expected,
		  format('%s: %s', call, expected))
FROM empty_calls ORDER BY ord;
-- Scripts of only whitespace, comments or semicolons are empty too.
SELECT is(sqlstate_of(format('SELECT migrate.register(%L, %L, %L)', '3', 'n', s)),
		  '00000', format('the script %s is empty, and accepted', label))
FROM (VALUES (E' \t\r\n ', 'of whitespace'), ('-- nothing', 'of a comment'),
			 ('/* a /* nested */ comment */', 'of a nested comment'),
			 (';;; ;', 'of semicolons')) AS t(s, label);

--
-- Lengths.  A name is at most 1024 bytes (42622), counted in bytes, not
-- characters; a version at most 255 characters (22P02); a project name
-- at most 63 bytes (22023).  Megabytes are refused as fast as one byte
-- too many.
--
SELECT is(sqlstate_of(format('SELECT migrate.register(%L, %L, %L)', '3', repeat('n', 1024), 'SELECT 1')),
		  '00000', 'a name of 1024 bytes is accepted');
SELECT throws_ok(format('SELECT migrate.register(%L, %L, %L)', '3', repeat('n', 1025), 'SELECT 1'),
				 '42622', 'migration name is too long',
				 'a name of 1025 bytes is 42622');
SELECT is(sqlstate_of(format('SELECT migrate.register(%L, %L, %L)', '3', repeat('😀', 256), 'SELECT 1')),
		  '00000', 'a name of 256 four-byte characters (1024 bytes) is accepted');
SELECT is(sqlstate_of(format('SELECT migrate.register(%L, %L, %L)', '3', repeat('😀', 256) || 'a', 'SELECT 1')),
		  '42622', 'a name of 257 characters (1025 bytes) is 42622');
SELECT is(sqlstate_of(format('SELECT migrate.register_repeatable(%L, %L)', repeat('n', 1025), 'SELECT 1')),
		  '42622', 'the same limit for repeatable migrations');
SELECT is(sqlstate_of(format('SELECT migrate.register(%L, %L, %L)', '3', repeat('n', 20000000), 'SELECT 1')),
		  '42622', 'a name of 20 MB is 42622');
SELECT is(sqlstate_of(format('SELECT migrate.register(%L, %L, %L)', repeat('9', 255), 'n', 'SELECT 1')),
		  '00000', 'a version of 255 characters is accepted');
SELECT throws_ok(format('SELECT migrate.register(%L, %L, %L)', repeat('9', 256), 'n', 'SELECT 1'),
				 '22P02', NULL, 'a version of 256 characters is 22P02');
SELECT is(sqlstate_of(format('SELECT %L::migrate.version', repeat('9', 256))),
		  '22P02', 'the version type has the same limit');
SELECT is(sqlstate_of(format('SELECT migrate.register(%L, %L, %L)', repeat('9', 20000000), 'n', 'SELECT 1')),
		  '22P02', 'a version of 20 MB is 22P02');
SELECT is(sqlstate_of(format('SELECT migrate.register(%L, %L, %L, requires => ARRAY[%L])',
							 '3', 'n', 'SELECT 1', repeat('9', 256))),
		  '22023', 'a required version of 256 characters is an invalid requires entry (22023)');
SELECT is(sqlstate_of(format('SELECT * FROM migrate.rollback_to(%L)', repeat('9', 256))),
		  '22P02', 'rollback_to with a version of 256 characters is 22P02');
SELECT is(sqlstate_of(format('SELECT migrate.register(%L, %L, %L, project => %L)',
							 '3', 'n', 'SELECT 1', repeat('p', 63))),
		  '00000', 'a project name of 63 bytes is accepted');
SELECT is(sqlstate_of(format('SELECT migrate.register(%L, %L, %L, project => %L)',
							 '3', 'n', 'SELECT 1', repeat('p', 64))),
		  '22023', 'a project name of 64 bytes is 22023');
SELECT is(sqlstate_of(format('SELECT * FROM migrate.status(%L)', repeat('p', 20000000))),
		  '22023', 'a project name of 20 MB is 22023');
SELECT is(sqlstate_of(format('SELECT migrate.register(%L, %L, %L, requires => ARRAY[%L])',
							 '3', 'n', 'SELECT 1', repeat('p', 64) || ':1')),
		  '22023', 'a required project name of 64 bytes is 22023');

--
-- Invalid project names: a project is a lowercase identifier.  Each is
-- 22023 wherever a project is given.
--
CREATE TABLE bad_projects (project text);
INSERT INTO bad_projects VALUES ('Default'), ('1abc'), ('a-b'), ('a b'),
	(' default'), ('default '), (E'default\n'), ('a.b'), ('a:b'), ('ä'),
	('default;drop'), ('a''b'), ('"a"'), ('a\b'), ('$$'), (E'\u200Bdefault'),
	('𝖽𝖾𝖿𝖺𝗎𝗅𝗍');
SELECT is(array_agg(DISTINCT sqlstate_of(format(call, project))), '{22023}',
		  format('%s: every invalid project name is 22023', split_part(call, '(', 1)))
FROM bad_projects,
	 (VALUES ($$SELECT migrate.register('3', 'n', 'SELECT 1', project => %L)$$),
			 ($$SELECT migrate.register('3', 'n', 'SELECT 1', requires => ARRAY[%L || ':1'])$$),
			 ($$SELECT migrate.register_repeatable('r', 'SELECT 1', %L)$$),
			 ($$SELECT migrate.unregister('2', %L)$$),
			 ($$SELECT * FROM migrate.run(project => %L)$$),
			 ($$SELECT * FROM migrate.rollback(1, %L)$$),
			 ($$SELECT * FROM migrate.rollback_to('1', %L)$$),
			 ($$SELECT * FROM migrate.rollback_all(%L)$$),
			 ($$SELECT migrate.baseline('1', %L)$$),
			 ($$SELECT * FROM migrate.validate(%L)$$),
			 ($$SELECT * FROM migrate.status(%L)$$),
			 ($$SELECT migrate.current_version(%L)$$)) AS c(call)
GROUP BY call ORDER BY call;
-- Valid ones, for contrast.
SELECT is(sqlstate_of(format('SELECT * FROM migrate.status(%L)', p)), '00000',
		  format('%s is a valid project name', p))
FROM (VALUES ('_'), ('a1_b2'), ('_9')) AS t(p);

--
-- Malformed versions everywhere a version is given: 22P02 (in requires,
-- 22023: the entry as a whole is invalid).
--
SELECT is(array_agg(DISTINCT sqlstate_of(format(call, v))), ARRAY[expected],
		  format('%s: every malformed version is %s', split_part(call, '(', 1), expected))
FROM (VALUES ('1.'), ('.1'), ('-1'), ('1 0'), ('1,0'), ('1/0'), ('1+0'), ('ä1'),
			 ('１'), (E'1\n'), ('1''0'), ('v1$'), ('1\0')) AS bad(v),
	 (VALUES ($$SELECT migrate.register(%L, 'n', 'SELECT 1')$$, '22P02'),
			 ($$SELECT migrate.register('3', 'n', 'SELECT 1', requires => ARRAY[%L])$$, '22023'),
			 ($$SELECT migrate.unregister(%L)$$, '22P02'),
			 ($$SELECT * FROM migrate.run(%L, 'default')$$, '22P02'),
			 ($$SELECT * FROM migrate.rollback_to(%L)$$, '22P02'),
			 ($$SELECT migrate.baseline(%L, 'other')$$, '22P02'),
			 ($$SELECT %L::migrate.version$$, '22P02')) AS c(call, expected)
GROUP BY call, expected ORDER BY call;

-- What a caller sees, in full.  Refused calls write nothing.
SELECT migrate.register('1.', 'n', 'SELECT 1');
SELECT migrate.register('3', repeat('n', 1025), 'SELECT 1');
SELECT * FROM migrate.status('Default');
SELECT migrate.register('3', 'n', 'SELECT 1', requires => '{"lib:1.0."}');
SELECT migrate.register('3', 'n', $$SELECT 'abc$$);
SELECT migrate.register('3', 'n', 'SELECT 1', down => E'SELECT 1;\n/* unterminated');
SELECT is(catalog_state(), (SELECT state FROM before),
		  'none of the refused calls wrote anything');

--
-- Quotes, dollar quotes, backslashes and unicode (four-byte characters,
-- combining characters, right-to-left text, zero-width characters) in
-- names, scripts and requires.  Names and scripts are stored and shown
-- exactly as given, and the scripts run.
--
CREATE TABLE odd_names (ord serial, name text);
INSERT INTO odd_names (name) VALUES
	($$O'Brien's "quoted" name$$),
	($n$$$ and $tag$ and $1$n$),
	(E'back\\slash \\n \\\\ and \\'),
	('emoji 😀🎉 and 𝄞'),
	(E'e\u0301 combining, a\u030A\u0323 stacked'),
	(E'right-to-left \u05E9\u05DC\u05D5\u05DD and \u202Eoverride\u202C'),
	(E'zero\u200Bwidth\u200Djoiner\uFEFF'),
	(E'tab\tnewline\nreturn\r'),
	('%s %d %% format specifiers'),
	('<script>alert(1)</script>'),
	('; DROP TABLE app.one; --');
SELECT is(migrate.register(format('10.%s', ord), name,
						   format('SELECT %L::text AS n', name)),
		  'registered', format('odd name %s is registered', ord))
FROM odd_names ORDER BY ord;
SELECT results_eq(
	$$SELECT name FROM migrate.migrations WHERE version OPERATOR(migrate.>=) '10'
	  ORDER BY version$$,
	'SELECT name FROM odd_names ORDER BY ord',
	'the names are stored as given, byte for byte');
SELECT results_eq(
	$$SELECT name FROM migrate.status() WHERE version OPERATOR(migrate.>=) '10'
	  ORDER BY version$$,
	'SELECT name FROM odd_names ORDER BY ord',
	'status() shows them as given');
SET client_min_messages = warning;
SELECT results_eq(
	$$SELECT name, status FROM migrate.run() ORDER BY version$$,
	$$SELECT name, 'ok' FROM (SELECT 0, 'two' UNION ALL SELECT ord, name FROM odd_names)
		AS t(ord, name) ORDER BY ord$$,
	'migrations with odd names run');
RESET client_min_messages;
SELECT results_eq(
	$$SELECT name FROM migrate.history WHERE version OPERATOR(migrate.>=) '10'
	  ORDER BY version$$,
	'SELECT name FROM odd_names ORDER BY ord',
	'the history keeps the names as given');

-- Scripts full of quoting and unicode: identifiers (the table's name is
-- an emoji and a right-to-left override), string constants of every
-- style, comments.
SELECT is(migrate.register('11', 'odd script', $script$
/* a comment with 'quotes', "identifiers", $$dollars$$ and 😀 */
CREATE TABLE app.U&"\+01F600 \202Etable" ("e\u0301" text, "it's" text, "a""b" text);
-- E'' strings, dollar quotes with and without tags, U& escapes
INSERT INTO app.U&"\+01F600 \202Etable" VALUES
	(E'back\\slash \'quote\' \u00e9 \U0001F600', $$it's $ a "dollar" \ quote$$,
	 $q$nested $$ inside $q$);
INSERT INTO app.U&"\+01F600 \202Etable" VALUES (U&'\00e9 \+01F600', 'standard ''quote'' \ kept',
	U&'!00e9' UESCAPE '!');
COMMENT ON TABLE app.U&"\+01F600 \202Etable" IS 'comment; with; semicolons';
$script$, down => $$DROP TABLE app.U&"\+01F600 \202Etable"$$), 'registered',
	'a script of quotes, dollar quotes, backslashes and unicode is registered');
SET client_min_messages = warning;
SELECT results_eq($$SELECT status FROM migrate.run()$$, $$VALUES ('ok')$$,
				  'and it runs');
RESET client_min_messages;
SELECT results_eq(
	$$SELECT "e\u0301", "it's", "a""b" FROM app.U&"\+01F600 \202Etable" ORDER BY 1$$,
	$e$VALUES (E'back\\slash ''quote'' é 😀', $d$it's $ a "dollar" \ quote$d$,
			   'nested $$ inside '),
			  ('é 😀', 'standard ''quote'' \ kept', 'é')$e$,
	'every string constant arrived intact');
SELECT is(obj_description((SELECT oid FROM pg_class
						   WHERE relname = U&'\+01F600 \202Etable')),
		  'comment; with; semicolons', 'semicolons inside strings do not split statements');

-- requires entries are versions: quotes and unicode are invalid there.
SELECT is(array_agg(DISTINCT sqlstate_of(format(
			  $$SELECT migrate.register('3', 'n', 'SELECT 1', requires => ARRAY[%L])$$, r))),
		  '{22023}', 'requires entries with quotes, unicode or spaces are 22023')
FROM (VALUES ($$1'$$), ('😀'), (E'1\u200B'), ('e\u0301'), ('lib :1'), ('lib:1:2'),
			 ('"lib":1'), ('lib:$$1$$')) AS t(r);

--
-- Text cannot hold a NUL byte, nor invalid UTF-8: such input is refused
-- by the server before migrate sees it.
--
SELECT throws_ok($$SELECT migrate.register('3', 'n' || chr(0), 'SELECT 1')$$,
				 '54000', 'null character not permitted',
				 'a NUL character cannot be built (chr(0))');
SELECT throws_ok($$SELECT migrate.register('3', convert_from('\x6e00', 'UTF8'), 'SELECT 1')$$,
				 '22021', 'invalid byte sequence for encoding "UTF8": 0x00',
				 'nor decoded into text');
SELECT throws_ok($$SELECT migrate.register('3', convert_from('\xff', 'UTF8'), 'SELECT 1')$$,
				 '22021', 'invalid byte sequence for encoding "UTF8": 0xff',
				 'nor invalid UTF-8');
SELECT throws_ok($s$SELECT migrate.register('3', 'n', $$SELECT E'\xff'$$)$s$,
				 '22021', NULL,
				 'an escape that makes invalid UTF-8 inside a script is refused at registration');
SELECT throws_ok($s$SELECT migrate.register('3', 'n', $$SELECT E'\u0000'$$)$s$,
				 '42601', NULL,
				 'so is an escaped NUL inside a script');

--
-- Unterminated quotes, dollar quotes, identifiers and comments: the
-- lexer finds them at registration (42601), in up and in down.
--
SELECT is(sqlstate_of(format('SELECT migrate.register(%L, %L, %L)', '3', 'n', s)),
		  '42601', format('up script %s is a syntax error', s))
FROM (VALUES ($$SELECT 'abc$$), ($s$SELECT $$abc$s$), ($s$SELECT $t$abc$t$s$),
			 ($s$SELECT $t$abc$u$$s$), ($$SELECT "ident$$), ($$SELECT E'abc\'$$),
			 ($$SELECT B'101$$), ($$SELECT X'AB$$), ($$SELECT U&'abc$$),
			 ($$SELECT U&"abc$$), ($$SELECT 1 /* comment$$),
			 ($$SELECT 1 /* outer /* inner */$$), ($$SELECT U&'\D800'$$),
			 ($$SELECT 1 \gset$$), ($$\i /etc/passwd$$),
			 ($$SELECT (((1)$$), ($$SELECT 1)$$)) AS t(s);
SELECT is(sqlstate_of(format('SELECT migrate.register(%L, %L, %L, down => %L)',
							 '3', 'n', 'SELECT 1', s)),
		  '42601', format('down script %s is a syntax error', s))
FROM (VALUES ($$SELECT 'abc$$), ($s$SELECT $$abc$s$), ($$SELECT 1 /* comment$$)) AS t(s);
SELECT is(sqlstate_of(format('SELECT migrate.register_repeatable(%L, %L)', 'r', s)),
		  '42601', format('repeatable script %s is a syntax error', s))
FROM (VALUES ($$SELECT 'abc$$), ($s$SELECT $$abc$s$), ($$SELECT 1 /* comment$$)) AS t(s);
-- COPY data in a script ("\." ends it) is 0A000.
SELECT throws_ok(format('SELECT migrate.register(%L, %L, %L)', '3', 'n', E'SELECT 1;\n\\.\n'),
				 '0A000', NULL, 'a COPY data terminator is 0A000');
-- Nesting deeper than the parser's stack is a syntax error too, not a
-- crash.
SELECT throws_ok(format('SELECT migrate.register(%L, %L, %L)', '3', 'n',
						'SELECT ' || repeat('(', 100000) || '1' || repeat(')', 100000)),
				 '42601', NULL, 'parentheses nested 100,000 deep are 42601');

--
-- Wrong types.  There is no implicit cast from a number (or a version)
-- to text, so such calls find no function (42883); text literals are
-- converted, or refused with the type's own error.
--
SELECT throws_ok($$SELECT migrate.register(3, 'n', 'SELECT 1')$$, '42883', NULL,
				 'an integer version finds no function (42883)');
SELECT throws_ok($$SELECT migrate.register(3.5, 'n', 'SELECT 1')$$, '42883', NULL,
				 'nor does a numeric version');
SELECT is(sqlstate_of($$SELECT migrate.register(3::text, 'n', 'SELECT 1')$$), '00000',
		  'a number cast to text is a version');
SELECT throws_ok($$SELECT migrate.register('3', 'n', 'SELECT 1', requires => 'lib:1')$$,
				 '22P02', NULL, 'requires given as a plain string is a malformed array (22P02)');
SELECT throws_ok($$SELECT migrate.register('3', 'n', 'SELECT 1', requires => ARRAY[1])$$,
				 '42883', NULL, 'requires given as integer[] finds no function');
SELECT throws_ok($$SELECT migrate.register('3', 'n', 'SELECT 1', transactional => 'maybe')$$,
				 '22P02', NULL, 'transactional => ''maybe'' is 22P02');
SELECT is(sqlstate_of($$SELECT migrate.register('3', 'n', 'SELECT 1', transactional => 'yes')$$),
		  '00000', 'transactional => ''yes'' is true');
SELECT throws_ok($$SELECT * FROM migrate.rollback(1.5)$$, '42883', NULL,
				 'a fractional step count finds no function');
SELECT throws_ok($$SELECT * FROM migrate.rollback('x')$$, '22P02', NULL,
				 'steps => ''x'' is 22P02');
SELECT is(array_agg(DISTINCT sqlstate_of(format('SELECT * FROM migrate.rollback(%s)', s))),
		  '{22023}', 'steps 0, -1 and -2147483648 are 22023')
FROM (VALUES (0), (-1), (-2147483648)) AS t(s);
SELECT is(sqlstate_of($$SELECT * FROM migrate.rollback(2147483647, 'other')$$), '00000',
		  'the largest step count is accepted');
SELECT throws_ok($$SELECT * FROM migrate.rollback('99999999999')$$, '22003', NULL,
				 'a step count beyond integer is 22003');
SELECT throws_ok($$SELECT * FROM migrate.run(dry_run => 'x')$$, '22P02', NULL,
				 'dry_run => ''x'' is 22P02');
SELECT throws_ok($$SELECT * FROM migrate.status(1)$$, '42883', NULL,
				 'status(1) finds no function');
SELECT throws_ok($$SELECT * FROM migrate.run(target => '2')$$, '22023', NULL,
				 'a target without a project is 22023');

--
-- Huge scripts.  20 MB in one statement registers, runs and arrives
-- whole.
--
SELECT is(migrate.register('20', 'twenty megabytes',
	'CREATE TABLE app.big AS SELECT ''' || repeat('x', 20 * 1024 * 1024) || '''::text AS payload',
	down => 'DROP TABLE app.big'), 'registered', 'a script of 20 MB is registered');
SELECT is(migrate.register('20', 'twenty megabytes',
	'CREATE TABLE app.big AS SELECT ''' || repeat('x', 20 * 1024 * 1024) || '''::text AS payload',
	down => 'DROP TABLE app.big'), 'unchanged', 'and registered again, unchanged');
SELECT is(migrate.register('21', 'twenty megabytes of comment',
	'/*' || repeat('x', 20 * 1024 * 1024) || '*/ SELECT 1'),
	'registered', 'a comment of 20 MB is registered');
SELECT is(sqlstate_of(format('SELECT migrate.register(%L, %L, %L)', '3', 'n',
		  repeat(';', 1000000) || 'SELECT 1' || repeat(';', 1000000))),
		  '00000', 'a script of two million semicolons and one statement is registered');
SET client_min_messages = warning;
SELECT results_eq($$SELECT version::text, status FROM migrate.run()$$,
				  $$VALUES ('20', 'ok'), ('21', 'ok')$$, 'the 20 MB scripts run');
RESET client_min_messages;
SELECT is(length(payload), 20 * 1024 * 1024, 'the 20 MB constant arrived whole')
FROM app.big;
SELECT is(length(up), 20 * 1024 * 1024 + 50, 'the catalog keeps the whole script')
FROM migrate.migrations WHERE version::text = '20';

-- 100,000 statements.  Registering them parses each once; it must be
-- about linear.  Before spending the time on 100,000, time 15,000 (a
-- quadratic registration takes seconds there, a linear one milliseconds).
CREATE TABLE app.many (i int);
CREATE FUNCTION many_inserts(n int, last text DEFAULT '') RETURNS text
LANGUAGE sql AS $$
	SELECT string_agg(format('INSERT INTO app.many VALUES (%s);', i), E'\n')
		   || last
	FROM generate_series(1, n) AS i
$$;
CREATE TABLE timing AS SELECT clock_timestamp() AS t0;
SELECT migrate.register('29', 'fifteen thousand', many_inserts(15000)) AS registered \gset
SELECT clock_timestamp() - t0 < interval '3 s' AS fast FROM timing \gset
SELECT ok(:'fast', 'registering 15,000 statements takes well under 3 s');
SELECT migrate.unregister('29');
SELECT CASE WHEN :'fast'
	   THEN is(migrate.register('30', 'many', many_inserts(100000)), 'registered',
			   'a script of 100,000 statements is registered')
	   ELSE fail('a script of 100,000 statements is registered (skipped: registration is too slow, see above)')
	   END;
SET client_min_messages = warning;
SELECT CASE WHEN :'fast'
	   THEN results_eq($$SELECT version::text, status FROM migrate.run()$$,
					   $$VALUES ('30', 'ok')$$, 'and runs')
	   ELSE fail('and runs (skipped)')
	   END;
RESET client_min_messages;
SELECT CASE WHEN :'fast'
	   THEN is((SELECT count(*) FROM app.many), 100000::bigint,
			   'every one of its statements ran')
	   ELSE fail('every one of its statements ran (skipped)')
	   END;
-- A syntax error in statement 100,000 is found at registration, with
-- its line.
CREATE FUNCTION error_context_of(sql text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	context text;
BEGIN
	EXECUTE sql;
	RETURN NULL;
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS context = PG_EXCEPTION_CONTEXT;
	RETURN SQLSTATE || ': ' || split_part(context, E'\n', 1);
END
$$;
SELECT is(error_context_of(format('SELECT migrate.register(%L, %L, %L)', '31', 'broken',
								  many_inserts(99999, E'\nINSERT INTO app.many VALUES (1,);'))),
		  '42601: up script of migration default 31 "broken", line 100000',
		  'a syntax error in statement 100,000 is 42601 with its line');
-- A run-time failure in the last of 2,000 statements, atomic => false:
-- the failure is recorded and nothing of the 1,999 before it stays.
TRUNCATE app.many;
SELECT migrate.register('32', 'fails at the end',
						many_inserts(1999, E'\nINSERT INTO app.nosuch VALUES (1);'));
SET client_min_messages = error;
SELECT results_eq($$SELECT version::text, status, message FROM migrate.run(atomic => false)$$,
				  $$VALUES ('32', 'failed', 'relation "app.nosuch" does not exist')$$,
				  'the last of 2,000 statements fails');
RESET client_min_messages;
SELECT is((SELECT count(*) FROM app.many), 0::bigint,
		  'nothing of the statements before it stays');
SELECT is((SELECT split_part(context, E'\n', 1) FROM migrate.history
		   WHERE version::text = '32'),
		  'statement 2000 of up script of migration default 32 "fails at the end", line 2000',
		  'the history names the statement and its line');
SELECT migrate.unregister('32');

--
-- Migrations that attack migrate itself.  Each runs as a low-privilege
-- registrant (no privilege on migrate's objects: the server refuses) and
-- as a superuser registrant (migrate's guards refuse), with atomic =>
-- true (the caller's transaction is aborted) and atomic => false (the
-- failure is recorded); in every case the catalog outside the attacking
-- migration is intact.  Each attempt is rolled back afterwards, so one
-- that succeeds cannot spoil the next.
--
CREATE ROLE regress_hostile_input_deployer;
GRANT USAGE ON SCHEMA migrate TO regress_hostile_input_deployer;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA migrate TO regress_hostile_input_deployer;
GRANT ALL ON SCHEMA app TO regress_hostile_input_deployer;
CREATE FUNCTION app.forge() RETURNS trigger LANGUAGE plpgsql
AS $$BEGIN NEW.status := 'ok'; RETURN NEW; END$$;

-- Everything about migrate that a migration must not change, except its
-- own registration and history rows (project attack), the counters that
-- every run moves, and statistics.  Scripts count by their checksums
-- and sizes (reading the 20 MB ones each time would be slow).
CREATE FUNCTION fingerprint() RETURNS text
LANGUAGE sql AS $$
	SELECT concat_ws(E'\n--\n',
		(SELECT string_agg(concat_ws(' ', m.id, m.project, m.kind, m.version, m.name,
									 octet_length(m.up), octet_length(m.down), m.requires,
									 m.transactional, m.checksum, m.down_checksum,
									 m.registered_at, m.registered_by, m.state,
									 m.applied_checksum, m.last_event), E'\n' ORDER BY m.id)
		 FROM migrate.migration AS m WHERE m.project <> 'attack'),
		(SELECT string_agg(e::text, E'\n' ORDER BY e.id) FROM migrate.event AS e
		 WHERE e.project <> 'attack'),
		(SELECT count(*) FROM migrate.generation),
		(SELECT string_agg(concat_ws(' ', c.relname, c.relowner, c.relacl, c.relkind,
									 c.relrowsecurity, c.relhasrules, c.relhastriggers,
									 c.relnatts), E'\n' ORDER BY c.relname)
		 FROM pg_class AS c WHERE c.relnamespace = 'migrate'::regnamespace),
		(SELECT string_agg(concat_ws(' ', a.attrelid::regclass, a.attname, a.atttypid,
									 a.attisdropped), E'\n' ORDER BY a.attrelid, a.attnum)
		 FROM pg_attribute AS a JOIN pg_class AS c ON c.oid = a.attrelid
		 WHERE c.relnamespace = 'migrate'::regnamespace AND a.attnum > 0),
		(SELECT string_agg(concat_ws(' ', t.tgrelid::regclass, t.tgname, t.tgenabled,
									 t.tgfoid::regproc), E'\n' ORDER BY t.tgrelid, t.tgname)
		 FROM pg_trigger AS t JOIN pg_class AS c ON c.oid = t.tgrelid
		 WHERE c.relnamespace = 'migrate'::regnamespace),
		(SELECT string_agg(concat_ws(' ', r.ev_class::regclass, r.rulename, r.ev_enabled),
						   E'\n' ORDER BY r.ev_class, r.rulename)
		 FROM pg_rewrite AS r JOIN pg_class AS c ON c.oid = r.ev_class
		 WHERE c.relnamespace = 'migrate'::regnamespace),
		(SELECT count(*) FROM pg_policy AS p JOIN pg_class AS c ON c.oid = p.polrelid
		 WHERE c.relnamespace = 'migrate'::regnamespace),
		(SELECT string_agg(concat_ws(' ', p.oid::regprocedure, p.proowner, p.proacl,
									 p.prosrc, p.prosecdef, p.proconfig), E'\n'
						   ORDER BY p.oid::regprocedure::text)
		 FROM pg_proc AS p WHERE p.pronamespace = 'migrate'::regnamespace),
		(SELECT string_agg(concat_ws(' ', o.oid::regoperator, o.oprowner, o.oprcode),
						   E'\n' ORDER BY o.oid::regoperator::text)
		 FROM pg_operator AS o WHERE o.oprnamespace = 'migrate'::regnamespace),
		(SELECT string_agg(concat_ws(' ', t.typname, t.typowner, t.typacl), E'\n'
						   ORDER BY t.typname)
		 FROM pg_type AS t WHERE t.typnamespace = 'migrate'::regnamespace),
		(SELECT string_agg(concat_ws(' ', evtname, evtevent, evtenabled, evtfoid::regproc),
						   E'\n' ORDER BY evtname)
		 FROM pg_event_trigger),
		(SELECT string_agg(concat_ws(' ', d.defaclrole, d.defaclobjtype, d.defaclacl),
						   E'\n' ORDER BY d.defaclrole, d.defaclobjtype)
		 FROM pg_default_acl AS d
		 WHERE d.defaclnamespace IN (0, 'migrate'::regnamespace)
		   AND d.defaclrole = (SELECT extowner FROM pg_extension
							   WHERE extname = 'migrate')),
		(SELECT concat_ws(' ', n.nspname, n.nspowner, n.nspacl) FROM pg_namespace AS n
		 WHERE n.nspname = 'migrate'),
		(SELECT concat_ws(' ', x.extname, x.extowner, x.extversion, x.extconfig,
						  x.extcondition)
		 FROM pg_extension AS x WHERE x.extname = 'migrate'),
		(SELECT string_agg(d.description, E'\n' ORDER BY d.classoid, d.objoid, d.objsubid)
		 FROM pg_description AS d
		 WHERE (d.classoid = 'pg_class'::regclass AND d.objoid IN
				(SELECT oid FROM pg_class WHERE relnamespace = 'migrate'::regnamespace))
			OR (d.classoid = 'pg_proc'::regclass AND d.objoid IN
				(SELECT oid FROM pg_proc WHERE pronamespace = 'migrate'::regnamespace))),
		-- sequences may only move forward, past the ids in use
		(SELECT last_value >= (SELECT max(id) FROM migrate.event)
		 FROM migrate.event_id_seq),
		(SELECT last_value >= (SELECT max(id) FROM migrate.migration)
		 FROM migrate.migration_id_seq),
		(SELECT last_value >= (SELECT max(run_id) FROM migrate.event)
		 FROM migrate.run_id_seq))
$$;

-- attack(script, registrant, atomic) registers script as migration
-- attack 1 (registrant NULL: the superuser running this file), runs it,
-- and returns what happened: the SQLSTATE the caller got (atomic) or the
-- one recorded in the history (atomic => false; '00000' if it "worked"),
-- followed by "intact" or "CHANGED".  Then it rolls everything back.
CREATE FUNCTION attack(script text, registrant name, atomic boolean)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	before text;
	outcome text;
	status text;
BEGIN
	BEGIN
		IF registrant IS NOT NULL THEN
			EXECUTE format('SET LOCAL ROLE %I', registrant);
		END IF;
		PERFORM migrate.register('1', 'attack', script, project => 'attack');
		RESET ROLE;
		before := fingerprint();
		IF atomic THEN
			BEGIN
				PERFORM FROM migrate.run(project => 'attack');
				outcome := '00000';
			EXCEPTION WHEN OTHERS THEN
				outcome := SQLSTATE;
			END;
		ELSE
			BEGIN
				SELECT r.status INTO status
				FROM migrate.run(project => 'attack', atomic => false) AS r;
				SELECT coalesce(e.sqlstate, '00000') INTO outcome
				FROM migrate.event AS e WHERE e.project = 'attack'
				ORDER BY e.id DESC LIMIT 1;
				IF status IS DISTINCT FROM 'failed' AND outcome <> '00000' THEN
					outcome := outcome || ' (but the run said ' || status || ')';
				END IF;
			EXCEPTION WHEN OTHERS THEN
				outcome := 'raised ' || SQLSTATE;
			END;
		END IF;
		outcome := outcome || CASE WHEN fingerprint() = before
								   THEN ' intact' ELSE ' CHANGED' END;
		RAISE EXCEPTION USING ERRCODE = 'U0001';
	EXCEPTION
		WHEN SQLSTATE 'U0001' THEN
			NULL;
		WHEN OTHERS THEN
			outcome := coalesce(outcome, '') || ' then ' || SQLSTATE || ': ' || SQLERRM;
	END;
	-- Sequences ignore the rollback: put the history's ids back past
	-- those in use, should an attack have moved them.
	PERFORM setval('migrate.event_id_seq', (SELECT max(id) FROM migrate.event));
	RETURN outcome;
END
$$;

CREATE TABLE attacks (ord int, attack text, script text, low_expected text);
INSERT INTO attacks VALUES
	(1, 'DROP EXTENSION migrate', 'DROP EXTENSION migrate', '42501'),
	(2, 'DROP EXTENSION migrate CASCADE', 'DROP EXTENSION migrate CASCADE', '42501'),
	(3, 'DROP SCHEMA migrate CASCADE', 'DROP SCHEMA migrate CASCADE', '42501'),
	(4, 'TRUNCATE migrate.event', 'TRUNCATE migrate.event', '42501'),
	(5, 'DELETE FROM migrate.event', 'DELETE FROM migrate.event', '42501'),
	(6, 'DELETE FROM migrate.history', 'DELETE FROM migrate.history', '42501'),
	(7, 'UPDATE migrate.event', $$UPDATE migrate.event SET status = 'ok'$$, '42501'),
	(8, 'INSERT INTO migrate.event',
	 $$INSERT INTO migrate.event (run_id, project, version, name, action, status,
		started_at, duration_ms, role, pid, txid)
	   VALUES (1, 'default', '9', 'forged', 'up', 'ok', now(), 0, 'x', 0, '0')$$, '42501'),
	(9, 'UPDATE migrate.migration', $$UPDATE migrate.migration SET state = 'pending'$$, '42501'),
	(10, 'DELETE FROM migrate.migration', 'DELETE FROM migrate.migration', '42501'),
	(11, 'TRUNCATE migrate.migration', 'TRUNCATE migrate.migration CASCADE', '42501'),
	(12, 'UPDATE migrate.generation', 'UPDATE migrate.generation SET generation = 0', '42501'),
	(13, 'ALTER TABLE migrate.event DROP COLUMN',
	 'ALTER TABLE migrate.event DROP COLUMN message', '42501'),
	(14, 'ALTER TABLE migrate.event DROP COLUMN CASCADE',
	 'ALTER TABLE migrate.event DROP COLUMN message CASCADE', '42501'),
	(15, 'ALTER TABLE migrate.event ADD COLUMN',
	 'ALTER TABLE migrate.event ADD COLUMN forged int', '42501'),
	(16, 'ALTER TABLE migrate.event DISABLE TRIGGER',
	 'ALTER TABLE migrate.event DISABLE TRIGGER ALL', '42501'),
	(17, 'ALTER FUNCTION migrate.run OWNER',
	 'ALTER FUNCTION migrate.run(text, text, boolean, boolean, boolean, boolean) OWNER TO regress_hostile_input_deployer',
	 '42501'),
	(18, 'ALTER FUNCTION migrate.run RENAME',
	 'ALTER FUNCTION migrate.run(text, text, boolean, boolean, boolean, boolean) RENAME TO run_old',
	 '42501'),
	(19, 'CREATE OR REPLACE FUNCTION migrate.current_version',
	 $$CREATE OR REPLACE FUNCTION migrate.current_version(project text DEFAULT 'default')
	   RETURNS migrate.version LANGUAGE sql AS 'SELECT NULL::migrate.version'$$, '42501'),
	(20, 'CREATE FUNCTION in schema migrate',
	 $$CREATE FUNCTION migrate.register(integer) RETURNS integer LANGUAGE sql AS 'SELECT 1'$$,
	 '42501'),
	(21, 'ALTER EXTENSION migrate DROP FUNCTION',
	 'ALTER EXTENSION migrate DROP FUNCTION migrate.status(text)', '42501'),
	(22, 'ALTER SCHEMA migrate RENAME', 'ALTER SCHEMA migrate RENAME TO migrate_old', '42501'),
	(23, 'ALTER SEQUENCE migrate.run_id_seq RESTART',
	 'ALTER SEQUENCE migrate.run_id_seq RESTART', '42501'),
	(24, 'COMMENT ON TABLE migrate.event', $$COMMENT ON TABLE migrate.event IS 'x'$$, '42501'),
	(25, 'GRANT on the catalog to PUBLIC',
	 'GRANT ALL ON migrate.migration, migrate.event TO PUBLIC', '42501'),
	(26, 'CREATE TRIGGER on migrate.event',
	 'CREATE TRIGGER forge BEFORE INSERT ON migrate.event FOR EACH ROW EXECUTE FUNCTION app.forge()',
	 '42501'),
	(27, 'CREATE RULE on migrate.event',
	 $$CREATE RULE hide AS ON INSERT TO migrate.event DO ALSO NOTIFY forged$$, '42501'),
	(28, 'CREATE POLICY on migrate.event',
	 'CREATE POLICY hide ON migrate.event USING (false)', '42501'),
	(29, 'ALTER DEFAULT PRIVILEGES in schema migrate',
	 'ALTER DEFAULT PRIVILEGES IN SCHEMA migrate GRANT ALL ON TABLES TO PUBLIC', '42501'),
	(30, 'ALTER EVENT TRIGGER (migrate''s guard) DISABLE',
	 'ALTER EVENT TRIGGER migrate_ddl_guard DISABLE', '42501'),
	(31, 'session_replication_role = replica, then DELETE',
	 $$SET session_replication_role = replica; DELETE FROM migrate.event$$, '42501'),
	(32, 'setval on migrate.event_id_seq',
	 $$SELECT pg_catalog.setval('migrate.event_id_seq', 1, false)$$, '42501');

-- A low-privilege registrant: the server refuses (42501), or the
-- statement is a harmless no-op (default privileges for the
-- registrant's own future objects).
SET client_min_messages = error;
SELECT is(attack(script, 'regress_hostile_input_deployer', atomic),
		  low_expected || ' intact',
		  format('low-privilege migration, atomic => %s: %s', atomic, attack))
FROM attacks, (VALUES (true), (false)) AS m(atomic)
ORDER BY atomic DESC, ord;

-- A superuser registrant: migrate's guards refuse (42501).
SELECT is(attack(script, NULL, atomic), '42501 intact',
		  format('superuser migration, atomic => %s: %s', atomic, attack))
FROM attacks, (VALUES (true), (false)) AS m(atomic)
ORDER BY atomic DESC, ord;
RESET client_min_messages;

-- The messages of the guards.
SET ROLE regress_hostile_input_deployer;
SELECT migrate.register('1', 'truncate', 'TRUNCATE migrate.event', project => 'attack');
RESET ROLE;
SET client_min_messages = warning;
SELECT throws_ok($$SELECT * FROM migrate.run(project => 'attack')$$, '42501',
				 'migration attack 1 "truncate" failed: permission denied for table event',
				 'a low-privilege migration that truncates the history: permission denied');
RESET client_min_messages;
SELECT migrate.unregister('1', 'attack');
SELECT migrate.register('1', 'truncate', 'TRUNCATE migrate.event', project => 'attack');
SET client_min_messages = warning;
SELECT throws_ok($$SELECT * FROM migrate.run(project => 'attack')$$, '42501',
				 'migration attack 1 "truncate" failed: a migration cannot change the migrate catalog',
				 'a superuser migration that truncates the history: the catalog guard');
RESET client_min_messages;
SELECT migrate.register('1', 'drop', 'DROP EXTENSION migrate', project => 'attack');
SET client_min_messages = warning;
SELECT throws_ok($$SELECT * FROM migrate.run(project => 'attack')$$, '42501',
				 'migration attack 1 "drop" failed: a migration cannot change the migrate extension',
				 'a superuser migration that drops the extension: the DDL guard');
-- With atomic => false the failure is recorded, and the extension stays.
SELECT results_eq(
	$$SELECT status, message FROM migrate.run(project => 'attack', atomic => false)$$,
	$$VALUES ('failed', 'a migration cannot change the migrate extension')$$,
	'with atomic => false, the refusal is a failed row');
RESET client_min_messages;
SELECT results_eq(
	$$SELECT state, last_error FROM migrate.status('attack')$$,
	$$VALUES ('failed', '42501: a migration cannot change the migrate extension')$$,
	'and the failure is recorded');
SELECT migrate.unregister('1', 'attack');

--
-- The history is append-only for everyone, always, superusers included
-- (outside migrations too): 42501.
--
SELECT throws_ok($$UPDATE migrate.event SET status = 'ok'$$, '42501',
				 'the migration history is append-only',
				 'a superuser cannot UPDATE migrate.event');
SELECT throws_ok($$DELETE FROM migrate.event$$, '42501',
				 'the migration history is append-only',
				 'a superuser cannot DELETE FROM migrate.event');
SELECT throws_ok($$TRUNCATE migrate.event$$, '42501',
				 'the migration history is append-only',
				 'a superuser cannot TRUNCATE migrate.event');
SELECT throws_ok($$DELETE FROM migrate.history$$, '42501',
				 'the migration history is append-only',
				 'nor through the history view');

-- After all of it: the history and the registrations are still there,
-- and migrate still works.
SELECT results_eq(
	$$SELECT version::text, state FROM migrate.status() WHERE project = 'default'
	  AND version OPERATOR(migrate.<) '10' ORDER BY version$$,
	$$VALUES ('1', 'applied'), ('2', 'applied')$$,
	'the registrations are intact');
SELECT is((SELECT count(*) FROM migrate.history
		   WHERE project = 'default' AND version::text IN ('1', '2')),
		  2::bigint, 'so is their history');
SELECT is(migrate.register('99', 'after the attacks', 'SELECT 1'), 'registered',
		  'migrate still registers');
SET client_min_messages = warning;
SELECT results_eq($$SELECT version::text, status FROM migrate.run(project => 'default')$$,
				  $$VALUES ('99', 'ok')$$, 'and runs');
RESET client_min_messages;

SELECT * FROM finish();

\c contrib_regression
DROP DATABASE migrate_test_hostile_input;
DROP ROLE regress_hostile_input_deployer;
