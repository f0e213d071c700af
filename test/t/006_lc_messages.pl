# migrate's hints do not depend on the server's message language.
#
# A migration runs as the role that registered it, in a security-restricted
# operation, so changing its role, creating a temporary table or leaving
# deferred trigger events for the commit fails with SQLSTATE 42501 and a
# server message that does not say migrate is the reason.  The hint that
# explains a 42501 failure inside a migration is chosen by SQLSTATE, not by
# the server's message text, so it survives a non-English lc_messages: here
# each failure comes back with the server's own message in German and
# migrate's hint, which has no translation, in English.  Each case runs
# atomic (the failure is an ERROR, the migration stays pending) and with
# atomic => false (a WARNING, the migration is failed).
#
# Needs the OS locale de_DE.UTF-8, which scripts/ensure_deps.sh generates
# when run as root.  Without it the test fails; it does not skip.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

# What migrate adds to a 42501 failure inside a migration.  The label
# before it is not ours (libpq prints "HINT:" in the client's language,
# "TIPP:" in German), so the line is matched whatever its label says.
my $hint =
  'A migration runs as the role that registered it, in a security-restricted '
  . 'operation: it cannot change its role, create temporary tables or types, '
  . 'or leave deferred trigger events for the commit.';
my $hint_re = qr/^[^\s:]+:\s+\Q$hint\E$/m;

# Part of each server message below in German, present only if the server
# really used lc_messages = 'de_DE.UTF-8': "... in einer
# sicherheitsbeschränkten Operation ..." for the temporary table and the
# deferred trigger, "... in einer Security-Definer-Funktion ..." for the
# role (the server checks that before the security-restricted operation).
# Bytes, as psql's output is: this file has no "use utf8".
my $german_re = qr/sicherheitsbeschränkten|Security-Definer/;

# A UTF-8 database and client whatever the environment's locale, so that
# the German text arrives as UTF-8 bytes and not transliterated.
$ENV{PGCLIENTENCODING} = 'UTF8';

my $node = PostgreSQL::Test::Cluster->new('lc_messages');
$node->init(extra => [ '--locale=C', '--encoding=UTF8' ]);
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION migrate');

# The server accepts the setting only if the OS has the locale.
my ($ret, $out, $err) =
  $node->psql('postgres', "SET lc_messages = 'de_DE.UTF-8'");
if (!is($ret, 0, "the server accepts lc_messages = 'de_DE.UTF-8'"))
{
	diag("the OS locale de_DE.UTF-8 is missing (psql said: $err);"
		  . " run scripts/ensure_deps.sh as root to generate it");
	$node->stop;
	done_testing();
	exit;
}

# The migration script of each case: the security-restricted operation
# refuses all three, with 42501.
my %cases = (
	role => q{SELECT set_config('role', 'none', false)},
	temp => q{CREATE TEMP TABLE t (x int)},
	deferred => q{
CREATE TABLE %1$s_t (x int);
CREATE FUNCTION %1$s_f() RETURNS trigger LANGUAGE plpgsql
	AS 'BEGIN RETURN NULL; END';
CREATE CONSTRAINT TRIGGER %1$s_tg AFTER INSERT ON %1$s_t
	DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION %1$s_f();
INSERT INTO %1$s_t VALUES (1);
},);

foreach my $case ('role', 'temp', 'deferred')
{
	foreach my $atomic (1, 0)
	{
		my $project = $atomic ? $case : "${case}_nonatomic";
		my $what = "$case, " . ($atomic ? 'atomic' : 'atomic => false');
		my $up = sprintf($cases{$case}, $project);
		my $run_args =
		  "project => '$project'" . ($atomic ? '' : ', atomic => false');

		# One session: German messages, then register and run.
		($ret, $out, $err) = $node->psql(
			'postgres', qq{
\\set VERBOSITY verbose
SET lc_messages = 'de_DE.UTF-8';
SELECT migrate.register('1', '$case', \$migration\$$up\$migration\$,
	project => '$project');
SELECT * FROM migrate.run($run_args);
});

		if ($atomic)
		{
			isnt($ret, 0, "$what: the run fails");
		}
		else
		{
			is($ret, 0, "$what: the run returns");
			like($out, qr/\|failed\|/, "$what: the run reports a failure")
			  or diag("stdout:\n$out");
		}
		like($err, $german_re,
			"$what: the server's message is in German (lc_messages took effect)"
		) or diag("stderr:\n$err");
		like(
			$err,
			qr/^[^\n]*:\s+42501: [^\n]*migration/m,
			"$what: the failure has SQLSTATE 42501 and names the migration"
		) or diag("stderr:\n$err");
		like($err, $hint_re,
			"$what: migrate's hint is there, in English, whatever lc_messages says"
		) or diag("stderr:\n$err");
		is( $node->safe_psql(
				'postgres',
				"SELECT state FROM migrate.status(project => '$project')"),
			$atomic ? 'pending' : 'failed',
			"$what: the migration is "
			  . ($atomic ? 'still pending' : 'failed'));
	}
}

$node->stop;

done_testing();
