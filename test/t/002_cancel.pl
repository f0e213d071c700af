# A cancelled run aborts cleanly.
#
# A query cancel (pg_cancel_backend) or a statement timeout during a
# migration is not the migration's fault: the call fails with 57014 as in
# atomic mode, even with atomic => false, so a caller can never commit half
# a run believing it succeeded, and no "failed" history row records it.
# The catalog is as before the call and the migration lock is free at once,
# even while the caller's transaction block is still open.
#
# The run's last migration waits for a lock on table "gate" that another
# session holds, so the cancel always strikes inside a migration, after an
# earlier migration of the same run has completed.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $lock_key = '30796665482998885';

my $node = PostgreSQL::Test::Cluster->new('cancel');
$node->init;
$node->start;

$node->safe_psql(
	'postgres', q{
SET client_min_messages = warning;
CREATE EXTENSION migrate;
CREATE TABLE gate (id int);
SELECT migrate.register('001', 'first',
	up => $$CREATE TABLE first_t (id int)$$);
SELECT * FROM migrate.run();
SELECT migrate.register('002', 'quick',
	up => $$CREATE TABLE quick_t (id int); INSERT INTO quick_t VALUES (2)$$);
SELECT migrate.register('003', 'slow',
	up => $$CREATE TABLE slow_t (id int);
INSERT INTO slow_t VALUES (3);
SELECT count(*) FROM gate;$$);
});

my $blocker = $node->background_psql('postgres');
$blocker->query_safe('BEGIN; LOCK TABLE gate IN ACCESS EXCLUSIVE MODE');

# A session that goes on after errors and shows SQLSTATEs.
my $session = $node->background_psql(
	'postgres',
	on_error_stop => 0,
	extra_params => [ '-v', 'VERBOSITY=verbose' ]);
$session->query_safe(
	"SET application_name = 'migrator'; SET client_min_messages = warning");
my $pid = $session->query_safe('SELECT pg_backend_pid()');

# Runs $sql in the session, dies on an error.
sub session_sql
{
	my ($sql) = @_;
	$session->{stderr} = '';
	return $session->query_safe($sql);
}

# Starts $sql in the session and waits until it waits for the gate.
sub start_blocked
{
	my ($sql, $what) = @_;
	$session->{stderr} = '';
	$session->query_until(qr/started/, "\\echo started\n$sql\n");
	ok( $node->poll_query_until(
			'postgres', qq{
SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $pid}),
		"$what: the run waits for the gate");
	like(
		$node->safe_psql(
			'postgres',
			"SELECT waiting, applying FROM migrate.activity WHERE pid = $pid"),
		qr/^f\|.*migrate: up of default 003\b/s,
		"$what: migrate.activity shows the run applying 003");
}

# The lock is free: another session runs at once with wait => false (and
# throws its work away), and nobody shows in migrate.activity.
sub check_lock_free
{
	my ($what) = @_;
	my ($ret, $out, $err) = $node->psql(
		'postgres', q{
\set VERBOSITY verbose
SET client_min_messages = warning;
BEGIN;
SELECT version, status FROM migrate.run(target => '002', project => 'default',
										wait => false);
ROLLBACK;});
	is($out, '002|ok',
		"$what: another session runs at once with wait => false")
	  or diag $err;
	is($node->safe_psql('postgres', 'SELECT count(*) FROM migrate.activity'),
		'0', "$what: nobody holds or waits for the migration lock");
	is( $node->safe_psql(
			'postgres', "SELECT pg_try_advisory_xact_lock($lock_key)"),
		't',
		"$what: the migration lock is free");
}

# The catalog and the schema are as before the call.
sub check_unchanged
{
	my ($what) = @_;
	is( $node->safe_psql(
			'postgres',
			'SELECT version, state, last_error FROM migrate.status() ORDER BY version'
		),
		"001|applied|\n002|pending|\n003|pending|",
		"$what: status unchanged");
	is( $node->safe_psql(
			'postgres',
			'SELECT version, action, status FROM migrate.history ORDER BY id'),
		'001|up|ok',
		"$what: no history row, in particular no failed one");
	is( $node->safe_psql(
			'postgres',
			"SELECT to_regclass('quick_t') IS NULL AND to_regclass('slow_t') IS NULL"
		),
		't',
		"$what: neither 002 nor 003 left a table");
}

#
# pg_cancel_backend, atomic => true, autocommit
#
start_blocked('SELECT * FROM migrate.run();', 'cancel');
is($node->safe_psql('postgres', "SELECT pg_cancel_backend($pid)"),
	't', 'cancel: pg_cancel_backend');
my ($out) = $session->query("SELECT 'alive'");
is($out, 'alive', 'cancel: the call returned no rows');
like(
	$session->{stderr},
	qr/ERROR:  57014: .*canceling statement due to user request/,
	'cancel: the call fails with 57014');
like($session->{stderr}, qr/statement 3 of up script of migration default 003/,
	'cancel: it struck inside 003, as its CONTEXT says');
check_unchanged('cancel');
check_lock_free('cancel');

#
# statement_timeout, atomic => true, autocommit
#
my ($ret, $stdout, $stderr) = $node->psql(
	'postgres', q{
\set VERBOSITY verbose
SET client_min_messages = warning;
SET statement_timeout = '2s';
SELECT * FROM migrate.run();});
isnt($ret, 0, 'statement_timeout: the call fails');
is($stdout, '', 'statement_timeout: the call returned no rows');
like(
	$stderr,
	qr/ERROR:  57014: .*canceling statement due to statement timeout/,
	'statement_timeout: the call fails with 57014');
like($stderr, qr/statement 3 of up script of migration default 003/,
	'statement_timeout: it struck inside 003, as its CONTEXT says');
check_unchanged('statement_timeout');
check_lock_free('statement_timeout');

#
# pg_cancel_backend, atomic => false, in a transaction block the client
# commits afterwards
#
session_sql('BEGIN');
start_blocked('SELECT * FROM migrate.run(atomic => false);',
	'cancel, atomic => false');
is($node->safe_psql('postgres', "SELECT pg_cancel_backend($pid)"),
	't', 'cancel, atomic => false: pg_cancel_backend');
($out) = $session->query("SELECT 'alive'");
is($out, '', 'cancel, atomic => false: the call returned no rows');
like(
	$session->{stderr},
	qr/ERROR:  57014: .*canceling statement due to user request/,
	'cancel, atomic => false: the call fails with 57014');
like($session->{stderr}, qr/statement 3 of up script of migration default 003/,
	'cancel, atomic => false: it struck inside 003, as its CONTEXT says');
unlike($session->{stderr}, qr/WARNING/,
	'cancel, atomic => false: no warning of a failed migration');
like(
	$session->{stderr},
	qr/ERROR:  25P02: current transaction is aborted/,
	'cancel, atomic => false: the transaction is aborted');
# The lock goes with the aborted transaction, before the client ends it.
check_lock_free('cancel, atomic => false, transaction still open');
session_sql('COMMIT');
check_unchanged('cancel, atomic => false, after COMMIT');

#
# statement_timeout, atomic => false, autocommit
#
($ret, $stdout, $stderr) = $node->psql(
	'postgres', q{
\set VERBOSITY verbose
SET client_min_messages = warning;
SET statement_timeout = '2s';
SELECT * FROM migrate.run(atomic => false);
SELECT 'after';},
	on_error_stop => 0);
is($stdout, 'after', 'statement_timeout, atomic => false: no rows');
like(
	$stderr,
	qr/ERROR:  57014: .*canceling statement due to statement timeout/,
	'statement_timeout, atomic => false: the call fails with 57014');
like($stderr, qr/statement 3 of up script of migration default 003/,
	'statement_timeout, atomic => false: it struck inside 003');
unlike($stderr, qr/WARNING/,
	'statement_timeout, atomic => false: no warning of a failed migration');
check_unchanged('statement_timeout, atomic => false');
check_lock_free('statement_timeout, atomic => false');

#
# pg_cancel_backend while the run waits for the migration lock itself
#
my $holder = $node->background_psql('postgres');
$holder->query_safe("BEGIN; SELECT pg_advisory_xact_lock($lock_key)");
$session->{stderr} = '';
$session->query_until(qr/started/,
	"\\echo started\nSELECT * FROM migrate.run();\n");
ok( $node->poll_query_until(
		'postgres',
		"SELECT waiting FROM migrate.activity WHERE pid = $pid"),
	'cancel while waiting for the lock: migrate.activity shows it waiting');
is($node->safe_psql('postgres', "SELECT pg_cancel_backend($pid)"),
	't', 'cancel while waiting for the lock: pg_cancel_backend');
($out) = $session->query("SELECT 'alive'");
is($out, 'alive', 'cancel while waiting for the lock: no rows');
like(
	$session->{stderr},
	qr/ERROR:  57014: .*canceling statement due to user request/,
	'cancel while waiting for the lock: the call fails with 57014');
$holder->query_safe('COMMIT');
$holder->quit;
check_unchanged('cancel while waiting for the lock');
check_lock_free('cancel while waiting for the lock');

#
# Open the gate: the same session runs everything at once.
#
$blocker->query_safe('COMMIT');
$blocker->quit;
is(session_sql('SELECT version, status FROM migrate.run(wait => false)'),
	"002|ok\n003|ok",
	'after the cancels a run applies 002 and 003');
is( $node->safe_psql(
		'postgres',
		'SELECT version, action, status FROM migrate.history ORDER BY id'),
	"001|up|ok\n002|up|ok\n003|up|ok",
	'history shows each migration applied once, no failure');

# The control case: a failure that is the migration's own is recorded, so
# the checks for failed rows above do look at the right place.
session_sql(q{
SELECT migrate.register('004', 'broken',
	up => $$INSERT INTO nosuch VALUES (1)$$)});
is( scalar $session->query(
		'SELECT version, status FROM migrate.run(atomic => false)'),
	'004|failed',
	'control: a failing migration with atomic => false returns failed');
is( $node->safe_psql(
		'postgres',
		"SELECT version, sqlstate FROM migrate.history WHERE status = 'failed'"),
	'004|42P01',
	'control: and is recorded as failed');
$session->quit;

$node->stop;

done_testing();
