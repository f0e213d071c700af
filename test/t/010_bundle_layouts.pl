# migrate-bundle reads the folders of Sqitch, popx, pop, postgres-migrations,
# node-pg-migrate and Prisma as those tools do.
#
# For each layout the fixture in test/bundle/<layout> (written in the
# tool's own conventions) is bundled, with --layout auto and with the
# layout named, twice (the output must be byte-identical), loaded with
# psql, checked in migrate.migrations, applied (migrate.run(), or
# CALL migrate.deploy() through --deploy where a migration cannot run in a
# transaction) and, where the tool has down scripts, rolled back.  A Sqitch
# verify script that fails makes its migration fail.  Every folder under
# test/bundle/errors/<layout>-<case> must fail: a non-zero exit, a message
# naming the file on stderr and nothing at all on stdout; among them psql
# meta-commands (\gexec, \i), which name the line too.  --layout auto tells
# pop from popx, and both from migrate's own layout, by names and content.

use strict;
use warnings;

use File::Copy qw(copy);
use File::Find qw(find);
use File::Path qw(make_path);
use File::Temp qw(tempdir);
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $fixtures = 'test/bundle';

my $node = PostgreSQL::Test::Cluster->new('bundle_layouts');
$node->init;
$node->start;

# Runs migrate-bundle; returns its exit status, stdout and stderr.
sub bundle
{
	my @args = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run([ 'migrate-bundle', @args ], '>', \$out, '2>', \$err);
	return ($? >> 8, $out, $err);
}

# Bundles $dir (with @options), checks that it succeeds, that --layout auto
# chose $layout, and that the output does not change between runs or with
# the layout named; returns the script.
sub bundle_ok
{
	my ($layout, $dir, @options) = @_;
	my ($rc, $out, $err) = bundle(@options, $dir);
	is($rc, 0, "$layout: bundled") or diag($err);
	like($err, qr/chose \Q$layout\E/, "$layout: --layout auto chose it");
	my ($rc2, $out2) = bundle(@options, $dir);
	ok($rc2 == 0 && $out2 eq $out, "$layout: a second run is byte-identical");
	my ($rc3, $out3) = bundle('--layout', $layout, @options, $dir);
	ok($rc3 == 0 && $out3 eq $out, "$layout: --layout $layout gives the same");
	return $out;
}

# A fresh database with the extension.
sub new_db
{
	my ($db) = @_;
	$node->safe_psql('postgres', qq{CREATE DATABASE "$db"});
	$node->safe_psql($db,
		'SET client_min_messages = warning; CREATE EXTENSION migrate;');
}

# Loads a bundle with psql; returns psql's exit status and stderr.
sub load
{
	my ($db, $script) = @_;
	my ($out, $err) = ('', '');
	my $rc = $node->psql(
		$db, $script,
		stdout => \$out,
		stderr => \$err,
		on_error_stop => 1);
	return ($rc, $err);
}

sub load_ok
{
	my ($db, $script, $what) = @_;
	my ($rc, $err) = load($db, $script);
	is($rc, 0, $what) or diag($err);
}

# version|name|has down|transactional (as the server resolved a NULL)|
# requires|has verify, one line each
sub registered
{
	my ($db) = @_;
	return $node->safe_psql(
		$db, q{
SELECT string_agg(concat_ws('|', version, name, down IS NOT NULL,
							coalesce(transactional::text, 'null'),
							array_to_string(requires, ','),
							verify IS NOT NULL), E'\n' ORDER BY version)
  FROM migrate.migrations});
}

sub states
{
	my ($db) = @_;
	return $node->safe_psql($db,
		q{SELECT string_agg(version || ' ' || state, ', ' ORDER BY version)
		    FROM migrate.status()});
}

# Copies a fixture folder to a fresh temporary directory.
sub copy_tree
{
	my ($from) = @_;
	my $to = tempdir(CLEANUP => 1);
	find(
		{
			no_chdir => 1,
			wanted => sub {
				my $rel = substr($File::Find::name, length($from));
				return if $rel eq '';
				if (-d $File::Find::name) { make_path("$to$rel"); }
				else { copy($File::Find::name, "$to$rel") or die "$!"; }
			}
		},
		$from);
	return $to;
}

sub write_file
{
	my ($path, $text) = @_;
	open(my $fh, '>', $path) or die "$path: $!";
	print $fh $text;
	close($fh);
}

#
# Sqitch
#
{
	my $db = 'sqitch';
	new_db($db);
	my $script = bundle_ok('sqitch', "$fixtures/sqitch");
	like(
		$script,
		qr/-- Sqitch conflict "!legacy_cleanup" of change "delete_flip" \(sqitch\.plan:12\) ignored/,
		'sqitch: the conflict is a comment in the bundle');
	unlike($script, qr/^\s*(BEGIN|COMMIT|ROLLBACK)\s*;/mi,
		'sqitch: the BEGIN/COMMIT and BEGIN/ROLLBACK wrappers are gone');
	like($script, qr/-- Deploy flipr:appschema to pg/,
		'sqitch: the header comment stays');
	load_ok($db, $script, 'sqitch: bundle loads');
	is( registered($db), join("\n",
			'0001|appschema|t|true||t',
			'0002|users|t|true|default:0001|t',
			'0003|insert_user|t|true|default:0002,default:0001|t',
			'0004|flips|t|true|default:0002,default:0003|t',
			'0005|delete_flip|t|true|default:0004|f',
			'0006|insert_user|t|true|default:0003|t'),
		'sqitch: plan positions, names, requires (a reworked change, a tag), verify');
	like(
		$node->safe_psql($db,
			q{SELECT up FROM migrate.migrations WHERE version::text = '0003'}),
		qr/md5\(\$2\)/,
		'sqitch: the reworked change\'s first instance is insert_user@v1.0.0-dev2.sql');
	is( $node->safe_psql(
			$db, q{SELECT replace(up, E'\n', '|') FROM migrate.migrations
				  WHERE version::text = '0001'}),
		'-- Deploy flipr:appschema to pg||||CREATE SCHEMA flipr;|||',
		'sqitch: only the wrapper statements are removed');

	$node->safe_psql($db, 'SELECT count(*) FROM migrate.run()');
	is( states($db),
		join(', ', map { "000$_ applied" } 1 .. 6),
		'sqitch: run() applies every change, verify scripts included');
	is($node->safe_psql($db, 'SELECT flipr.flip_count()'),
		'0', 'sqitch: BEGIN ATOMIC body kept whole');
	like(
		$node->safe_psql($db,
			q{SELECT prosrc FROM pg_proc WHERE proname = 'insert_user'}),
		qr/salt/, 'sqitch: the reworked insert_user is deployed');

	$node->safe_psql($db, q{SELECT count(*) FROM migrate.rollback_to('0003')});
	is( states($db),
		'0001 applied, 0002 applied, 0003 applied, 0004 pending, 0005 pending, 0006 pending',
		'sqitch: rollback_to reverts the later changes');
	unlike(
		$node->safe_psql($db,
			q{SELECT prosrc FROM pg_proc WHERE proname = 'insert_user'}),
		qr/salt/, 'sqitch: the rework\'s revert restored the earlier function');
	$node->safe_psql($db, q{SELECT count(*) FROM migrate.rollback(3)});
	is($node->safe_psql($db,
			q{SELECT count(*) FROM pg_namespace WHERE nspname = 'flipr'}),
		'0', 'sqitch: everything reverted');

	# A verify script that fails makes its migration fail.
	my $copy = copy_tree("$fixtures/sqitch");
	write_file("$copy/verify/users.sql",
		"-- Verify flipr:users on pg\n\nBEGIN;\n\n"
		  . "SELECT nickname, email FROM flipr.users WHERE FALSE;\n\nROLLBACK;\n");
	my $db2 = 'sqitch_verify';
	new_db($db2);
	my ($rc, $bad, $err) = bundle('--run', $copy);
	is($rc, 0, 'sqitch: the folder with a failing verify bundles');
	($rc, $err) = load($db2, $bad);
	isnt($rc, 0, 'sqitch: run() fails when a verify script fails');
	like($err, qr/email/, 'sqitch: the error is the verify script\'s');
	is($node->safe_psql($db2,
			q{SELECT count(*) FROM pg_class WHERE relname = 'users'}),
		'0', 'sqitch: nothing of the failed migration stays');
}

#
# popx
#
{
	my $db = 'popx';
	new_db($db);
	my ($rc, $out, $err) = bundle("$fixtures/popx");
	is($rc, 1, 'popx: without --set the template value is an error');
	is($out, '', 'popx: nothing on stdout');
	like($err, qr/20250101000000000000_audit_log\.up\.sql:2: .*Namespace/,
		'popx: the error names the file, line and value');

	my $script = bundle_ok('popx', "$fixtures/popx", '--deploy', '--set',
		'Namespace=audit');
	load_ok($db, $script, 'popx: bundle loads and deploys');
	is( registered($db), join("\n",
			'20150100000001000000|networks|t|true||f',
			'20200519101057000000|identities|t|true||f',
			'20200519101058000000|empty|t|true||f',
			'20210101000000000000|identity state|t|true||f',
			'20241029153900000001|identities|t|false||f',
			'20250101000000000000|audit log|t|true||f'),
		'popx: postgres over generic files, other dialects left out, autocommit non-transactional');
	is( $node->safe_psql($db,
			q{SELECT format_type(atttypid, atttypmod) FROM pg_attribute
			   WHERE attrelid = 'identities'::regclass AND attname = 'state'}),
		'text', 'popx: the postgres file of a version wins');
	is( $node->safe_psql($db,
			q{SELECT indisvalid FROM pg_index
			   WHERE indexrelid = 'identities_nid_idx'::regclass}),
		't', 'popx: the autocommit migration built its index concurrently');
	is( $node->safe_psql($db,
			q{SELECT format_type(atttypid, atttypmod) FROM pg_attribute
			   WHERE attrelid = 'audit.audit_log'::regclass AND attname = 'payload'}),
		'jsonb', 'popx: template values and {{ if .IsPostgreSQL }} filled');
	like(states($db), qr/^(\d+ applied(, )?){6}$/, 'popx: all applied');

	$node->safe_psql($db, q{CALL migrate.deploy_rollback_all('default')});
	is($node->safe_psql($db,
			q{SELECT count(*) FROM pg_class WHERE relname IN ('networks', 'identities', 'audit_log')}),
		'0', 'popx: every down script reverted');
}

#
# pop, as supabase/auth uses it: ups without downs, a .postgres. file,
# {{ index .Options "Namespace" }}
#
{
	my $db = 'pop';
	new_db($db);
	my ($rc, $out, $err) = bundle("$fixtures/pop");
	is($rc, 1, 'pop: without --set the template value is an error');
	is($out, '', 'pop: nothing on stdout');
	like($err, qr/^migrate-bundle: 00_init_auth_schema\.up\.sql:3: .*Namespace/m,
		'pop: the error names the file, line and value');

	my $script = bundle_ok('pop', "$fixtures/pop", '--set', 'Namespace=auth');
	(undef, undef, $err) = bundle('--set', 'Namespace=auth', "$fixtures/pop");
	like($err, qr/^migrate-bundle: schema\.sql: skipped: .*as pop skips it$/m,
		'pop: the schema dump pop writes is skipped, and said so');
	unlike($script, qr/\{\{|InnoDB/,
		'pop: every template action filled, the mysql file left out');
	load_ok($db, $script, 'pop: bundle loads');
	is( registered($db), join("\n",
			'00|init auth schema|f|true||f',
			'20220614074223|add ip address to audit log|f|true||f',
			'20230322519590|add flow state table|t|true||f',
			'20240214120130|add is anonymous column|t|true||f'),
		'pop: ups without downs have none, the postgres file, other dialects left out');
	$node->safe_psql($db, 'SELECT count(*) FROM migrate.run()');
	like(states($db), qr/^(\d+ applied(, )?){4}$/, 'pop: all applied');
	is( $node->safe_psql($db,
			q{SELECT format_type(atttypid, atttypmod) FROM pg_attribute
			   WHERE attrelid = 'auth.audit_log_entries'::regclass
				 AND attname = 'ip_address'}),
		'character varying(64)', 'pop: the .postgres. file ran');
	is( $node->safe_psql($db,
			q{SELECT format_type(atttypid, atttypmod) FROM pg_attribute
			   WHERE attrelid = 'auth.flow_state'::regclass
				 AND attname = 'provider_payload'}),
		'jsonb',
		'pop: .Options.Namespace and {{ if eq .Dialect "postgres" }} filled');

	$node->safe_psql($db, 'SELECT count(*) FROM migrate.rollback(2)');
	is( states($db),
		'00 applied, 20220614074223 applied, 20230322519590 pending, 20240214120130 pending',
		'pop: the migrations with downs rolled back');
	is( $node->safe_psql($db,
			q{SELECT count(*) FROM pg_class WHERE relname = 'flow_state'}),
		'0', 'pop: their down scripts ran');
	my $load_err;
	($rc, $load_err) = load($db, 'SELECT count(*) FROM migrate.rollback()');
	isnt($rc, 0, 'pop: rollback refuses a migration without down');
	like($load_err, qr/20220614074223/, 'pop: naming it');
	is( states($db),
		'00 applied, 20220614074223 applied, 20230322519590 pending, 20240214120130 pending',
		'pop: nothing reverted');
}

# --layout auto and plain <version>_<name>.up.sql files: pop's template
# makes them pop, popx's makes them popx, braces in an array literal are
# no template (pop would refuse them as one, but migrate's layout is
# plain SQL).
{
	my $dir = tempdir(CLEANUP => 1);
	write_file("$dir/1_a.up.sql",
		qq{CREATE TABLE {{ index .Options "Namespace" }}.a (id int);\n});
	write_file("$dir/1_a.down.sql",
		qq{DROP TABLE {{ index .Options "Namespace" }}.a;\n});
	write_file("$dir/2_b.up.sql", "SELECT 1;\n");
	my ($rc, $out, $err) = bundle('--set', 'Namespace=app', $dir);
	is($rc, 0, 'pop, templates only: bundles') or diag($err);
	like($err, qr/^migrate-bundle: layout auto: chose pop$/m,
		'pop, templates only: auto-detection chose pop');
	like($out, qr/CREATE TABLE app\.a/, 'pop, templates only: filled');
	($rc, $out, $err) = bundle($dir);
	like($err, qr/^migrate-bundle: 1_a\.up\.sql:1: .*Namespace/m,
		'pop, templates only: not migrate, whose layout would send them unfilled');

	my $popx = tempdir(CLEANUP => 1);
	write_file("$popx/1_a.up.sql",
		qq{CREATE TABLE {{ index .Parameters "Namespace" }}.a (id int);\n});
	write_file("$popx/1_a.down.sql", "DROP TABLE a;\n");
	(undef, undef, $err) = bundle('--set', 'Namespace=app', $popx);
	like($err, qr/^migrate-bundle: layout auto: chose popx$/m,
		'popx, templates only: auto-detection chose popx');

	my $plain = tempdir(CLEANUP => 1);
	write_file("$plain/1_a.up.sql", "SELECT '{{1,2},{3,4}}'::int[];\n");
	write_file("$plain/2_b.up.sql", "SELECT '{{ x }}';\n");
	(undef, undef, $err) = bundle($plain);
	like($err, qr/^migrate-bundle: layout auto: chose migrate$/m,
		'plain: braces that are no pop template stay migrate');
}

#
# postgres-migrations
#
{
	my $db = 'postgres_migrations';
	new_db($db);
	my $script =
	  bundle_ok('postgres-migrations', "$fixtures/postgres-migrations",
		'--deploy');
	load_ok($db, $script, 'postgres-migrations: bundle loads and deploys');
	is( registered($db), join("\n",
			'1|create-initial-tables|f|true||f',
			'2|alter-initial-tables|f|true||f',
			'3|index-concurrently|f|false||f',
			'4|seed|f|true||f'),
		'postgres-migrations: ids as versions, no downs, disable-transaction');
	is($node->safe_psql($db, 'SELECT count(*) FROM accounts'),
		'1', 'postgres-migrations: applied in id order');
	like(states($db), qr/^(\d applied(, )?){4}$/,
		'postgres-migrations: all applied');
}

#
# node-pg-migrate
#
{
	my $db = 'node_pg_migrate';
	new_db($db);
	my $script = bundle_ok('node-pg-migrate', "$fixtures/node-pg-migrate");
	load_ok($db, $script, 'node-pg-migrate: bundle loads');
	is( registered($db), join("\n",
			'1700000000000|create-users|t|true||f',
			'1700000000001|add-email|t|true||f',
			'1700000000002|seed|f|true||f',
			'1700000000003|down-first|t|true||f'),
		'node-pg-migrate: prefixes as versions, a file without down');
	like(
		$node->safe_psql(
			$db, q{SELECT replace(down, E'\n', '|') FROM migrate.migrations
				  WHERE version::text = '1700000000003'}),
		qr/\A\|-- Down Migration\|DROP VIEW user_names;\|\z/,
		'node-pg-migrate: a down part placed first ends at the up marker');
	$node->safe_psql($db, 'SELECT count(*) FROM migrate.run()');
	like(states($db), qr/^(\d+ applied(, )?){4}$/,
		'node-pg-migrate: all applied');
	is($node->safe_psql($db, 'SELECT count(*) FROM user_names'),
		'1', 'node-pg-migrate: up parts ran');
	$node->safe_psql($db, 'SELECT count(*) FROM migrate.rollback()');
	is($node->safe_psql($db,
			q{SELECT count(*) FROM pg_class WHERE relname = 'user_names'}),
		'0', 'node-pg-migrate: the down part reverted');
	my ($rc, $err) = load($db, 'SELECT count(*) FROM migrate.rollback()');
	isnt($rc, 0, 'node-pg-migrate: a migration without down cannot be reverted');
}

#
# Prisma
#
{
	my $db = 'prisma';
	new_db($db);
	my $script = bundle_ok('prisma', "$fixtures/prisma", '--deploy');
	load_ok($db, $script, 'prisma: bundle loads and deploys');
	like(
		registered($db),
		qr/\A20210101120000\|init\|f\|true\|\|f
20210215093000\|add posts\|f\|true\|\|f
20210301000000\|add index concurrently\|f\|false\|\|f
20210401000000\|empty\|f\|true\|\|f\z/,
		'prisma: folder prefixes as versions, names, no downs, CONCURRENTLY found non-transactional by the server');
	like(states($db), qr/^(\d+ applied(, )?){4}$/, 'prisma: all applied');
	is( $node->safe_psql($db,
			q{SELECT indisvalid FROM pg_index
			   WHERE indexrelid = '"Post_title_idx"'::regclass}),
		't', 'prisma: CREATE INDEX CONCURRENTLY ran outside a transaction');
}

#
# Errors: exit status 1, a message starting with the file on stderr,
# nothing on stdout.
#
my %error_file = (
	'sqitch-cross-project' => qr/sqitch\.plan:5: .*other:accounts/,
	'sqitch-duplicate-change' => qr/sqitch\.plan:5: .*duplicates/,
	'sqitch-missing-deploy' => qr{deploy/users\.sql: },
	'sqitch-missing-timestamp' => qr/sqitch\.plan:4: missing timestamp/,
	'sqitch-no-project' => qr/sqitch\.plan: missing %project/,
	'sqitch-unclosed-wrapper' => qr{deploy/appschema\.sql:3: .*BEGIN},
	'sqitch-unknown-dep' => qr/sqitch\.plan:4: unknown change "nothing"/,
	'sqitch-unterminated' =>
	  qr{deploy/appschema\.sql:5: unterminated dollar-quoted string},
	'sqitch-meta-command' =>
	  qr{deploy/appschema\.sql:10: psql meta-command \\gexec cannot be bundled: migrate runs scripts in the server, without psql$},
	'popx-bad-name' => qr/seed\.sql: /,
	'popx-down-without-up' => qr/20200101000000_a\.postgres\.down\.sql: /,
	'popx-fizz' => qr/20200101000000_a\.down\.fizz: .*fizz/,
	'popx-missing-down' => qr/20200101000000_a\.postgres\.up\.sql: .*down/,
	'popx-order' => qr/9_b\.up\.sql: .*10_c\.up\.sql/,
	'popx-unset-option' => qr/20200101000000_a\.up\.sql:3: .*Namespace/,
	'popx-unsupported-template' =>
	  qr/20200101000000_a\.up\.sql:3: .*identifier/,
	'pop-autocommit' =>
	  qr/20200101000000_a\.autocommit\.up\.sql: .*--layout popx/,
	'pop-connection-detail' =>
	  qr/20200101000000_a\.up\.sql:2: template value \.Database /,
	'pop-down-without-up' => qr/20200101000001_b\.down\.sql: down migration/,
	'pop-fizz' => qr/20200101000000_a\.up\.fizz: .*fizz/,
	'pop-meta-command' =>
	  qr/20200101000000_a\.up\.sql:9: psql meta-command \\gexec cannot be bundled/,
	'pop-popx-template' =>
	  qr/20200101000000_a\.up\.sql:3: .*popx's data.*--layout popx/,
	'pop-unset-option' => qr/20200101000000_a\.up\.sql:3: .*Namespace/,
	'golang-migrate-meta-command' =>
	  qr/1_a\.up\.sql:2: psql meta-command \\i cannot be bundled/,
	'postgres-migrations-bad-name' => qr/create-b\.sql: invalid file name/,
	'postgres-migrations-duplicate' => qr/1_a\.sql: .*non-consecutive/,
	'postgres-migrations-gap' => qr/3_c\.sql: .*non-consecutive/,
	'postgres-migrations-js' => qr/2_b\.js: JavaScript migrations cannot be bundled/,
	'postgres-migrations-same-name' =>
	  qr/2_a\.sql: same migration name "a" as 1_a\.sql/,
	'node-pg-migrate-js' => qr/1700000000001_b\.js: JavaScript migrations cannot be bundled/,
	'node-pg-migrate-no-prefix' => qr/create-b\.sql: .*numeric prefix/,
	'node-pg-migrate-order' =>
	  qr/1600000000000_b\.sql: .*20200513070724505_a\.sql/,
	'node-pg-migrate-same-number' => qr/1_a\.sql: .*01_b\.sql/,
	'prisma-bad-version' => qr/_init: /,
	'prisma-missing-sql' =>
	  qr{20210102000000_second/migration\.sql: .*P3015},
	'prisma-order' => qr/9_a: .*10_b/,);

foreach my $case (sort keys %error_file)
{
	my ($layout) =
	  $case =~
	  /^(sqitch|popx|pop|postgres-migrations|node-pg-migrate|prisma|golang-migrate)-/;
	my ($rc, $out, $err) =
	  bundle('--layout', $layout, "$fixtures/errors/$case");
	is($rc, 1, "$case: fails with exit status 1");
	is($out, '', "$case: nothing on stdout");
	like($err, qr/^migrate-bundle: $error_file{$case}/m,
		"$case: stderr names the file");
}

$node->stop;
done_testing();
