# migrate survives pg_dump and restore.
#
# The catalog tables and their sequences are extension configuration
# (pg_extension_config_dump), so a dump restored into a new database shows
# the same registrations, status, history and validation results as the
# original, plans the same next run, and treats re-registering the same
# migrations as a no-op.  Once nothing is pending, a run there applies
# nothing, and new work continues the id sequences instead of colliding.
# Both dump formats are checked: plain (psql -f) and custom (pg_restore).

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('dump');
$node->init;
$node->start;
my $tempdir = PostgreSQL::Test::Utils::tempdir;

# Each migration's registration, as a deploy would send it every time.
my %reg = (
	'001' => q{SELECT migrate.register('001', 'users',
	up => $$CREATE TABLE users (id bigint PRIMARY KEY)$$,
	down => $$DROP TABLE users$$)},
	'002' => q{SELECT migrate.register('002', 'emails',
	up => $$ALTER TABLE users ADD email text$$,
	down => $$ALTER TABLE users DROP email$$)},
	'003' => q{SELECT migrate.register('003', 'names',
	up => $$ALTER TABLE users ADD name text$$,
	down => $$ALTER TABLE users DROP name$$)},
	'004' => q{SELECT migrate.register('004', 'user index',
	up => $$CREATE INDEX users_email ON users (email)$$)},
	'billing 1.0' => q{SELECT migrate.register('1.0', 'invoices',
	up => $$CREATE TABLE invoices (id bigint, user_id bigint REFERENCES users)$$,
	down => $$DROP TABLE invoices$$,
	requires => '{default:001}', project => 'billing')},
	'billing 1.1 broken' => q{SELECT migrate.register('1.1', 'totals',
	up => $$INSERT INTO nosuch VALUES (1)$$, project => 'billing')},
	'billing 1.1 fixed' => q{SELECT migrate.register('1.1', 'totals',
	up => $$ALTER TABLE invoices ADD total numeric$$, project => 'billing')},
	'repeatable' => q{SELECT migrate.register_repeatable('user count',
	$$CREATE OR REPLACE VIEW user_count AS SELECT count(*) FROM users$$)},);

# Runs the registrations named in @names in $db, one output line each.
sub register_all
{
	my ($db, @names) = @_;
	return $node->safe_psql($db,
		join('', map { "$reg{$_};\n" } @names));
}

# What a restored database must show exactly as the original does.
my %queries = (
	'status' => 'SELECT * FROM migrate.status()',
	'history' => 'SELECT * FROM migrate.history ORDER BY id',
	'migrations' =>
	  'SELECT * FROM migrate.migrations ORDER BY project, version, name',
	'validate' => 'SELECT * FROM migrate.validate()',
	'current_version' =>
	  "SELECT migrate.current_version(), migrate.current_version('billing')",
);

sub compare_dbs
{
	my ($restored) = @_;
	foreach my $what (sort keys %queries)
	{
		is( $node->safe_psql($restored, $queries{$what}),
			$node->safe_psql('src', $queries{$what}),
			"$restored: $what is the original's");
	}
}

$node->safe_psql('postgres', 'CREATE DATABASE src');
$node->safe_psql('src', 'CREATE EXTENSION migrate');

#
# A mixed state: applied, reverted (pending), failed, never run, repeatable
#
my @first = ('001', '002', '003', 'billing 1.0', 'repeatable');
is(register_all('src', @first), join("\n", ('registered') x 5),
	'src: five migrations registered');
$node->safe_psql(
	'src', q{
SET client_min_messages = error;
SELECT * FROM migrate.run();
SELECT * FROM migrate.rollback();
});
register_all('src', 'billing 1.1 broken', '004');
$node->safe_psql(
	'src', q{
SET client_min_messages = error;
SELECT * FROM migrate.run(project => 'billing', atomic => false);
});

# The comparisons below are worth something only if all states are there.
is( $node->safe_psql(
		'src', 'SELECT project, version, name, kind, state FROM migrate.status()'),
	"billing|1.0|invoices|versioned|applied
billing|1.1|totals|versioned|failed
default|001|users|versioned|applied
default|002|emails|versioned|applied
default|003|names|versioned|pending
default|004|user index|versioned|pending
default||user count|repeatable|applied",
	'src: applied, reverted, failed, never run and repeatable migrations');
is( $node->safe_psql(
		'src',
		'SELECT project, version, action, status, sqlstate
		 FROM migrate.history ORDER BY id'),
	"default|001|up|ok|
billing|1.0|up|ok|
default|002|up|ok|
default|003|up|ok|
default||repeat|ok|
default|003|down|ok|
billing|1.1|up|failed|42P01",
	'src: history has up, repeat, down and failed events');

# Plain dump, restored with psql.
my $plain = "$tempdir/src.sql";
$node->command_checks_all([ 'pg_dump', '-f', $plain, 'src' ],
	0, [qr/^$/], [qr/^$/],
	'pg_dump, plain, without a warning (no initial privileges it cannot dump)');
$node->safe_psql('postgres', 'CREATE DATABASE dst_plain');
$node->command_ok(
	[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', $plain, 'dst_plain' ],
	'the plain dump restores with psql');

compare_dbs('dst_plain');

# The restored database would run exactly what the original would.
my $dry = q{
SET client_min_messages = error;
SELECT project, version, name, action, status, message
FROM migrate.run(dry_run => true);};
my $dry_src = $node->safe_psql('src', $dry);
like($dry_src, qr/^billing\|1\.1\|totals\|up\|failed\|/,
	'src: a dry run would retry the failed migration first');
is($node->safe_psql('dst_plain', $dry),
	$dry_src, 'dst_plain: a dry run plans what the original plans');

is( register_all(
		'dst_plain', @first, 'billing 1.1 broken', '004'),
	join("\n", ('unchanged') x 7),
	'dst_plain: registering the same migrations changes nothing');
compare_dbs('dst_plain');

#
# Everything applied: fix the failed migration, run the rest
#
is(register_all('src', 'billing 1.1 fixed'),
	'updated', 'src: the failed migration is fixed');
is( $node->safe_psql(
		'src', q{
SET client_min_messages = error;
SELECT project, version, status FROM migrate.run();}),
	"billing|1.1|ok\ndefault|003|ok\ndefault|004|ok",
	'src: the rest is applied');

# Custom dump, restored with pg_restore.
my $custom = "$tempdir/src.dump";
$node->command_ok([ 'pg_dump', '-Fc', '-f', $custom, 'src' ],
	'pg_dump, custom format');
$node->safe_psql('postgres', 'CREATE DATABASE dst_custom');
$node->command_ok(
	[ 'pg_restore', '--exit-on-error', '-d', 'dst_custom', $custom ],
	'the custom dump restores with pg_restore');

compare_dbs('dst_custom');

is($node->safe_psql('dst_custom', 'SELECT * FROM migrate.run()'),
	'', 'dst_custom: a run applies nothing');
is( register_all(
		'dst_custom', @first, 'billing 1.1 fixed', '004'),
	join("\n", ('unchanged') x 7),
	'dst_custom: registering the same migrations changes nothing');
compare_dbs('dst_custom');

# New work continues the restored sequences.
my $max_ids = $node->safe_psql('dst_custom',
	'SELECT max(id), max(run_id) FROM migrate.history');
is( $node->safe_psql(
		'dst_custom', q{
SELECT migrate.register('005', 'phones',
	up => $$ALTER TABLE users ADD phone text$$);}),
	'registered',
	'dst_custom: a new migration registers');
is( $node->safe_psql(
		'dst_custom', q{
SET client_min_messages = error;
SELECT version, status FROM migrate.run();}),
	'005|ok',
	'dst_custom: and runs');
my ($max_id, $max_run) = split /\|/, $max_ids;
is( $node->safe_psql(
		'dst_custom',
		"SELECT id > $max_id, run_id > $max_run
		 FROM migrate.history WHERE version::text = '005'"),
	't|t',
	'dst_custom: its history row continues the restored id and run id sequences'
);

$node->stop;

done_testing();
