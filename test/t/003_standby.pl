# migrate on a streaming standby.
#
# The catalog is ordinary tables, so a standby built from a base backup and
# caught up by streaming shows exactly the primary's status, history,
# registrations and validation results.  Reading works there; every call
# that would change the catalog fails at once with 25006
# (read_only_sql_transaction) and a message naming the call.  The same
# calls fail the same way in a read-only transaction on the primary.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->start;

# Work before the base backup: two projects, a repeatable migration.
$primary->safe_psql(
	'postgres', q{
SET client_min_messages = warning;
CREATE EXTENSION migrate;
SELECT migrate.register('001', 'users',
	up => $$CREATE TABLE users (id bigint PRIMARY KEY)$$,
	down => $$DROP TABLE users$$);
SELECT migrate.register('002', 'emails',
	up => $$ALTER TABLE users ADD email text$$,
	down => $$ALTER TABLE users DROP email$$);
SELECT migrate.register('1.0', 'invoices',
	up => $$CREATE TABLE invoices (id bigint, user_id bigint REFERENCES users)$$,
	requires => '{default:001}', project => 'billing');
SELECT migrate.register_repeatable('user count',
	$$CREATE OR REPLACE VIEW user_count AS SELECT count(*) FROM users$$);
SELECT * FROM migrate.run();
});

$primary->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->start;

# Work after the base backup, which reaches the standby by streaming: a
# rollback, a recorded failure, a pending registration.
$primary->safe_psql(
	'postgres', q{
SET client_min_messages = error;
SELECT * FROM migrate.rollback();
SELECT migrate.register('1.1', 'broken',
	up => $$INSERT INTO nosuch VALUES (1)$$, project => 'billing');
SELECT * FROM migrate.run(project => 'billing', atomic => false);
SELECT migrate.register('003', 'names',
	up => $$ALTER TABLE users ADD name text$$,
	down => $$ALTER TABLE users DROP name$$);
});
$primary->wait_for_catchup($standby);

is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'),
	't', 'the standby is in recovery');

# What both nodes must show alike.
my %queries = (
	'status' => 'SELECT * FROM migrate.status()',
	'status of a project' => "SELECT * FROM migrate.status('billing')",
	'history' => 'SELECT * FROM migrate.history ORDER BY id',
	'migrations' =>
	  'SELECT * FROM migrate.migrations ORDER BY project, version, name',
	'validate' => 'SELECT * FROM migrate.validate()',
	'current_version' =>
	  "SELECT migrate.current_version(), migrate.current_version('billing')",
);

sub compare_nodes
{
	my ($when) = @_;
	foreach my $what (sort keys %queries)
	{
		is( $standby->safe_psql('postgres', $queries{$what}),
			$primary->safe_psql('postgres', $queries{$what}),
			"$when: $what on the standby is the primary's");
	}
}

# The comparison is worth something only if the primary has all states.
is( $primary->safe_psql(
		'postgres',
		'SELECT project, version, name, state FROM migrate.status()'),
	"billing|1.0|invoices|applied
billing|1.1|broken|failed
default|001|users|applied
default|002|emails|pending
default|003|names|pending
default||user count|applied",
	'the primary has applied, pending and failed migrations');
is( $primary->safe_psql(
		'postgres',
		'SELECT project, version, action, status FROM migrate.history ORDER BY id'
	),
	"default|001|up|ok
billing|1.0|up|ok
default|002|up|ok
default||repeat|ok
default|002|down|ok
billing|1.1|up|failed",
	'the primary has up, repeat, down and failed events');

compare_nodes('after catch-up');

is($standby->safe_psql('postgres', 'SELECT count(*) FROM migrate.activity'),
	'0', 'migrate.activity works on the standby');

# Every call that changes the catalog: new registrations and changed ones,
# runs, dry runs, reverts.  The refusal must come first, whatever else
# would be wrong with the arguments.
my @mutating = (
	[ 'run', 'SELECT * FROM migrate.run()' ],
	[ 'run', 'SELECT * FROM migrate.run(dry_run => true)' ],
	[ 'run', "SELECT * FROM migrate.run(target => '003', project => 'default')" ],
	[ 'register',
		q{SELECT migrate.register('004', 'new', up => 'CREATE TABLE t4 ()')} ],
	[ 'register',
		q{SELECT migrate.register('003', 'names', up => 'CREATE TABLE t3 ()')}
	],
	[ 'register_repeatable',
		q{SELECT migrate.register_repeatable('new view', 'CREATE VIEW v AS SELECT 1')}
	],
	[ 'unregister',   q{SELECT migrate.unregister('003')} ],
	[ 'rollback',     'SELECT * FROM migrate.rollback()' ],
	[ 'rollback_to',  q{SELECT * FROM migrate.rollback_to('001')} ],
	[ 'rollback_all', q{SELECT * FROM migrate.rollback_all('default')} ],
	[ 'baseline',     q{SELECT migrate.baseline('003', project => 'other')} ],);

# Runs $sql and checks it fails with 25006, naming function $fn and
# saying why ($why).
sub refused_read_only
{
	my ($node, $prefix, $fn, $sql, $where, $why) = @_;
	my ($ret, $stdout, $stderr) =
	  $node->psql('postgres', "\\set VERBOSITY verbose\n$prefix$sql");
	isnt($ret, 0, "$where: $sql fails");
	like(
		$stderr,
		qr/ERROR:  25006: [^\n]*migrate\.$fn\b/,
		"$where: $sql fails with 25006, naming migrate.$fn");
	like(
		$stderr,
		qr/ERROR:  25006: [^\n]*$why/,
		"$where: $sql says why");
}

foreach my $m (@mutating)
{
	refused_read_only($standby, '', @$m, 'standby', qr/recovery|standby/);
}

# Nothing changed anywhere, and the primary still works.
compare_nodes('after the refused calls');

# The same calls in a read-only transaction on the primary.
foreach my $m (@mutating)
{
	refused_read_only($primary, "SET default_transaction_read_only = on;\n",
		@$m, 'read-only transaction', qr/read-only/);
}

# A later run on the primary reaches the standby as well.
is( $primary->safe_psql(
		'postgres', q{
SET client_min_messages = warning;
SELECT version, status FROM migrate.run(target => '003', project => 'default');
}),
	"002|ok\n003|ok",
	'the primary applies 002 and 003');
$primary->wait_for_catchup($standby);
compare_nodes('after a later run');
is( $standby->safe_psql(
		'postgres',
		"SELECT state FROM migrate.status('default') WHERE version::text = '003'"),
	'applied',
	'the standby shows 003 applied');

$standby->stop;
$primary->stop;

done_testing();
