# A run interrupted by a crash leaves no trace.
#
# A run is one transaction of its caller: when the backend applying it dies
# (SIGKILL, then crash recovery) or the whole server stops in immediate mode,
# none of it may survive recovery: not the schema changes of the migrations
# that completed earlier in the same run, not their history rows, not the
# state of the migration that was running.  The migration lock, being
# transaction-scoped, must be free afterwards, and running again applies
# everything once.  The same holds with atomic => false, whose
# subtransactions make nothing durable before the caller commits.
#
# The interrupted migration waits for a lock on table "gate" that another
# session holds, so the test knows where the run is when it strikes.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;

my $lock_key = '30796665482998885';

my $node = PostgreSQL::Test::Cluster->new('crash');
$node->init;
# A crash must reinitialize the server, not stop it.
$node->append_conf('postgresql.conf', "restart_after_crash = on\n");
$node->start;

$node->safe_psql(
	'postgres', q{
SET client_min_messages = warning;
CREATE EXTENSION migrate;
CREATE TABLE gate (id int);
SELECT migrate.register('001', 'first',
	up => $$CREATE TABLE first_t (id int)$$, down => $$DROP TABLE first_t$$);
SELECT * FROM migrate.run();
});

# Holds "gate" until told otherwise; returns the session.
sub close_gate
{
	my $blocker = $node->background_psql('postgres');
	$blocker->query_safe('BEGIN; LOCK TABLE gate IN ACCESS EXCLUSIVE MODE');
	return $blocker;
}

# Starts "SELECT * FROM migrate.run($args)" in its own psql and waits until
# the run waits for "gate" inside migration $version.  Returns the psql
# harness, its output buffers and the backend pid.
sub start_blocked_run
{
	my ($version, $args) = @_;
	$args //= '';
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start(
		[
			$node->installed_command('psql'), '-XAtq', '-v', 'VERBOSITY=verbose',
			'-d', $node->connstr('postgres') . ' application_name=migrator',
			'-c', "SELECT * FROM migrate.run($args)"
		],
		'>', \$out, '2>', \$err,
		IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));

	ok( $node->poll_query_until(
			'postgres', q{
SELECT count(*) = 1 FROM pg_stat_activity
WHERE application_name = 'migrator' AND wait_event_type = 'Lock'}),
		"run of $version waits for the gate");
	my $pid = $node->safe_psql('postgres',
		"SELECT pid FROM pg_stat_activity WHERE application_name = 'migrator'"
	);

	# migrate.activity shows the run holding the migration lock, inside
	# the migration we are about to interrupt.
	my $activity = $node->safe_psql('postgres',
		"SELECT waiting, applying FROM migrate.activity WHERE pid = $pid");
	like(
		$activity,
		qr/^f\|.*migrate: up of default $version\b/s,
		"migrate.activity shows pid $pid holding the lock, applying $version"
	);
	return ($h, \$out, \$err, $pid);
}

# Everything a test below checks after the crash: the interrupted run left
# nothing behind and the lock is free.
sub check_nothing_left
{
	my ($what, $status, $history_rows, @tables) = @_;

	is( $node->safe_psql(
			'postgres',
			'SELECT version, state FROM migrate.status() ORDER BY version'),
		$status,
		"$what: status as before the run");
	is( $node->safe_psql(
			'postgres', 'SELECT count(*) FROM migrate.history'),
		$history_rows,
		"$what: no history row from the interrupted run");
	is( $node->safe_psql(
			'postgres',
			"SELECT count(*) FROM migrate.history WHERE status = 'failed'"),
		'0',
		"$what: the crash is not recorded as a failure");
	foreach my $t (@tables)
	{
		is($node->safe_psql('postgres', "SELECT to_regclass('$t') IS NULL"),
			't', "$what: table $t does not exist");
	}
	is($node->safe_psql('postgres', 'SELECT count(*) FROM migrate.activity'),
		'0', "$what: nobody holds or waits for the migration lock");
	is( $node->safe_psql(
			'postgres', "SELECT pg_try_advisory_xact_lock($lock_key)"),
		't',
		"$what: the migration lock is free");
}

# Migration 002 completes inside the run, 003 is interrupted.
$node->safe_psql(
	'postgres', q{
SELECT migrate.register('002', 'quick',
	up => $$CREATE TABLE quick_t (id int); INSERT INTO quick_t VALUES (2)$$);
SELECT migrate.register('003', 'slow',
	up => $$CREATE TABLE slow_t (id int);
INSERT INTO slow_t VALUES (3);
SELECT count(*) FROM gate;$$);
});

#
# SIGKILL of the backend applying a migration
#
my $blocker = close_gate();
my ($h, $out, $err, $pid) = start_blocked_run('003');

my $log_offset = -s $node->logfile;
ok(kill('KILL', $pid), "SIGKILL sent to backend $pid");
$h->finish;
isnt($h->result, 0, 'psql running the killed run exits with an error');
is($$out, '', 'the killed run returned no rows');
like(
	$$err,
	qr/server closed the connection unexpectedly/,
	'the killed run lost its connection');

$node->wait_for_log(qr/database system is ready to accept connections/,
	$log_offset);
ok( $node->log_contains(
		qr/server process \(PID $pid\) was terminated by signal 9/,
		$log_offset),
	'the postmaster saw the backend die of SIGKILL');
ok( $node->log_contains(
		qr/all server processes terminated; reinitializing/, $log_offset),
	'the server went through crash recovery');
# The gate's session died with the others.
$blocker->quit;

check_nothing_left("after SIGKILL", "001|applied\n002|pending\n003|pending",
	'1', 'quick_t', 'slow_t');

is( $node->safe_psql(
		'postgres',
		'SELECT version, action, status FROM migrate.run(wait => false)'),
	"002|up|ok\n003|up|ok",
	'after SIGKILL: running again applies 002 and 003');
is( $node->safe_psql(
		'postgres',
		'SELECT (SELECT id FROM quick_t) || (SELECT id FROM slow_t)::text'),
	'23',
	'after SIGKILL: the re-run created both tables once');
is( $node->safe_psql(
		'postgres',
		'SELECT version, action, status FROM migrate.history ORDER BY id'),
	"001|up|ok\n002|up|ok\n003|up|ok",
	'after SIGKILL: history has one row per migration');

#
# Immediate shutdown while a migration runs
#
$node->safe_psql(
	'postgres', q{
SELECT migrate.register('004', 'quick again',
	up => $$CREATE TABLE quick2_t (id int)$$);
SELECT migrate.register('005', 'slow again',
	up => $$CREATE TABLE slow2_t (id int);
INSERT INTO slow2_t VALUES (5);
SELECT count(*) FROM gate;$$);
});

$blocker = close_gate();
($h, $out, $err, $pid) = start_blocked_run('005');

$node->stop('immediate');
$h->finish;
isnt($h->result, 0, 'psql running the run exits with an error');
is($$out, '', 'the run stopped by the shutdown returned no rows');
$blocker->quit;

$log_offset = -s $node->logfile;
$node->start;
ok( $node->log_contains(
		qr/database system was interrupted|was not properly shut down/,
		$log_offset),
	'the server recovered from the immediate shutdown');

check_nothing_left(
	"after immediate shutdown",
	"001|applied\n002|applied\n003|applied\n004|pending\n005|pending",
	'3', 'quick2_t', 'slow2_t');

is( $node->safe_psql(
		'postgres',
		'SELECT version, action, status FROM migrate.run(wait => false)'),
	"004|up|ok\n005|up|ok",
	'after immediate shutdown: running again applies 004 and 005');
is( $node->safe_psql(
		'postgres', 'SELECT id FROM slow2_t'),
	'5',
	'after immediate shutdown: the re-run applied 005 once');
is( $node->safe_psql(
		'postgres',
		'SELECT version, action, status FROM migrate.history ORDER BY id'),
	"001|up|ok\n002|up|ok\n003|up|ok\n004|up|ok\n005|up|ok",
	'after immediate shutdown: history has one row per migration');

#
# SIGKILL during a run with atomic => false: its subtransactions do not
# make the completed migrations durable either
#
$node->safe_psql(
	'postgres', q{
SELECT migrate.register('006', 'quick, not atomic',
	up => $$CREATE TABLE quick3_t (id int)$$);
SELECT migrate.register('007', 'slow, not atomic',
	up => $$CREATE TABLE slow3_t (id int);
SELECT count(*) FROM gate;$$);
});

$blocker = close_gate();
($h, $out, $err, $pid) = start_blocked_run('007', 'atomic => false');
$log_offset = -s $node->logfile;
ok(kill('KILL', $pid), "SIGKILL sent to backend $pid");
$h->finish;
isnt($h->result, 0, 'psql running the killed run exits with an error');
is($$out, '', 'the killed run returned no rows');
$node->wait_for_log(qr/database system is ready to accept connections/,
	$log_offset);
$blocker->quit;

check_nothing_left(
	"after SIGKILL, atomic => false",
	"001|applied\n002|applied\n003|applied\n004|applied\n005|applied\n"
	  . "006|pending\n007|pending",
	'5', 'quick3_t', 'slow3_t');
is( $node->safe_psql(
		'postgres',
		'SELECT version, status FROM migrate.run(atomic => false, wait => false)'
	),
	"006|ok\n007|ok",
	'after SIGKILL, atomic => false: running again applies 006 and 007');

$node->stop;

done_testing();
