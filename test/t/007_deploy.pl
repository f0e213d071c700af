# A deploy survives crashes and disconnects.
#
# CALL migrate.deploy() commits each migration on its own, and commits the
# start of the next one before running it.  When the backend applying a
# migration dies (SIGKILL, then crash recovery) or loses its client, the
# migrations completed before it stay applied, the one it was applying
# shows as interrupted (its "started" event survives, its changes do not),
# no lock of the deploy is left held, and the next deploy applies the
# interrupted migration and the rest, each exactly once:
#
# - a transactional migration again from scratch;
# - a non-transactional one from its first statement not done, dropping
#	the invalid index that a killed CREATE INDEX CONCURRENTLY left;
#
# The same holds for the background worker of a deploy (wait => false),
# and for a revert (deploy_rollback).  While a deploy retries a lock it
# could not get in time, the application's queries on that table go on.
# And a deploy of thousands of migrations needs no more lock table than one
# migration does, where run(), one transaction for all, runs out of it.
#
# Each interrupted migration waits for a lock another session holds, so
# the test knows where the deploy is when it strikes.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(time);

# The key of the deploy's session locks (lock.h): classid, objid; objsubid
# 1 is the migration lock, 3 the deploy lock, 4 the run lock.
my $lock_class = 7170407;
my $lock_obj = 1918989413;

my $node = PostgreSQL::Test::Cluster->new('deploy');
$node->init;
# A crash must reinitialize the server, not stop it.  And a small server
# (as PostgreSQL::Test::Cluster makes for streaming): with the default
# max_locks_per_transaction, 64, the shared lock table has room for 64
# locks per process, 10 connections and the server's own processes, about
# 1400 locks: fewer than the 3000 tables created below.
$node->append_conf(
	'postgresql.conf', qq{
restart_after_crash = on
max_connections = 10
});
$node->start;

$node->safe_psql(
	'postgres', q{
SET client_min_messages = warning;
CREATE EXTENSION migrate;
CREATE TABLE gate (id int);
});

# Holds "gate" until told otherwise; returns the session.
sub close_gate
{
	my $blocker = $node->background_psql('postgres');
	$blocker->query_safe('BEGIN; LOCK TABLE gate IN ACCESS EXCLUSIVE MODE');
	return $blocker;
}

# Starts "CALL migrate.deploy(lock_timeout => '0')" in its own psql, with
# $options as the connection's options, and waits until the deploy waits
# for a lock in statement $statement of migration $version.  Returns the
# psql harness, its output buffers and the backend pid.
sub start_blocked_deploy
{
	my ($what, $version, $statement, $options, $call, $part) = @_;
	$call //= "CALL migrate.deploy(lock_timeout => '0')";
	$part //= 'up';
	my $connstr =
	  $node->connstr('postgres') . ' application_name=deployer';
	$connstr .= " options='$options'" if defined $options;
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start(
		[
			$node->installed_command('psql'), '-XAtq', '-v', 'VERBOSITY=verbose',
			'-d', $connstr, '-c', $call
		],
		'>', \$out, '2>', \$err,
		IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));

	ok( $node->poll_query_until(
			'postgres', qq{
SELECT count(*) = 1 FROM pg_stat_activity
WHERE application_name = 'deployer' AND wait_event_type = 'Lock'
  AND query LIKE '/* migrate: $part of default $version "%", statement $statement of %'}
		),
		"$what: the deploy waits in statement $statement of $version");
	my $pid = $node->safe_psql('postgres',
		"SELECT pid FROM pg_stat_activity WHERE application_name = 'deployer'"
	);
	return ($h, \$out, \$err, $pid);
}

# The advisory locks of the deploy's key that $pid holds, as objsubid list.
sub deploy_locks
{
	my ($pid) = @_;
	return $node->safe_psql(
		'postgres', qq{
SELECT string_agg(objsubid::text, ',' ORDER BY objsubid) FROM pg_locks
WHERE locktype = 'advisory' AND pid = $pid AND granted
  AND classid = $lock_class AND objid = $lock_obj});
}

# SIGKILLs backend $pid, which psql harness $h runs, and waits until the
# server has gone through crash recovery.
sub kill_backend
{
	my ($what, $pid, $h, $out, $err) = @_;
	my $log_offset = -s $node->logfile;
	ok(kill('KILL', $pid), "$what: SIGKILL sent to backend $pid");
	$h->finish;
	isnt($h->result, 0, "$what: psql running the killed deploy fails");
	like(
		$$err,
		qr/server closed the connection unexpectedly/,
		"$what: the killed deploy lost its connection");
	is($$out, '', "$what: the killed deploy returned nothing");
	$node->wait_for_log(qr/database system is ready to accept connections/,
		$log_offset);
	ok( $node->log_contains(
			qr/server process \(PID $pid\) was terminated by signal 9/,
			$log_offset),
		"$what: the postmaster saw the backend die of SIGKILL");
	ok( $node->log_contains(
			qr/all server processes terminated; reinitializing/,
			$log_offset),
		"$what: the server went through crash recovery");
}

# Nothing holds or waits for a lock of the deploy's key, in any database.
sub check_no_deploy_lock
{
	my ($what) = @_;
	is( $node->safe_psql(
			'postgres', qq{
SELECT count(*) FROM pg_locks
WHERE locktype = 'advisory' AND classid = $lock_class AND objid = $lock_obj}),
		'0',
		"$what: nobody holds the migration or the deploy lock");
	is($node->safe_psql('postgres', 'SELECT count(*) FROM migrate.activity'),
		'0', "$what: migrate.activity is empty");
}

# A deploy applies the $applied migrations pending; returns its notices.
sub deploy
{
	my ($what, $applied) = @_;
	my ($ret, $out, $err) = $node->psql(
		'postgres', 'CALL migrate.deploy()',
		extra_params => [ '-v', 'VERBOSITY=verbose' ]);
	is($ret, 0, "$what: the next deploy succeeds") or diag $err;
	like($out, qr/^\d+\|$applied$/, "$what: it applies $applied migrations");
	return $err;
}

# Every migration is applied, each by exactly one "ok" up event, and none
# is running or interrupted.
sub check_all_applied
{
	my ($what) = @_;
	is( $node->safe_psql(
			'postgres',
			"SELECT count(*) FROM migrate.status() WHERE state <> 'applied'"),
		'0',
		"$what: every migration is applied");
	is( $node->safe_psql(
			'postgres', q{
SELECT count(*) FROM migrate.status() AS s
WHERE (SELECT count(*) FROM migrate.history AS h
	   WHERE h.version::text = s.version::text AND h.action = 'up' AND h.status = 'ok') <> 1}
		),
		'0',
		"$what: every migration has exactly one ok up event");
	check_no_deploy_lock($what);
}

#
# SIGKILL of the backend in the middle of a transactional migration
#
$node->safe_psql(
	'postgres', q{
SELECT migrate.register('001', 'first', up => $$CREATE TABLE first_t (id int)$$);
SELECT migrate.register('002', 'slow',
	up => $$CREATE TABLE t2 (id int);
INSERT INTO t2 VALUES (2);
SELECT count(*) FROM gate;$$);
SELECT migrate.register('003', 'after', up => $$CREATE TABLE t3 (id int)$$);
});

my $blocker = close_gate();
my ($h, $out, $err, $pid) =
  start_blocked_deploy('transactional', '002', 3);

# What the running deploy shows, and what it keeps out.
my $run_id = $node->safe_psql('postgres',
	"SELECT run_id FROM migrate.status() WHERE version::text = '002'");
is( $node->safe_psql(
		'postgres',
		'SELECT version, state, pid FROM migrate.status() ORDER BY version'),
	"001|applied|$pid\n002|running|$pid\n003|pending|",
	'transactional: while it waits, 001 is applied, 002 running');
is(deploy_locks($pid), '1,3',
	'transactional: the deploy holds the migration and the deploy lock');
is( $node->safe_psql(
		'postgres', qq{
SELECT count(*) FROM pg_locks
WHERE locktype = 'advisory' AND pid = $pid AND granted AND objsubid = 4
  AND classid::bigint = ${run_id}::bigint >> 32
  AND objid::bigint = ${run_id}::bigint & 4294967295}
	),
	'1',
	"transactional: the deploy holds the lock of its run $run_id");
my ($ret, $stdout, $stderr);
foreach my $call (
	q{SELECT migrate.register('004', 'meanwhile', up => 'CREATE TABLE t4 ()')},
	'SELECT * FROM migrate.run()',
	'CALL migrate.deploy()')
{
	($ret, $stdout, $stderr) = $node->psql(
		'postgres', $call,
		extra_params => [ '-v', 'VERBOSITY=verbose' ],
		timeout => 30);
	like(
		$stderr,
		qr/ERROR:  55P03: a deploy is running/,
		"transactional: meanwhile, $call fails at once with 55P03");
}

kill_backend('transactional', $pid, $h, $out, $err);
# The gate's session died with the others.
$blocker->quit;

is( $node->safe_psql(
		'postgres',
		'SELECT version, state, run_id, pid FROM migrate.status() ORDER BY version'
	),
	"001|applied|$run_id|$pid\n002|interrupted|$run_id|$pid\n003|pending||",
	'transactional: after the crash 001 is applied, 002 interrupted by the killed deploy'
);
is( $node->safe_psql(
		'postgres', q{
SELECT version, status FROM migrate.history WHERE action = 'up' ORDER BY id}),
	"001|started\n001|ok\n002|started",
	'transactional: history has the start of 002, and no end');
is( $node->safe_psql(
		'postgres',
		"SELECT to_regclass('first_t') IS NOT NULL, to_regclass('t2') IS NULL"),
	't|t',
	'transactional: 001 created its table, 002 left none');
is( $node->safe_psql(
		'postgres',
		"SELECT version, severity, problem FROM migrate.validate() WHERE problem = 'interrupted'"
	),
	'002|warning|interrupted',
	'transactional: validate() warns that 002 was interrupted');
check_no_deploy_lock('transactional, after the crash');

deploy('transactional', 2);
is( $node->safe_psql(
		'postgres',
		q{SELECT (SELECT id FROM t2), to_regclass('t3') IS NOT NULL}),
	'2|t',
	'transactional: the next deploy applied 002 and 003');
check_all_applied('transactional');

#
# SIGKILL in the middle of a concurrent index build, in a non-transactional
# migration whose first statement has completed
#
$node->safe_psql(
	'postgres', q{
CREATE TABLE big (id int, v int);
INSERT INTO big SELECT g, g % 1000 FROM generate_series(1, 100000) g;
SELECT migrate.register('005', 'index big',
	up => $$CREATE TABLE big_log (id int);
CREATE INDEX CONCURRENTLY big_idx ON big (v)$$,
	transactional => false);
});

# An open transaction that has written to big: the build waits for it once
# it has committed its (invalid) index.
my $writer = $node->background_psql('postgres');
$writer->query_safe('BEGIN; INSERT INTO big VALUES (0, 0)');
($h, $out, $err, $pid) =
  start_blocked_deploy('concurrent index', '005', 2);
ok( $node->poll_query_until(
		'postgres', q{
SELECT count(*) = 1 FROM pg_index
WHERE indexrelid = to_regclass('big_idx') AND NOT indisvalid}),
	'concurrent index: the build waits with big_idx invalid');
is( $node->safe_psql(
		'postgres', qq{
SELECT command FROM pg_stat_progress_create_index WHERE pid = $pid}),
	'CREATE INDEX CONCURRENTLY',
	'concurrent index: pg_stat_progress_create_index shows the build');

kill_backend('concurrent index', $pid, $h, $out, $err);
$writer->quit;

is( $node->safe_psql(
		'postgres',
		"SELECT state, pid FROM migrate.status() WHERE version::text = '005'"),
	"interrupted|$pid",
	'concurrent index: after the crash 005 is interrupted');
is( $node->safe_psql(
		'postgres',
		"SELECT statements_done FROM migrate.migration WHERE version::text = '005'"),
	'1',
	'concurrent index: its first statement is recorded done');
is( $node->safe_psql(
		'postgres', q{
SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass('big_idx')}),
	'f',
	'concurrent index: the killed build left big_idx invalid');
check_no_deploy_lock('concurrent index, after the crash');

my $notices = deploy('concurrent index', 1);
like(
	$notices,
	qr/dropping the invalid index left by an earlier attempt of statement 2/,
	'concurrent index: the next deploy drops the invalid index first');
is( $node->safe_psql(
		'postgres', q{
SELECT c.relname, i.indisvalid, i.indisready
FROM pg_index AS i JOIN pg_class AS c ON c.oid = i.indexrelid
WHERE i.indrelid = 'big'::regclass}),
	'big_idx|t|t',
	'concurrent index: big has one index, big_idx, valid and ready');
is( $node->safe_psql(
		'postgres',
		"SELECT count(*) FROM pg_index WHERE NOT indisvalid OR NOT indisready"),
	'0',
	'concurrent index: no invalid index is left');
is( $node->safe_psql('postgres', "SELECT to_regclass('big_log') IS NOT NULL"),
	't', 'concurrent index: the first statement did not run again');
check_all_applied('concurrent index');

#
# The client of a deploy disconnects while a migration waits for a lock
#
$node->safe_psql(
	'postgres', q{
SELECT migrate.register('006', 'quick', up => $$CREATE TABLE t6 (id int)$$);
SELECT migrate.register('007', 'slow',
	up => $$CREATE TABLE t7 (id int);
SELECT count(*) FROM gate;$$);
});

$blocker = close_gate();
($h, $out, $err, $pid) = start_blocked_deploy('disconnect', '007', 2,
	'-c client_connection_check_interval=100ms');
my $log_offset = -s $node->logfile;
# The client dies, not the backend.
$h->signal('KILL');
$h->finish;
isnt($h->result, 0, 'disconnect: psql running the deploy is killed');
ok( $node->poll_query_until(
		'postgres',
		"SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = $pid"),
	'disconnect: the backend of the deploy ends');
ok($node->log_contains(qr/connection to client lost/, $log_offset),
	'disconnect: the backend noticed that its client was gone');
is( $node->safe_psql(
		'postgres',
		"SELECT version, state, pid FROM migrate.status() WHERE version::text >= '006' ORDER BY version"
	),
	"006|applied|$pid\n007|interrupted|$pid",
	'disconnect: 006 is applied, 007 interrupted');
is( $node->safe_psql(
		'postgres', qq{
SELECT count(*) FROM pg_locks
WHERE locktype = 'advisory' AND classid = $lock_class AND objsubid = 3}),
	'0',
	'disconnect: the deploy lock is no longer held');
check_no_deploy_lock('disconnect');
is($node->safe_psql('postgres', "SELECT to_regclass('t7') IS NULL"),
	't', 'disconnect: 007 left no table');

$blocker->query_safe('COMMIT');
$blocker->quit;
deploy('disconnect', 1);
check_all_applied('disconnect');

#
# SIGKILL of the background worker of a deploy (wait => false) while its
# migration waits for a lock: the same recovery
#
$node->safe_psql(
	'postgres', q{
SELECT migrate.register('008', 'in the background',
	up => $$CREATE TABLE t8 (id int);
SELECT count(*) FROM gate;$$);
});
$blocker = close_gate();
like(
	$node->safe_psql(
		'postgres',
		"SET client_min_messages = warning;\nCALL migrate.deploy(wait => false, lock_timeout => '0')"
	),
	qr/^\d+\|$/,
	'background: the deploy returns its run id at once, applied unknown');
ok( $node->poll_query_until(
		'postgres', q{
SELECT count(*) = 1 FROM pg_stat_activity
WHERE backend_type = 'migrate deploy' AND wait_event_type = 'Lock'
  AND query LIKE '/* migrate: up of default 008 "%", statement 2 of %'}),
	'background: the worker waits in statement 2 of 008');
my $worker = $node->safe_psql('postgres',
	"SELECT pid FROM pg_stat_activity WHERE backend_type = 'migrate deploy'");
is( $node->safe_psql(
		'postgres',
		"SELECT state, pid FROM migrate.status() WHERE version::text = '008'"),
	"running|$worker",
	'background: status() shows 008 running in the worker');
$log_offset = -s $node->logfile;
ok(kill('KILL', $worker), "background: SIGKILL sent to worker $worker");
$node->wait_for_log(qr/database system is ready to accept connections/,
	$log_offset);
$blocker->quit;
is( $node->safe_psql(
		'postgres',
		"SELECT state, pid FROM migrate.status() WHERE version::text = '008'"),
	"interrupted|$worker",
	'background: after the crash 008 is interrupted');
check_no_deploy_lock('background');
deploy('background', 1);
check_all_applied('background');

#
# SIGKILL while deploy_rollback reverts a migration: the migration is
# interrupted but applied still (its revert was rolled back); deploy leaves
# it alone, and the next deploy_rollback reverts it
#
$node->safe_psql(
	'postgres', q{
SELECT migrate.register('009', 'revertible',
	up => $$CREATE TABLE t9 (id int)$$,
	down => $$DROP TABLE t9;
SELECT count(*) FROM gate;$$);
CALL migrate.deploy();
});
$blocker = close_gate();
($h, $out, $err, $pid) = start_blocked_deploy('revert', '009', 2, undef,
	"CALL migrate.deploy_rollback(lock_timeout => '0')", 'down');
is( $node->safe_psql(
		'postgres',
		"SELECT state, pid FROM migrate.status() WHERE version::text = '009'"),
	"running|$pid",
	'revert: status() shows 009 running while its down script runs');
kill_backend('revert', $pid, $h, $out, $err);
$blocker->quit;
is( $node->safe_psql(
		'postgres',
		"SELECT state, pid FROM migrate.status() WHERE version::text = '009'"),
	"interrupted|$pid",
	'revert: after the crash 009 is interrupted');
is($node->safe_psql('postgres', "SELECT to_regclass('t9') IS NOT NULL"),
	't', 'revert: the interrupted revert was rolled back: t9 is there');
deploy('revert', 0);
is( $node->safe_psql(
		'postgres',
		"SELECT state FROM migrate.status() WHERE version::text = '009'"),
	'interrupted',
	'revert: deploy does not apply a migration whose revert was interrupted');
my ($ret2, $out2, $err2) = $node->psql('postgres',
	'CALL migrate.deploy_rollback()');
is($ret2, 0, 'revert: the next deploy_rollback succeeds') or diag $err2;
like($out2, qr/^\d+\|1$/, 'revert: it reverts 009');
is( $node->safe_psql(
		'postgres',
		"SELECT state, to_regclass('t9') IS NULL FROM migrate.status() WHERE version::text = '009'"
	),
	'pending|t',
	'revert: 009 is pending, its table gone');
check_no_deploy_lock('revert');
deploy('revert', 1);
is( $node->safe_psql(
		'postgres',
		"SELECT count(*) FROM migrate.status() WHERE state <> 'applied'"),
	'0',
	'revert: deploy applies 009 again; every migration is applied');

#
# Traffic goes on while a deploy waits for a lock: a long report holds
# orders; the deploy's ALTER TABLE needs ACCESS EXCLUSIVE and queues for
# at most lock_timeout at a time; an application's INSERT, which queues
# behind it, goes through while the report still runs; and the migration
# is applied once the report ends
#
$node->safe_psql(
	'postgres', q{
CREATE TABLE orders (id int);
SELECT migrate.register('010', 'add a column',
	up => $$ALTER TABLE orders ADD COLUMN note text$$);
});
my $report = $node->background_psql('postgres');
$report->query_safe('BEGIN; SELECT count(*) FROM orders');
($h, $out, $err, $pid) = start_blocked_deploy('traffic', '010', 1, undef,
	"CALL migrate.deploy(lock_timeout => '300ms', retries => 1000)");
my ($app_out, $app_err) = ('', '');
my $app = IPC::Run::start(
	[
		$node->installed_command('psql'), '-XAtq', '-d',
		$node->connstr('postgres'), '-c',
		'INSERT INTO orders VALUES (1) RETURNING id'
	],
	'>', \$app_out, '2>', \$app_err,
	IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
$app->finish;
is($app_out, "1\n",
	'traffic: an INSERT behind the deploy\'s queued lock goes through');
is( $node->safe_psql(
		'postgres',
		"SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction' AND query LIKE '%FROM orders%'"
	),
	'1',
	'traffic: while the report still runs');
ok( $node->poll_query_until(
		'postgres',
		"SELECT count(*) > 0 FROM migrate.history WHERE version::text = '010' AND status = 'retry'"
	),
	'traffic: the deploy records its retries');
$report->query_safe('COMMIT');
$report->quit;
$h->finish;
ok(!$h->result, 'traffic: the deploy succeeds once the report ends')
  or diag $$err;
like(
	$$err,
	qr/NOTICE:  00000: retrying migration default 010 "add a column" in \d+ ms \(retry 1 of 1000\)/,
	'traffic: a NOTICE announced each retry');
is( $node->safe_psql(
		'postgres',
		"SELECT state FROM migrate.status() WHERE version::text = '010'"),
	'applied',
	'traffic: 010 is applied');

#
# 3,000 migrations with the default max_locks_per_transaction: a deploy
# commits each, so it needs the locks of one migration at a time, where
# run() runs out of the lock table
#
is($node->safe_psql('postgres', 'SHOW max_locks_per_transaction'),
	'64', 'many: max_locks_per_transaction is the default');
my $register = q{
SET client_min_messages = warning;
CREATE EXTENSION migrate;
SELECT count(migrate.register(lpad(g::text, 5, '0'), 'table ' || g,
							  format('CREATE TABLE t_%s (id int)', g)))
FROM generate_series(1, 3000) g;
};
$node->safe_psql('postgres', 'CREATE DATABASE many');
is($node->safe_psql('many', $register), '3000',
	'many: 3000 migrations registered');
my $start = time();
like(
	$node->safe_psql(
		'many', "SET client_min_messages = warning;\nCALL migrate.deploy()"),
	qr/^\d+\|3000$/,
	'many: one deploy applies all 3000 migrations');
note(sprintf('many: the deploy of 3000 migrations took %.1f s',
		time() - $start));
is( $node->safe_psql(
		'many', "SELECT count(*) FROM migrate.status() WHERE state = 'applied'"),
	'3000',
	'many: status shows all 3000 applied');
is( $node->safe_psql(
		'many',
		q{SELECT count(*) FROM pg_class WHERE relname ~ '^t_[0-9]+$' AND relkind = 'r'}
	),
	'3000',
	'many: the 3000 tables exist');

# The control case: run() applies everything in one transaction, which
# holds a lock on each new table until it ends.
$node->safe_psql('postgres', 'CREATE DATABASE many_run');
$node->safe_psql('many_run', $register);
$start = time();
($ret, $stdout, $stderr) = $node->psql(
	'many_run', q{
SET client_min_messages = warning;
SELECT count(*) FROM migrate.run();},
	extra_params => [ '-v', 'VERBOSITY=verbose' ]);
note(sprintf('many: the failing run() took %.1f s', time() - $start));
isnt($ret, 0, 'many: run() of the same 3000 migrations fails');
like(
	$stderr,
	qr/ERROR:  53200: migration default \d+ "table \d+" failed: out of shared memory
HINT:  You might need to increase max_locks_per_transaction/,
	'many: run() runs out of the lock table (53200) inside a migration');
is( $node->safe_psql(
		'many_run',
		"SELECT count(*) FROM migrate.status() WHERE state = 'pending'"),
	'3000',
	'many: the failed run() applied nothing');

$node->stop;

done_testing();
