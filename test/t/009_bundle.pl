# Copyright: the migrate developers.
#
# 009_bundle.pl
#	migrate-bundle (SPEC section 8) on the migrate, Flyway, golang-migrate
#	and dbmate layouts, with the fixtures of test/bundle/:
#
#	- offline: each folder bundles, auto-detection names the layout it
#	  chose, the script is byte-identical from one run and one path to the
#	  next, --run and --deploy append their call, Flyway's checksum of a
#	  file whose placeholders were substituted is the one Flyway computes;
#	  every error fixture and usage error exits non-zero with a message
#	  naming the file on stderr and nothing at all on stdout;
#	- quoting, against a stub of register() that keeps its arguments: every
#	  script arrives byte for byte ($m$, $$, backslashes, psql-looking \i
#	  and :variable lines, CRLF, no final newline), names with quotes and
#	  backslashes too, even with standard_conforming_strings off;
#	- with the extension: each folder registers, shows in status(), runs
#	  (--run or --deploy), reverts where it has downs, and registering it
#	  again changes nothing (every result "unchanged").
#
#	The last part needs register(..., verify => ...): against an older
#	extension it is skipped.  A migration registered with transactional
#	NULL shows the server's decision in status(): true unless a statement
#	cannot run in a transaction block.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::RecursiveCopy;
use PostgreSQL::Test::Utils;
use Test::More;
use Compress::Zlib ();
use Digest::MD5 qw(md5_hex);
use IPC::Run;

my $root = $ENV{TESTDIR} // '.';
my $fixtures = "$root/test/bundle";

# The program of this tree if it is built, else the installed one.
my $bundle_bin =
  -x "$root/bundle/migrate-bundle" ? "$root/bundle/migrate-bundle" : 'migrate-bundle';

# Runs migrate-bundle with @args; returns (exit status, stdout, stderr).
sub bundle
{
	my @args = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run([ $bundle_bin, @args ], '<', \undef, '>', \$out, '2>', \$err);
	return ($? >> 8, $out, $err);
}

sub slurp_raw
{
	my ($path) = @_;
	open(my $fh, '<:raw', $path) or die "cannot read $path: $!";
	local $/;
	my $text = <$fh>;
	close($fh);
	return $text;
}

sub spew_raw
{
	my ($path, $text) = @_;
	open(my $fh, '>:raw', $path) or die "cannot write $path: $!";
	print $fh $text;
	close($fh);
}

# A script file as the bundle registers it: without a leading BOM.
sub script_of
{
	my $text = slurp_raw(@_);
	$text =~ s/^\xEF\xBB\xBF//;
	return $text;
}

# Flyway's ChecksumCalculator, computed here independently: CRC-32 of the
# lines without terminators (\n, \r or \r\n), BOM dropped, signed.
sub flyway_checksum
{
	my ($text) = @_;
	$text =~ s/^\xEF\xBB\xBF//;
	$text =~ s/[\r\n]//g;
	my $crc = Compress::Zlib::crc32($text);
	$crc -= 2**32 if $crc >= 2**31;
	return $crc;
}

my %layout_opts = (
	migrate => [],
	flyway => [ '--set', 'schema=app' ],
	'golang-migrate' => [ '--layout', 'golang-migrate' ],
	dbmate => [],);

#
# Offline
#

# Auto-detection and determinism.
foreach my $layout (qw(migrate flyway dbmate))
{
	my ($rc, $out, $err) = bundle(@{ $layout_opts{$layout} }, "$fixtures/$layout");
	is($rc, 0, "$layout: bundles") or diag($err);
	like($err, qr/^migrate-bundle: layout auto: chose \Q$layout\E$/m,
		"$layout: auto-detection names the layout");
	like($out,
		qr/\A-- migrate-bundle 0\.4: \d+ migrations? from a \Q$layout\E folder\n\\set ON_ERROR_STOP on\nSET client_encoding = 'UTF8';\n/,
		"$layout: script header");
	my ($rc2, $out2) = bundle('--layout', $layout, @{ $layout_opts{$layout} },
		"$fixtures/$layout");
	is($out2, $out, "$layout: byte-identical again, and with --layout named");
}
{
	my ($rc, $out, $err) = bundle('--layout', 'golang-migrate', "$fixtures/golang-migrate");
	is($rc, 0, 'golang-migrate: bundles') or diag($err);
	unlike($err, qr/layout auto/, 'golang-migrate: no auto-detection when named');
	unlike($out, qr/0_old/, 'golang-migrate: subfolders are not read');
}

# The same folder elsewhere gives the same script: no path goes in.
{
	my $copy = PostgreSQL::Test::Utils::tempdir() . '/elsewhere';
	PostgreSQL::Test::RecursiveCopy::copypath("$fixtures/flyway", $copy);
	my (undef, $a) = bundle('--set', 'schema=app', "$fixtures/flyway");
	my (undef, $b) = bundle('--set', 'schema=app', $copy);
	is($b, $a, 'flyway: a copy of the folder gives the same script');
}

# --run and --deploy
{
	my (undef, $plain) = bundle("$fixtures/dbmate");
	my (undef, $run) = bundle('--run', "$fixtures/dbmate");
	my (undef, $deploy) = bundle('--deploy', "$fixtures/dbmate");
	is($run, $plain . "SELECT * FROM migrate.run();\n", '--run appends run()');
	is($deploy, $plain . "CALL migrate.deploy();\n", '--deploy appends deploy()');
	unlike($plain, qr/migrate\.(run|deploy)\(/, 'neither without the options');
}

# Flyway: placeholders, the checksum comment, what is skipped.
{
	my ($rc, $out, $err) = bundle('--set', 'schema=app', "$fixtures/flyway");
	my $sum = flyway_checksum(slurp_raw("$fixtures/flyway/V1__create_users.sql"));
	like($out,
		qr/^ +\(1, '1', 'create users', \$m\$-- migrate-bundle: Flyway checksum \Q$sum\E \(placeholders substituted\)\n/m,
		"flyway: the substituted up script starts with Flyway's checksum of the file ($sum)");
	is(scalar(() = $out =~ /placeholders substituted/g), 1,
		'flyway: only where placeholders changed the text');
	like($out, qr/CREATE TABLE app\.users/, 'flyway: ${SCHEMA} is ${schema}');
	like($out, qr/'created by V1__create_users\.sql'/, 'flyway: ${flyway:filename}');
	like($out, qr/'costs \$\$\{price\}, see C:\\temp\\new'/,
		'flyway: "$${x}" is left as Flyway leaves it');
	like($out, qr/\(2, '1\.1', 'add email', /, 'flyway: V1_1 is version 1.1');
	like($out, qr/\(4, '3', 'users login index', .*?, '\{\}', 'false', /s,
		'flyway: .sql.conf and the undo\'s comment make it non-transactional');
	like($err, qr/^migrate-bundle: beforeMigrate\.sql: skipped: a Flyway callback/m,
		'flyway: a callback is skipped, and said so');
	unlike($err, qr/README|gitkeep/, 'flyway: other files are ignored silently');
}

# Errors: status 1, the file (and line) named on stderr, nothing on stdout.
my @errors = (
	[ 'migrate-down-without-up', 'migrate', qr/^migrate-bundle: 0002_b\.down\.sql: down script without its up script/ ],
	[ 'migrate-bad-name', 'migrate', qr/^migrate-bundle: seed\.sql: not a migration file name/ ],
	[ 'migrate-equal-versions', 'migrate', qr/^migrate-bundle: 1_a\.up\.sql: version "1" is equal to version "001" of 001_b\.up\.sql/ ],
	[ 'migrate-bad-header', 'migrate', qr/^migrate-bundle: 0001_a\.up\.sql:2: unknown header "-- migrate:transactionl"/ ],
	[ 'migrate-bad-requires', 'migrate', qr/^migrate-bundle: 0002_b\.up\.sql:1: empty entry in "-- migrate:requires"/ ],
	[ 'migrate-bad-version', 'migrate', qr/^migrate-bundle: 1-_init\.up\.sql: "1-" is not a valid version/ ],
	[ 'not-utf8', 'migrate', qr/^migrate-bundle: 0001_latin1\.up\.sql:2: file is not valid UTF-8/ ],
	[ 'nul-byte', 'migrate', qr/^migrate-bundle: 0001_nul\.up\.sql:2: file contains a NUL byte/ ],
	[ 'overlong', 'migrate', qr/^migrate-bundle: 0001_overlong\.up\.sql:1: file is not valid UTF-8/ ],
	[ 'surrogate', 'migrate', qr/^migrate-bundle: 0001_surrogate\.up\.sql:3: file is not valid UTF-8/ ],
	[ 'flyway-equal-versions', 'flyway', qr/^migrate-bundle: sub\/V1_0__b\.sql: Flyway version 1\.0 is the same version as 1 of V1__a\.sql/ ],
	[ 'flyway-undefined-placeholder', 'flyway', qr/^migrate-bundle: V1__a\.sql:3: placeholder \$\{missing\} is not defined/ ],
	[ 'flyway-builtin-placeholder', 'flyway', qr/^migrate-bundle: V1__a\.sql:1: placeholder \$\{flyway:user\} .* --set flyway:user=VALUE/ ],
	[ 'flyway-undo-without-version', 'flyway', qr/^migrate-bundle: U2__b\.sql: undo migration without its versioned migration/ ],
	[ 'flyway-duplicate-repeatable', 'flyway', qr/^migrate-bundle: views\/R__users_view\.sql: repeatable migration "users view" is also defined by R__users_view\.sql/ ],
	[ 'flyway-bad-conf', 'flyway', qr/^migrate-bundle: V1__a\.sql\.conf:1: invalid value for executeInTransaction/ ],
	[ 'golang-migrate-duplicate', 'golang-migrate', qr/^migrate-bundle: 1_a\.up\.sql: duplicate migration: version 1 has another up file, 01_b\.up\.sql/ ],
	[ 'golang-migrate-down-without-up', 'golang-migrate', qr/^migrate-bundle: 2_b\.down\.sql: down migration without an up migration/ ],
	[ 'dbmate-missing-down', 'dbmate', qr/^migrate-bundle: 20240101000000_t\.sql:1: dbmate requires each migration to define a down block/ ],
	[ 'dbmate-statement-before-up', 'dbmate', qr/^migrate-bundle: 20240101000000_t\.sql:1: dbmate does not support statements preceding/ ],
	[ 'dbmate-two-downs', 'dbmate', qr/^migrate-bundle: 20240101000000_t\.sql:5: dbmate requires every '-- migrate:down' to be preceded/ ],
	[ 'dbmate-no-up', 'dbmate', qr/^migrate-bundle: 20240102000000_b\.sql: dbmate requires each migration to define an up block/ ],
	[ 'empty', 'migrate', qr/^migrate-bundle: \S*empty: no migrations found/ ],
	[ 'empty', 'auto', qr/^migrate-bundle: \S*empty: layout auto: no layout recognises this folder/ ],
	[ 'ambiguous', 'auto', qr/^migrate-bundle: \S*ambiguous: layout auto: the folder looks like both flyway and migrate/ ],);
foreach my $case (@errors)
{
	my ($dir, $layout, $message) = @$case;
	my ($rc, $out, $err) = bundle('--layout', $layout, '--deploy', "$fixtures/errors/$dir");
	is($rc, 1, "error $dir ($layout): exit status 1");
	like($err, $message, "error $dir ($layout): message");
	is($out, '', "error $dir ($layout): nothing on stdout");
}

my @usage = (
	[ [ '--run', '--deploy', "$fixtures/migrate" ], qr/--run and --deploy cannot be used together/ ],
	[ [ '--layout', 'liquibase', "$fixtures/migrate" ], qr/unknown layout "liquibase"/ ],
	[ [], qr/no folder given/ ],
	[ [ "$fixtures/migrate", "$fixtures/flyway" ], qr/one folder only/ ],
	[ [ '--set', 'noequals', "$fixtures/migrate" ], qr/--set "noequals": expected NAME=VALUE/ ],
	[ [ '--set', 'a=1', '--set', 'a=2', "$fixtures/migrate" ], qr/--set a is given twice/ ],
	[ [ '--project', 'Shop', "$fixtures/migrate" ], qr/--project "Shop"/ ],
	[ [ '--frobnicate', "$fixtures/migrate" ], qr/unknown option "--frobnicate"/ ],
	[ [ '--layout' ], qr/option "--layout" needs a value/ ],
	[ [ '-xy', "$fixtures/migrate" ], qr/unknown option "-x"/ ],
	[ [ '--set', 'schema=a', '--set', 'SCHEMA=b', "$fixtures/flyway" ],
		qr/--set schema and --set SCHEMA: Flyway placeholder names are case-insensitive/ ],);
foreach my $case (@usage)
{
	my ($args, $message) = @$case;
	my ($rc, $out, $err) = bundle(@$args);
	is($rc, 2, "usage error (@$args): exit status 2");
	like($err, qr/^migrate-bundle: $message/m, "usage error (@$args): message");
	is($out, '', "usage error (@$args): nothing on stdout");
}
{
	my ($rc, $out, $err) = bundle('--layout', 'migrate', "$fixtures/no-such-folder");
	is($rc, 1, 'a missing folder: exit status 1');
	like($err, qr/^migrate-bundle: \S*no-such-folder: cannot read folder: /m,
		'a missing folder: named');
	is($out, '', 'a missing folder: nothing on stdout');
	($rc, $out, $err) = bundle('--layout', 'migrate', "$fixtures/migrate/0001_create_schema.up.sql");
	is($rc, 1, 'a file for the folder: exit status 1');
	like($err, qr/^migrate-bundle: \S*0001_create_schema\.up\.sql: not a directory$/m,
		'a file for the folder: named');
	if (-w '/dev/full')
	{
		IPC::Run::run([ $bundle_bin, "$fixtures/migrate" ], '<', \undef,
			'>', '/dev/full', '2>', \$err);
		is($? >> 8, 1, 'stdout that cannot be written: exit status 1');
		like($err, qr/^migrate-bundle: cannot write to standard output: /m,
			'stdout that cannot be written: said so');
	}
	($rc, $out) = bundle('--version');
	is($out, "migrate-bundle 0.4\n", '--version');
	($rc, $out) = bundle('--help');
	like($out, qr/^Usage:/m, '--help');
}

#
# Quoting, against a stub of register()
#

my $node = PostgreSQL::Test::Cluster->new('bundle');
$node->init;
$node->start;

$node->safe_psql('postgres', 'CREATE DATABASE stub');
$node->safe_psql(
	'stub', q{
CREATE SCHEMA migrate;
CREATE TABLE migrate.got (ord serial, repeatable boolean, version text,
	name text, up text, down text, requires text[], transactional boolean,
	project text, verify text);
CREATE FUNCTION migrate.register(version text, name text, up text,
	down text DEFAULT NULL, requires text[] DEFAULT '{}',
	transactional boolean DEFAULT true, project text DEFAULT 'default',
	verify text DEFAULT NULL) RETURNS text LANGUAGE sql
AS $$INSERT INTO migrate.got (repeatable, version, name, up, down, requires,
	transactional, project, verify)
	VALUES (false, version, name, up, down, requires, transactional, project,
	verify) RETURNING 'registered'$$;
CREATE FUNCTION migrate.register_repeatable(name text, up text,
	project text DEFAULT 'default') RETURNS text LANGUAGE sql
AS $$INSERT INTO migrate.got (repeatable, name, up, project)
	VALUES (true, name, up, project) RETURNING 'registered'$$;
});

# Loads $script into the stub; returns the rows it got, as a list of
# hashes, in the order register() was called.
sub stub_load
{
	my ($script, %opts) = @_;
	$node->safe_psql('stub', 'TRUNCATE migrate.got; ALTER SEQUENCE migrate.got_ord_seq RESTART');
	my ($out, $err) = ('', '');
	local $ENV{PGOPTIONS} = $opts{pgoptions} if $opts{pgoptions};
	my $rc = $node->psql('stub', $script, stdout => \$out, stderr => \$err);
	is($rc, 0, "stub: the script loads$opts{what}") or diag($err);
	my $rows = $node->safe_psql('stub',
		q{SELECT ord, repeatable, coalesce(version, '-'), encode(convert_to(name, 'UTF8'), 'hex'),
			md5(up), coalesce(md5(down), '-'), array_to_string(requires, ' '),
			coalesce(transactional::text, '-'), project
		  FROM migrate.got ORDER BY ord});
	my @got;
	foreach my $line (split /\n/, $rows)
	{
		my @f = split /\|/, $line, -1;
		push @got,
		  {
			ord => $f[0],
			repeatable => $f[1],
			version => $f[2],
			name => pack('H*', $f[3]),
			up => $f[4],
			down => $f[5],
			requires => $f[6],
			transactional => $f[7],
			project => $f[8]
		  };
	}
	return @got;
}

# migrate layout: every byte of every file arrives.
{
	my (undef, $script) = bundle('--project', 'shop', "$fixtures/migrate");
	my @got = stub_load($script, what => ' (migrate)');
	my $dir = "$fixtures/migrate";
	is(scalar @got, 4, 'stub (migrate): four registrations');
	is($got[3]{up}, md5_hex(script_of("$dir/0004_quoting.up.sql")),
		'stub (migrate): $m$, $$, backslashes, \\i and :variable lines, CRLF arrive intact');
	is($got[3]{down}, md5_hex(script_of("$dir/0004_quoting.down.sql")),
		'stub (migrate): a down without final newline arrives intact');
	is($got[0]{down}, '-', 'stub (migrate): no down file is NULL');
	is($got[1]{requires}, '0001', 'stub (migrate): requires header');
	is($got[3]{requires}, '0002 0001', 'stub (migrate): requires header, two entries');
	is($got[2]{transactional}, 'false', 'stub (migrate): transactional header');
	is($got[0]{transactional}, '-', 'stub (migrate): otherwise NULL (the server decides)');
	is($got[0]{project}, 'shop', 'stub (migrate): --project');
	is(join(',', map { $_->{version} } @got), '0001,0002,0003,0004',
		'stub (migrate): registered in version order');
}

# Flyway: the substituted text and the raw ones.
{
	my (undef, $script) = bundle('--set', 'schema=app', "$fixtures/flyway");
	my @got = stub_load($script, what => ' (flyway)');
	my $dir = "$fixtures/flyway";
	(my $v1 = script_of("$dir/V1__create_users.sql")) =~ s/\$\{schema\}/app/gi;
	$v1 =~ s/\$\{flyway:filename\}/V1__create_users.sql/;
	$v1 = sprintf("-- migrate-bundle: Flyway checksum %d (placeholders substituted)\n",
		flyway_checksum(slurp_raw("$dir/V1__create_users.sql"))) . $v1;
	is(join(',', map { $_->{version} } @got), '1,1.1,2,3,4,-',
		'stub (flyway): versions in order, then the repeatable');
	is($got[0]{up}, md5_hex($v1),
		'stub (flyway): placeholders substituted, after the line keeping Flyway\'s checksum');
	is($got[2]{up}, md5_hex(script_of("$dir/V2__functions.sql")), 'stub (flyway): $$ body intact');
	is($got[4]{up}, md5_hex(script_of("$dir/V4__notes.sql")),
		'stub (flyway): BOM dropped, CRLF and no final newline kept');
	is($got[3]{down}, md5_hex(script_of("$dir/sub/deeper/U3__users_login_index.sql")),
		'stub (flyway): undo from a subfolder');
	is($got[5]{name}, 'users view', 'stub (flyway): repeatable name');
	ok($got[5]{repeatable} eq 't', 'stub (flyway): register_repeatable');
}

# dbmate: sections split at the directives.
{
	my (undef, $script) = bundle("$fixtures/dbmate");
	my @got = stub_load($script, what => ' (dbmate)');
	is($got[2]{down}, md5_hex(''), 'stub (dbmate): an empty down section is ""');
	is($got[1]{transactional}, 'false', 'stub (dbmate): transaction:false');
	is($got[3]{down}, md5_hex('DROP FUNCTION app.shout(text);'),
		'stub (dbmate): the down after the directive line, CRLF file');
}

# Generated content that tries every way out of a quote.
{
	my $dir = PostgreSQL::Test::Utils::tempdir() . '/quoting';
	mkdir $dir or die;
	my @scripts = (
		"SELECT \$m\$ in \$m\$;\n",
		"SELECT 1; -- ends with a tag start \$m",
		"SELECT 1; -- ends with a dollar \$",
		"SELECT \$m1\$ \$m2\$ \$m\$ \$m3 \$\$ \$a\$;\n",
		"\\i /etc/passwd\n\\! echo hi\n\\set x 1\n:x :'x' :\"x\"\n\\.\n",
		"SELECT 'it''s', E'\\\\', '\\';\r\n\r\nSELECT U&'\\0041';",
		"SELECT 'caf\xc3\xa9 \xe2\x86\x92 \xf0\x9d\x84\x9e';\n",
		"",
		"\n",);
	my $i = 0;
	foreach my $s (@scripts)
	{
		$i++;
		spew_raw(sprintf("%s/%04d_case_%d.up.sql", $dir, $i, $i), $s);
		spew_raw(sprintf("%s/%04d_case_%d.down.sql", $dir, $i, $i), $s);
	}
	# a name with a quote and a backslash, from the file name
	spew_raw("$dir/0100_it's_a\\name.up.sql", "SELECT 1;\n");

	my ($rc, $script, $err) = bundle('--layout', 'migrate', $dir);
	is($rc, 0, 'quoting: bundles') or diag($err);
	foreach my $scs ('on', 'off')
	{
		my @got = stub_load($script,
			what => " (standard_conforming_strings $scs)",
			pgoptions => "-c standard_conforming_strings=$scs");
		for my $k (0 .. $#scripts)
		{
			is($got[$k]{up}, md5_hex($scripts[$k]), "quoting case " . ($k + 1) . " up (scs $scs)");
			is($got[$k]{down}, md5_hex($scripts[$k]), "quoting case " . ($k + 1) . " down (scs $scs)");
		}
		is($got[-1]{name}, "it's a\\name", "quoting: name with ' and \\ (scs $scs)");
	}
}

#
# With the extension
#

$node->safe_psql('postgres', 'CREATE DATABASE probe');
$node->safe_psql('probe', 'SET client_min_messages = warning; CREATE EXTENSION migrate');
{
	# Creates database $db with the extension; loads $script into it;
	# returns psql's stdout.
	my $load = sub {
		my ($db, $script, $what) = @_;
		my ($out, $err) = ('', '');
		my $rc = $node->psql($db, "SET client_min_messages = warning;\n" . $script,
			stdout => \$out, stderr => \$err);
		is($rc, 0, "$db: $what") or diag($err);
		return $out;
	};
	my $status = sub {
		my ($db) = @_;
		return $node->safe_psql($db,
			q{SELECT version || ' ' || state || ' ' || has_down
				|| ' ' || coalesce(transactional::text, '-')
			  FROM migrate.status() WHERE kind <> 'repeatable' ORDER BY version});
	};

	foreach my $layout ('migrate', 'flyway', 'golang-migrate', 'dbmate')
	{
		(my $db = "ext_$layout") =~ s/-/_/g;
		$node->safe_psql('postgres', "CREATE DATABASE $db");
		$node->safe_psql($db, 'SET client_min_messages = warning; CREATE EXTENSION migrate');
		my @opts = @{ $layout_opts{$layout} };
		my (undef, $script) = bundle(@opts, "$fixtures/$layout");
		my (undef, $deploy) = bundle(@opts, '--deploy', "$fixtures/$layout");

		my $out = $load->($db, $script, 'registers');
		like($out, qr/^registered\|\d+$/m, "$db: every result is registered");
		unlike($out, qr/^(unchanged|updated)/m, "$db: nothing was there before");
		unlike($status->($db), qr/ applied /, "$db: all pending");

		# registering again: unchanged; then deploy applies
		$out = $load->($db, $deploy, 'registers again and deploys');
		like($out, qr/^unchanged\|\d+$/m, "$db: registering again is unchanged");
		unlike($out, qr/^(registered|updated)\|/m, "$db: and only unchanged");
		unlike($status->($db), qr/ pending /, "$db: deploy applied everything");
	}

	# The probes the migrations left.
	is( $node->safe_psql('ext_migrate',
			q{SELECT md5(string_agg(t, '|' ORDER BY id)) FROM app.probe}),
		md5_hex("back\\slash \\\\ two \\n not a newline|dollar m \$m1 \$m2\$ tags"),
		'ext_migrate: strings with backslashes and tags as written');
	is( $node->safe_psql('ext_migrate', q{SELECT md5(app.probe_fn())}),
		md5_hex("line one\r\n\\i x\r\n:foo :'bar' :\"baz\"\r\n\\set ON_ERROR_STOP off"),
		'ext_migrate: a function body with \\i, \\set and :variable lines, CRLF');
	is($status->('ext_migrate'),
		"0001 applied false true\n0002 applied true true\n0003 applied true false\n0004 applied true true",
		'ext_migrate: status');

	# Reverting where downs exist.
	$node->safe_psql('ext_migrate',
		"SET client_min_messages = warning; CALL migrate.deploy_rollback_to('0001')");
	is($status->('ext_migrate'),
		"0001 applied false true\n0002 pending true true\n0003 pending true false\n0004 pending true true",
		'ext_migrate: reverted down to 0001');

	$node->safe_psql('ext_flyway',
		"SET client_min_messages = warning; CALL migrate.deploy_rollback_to('1')");
	is($status->('ext_flyway'),
		"1 applied false true\n1.1 pending true true\n2 pending true true\n3 pending true false\n4 pending true true",
		'ext_flyway: reverted down to 1 through the undo migrations');
	is($node->safe_psql('ext_flyway',
			q{SELECT state FROM migrate.status() WHERE kind = 'repeatable'}),
		'applied', 'ext_flyway: the repeatable migration was applied');

	$node->safe_psql('ext_golang_migrate',
		'SET client_min_messages = warning; SELECT * FROM migrate.rollback()');
	like($status->('ext_golang_migrate'), qr/^3 applied false true\n20240115093000 pending true true$/m,
		'ext_golang_migrate: the newest reverted; 3 has no down');

	$node->safe_psql('ext_dbmate',
		"SET client_min_messages = warning; CALL migrate.deploy_rollback_all('default')");
	unlike($status->('ext_dbmate'), qr/ applied /,
		'ext_dbmate: everything reverted (the empty down too)');
	is($node->safe_psql('ext_dbmate',
			q{SELECT count(*) FROM pg_namespace WHERE nspname = 'app'}),
		'0', 'ext_dbmate: the schema is gone');

	# Adopting Flyway's history of the same files: Flyway checksums a
	# versioned file before substituting placeholders (the bundle keeps that
	# checksum in the up script's first line), a repeatable one after.
	{
		$node->safe_psql('postgres', 'CREATE DATABASE adopt_flyway');
		$node->safe_psql('adopt_flyway',
			'SET client_min_messages = warning; CREATE EXTENSION migrate');
		my (undef, $script) = bundle(@{ $layout_opts{flyway} }, "$fixtures/flyway");
		$load->('adopt_flyway', $script, 'registers the Flyway folder');
		my $view = $node->safe_psql('adopt_flyway',
			q{SELECT up FROM migrate.migrations WHERE kind = 'repeatable'});
		my @rows = (
			[ '1', 'create users', 'V1__create_users.sql' ],
			[ '1.1', 'add email', 'V1_1__add_email.sql' ],
			[ '2', 'functions', 'V2__functions.sql' ],
			[ '3', 'users login index', 'sub/V3__users_login_index.sql' ],);
		my @values;
		foreach my $i (0 .. $#rows)
		{
			my ($v, $d, $f) = @{ $rows[$i] };
			push @values,
			  sprintf("(%d, '%s', '%s', 'SQL', '%s', %d, 'flyway', now(), 1, true)",
				$i + 1, $v, $d, $f,
				flyway_checksum(slurp_raw("$fixtures/flyway/$f")));
		}
		my $values = join(",\n", @values);
		$node->safe_psql('adopt_flyway', qq{
			CREATE TABLE "public"."flyway_schema_history" (
				"installed_rank" INT NOT NULL, "version" VARCHAR(50),
				"description" VARCHAR(200) NOT NULL, "type" VARCHAR(20) NOT NULL,
				"script" VARCHAR(1000) NOT NULL, "checksum" INTEGER,
				"installed_by" VARCHAR(100) NOT NULL,
				"installed_on" TIMESTAMP NOT NULL DEFAULT now(),
				"execution_time" INTEGER NOT NULL, "success" BOOLEAN NOT NULL);
			INSERT INTO flyway_schema_history VALUES $values;
			INSERT INTO flyway_schema_history VALUES
				(5, NULL, 'users view', 'SQL', 'R__users_view.sql', }
			  . flyway_checksum($view) . q{, 'flyway', now(), 1, true);});
		is( $node->safe_psql('adopt_flyway',
				q{SELECT string_agg(coalesce(version::text, name), ' ' ORDER BY version)
				  FROM migrate.adopt('flyway')}),
			'1 1.1 2 3 users view',
			'adopt_flyway: Flyway\'s checksums of the raw files match, placeholders or not');
		is( $node->safe_psql('adopt_flyway',
				q{SELECT string_agg(coalesce(version::text, name) || ' ' || state, ', '
						ORDER BY kind DESC, version)
				  FROM migrate.status()}),
			'1 applied, 1.1 applied, 2 applied, 3 applied, 4 pending, users view applied',
			'adopt_flyway: only 4, which Flyway had not applied, is pending');
	}

	# --run: golang-migrate's are all transactional
	{
		my (undef, $run) = bundle('--layout', 'golang-migrate', '--run',
			"$fixtures/golang-migrate");
		my $out = $load->('ext_golang_migrate', $run, '--run');
		like($out, qr/^unchanged\|4$/m, 'ext_golang_migrate: unchanged');
		like($out, qr/20240115093000\|login of\|up\|ok/,
			'ext_golang_migrate: run() applied the reverted one');
	}
}

$node->stop;
done_testing();
