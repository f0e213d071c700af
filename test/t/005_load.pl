
# Copyright: the migrate developers.
#
# 005_load.pl
#	64 clients call migrate.run() at once, the way every instance of an
#	application does at start-up, against 100 pending migrations: each
#	migration is applied exactly once, nobody deadlocks, and the only
#	errors are the documented ones (40001 under REPEATABLE READ and
#	SERIALIZABLE, which pgbench retries).

use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

my $clients = 64;
my $pending = 100;

my $node = PostgreSQL::Test::Cluster->new('load');
$node->init;
$node->append_conf('postgresql.conf', "max_connections = 100\n");
$node->start;

# Registers $pending migrations, each creating a table and counting itself
# in applied_log, in a fresh database; returns its name.
sub setup_database
{
	my ($db) = @_;

	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->safe_psql(
		$db, qq{
		CREATE EXTENSION migrate;
		CREATE TABLE applied_log (version int, pid int);
		SET client_min_messages = warning;
		SELECT count(migrate.register(i::text, 'm' || i,
			format('CREATE TABLE t_%s (id int); INSERT INTO applied_log VALUES (%s, pg_backend_pid())', i, i),
			format('DROP TABLE t_%s', i)))
		FROM generate_series(1, $pending) AS i;
		GRANT ALL ON applied_log TO PUBLIC;
	});
	return $db;
}

# Each client runs the script once; all start together.
my $script = "SELECT count(*) FROM migrate.run();\n";

foreach my $level ('read committed', 'repeatable read', 'serializable')
{
	(my $db = "load_$level") =~ s/ /_/g;
	setup_database($db);

	(my $escaped = $level) =~ s/ /\\ /g;    # PGOPTIONS escapes spaces
	local $ENV{PGOPTIONS} =
	  "-c default_transaction_isolation=$escaped -c client_min_messages=warning";
	my $start = time();
	$node->pgbench(
		"--no-vacuum --client=$clients --jobs=4 --transactions=1 --max-tries=100",
		0,
		[
			qr{number of transactions actually processed: $clients/$clients},
			qr{number of failed transactions: 0 },
			# READ COMMITTED waiters see the winner's commit; the others'
			# snapshots predate it, so they get 40001 and pgbench retries.
			$level eq 'read committed'
			? qr{number of transactions retried: 0 }
			: qr{number of transactions retried: [1-9]}
		],
		[qr{^$}],
		"$clients clients run() at once under $level: every call succeeds",
		{ "005_load_run_$db" => $script },
		$db);
	my $elapsed = time() - $start;
	note(sprintf("%s: %d clients, %d migrations, %.2f s", $level, $clients,
			$pending, $elapsed));

	is( $node->safe_psql(
			$db,
			'SELECT count(*), count(DISTINCT version), max(n) FROM '
			  . '(SELECT version, count(*) AS n FROM applied_log GROUP BY version) AS c'
		),
		"$pending|$pending|1",
		"$level: each migration applied exactly once");
	is( $node->safe_psql(
			$db,
			"SELECT count(*) FROM migrate.history WHERE action = 'up' AND status = 'ok'"
		),
		$pending,
		"$level: one history row per migration");
	is( $node->safe_psql(
			$db,
			"SELECT count(*) FROM pg_class WHERE relname ~ '^t_[0-9]+\$' AND relkind = 'r'"
		),
		$pending,
		"$level: every table exists");
	is( $node->safe_psql(
			$db, "SELECT count(*) FROM migrate.status() WHERE state <> 'applied'"),
		0,
		"$level: nothing left pending");
}

# No deadlock was reported anywhere.
my $log = slurp_file($node->logfile);
unlike($log, qr/deadlock detected/, 'no deadlock');

$node->stop;
done_testing();
