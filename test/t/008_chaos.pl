# Chaos: CALL migrate.deploy() recovers from any interruption.
#
# Round after round, a fresh database gets the same plan: transactional
# migrations that create and fill tables (two of them pause a random
# moment), a non-transactional one of nine statements (a table, 50,000
# rows, two concurrent index builds, rows in a log between them) and
# transactional ones after it.  A deploy of the plan starts, in the
# foreground (a psql child) or in the background (wait => false), and is
# struck at a random moment by one of:
#
# - kill -9 of the deploying backend or worker (then crash recovery);
# - pg_terminate_backend();
# - pg_cancel_backend(), once, or three times a few ms apart (the later
#	ones may land while the deploy cleans up after the first);
# - migrate.cancel(run_id);
# - the client disconnecting (its psql killed): a foreground deploy, whose
#	connection has client_connection_check_interval set, stops; a
#	background one goes on to the end;
# - pg_cancel_backend() of the caller of a background deploy while it
#	waits for the deploy to begin: if its CALL fails, it was told that the
#	deploy did not begin, so no migration may have started.
#
# The moment is drawn within the time the deploy has left (an uninterrupted
# deploy of each mode is timed first); SQL strikes come from a session
# connected beforehand.  In some strikes another session holds a lock the
# migrations need for a while, and the deploy runs with a short
# lock_timeout, so that it times out, backs off and retries meanwhile.
# Some rounds strike the resumed deploy as well.
#
# After each strike, once the deploy is gone: its process ended with the
# error of the strike and no other, no lock of the deploy is left, nothing
# claims to be running, and every migration's state matches the schema
# (applied ones a prefix of the plan, at most the next one interrupted, no
# failed one; a transactional migration's work is there iff it is applied;
# the non-transactional one has done exactly its first statements_done
# statements, each once; an invalid index only where a concurrent build of
# the interrupted migration was struck).  Then a deploy resumes: it must
# succeed, apply exactly what was left, drop an invalid index first and
# take the non-transactional migration up at its first statement not
# done; afterwards every migration is applied, exactly once (one row per
# migration, or statement, in a log table; one "ok" up event each), its
# tables, rows and indexes are there, no index is invalid and no lock is
# held.  At the end, the server log shows no process killed but by the
# test, and no PANIC.
#
# Every inconsistency fails the test (not just a note), with the seed, the
# round, the strikes and the state.  The closing note gives the figures;
# the test's log (regress_log_008_chaos) has a line per strike.  The
# random choices come from a seed printed first:
#
#   MIGRATE_CHAOS_SEED=<seed>      replays the same choices (the server's
#                                  timing still varies)
#   MIGRATE_CHAOS_ROUNDS=<n>       rounds (100 by default)
#   MIGRATE_CHAOS_KINDS=<kind>,... strikes of those kinds only, e.g.
#                                  'caller cancelled' or 'kill -9'

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(time sleep);

# The key of the deploy's session locks (lock.h): classid, objid; objsubid
# 1 is the migration lock, 3 the deploy lock, 4 a run lock (whose classid
# and objid are the run id's).
my $lock_class = 7170407;
my $lock_obj = 1918989413;
my $deploy_locks = qq{locktype = 'advisory'
  AND ((classid = $lock_class AND objid = $lock_obj) OR objsubid = 4)};

my $seed = $ENV{MIGRATE_CHAOS_SEED};
$seed = (int(time() * 1000) ^ ($$ << 8)) % 2147483647
  unless defined $seed && $seed =~ /^\d+$/;
srand($seed);
my $rounds = $ENV{MIGRATE_CHAOS_ROUNDS} // 100;
note "chaos: seed $seed, $rounds rounds "
  . "(replay with MIGRATE_CHAOS_SEED=$seed)";

my $node = PostgreSQL::Test::Cluster->new('chaos');
$node->init;
# A crash must reinitialize the server, not stop it.  The log shows each
# error's SQLSTATE.
$node->append_conf(
	'postgresql.conf', q{
restart_after_crash = on
log_error_verbosity = verbose
});
$node->start;
my $postmaster =
  (split /\n/, slurp_file($node->data_dir . '/postmaster.pid'))[0];

#
# The plan.  Each migration logs itself in "log" by its last statement
# (the non-transactional one after each step, with the number of the
# statement that logs), so the log counts how often each ran.
#
my @plan = (
	{
		version => '001',
		name => 'accounts',
		up => q{CREATE TABLE accounts (id int PRIMARY KEY, name text NOT NULL);
INSERT INTO accounts SELECT g, 'account ' || g FROM generate_series(1, 1000) AS g;
INSERT INTO log VALUES ('001', 1)},
	},
	{
		version => '002',
		name => 'orders',
		up => q{CREATE TABLE orders (id int, account int REFERENCES accounts);
INSERT INTO orders SELECT g, 1 + g % 1000 FROM generate_series(1, 5000) AS g;
SELECT pg_sleep(random() * 0.05);
INSERT INTO log VALUES ('002', 1)},
	},
	{
		version => '003',
		name => 'emails',
		up => q{ALTER TABLE accounts ADD COLUMN email text;
UPDATE accounts SET email = name || '@example.com';
INSERT INTO log VALUES ('003', 1)},
	},
	{
		version => '004',
		name => 'big and its indexes',
		transactional => 0,
		up => q{CREATE TABLE big (id int, v int);
INSERT INTO log VALUES ('004', 2);
INSERT INTO big SELECT g, g % 997 FROM generate_series(1, 50000) AS g;
INSERT INTO log VALUES ('004', 4);
CREATE INDEX CONCURRENTLY big_v_idx ON big (v);
INSERT INTO log VALUES ('004', 6);
SELECT pg_sleep(random() * 0.03);
CREATE INDEX CONCURRENTLY big_id_idx ON big (id);
INSERT INTO log VALUES ('004', 9)},
	},
	{
		version => '005',
		name => 'order index and summary',
		up => q{CREATE INDEX orders_account_idx ON orders (account);
CREATE VIEW big_summary AS SELECT v, count(*) AS n FROM big GROUP BY v;
INSERT INTO log VALUES ('005', 1)},
	},
	{
		version => '006',
		name => 'audit',
		up => q{CREATE TABLE audit (id int);
INSERT INTO audit SELECT generate_series(1, 100);
SELECT pg_sleep(random() * 0.03);
INSERT INTO log VALUES ('006', 1)},
	},);
my $nmig = scalar @plan;
# The non-transactional migration: its statements, the ones that log, the
# concurrent builds.
my $nt_version = '004';
my $nt_name = 'big and its indexes';
my $nt_statements = 9;
my @nt_logs = (2, 4, 6, 9);
my %nt_index = (big_v_idx => 5, big_id_idx => 8);

# Every round's database is a copy of this one: the extension, the log,
# a helper that counts rows, and the plan registered.
$node->safe_psql('postgres', 'CREATE DATABASE chaos_template');
my $template = q{
SET client_min_messages = warning;
CREATE EXTENSION migrate;
CREATE TABLE log (version text NOT NULL, part int NOT NULL);
-- -1 if the table does not exist, -2 if the condition names a missing column
CREATE FUNCTION chaos_rows(tab text, cond text DEFAULT 'true') RETURNS bigint
LANGUAGE plpgsql AS $f$
DECLARE
	n bigint;
BEGIN
	IF to_regclass(tab) IS NULL THEN
		RETURN -1;
	END IF;
	EXECUTE format('SELECT count(*) FROM %I WHERE %s', tab, cond) INTO n;
	RETURN n;
EXCEPTION WHEN undefined_column THEN
	RETURN -2;
END
$f$;
};
foreach my $m (@plan)
{
	$template .= sprintf(
		"SELECT migrate.register('%s', '%s', up => \$m\$%s\$m\$, transactional => %s);\n",
		$m->{version}, $m->{name}, $m->{up},
		(($m->{transactional} // 1) ? 'true' : 'false'));
}
$node->safe_psql('chaos_template', $template);
is( $node->safe_psql(
		'chaos_template',
		"SELECT string_agg(version || ':' || state || ':' || transactional, ' ' ORDER BY version) FROM migrate.status()"
	),
	'001:pending:true 002:pending:true 003:pending:true 004:pending:false 005:pending:true 006:pending:true',
	'the plan is registered: six migrations, 004 non-transactional');

#
# A psql child that runs a deploy
#

# Pumps client $c until $cond holds; false if $secs pass first or psql
# ends.
sub pump_for
{
	my ($c, $cond, $secs) = @_;
	my $deadline = time() + $secs;
	while (1)
	{
		eval { $c->{h}->pump_nb; };
		return 1 if $cond->();
		return 0 if time() > $deadline || !$c->{h}->pumpable;
		sleep(0.002);
	}
}

# A psql connected to $db, its backend's pid in $c->{pid}.  Its client
# connection check lets the backend notice a lost client while it works.
sub start_client
{
	my ($db) = @_;
	my $c = { in => '', out => '', err => '' };
	my $connstr = $node->connstr($db)
	  . " application_name=chaos options='-c client_connection_check_interval=50ms'";
	$c->{h} = IPC::Run::start(
		[
			$node->installed_command('psql'), '-XAtq',
			'-v', 'VERBOSITY=verbose',
			'-d', $connstr
		],
		'<', \$c->{in},
		'>', \$c->{out},
		'2>', \$c->{err},
		IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
	$c->{in} .=
	  "SET client_min_messages = warning;\nSELECT 'pid|' || pg_backend_pid();\n";
	pump_for($c, sub { $c->{out} =~ /^pid\|\d+$/m }, 60)
	  or die "psql did not connect to $db: $c->{err}";
	($c->{pid}) = $c->{out} =~ /^pid\|(\d+)$/m;
	$c->{out} = '';
	return $c;
}

# Sends $sql to client $c.
sub send_client
{
	my ($c, $sql) = @_;
	$c->{in} .= $sql;
	pump_for($c, sub { $c->{in} eq '' }, 10);
}

# Ends client $c: \q if it still runs, else collect what it left.
sub end_client
{
	my ($c) = @_;
	eval { $c->{h}->pump_nb; };
	$c->{in} .= "\\q\n" if $c->{h}->pumpable;
	eval { $c->{h}->finish; 1 } or eval { $c->{h}->kill_kill; };
}

# What client $c answers to query $sql.
sub ask
{
	my ($c, $sql) = @_;
	$c->{out} = '';
	send_client($c, "$sql;\n\\echo answered\n");
	pump_for($c, sub { $c->{out} =~ /^answered$/m }, 60)
	  or die "no answer to $sql: $c->{err}";
	my ($answer) = $c->{out} =~ /^(.*?)\n?answered$/ms;
	return $answer;
}

# Whether $pid is a live child of our postmaster: a backend or worker of
# this cluster, not a pid the system reused for someone else's process.
sub our_child
{
	my ($pid) = @_;
	open(my $fh, '<', "/proc/$pid/stat") or return 0;
	my $stat = <$fh>;
	close $fh;
	return 0 unless defined $stat && $stat =~ /\)\s+(\S)\s+(\d+)/;
	return $1 ne 'Z' && $2 == $postmaster;
}

# Whether the server log after $offset matches $re within $secs.
sub log_shows
{
	my ($re, $offset, $secs) = @_;
	my $deadline = time() + $secs;
	while (1)
	{
		return 1 if slurp_file($node->logfile, $offset) =~ $re;
		return 0 if time() > $deadline;
		sleep(0.05);
	}
}

# Polls $sql in $db until it returns 't'; false after $secs.
sub wait_until
{
	my ($db, $sql, $secs) = @_;
	my $deadline = time() + $secs;
	while (1)
	{
		my $ret = $node->safe_psql($db, $sql);
		return 1 if $ret eq 't';
		return 0 if time() > $deadline;
		sleep(0.02);
	}
}

#
# The state of a round's database, and its checks
#
sub snapshot
{
	my ($db) = @_;
	my $out = $node->safe_psql(
		$db, qq{
SET client_min_messages = warning;
SELECT 'm', s.version, s.state, m.statements_done,
	(SELECT count(*) FROM migrate.history AS h
	 WHERE h.version::text = s.version::text AND h.action = 'up' AND h.status = 'ok')
FROM migrate.status() AS s
	JOIN migrate.migration AS m
	ON m.project = s.project AND m.version::text = s.version::text
ORDER BY s.version;
SELECT 'l', version, part, count(*) FROM log GROUP BY version, part ORDER BY 2, 3;
SELECT 'r', t, chaos_rows(t) FROM unnest('{accounts,orders,big,audit}'::text[]) AS t;
SELECT 'r', 'accounts.email', chaos_rows('accounts', 'email IS NOT NULL');
SELECT 'r', 'big_summary', CASE WHEN to_regclass('big_summary') IS NULL THEN -1 ELSE 0 END;
SELECT 'i', c.relname, i.indisvalid AND i.indisready
FROM pg_index AS i JOIN pg_class AS c ON c.oid = i.indexrelid
WHERE c.relnamespace = 'public'::regnamespace;
SELECT 'x',
	(SELECT count(*) FROM pg_index WHERE NOT indisvalid OR NOT indisready),
	(SELECT count(*) FROM migrate.status() WHERE state = 'running'),
	(SELECT count(*) FROM pg_locks WHERE $deploy_locks),
	(SELECT count(*) FROM migrate.activity),
	(SELECT count(*) FROM migrate.history WHERE status = 'failed'),
	(SELECT count(*) FROM migrate.history WHERE status = 'retry'),
	(SELECT count(*) FROM migrate.history WHERE status = 'started');
});
	my %s = (m => {}, log => {}, rows => {}, idx => {});
	foreach my $line (split /\n/, $out)
	{
		my @f = split /\|/, $line;
		my $tag = shift @f;
		if ($tag eq 'm')
		{
			$s{m}{ $f[0] } = { state => $f[1], done => $f[2], ok => $f[3] };
		}
		elsif ($tag eq 'l') { $s{log}{"$f[0]/$f[1]"} = $f[2]; }
		elsif ($tag eq 'r') { $s{rows}{ $f[0] } = $f[1]; }
		elsif ($tag eq 'i') { $s{idx}{ $f[0] } = $f[1]; }
		elsif ($tag eq 'x')
		{
			@s{qw(invalid running locks activity failed retries started)} = @f;
		}
	}
	$s{text} = $out;
	return \%s;
}

# The problems of snapshot $s: after a strike ($final false), or after the
# resumed deploy ($final true).
sub check_state
{
	my ($s, $final) = @_;
	my @p;
	my %m = %{ $s->{m} };
	my %log = %{ $s->{log} };

	push @p, "expected $nmig migrations, found " . scalar(keys %m)
	  if keys %m != $nmig;
	push @p, "status() shows $s->{running} migration(s) running"
	  if $s->{running} != 0;
	push @p, "$s->{locks} lock(s) of the deploy held"
	  if $s->{locks} != 0;
	push @p, "migrate.activity has $s->{activity} row(s)"
	  if $s->{activity} != 0;
	push @p, "migrate.history has $s->{failed} failed event(s)"
	  if $s->{failed} != 0;

	# States: applied ones first, then at most one interrupted, then
	# pending ones.
	my $seen_unapplied = 0;
	foreach my $mg (@plan)
	{
		my $v = $mg->{version};
		my $st = $m{$v}{state} // 'missing';
		if ($st eq 'applied')
		{
			push @p, "$v is applied after a migration that is not"
			  if $seen_unapplied;
		}
		elsif ($st eq 'interrupted')
		{
			push @p, "$v is interrupted after a migration that is not applied"
			  if $seen_unapplied;
			push @p, "$v is still interrupted after the resumed deploy"
			  if $final;
			$seen_unapplied = 1;
		}
		elsif ($st eq 'pending')
		{
			push @p, "$v is still pending after the resumed deploy" if $final;
			$seen_unapplied = 1;
		}
		else
		{
			push @p, "$v is $st";
			$seen_unapplied = 1;
		}
		my $applied = $st eq 'applied' ? 1 : 0;
		push @p, "$v has $m{$v}{ok} ok up event(s), expected $applied"
		  if ($m{$v}{ok} // -1) != $applied;
	}

	# What the transactional migrations did: all or nothing.
	my %applied = map { $_ => (($m{$_}{state} // '') eq 'applied') } keys %m;
	foreach my $mg (@plan)
	{
		my $v = $mg->{version};
		next if $v eq $nt_version;
		my $n = $log{"$v/1"} // 0;
		push @p, "$v logged $n time(s), expected " . ($applied{$v} ? 1 : 0)
		  if $n != ($applied{$v} ? 1 : 0);
	}
	my %rows = %{ $s->{rows} };
	my %expect_rows = (
		accounts => $applied{'001'} ? 1000 : -1,
		orders => $applied{'002'} ? 5000 : -1,
		'accounts.email' => $applied{'003'} ? 1000
		: $applied{'001'} ? -2
		: -1,
		big_summary => $applied{'005'} ? 0 : -1,
		audit => $applied{'006'} ? 100 : -1,);

	# The non-transactional migration: exactly its first $done statements.
	my $done =
	  $applied{$nt_version} ? $nt_statements : $m{$nt_version}{done} // 0;
	push @p,
	  "$nt_version is pending with $done statements done (expected 0 or interrupted)"
	  if ($m{$nt_version}{state} // '') eq 'pending' && $done != 0;
	foreach my $part (@nt_logs)
	{
		my $n = $log{"$nt_version/$part"} // 0;
		my $want = $part <= $done ? 1 : 0;
		push @p,
		  "$nt_version statement $part logged $n time(s), expected $want ($done done)"
		  if $n != $want;
	}
	foreach my $k (keys %log)
	{
		my ($v, $part) = split m{/}, $k;
		push @p, "unexpected log row $v/$part"
		  unless grep { $_->{version} eq $v } @plan
		  and ($v eq $nt_version ? (grep { $_ == $part } @nt_logs) : $part == 1);
	}
	$expect_rows{big} = $done >= 3 ? 50000 : $done >= 1 ? 0 : -1;
	foreach my $t (sort keys %expect_rows)
	{
		my $got = $rows{$t} // 'nothing';
		push @p, "$t: $got rows, expected $expect_rows{$t}"
		  if $got ne $expect_rows{$t};
	}

	# Indexes: those of applied migrations, valid; a leftover of the
	# interrupted concurrent build, invalid, only before the resumed deploy.
	my %idx = %{ $s->{idx} };
	my %want_idx;
	$want_idx{accounts_pkey} = 1 if $applied{'001'};
	$want_idx{orders_account_idx} = 1 if $applied{'005'};
	foreach my $i (keys %nt_index)
	{
		$want_idx{$i} = 1 if $done >= $nt_index{$i};
	}
	foreach my $i (sort keys %want_idx)
	{
		push @p, "index $i is missing" unless exists $idx{$i};
		push @p, "index $i is invalid"
		  if exists $idx{$i} && $idx{$i} ne 't';
	}
	foreach my $i (sort keys %idx)
	{
		next if $want_idx{$i};
		my $leftover =
			 !$final
		  && exists $nt_index{$i}
		  && $idx{$i} ne 't'
		  && ($m{$nt_version}{state} // '') eq 'interrupted'
		  && $done == $nt_index{$i} - 1;
		push @p,
		  "unexpected index $i (" . ($idx{$i} eq 't' ? 'valid' : 'invalid') . ')'
		  unless $leftover;
	}
	push @p, "$s->{invalid} invalid index(es) after the resumed deploy"
	  if $final && $s->{invalid} != 0;
	return @p;
}

#
# Figures
#
my %count = (
	attempts => 0,
	rounds => 0,
	mid => 0,
	finished => 0,
	interrupted => 0,
	partial_nt => 0,
	invalid => 0,
	invalid_last => 0,
	obstacles => 0,
	retries => 0,
	dropped => 0,
	resumed_at => {},
	crashes => 0,
	missed => 0,
	went_on => 0,
	told_not_begun => 0,
	resumed_deploys => 0,);
my %by_kind;
my $inconsistencies = 0;

# Starts a deploy of $db in $mode, strikes it with $kind after $delay
# seconds (kind 'none': lets it finish), and waits until it is gone and
# has let go of its locks.  With $obstacle, [d1, d2], another session
# holds a lock on "log" for d2 seconds from d1 seconds on, and the deploy
# runs with a short lock_timeout: its migrations time out, back off and
# retry meanwhile.  Returns the problems seen, and the time the deploy ran
# for kind 'none'.
sub strike
{
	my ($db, $mode, $kind, $delay, $obstacle) = @_;
	my @p;
	my $c = start_client($db);
	# The striker: a session connected beforehand, so that a strike by SQL
	# lands within a millisecond of its moment.
	my $striker = $kind eq 'none' ? undef : start_client($db);
	my ($target, $run_id, $ob, $launched);
	my $offset = -s $node->logfile;
	my @args;

	if ($obstacle)
	{
		my ($d1, $d2) = @$obstacle;
		$ob = IPC::Run::start(
			[
				$node->installed_command('psql'), '-XAtq',
				'-d', $node->connstr($db) . ' application_name=obstacle',
				'-c', "SELECT pg_sleep($d1)",
				'-c', 'BEGIN',
				'-c', 'LOCK TABLE log IN SHARE MODE',
				'-c', "SELECT pg_sleep($d2)",
				'-c', 'COMMIT'
			],
			'>', \my $ob_out, '2>', \my $ob_err,
			IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
		push @args, "lock_timeout => '20ms'", 'retries => 50';
	}
	my $t0 = time();

	if ($kind eq 'caller cancelled')
	{
		# pg_cancel_backend of the caller of a background deploy while it
		# waits for the deploy to begin.  If the CALL fails, the caller was
		# told the deploy did not begin: it must not have (no migration
		# started, the worker ended).
		send_client($c,
			'CALL migrate.deploy(' . join(', ', @args, 'wait => false') . ");\n");
		my $until = $t0 + $delay - time();
		sleep($until) if $until > 0;
		my $signalled =
		  ask($striker, "SELECT pg_cancel_backend($c->{pid})") eq 't';
		$count{missed}++ unless $signalled;
		pump_for($c, sub { $c->{err} =~ /ERROR:/ || $c->{out} =~ /^\d+\|$/m },
			60)
		  or push @p, "the cancelled CALL did not end: $c->{err}";
		my %info = (
			told_not_begun => ($c->{out} !~ /^\d+\|$/m && $c->{err} =~ /ERROR:/),
			caller_error => $c->{err});
		push @p, "the cancelled CALL ended with an unexpected error: $c->{err}"
		  if $c->{err} =~ /ERROR:  (?!57014)/;
		end_client($c);
		end_client($striker);
		eval { $ob->finish; 1 } or eval { $ob->kill_kill; } if $ob;
		wait_until($db,
			"SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'migrate deploy' AND datname = current_database()",
			120)
		  or push @p, 'the worker of the deploy did not end';
		wait_until('postgres',
			"SELECT count(*) = 0 FROM pg_locks WHERE $deploy_locks", 30)
		  or push @p, 'locks of the deploy are still held after it ended';
		return (\@p, undef, \%info);
	}

	if ($mode eq 'foreground')
	{
		send_client($c, 'CALL migrate.deploy(' . join(', ', @args) . ");\n");
		$target = $c->{pid};
	}
	else
	{
		send_client($c,
			'CALL migrate.deploy('
			  . join(', ', @args, 'wait => false') . ");\n"
			  . "SELECT 'worker|' || coalesce((SELECT pid FROM pg_stat_activity WHERE backend_type = 'migrate deploy' AND datname = current_database()), 0);\n"
		);
		pump_for($c, sub { $c->{out} =~ /^worker\|\d+$/m }, 60)
		  or return (["the background deploy did not start: $c->{err}"], undef);
		$launched = time() - $t0;
		($run_id) = $c->{out} =~ /^(\d+)\|$/m;
		($target) = $c->{out} =~ /^worker\|(\d+)$/m;
		push @p, "no run id from the background deploy: $c->{out}"
		  unless defined $run_id;
	}

	if ($kind eq 'none')
	{
		if ($mode eq 'foreground')
		{
			pump_for($c, sub { $c->{out} =~ /^\d+\|\d+$/m || $c->{err} =~ /ERROR/ },
				120);
		}
		else
		{
			wait_until('postgres',
				"SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = $target",
				120);
		}
		my $took = time() - $t0;
		end_client($c);
		eval { $ob->finish; 1 } or eval { $ob->kill_kill; } if $ob;
		push @p, "the deploy failed: $c->{err}" if $c->{err} =~ /ERROR/;
		return (\@p, $took, { launch => $launched });
	}

	my $until = $t0 + $delay - time();
	sleep($until) if $until > 0;

	my $signalled = 0;
	if ($kind eq 'kill -9')
	{
		if ($target && our_child($target))
		{
			$signalled = kill('KILL', $target);
		}
	}
	elsif ($kind eq 'pg_terminate_backend' || $kind eq 'pg_cancel_backend')
	{
		$signalled = ask($striker, "SELECT $kind($target)") eq 't'
		  if $target;
	}
	elsif ($kind eq 'pg_cancel_backend x3')
	{
		# Cancels that may land while the deploy cleans up after the first.
		$signalled = ask($striker,
			"SELECT pg_cancel_backend($target), pg_sleep(0.003), pg_cancel_backend($target), pg_sleep(0.005), pg_cancel_backend($target)"
		) =~ /^t/
		  if $target;
	}
	elsif ($kind eq 'migrate.cancel')
	{
		my $run =
		  $mode eq 'background'
		  ? $run_id
		  : "(SELECT (classid::bigint << 32) | objid::bigint FROM pg_locks "
		  . "WHERE locktype = 'advisory' AND objsubid = 4 AND granted AND pid = $target)";
		$signalled = ask($striker,
			"SELECT coalesce((SELECT migrate.cancel(r) FROM (SELECT $run AS r) AS s WHERE r IS NOT NULL), false)"
		) eq 't';
	}
	elsif ($kind eq 'client gone')
	{
		$c->{h}->signal('KILL');
		$signalled = 1;
	}
	$count{missed}++ unless $signalled;

	# A cancelled foreground CALL ends with an error in a session that
	# lives on: it must have let go of the deploy's locks by then.
	if ($mode eq 'foreground' && $signalled && $kind =~ /cancel/)
	{
		pump_for($c,
			sub { $c->{err} =~ /ERROR:/ || $c->{out} =~ /^\d+\|\d+$/m }, 120)
		  or push @p, "the cancelled deploy did not end: $c->{err}";
		my $held = $node->safe_psql('postgres',
			"SELECT count(*) FROM pg_locks WHERE $deploy_locks AND pid = $target"
		);
		push @p,
		  "after its CALL ended, session $target still holds $held lock(s) of the deploy"
		  if $held ne '0';
		push @p, "the cancelled deploy ended with an unexpected error: $c->{err}"
		  if $c->{err} =~ /ERROR:  (?!57014)/;
	}
	end_client($c);
	end_client($striker);
	# The obstacle ends on its own (or died in a crash).
	eval { $ob->finish; 1 } or eval { $ob->kill_kill; } if $ob;

	if ($kind eq 'kill -9' && $signalled)
	{
		# A backend's or worker's death by SIGKILL makes the postmaster
		# reinitialize (unless it had exited on its own just before).
		if (log_shows(qr/\(PID $target\) was terminated by signal 9/,
				$offset, 10))
		{
			$node->wait_for_log(
				qr/database system is ready to accept connections/, $offset);
			$count{crashes}++;
		}
		else
		{
			push @p, "the killed backend $target was not seen to die"
			  if $mode eq 'foreground';
			$count{missed}++;
		}
	}

	# The deploy is gone (a background one, whose client went, once it has
	# finished), and so are its locks.
	wait_until('postgres',
		"SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = $target", 120)
	  or push @p, "process $target of the deploy did not end"
	  if $target;
	wait_until('postgres',
		"SELECT count(*) = 0 FROM pg_locks WHERE $deploy_locks", 30)
	  or push @p, 'locks of the deploy are still held after it ended';

	# The deploy ended with the error of its strike, if any, and no other.
	my %allowed = (
		'pg_terminate_backend' => '57P01',
		'pg_cancel_backend' => '57014',
		'pg_cancel_backend x3' => '57014',
		'migrate.cancel' => '57014',
		'client gone' => $mode eq 'foreground' ? '08006' : 'none');
	my $log = slurp_file($node->logfile, $offset);
	while ($log =~ /^[^\n]*\[$target\] [^\n]*?(?:ERROR|FATAL|PANIC):  (\w{5}): ([^\n]*)/mg)
	{
		push @p, "the deploy's process $target ended with $1: $2"
		  unless $1 eq ($allowed{$kind} // 'none');
	}
	return (\@p, undef);
}

# Calibration: how long an uninterrupted deploy takes in each mode, the
# mean of three (the migrations pause at random), and how long each
# migration; and a check that it leaves everything applied.
my $calibrations = 3;
my (%overhead, %mig_ms);
my $launch = 0;
foreach my $mode ('foreground', 'background')
{
	my ($took_sum, $mig_sum, @problems) = (0, 0);
	foreach my $i (1 .. $calibrations)
	{
		my $db = "chaos_calibration_$i";
		$node->safe_psql('postgres',
			"CREATE DATABASE $db TEMPLATE chaos_template STRATEGY = FILE_COPY"
		);
		my ($p, $took, $info) = strike($db, $mode, 'none', 0);
		$launch += $info->{launch} / $calibrations if $mode eq 'background';
		my $s = snapshot($db);
		push @problems, @$p, check_state($s, 1);
		push @problems, $s->{text} if @problems;
		my %ms = split /[|\n]/,
		  $node->safe_psql($db,
			'SELECT version, duration_ms FROM migrate.status() ORDER BY version'
		  );
		foreach my $v (keys %ms)
		{
			$mig_ms{$mode}{$v} += $ms{$v} / $calibrations;
			$mig_sum += $ms{$v};
		}
		$took_sum += $took;
		$node->safe_psql('postgres', "DROP DATABASE $db");
	}
	ok(!@problems,
		"calibration: $calibrations uninterrupted $mode deploys apply the plan"
	) or diag(join("\n", @problems));
	$overhead{$mode} = ($took_sum - $mig_sum / 1000) / $calibrations;
	$overhead{$mode} = 0.01 if $overhead{$mode} < 0.01;
	note sprintf(
		"calibration: a %s deploy takes %.0f ms (mean of %d)%s; migrations (ms): %s",
		$mode,
		$took_sum * 1000 / $calibrations,
		$calibrations,
		$mode eq 'background'
		? sprintf(', its CALL returns after %.0f ms', $launch * 1000)
		: '',
		join(', ',
			map { sprintf('%s %.0f', $_, $mig_ms{$mode}{$_}) }
			  sort keys %{ $mig_ms{$mode} }));
}

my @kinds_fg = (
	('kill -9') x 3, ('pg_terminate_backend') x 2,
	'pg_cancel_backend', 'pg_cancel_backend x3',
	('migrate.cancel') x 2, ('client gone') x 2);
my @kinds_bg = (
	('kill -9') x 3, ('pg_terminate_backend') x 2,
	'pg_cancel_backend', 'pg_cancel_backend x3',
	('migrate.cancel') x 2, 'client gone', 'caller cancelled');
# MIGRATE_CHAOS_KINDS=<kind>,... strikes with those kinds only.
if ($ENV{MIGRATE_CHAOS_KINDS})
{
	my %only = map { $_ => 1 } split /\s*,\s*/, $ENV{MIGRATE_CHAOS_KINDS};
	@kinds_fg = grep { $only{$_} } @kinds_fg;
	@kinds_bg = grep { $only{$_} } @kinds_bg;
	die "MIGRATE_CHAOS_KINDS names no kind of strike"
	  unless @kinds_fg || @kinds_bg;
	note "chaos: strikes of kinds $ENV{MIGRATE_CHAOS_KINDS} only";
}

my $start = time();
foreach my $r (1 .. $rounds)
{
	my $db = "chaos_$r";
	my @problems;
	my @strikes;
	$node->safe_psql('postgres',
		"CREATE DATABASE $db TEMPLATE chaos_template STRATEGY = FILE_COPY");
	# The round's random draws, all made up front, so that a seed replays
	# the same choices whatever the server's timing makes of them.
	my $nstrikes = rand() < 0.3 ? 2 : 1;
	my @draws = map { [ map { rand() } 1 .. 6 ] } 1 .. 2;
	my $s;

	foreach my $k (1 .. $nstrikes)
	{
		my ($r_mode, $r_kind, $r_ob, $r_ob_from, $r_ob_for, $r_delay) =
		  @{ $draws[ $k - 1 ] };
		my $mode =
			!@kinds_fg ? 'background'
		  : !@kinds_bg ? 'foreground'
		  : $r_mode < 0.35 ? 'background'
		  : 'foreground';
		my $kinds = $mode eq 'foreground' ? \@kinds_fg : \@kinds_bg;
		my $kind = $kinds->[ int($r_kind * @$kinds) ];
		# Somewhere in what is left to do, as the calibration timed it (a
		# strike itself takes a few ms: some land after the end).
		my $left = $overhead{$mode};
		foreach my $mg (@plan)
		{
			my $v = $mg->{version};
			$left += $mig_ms{$mode}{$v} / 1000
			  unless $s && $s->{m}{$v}{state} eq 'applied';
		}
		# Now and then, a lock in the way: the deploy retries meanwhile.
		my $obstacle;
		if ($r_ob < 0.3)
		{
			$obstacle = [
				sprintf('%.3f', $r_ob_from * $left),
				sprintf('%.3f', $r_ob_for * 0.15)
			];
			$left += $obstacle->[1] + 0.1;
			$count{obstacles}++;
		}
		my $delay = $r_delay * $left;
		# The caller of a background deploy waits for it to begin only.
		$delay = $r_delay * 1.5 * $launch if $kind eq 'caller cancelled';
		my $what = sprintf('%s %s at %.0f ms%s', $mode, $kind, $delay * 1000,
			$obstacle
			? sprintf(', a lock in the way for %.0f ms from %.0f ms on',
				$obstacle->[1] * 1000, $obstacle->[0] * 1000)
			: '');
		push @strikes, $what;
		$count{attempts}++;
		$by_kind{$mode}{$kind}++;

		my $started = $s ? $s->{started} : 0;
		my ($p, undef, $info) = strike($db, $mode, $kind, $delay, $obstacle);
		$s = snapshot($db);
		my @p = (@$p, check_state($s, 0));
		my $told_not_begun = $info && $info->{told_not_begun};
		if ($told_not_begun)
		{
			$count{told_not_begun}++;
			push @p,
			  "the caller was told the deploy did not begin ("
			  . ($info->{caller_error} =~ /^(ERROR:[^\n]*)/m)[0]
			  . '), but it started '
			  . ($s->{started} - $started)
			  . ' migration(s)'
			  if $s->{started} != $started;
		}
		push @problems, map { "after strike $k ($what): $_" } @p;
		# For the record (the test's log): where the strike left the plan.
		print "round $r, strike $k ($what, of ",
		  sprintf('%.0f', $left * 1000), ' ms left): ',
		  join(' ',
			map { "$_:$s->{m}{$_}{state}" . ($_ eq $nt_version ? "/$s->{m}{$_}{done}" : '') }
			  sort keys %{ $s->{m} }),
		  ", invalid indexes $s->{invalid}\n";

		my @unapplied = grep { $s->{m}{$_}{state} ne 'applied' } keys %{ $s->{m} };
		if (!@unapplied)
		{
			# The deploy had applied everything when struck (or, in the
			# background with its client gone or its caller cancelled too
			# late, went on to the end).
			if ($mode eq 'background'
				&& ($kind eq 'client gone' || $kind eq 'caller cancelled'))
			{
				$count{went_on}++;
			}
			else
			{
				$count{finished}++;
			}
			last;
		}
		push @problems,
		  "after strike $k ($what): the background deploy, which its caller "
		  . "saw begin, did not go on to the end: "
		  . join(', ', map { "$_ $s->{m}{$_}{state}" } sort @unapplied)
		  if $mode eq 'background'
		  && ($kind eq 'client gone'
			|| ($kind eq 'caller cancelled' && !$told_not_begun));
		next if $told_not_begun;
		$count{mid}++;
		my ($int) = grep { $s->{m}{$_}{state} eq 'interrupted' } keys %{ $s->{m} };
		$count{interrupted}++ if defined $int;
		$count{partial_nt}++
		  if defined $int
		  && $int eq $nt_version
		  && $s->{m}{$nt_version}{done} > 0;
		$count{invalid}++ if $s->{invalid} > 0;
	}
	$count{invalid_last}++ if $s->{invalid} > 0;

	# The resumed deploy, uninterrupted.
	my $pending = grep { $s->{m}{$_}{state} ne 'applied' } keys %{ $s->{m} };
	my $nt = $s->{m}{$nt_version};
	my ($ret, $out, $err) = $node->psql(
		$db, 'CALL migrate.deploy()',
		extra_params => [ '-v', 'VERBOSITY=verbose' ]);
	$count{resumed_deploys}++;
	push @problems, "the resumed deploy failed: $err" if $ret != 0;
	push @problems,
	  "the resumed deploy returned '$out', expected $pending applied"
	  unless $out =~ /^\d*\|$pending$/;
	if ($s->{invalid} > 0)
	{
		if ($err =~
			/dropping the invalid index left by an earlier attempt of statement/)
		{
			$count{dropped}++;
		}
		else
		{
			push @problems,
			  'the resumed deploy did not say it dropped the invalid index';
		}
	}
	if ($nt->{state} eq 'interrupted' && $nt->{done} > 0
		&& $nt->{done} < $nt_statements)
	{
		my $at = $nt->{done} + 1;
		$count{resumed_at}{$at}++;
		push @problems,
		  "the resumed deploy did not say it resumed $nt_version at statement $at"
		  unless $err =~
		  /resuming migration default $nt_version "$nt_name" at statement $at of $nt_statements/;
	}
	elsif ($nt->{state} eq 'interrupted' && $nt->{done} == $nt_statements)
	{
		# Struck after its last statement committed, before its "ok": the
		# resumed deploy runs nothing of it and records it applied.
		$count{resumed_at}{$nt->{done} + 1}++;
		push @problems,
		  "the resumed deploy said it resumed $nt_version, all of whose statements were done"
		  if $err =~ /resuming migration default $nt_version /;
	}
	my $final = snapshot($db);
	push @problems, map { "after the resumed deploy: $_" } check_state($final, 1);

	$count{rounds}++;
	$count{retries} += $final->{retries};
	if (@problems)
	{
		$inconsistencies += @problems;
		fail("round $r (" . join('; ', @strikes) . '): consistent');
		diag(join("\n", "seed $seed, round $r:", @problems,
				'state after the strike(s):', $s->{text},
				'state after the resumed deploy:', $final->{text},
				"resumed deploy: $out", $err));
		# Kept for inspection.
	}
	else
	{
		pass("round $r (" . join('; ', @strikes) . '): consistent');
		$node->safe_psql('postgres', "DROP DATABASE $db");
	}
}
my $elapsed = time() - $start;

# Nothing died but what the test killed.
my $log = slurp_file($node->logfile);
my @signals = $log =~ /was terminated by signal (\d+)/g;
my @foreign = grep { $_ != 9 } @signals;
is(scalar(@foreign), 0, 'no process died of a signal the test did not send')
  or diag("signals: @foreign");
is(scalar(() = $log =~ /^.*\bPANIC:/mg),
	0, 'the server log has no PANIC');
is(scalar(@signals), $count{crashes},
	'every process killed by SIGKILL was a strike of the test');

my $kinds = join(
	"\n",
	map {
		my $mode = $_;
		"  $mode: "
		  . join(', ',
			map { "$_ $by_kind{$mode}{$_}" } sort keys %{ $by_kind{$mode} })
	} sort keys %by_kind);
note sprintf(
	"chaos figures (seed %d, %d rounds in %.0f s):\n"
	  . "interrupted deploys: %d, each followed by a resumed deploy "
	  . "(%d deploys that ran uninterrupted to the end)\n"
	  . "strikes by kind:\n%s\n"
	  . "struck mid-deploy: %d (a migration left interrupted: %d; the "
	  . "non-transactional one part-done: %d; the last resumed deploy took "
	  . "it up at statement: %s)\n"
	  . "struck after the deploy had applied everything: %d\n"
	  . "background deploys that went on to the end after their client went "
	  . "(or their caller was cancelled too late): %d\n"
	  . "callers of a background deploy cancelled and told it did not begin: %d\n"
	  . "strikes that found nothing to strike (gone, or not begun): %d\n"
	  . "crash recoveries: %d\n"
	  . "strikes with a lock in the way: %d (retry events: %d)\n"
	  . "an invalid index left: %d times (%d by the last strike of a round, "
	  . "dropped by the resumed deploy: %d)\n"
	  . "inconsistencies found: %d",
	$seed, $count{rounds}, $elapsed, $count{attempts},
	$count{resumed_deploys}, $kinds, $count{mid},
	$count{interrupted}, $count{partial_nt},
	join(' ',
		map { "$_ (x$count{resumed_at}{$_})" }
		  sort { $a <=> $b } keys %{ $count{resumed_at} })
	  || 'none',
	$count{finished}, $count{went_on}, $count{told_not_begun},
	$count{missed}, $count{crashes},
	$count{obstacles}, $count{retries},
	$count{invalid}, $count{invalid_last}, $count{dropped},
	$inconsistencies);
is($inconsistencies, 0, 'chaos: inconsistencies found: 0');
cmp_ok($count{attempts}, '>=', 50, 'at least 50 interrupted deploys')
  if $rounds >= 50;

$node->stop;

done_testing();
