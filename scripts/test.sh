#!/usr/bin/env bash
#
# test.sh
#	What "make test" runs: every test suite of migrate against a throwaway
#	PostgreSQL 15 cluster, from a clean clone on a fresh machine.
#
# Usage: scripts/test.sh
#
# Steps: install missing packages (scripts/ensure_deps.sh), build (warnings
# are errors), make install, start a throwaway cluster (scripts/cluster.sh),
# run each suite, print a summary, stop the cluster whatever happened.
# Exits non-zero if any step or any test failed.
#
# Suites are listed in one place, SUITES below: a name, the files that make
# it up, and the function that runs it.  A suite with no files yet is
# skipped with a message.
#	regress		test/sql/*.sql, pg_regress via "make installcheck"
#	isolation	test/specs/*.spec, pg_isolation_regress via "make
#			installcheck" (the Makefile's ISOLATION), same cluster
#	tap		test/t/*.pl, prove; PostgreSQL::Test::Cluster makes its own
#			clusters, so it runs as the postgres OS user when we are
#			root (in a copy of the tree that user may write to)
#	fuzz		test/fuzz/*_fuzz.c, libFuzzer via scripts/fuzz.sh for
#			FUZZ_SECONDS (default 30) per target; needs no cluster
#			and runs as whoever we are
#
# Each suite runner writes its log to $LOGDIR/<suite>.log and sets
# SUITE_PASSED and SUITE_FAILED (counts of test files).

# Runners are called through the SUITES table and cleanup from a trap:
# shellcheck disable=SC2317

set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)

#	name		files			runner
SUITES=(
	"regress	test/sql/*.sql		run_regress"
	"isolation	test/specs/*.spec	run_isolation"
	"tap		test/t/*.pl		run_tap"
	"fuzz		test/fuzz/*_fuzz.c	run_fuzz"
)

LOGDIR=$(mktemp -d /tmp/migrate-test-logs.XXXXXX)
ENVFILE="$LOGDIR/cluster.env"
TAPDIR=""
SUMMARY=()
TOTAL_PASSED=0
TOTAL_FAILED=0
STATUS=0

cleanup()
{
	local rc=$?
	trap - EXIT INT TERM
	if ((rc != 0)) && [[ -n "${PGHOST:-}" ]]; then
		cp "$PGHOST/server.log" "$LOGDIR/server.log" 2>/dev/null || true
	fi
	if [[ -f "$ENVFILE" ]]; then
		cluster_stop "$ENVFILE" || rc=1
	fi
	if [[ -n "$TAPDIR" ]]; then
		rm -rf "$TAPDIR"
	fi
	if ((rc == 0)) || [[ -z "$(ls -A "$LOGDIR")" ]]; then
		rm -rf "$LOGDIR"
	else
		echo "test.sh: logs kept in $LOGDIR" >&2
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

step() { printf '\n==> %s\n' "$*"; }

# Count pg_regress result lines ("test foo ... ok", "     foo ... FAILED").
count_pg_regress()
{
	local log="$1"
	SUITE_PASSED=$(grep -cE ' \.\.\. ok( |$)' "$log" || true)
	SUITE_FAILED=$(grep -cE ' \.\.\. FAILED( |$)' "$log" || true)
}

# Print the regression.diffs file that pg_regress named in log $1 (else
# $2), at most 400 lines of it.
show_diffs()
{
	local diffs lines
	diffs=$(sed -nE 's/.*file "([^"]*regression\.diffs)".*/\1/p' "$1" | tail -n 1)
	[[ -n "$diffs" ]] || diffs="$2"
	[[ -s "$diffs" ]] || return 0
	lines=$(wc -l <"$diffs")
	printf '\n---- %s ----\n' "$diffs"
	head -n 400 "$diffs"
	if ((lines > 400)); then
		printf '... (%d more lines in %s)\n' "$((lines - 400))" "$diffs"
	fi
}

run_regress()
{
	local log="$LOGDIR/regress.log" rc=0

	make installcheck PG_CONFIG="$PG_CONFIG" ISOLATION= TAP_TESTS= \
		PGHOST="$PGHOST" PGPORT="$PGPORT" PGUSER="$PGUSER" \
		2>&1 | tee "$log" || rc=$?
	count_pg_regress "$log"
	if ((rc != 0)); then
		show_diffs "$log" test/regression.diffs
		((SUITE_FAILED > 0)) || SUITE_FAILED=1
	fi
}

run_isolation()
{
	local log="$LOGDIR/isolation.log" rc=0

	# The Makefile's ISOLATION and ISOLATION_OPTS say which specs and where.
	make installcheck PG_CONFIG="$PG_CONFIG" REGRESS= TAP_TESTS= \
		PGHOST="$PGHOST" PGPORT="$PGPORT" PGUSER="$PGUSER" \
		2>&1 | tee "$log" || rc=$?
	count_pg_regress "$log"
	if ((rc != 0)); then
		show_diffs "$log" test/output_iso/regression.diffs
		((SUITE_FAILED > 0)) || SUITE_FAILED=1
	fi
}

run_tap()
{
	local log="$LOGDIR/tap.log" rc=0 dir=$ROOT total failed f bad=()

	# initdb refuses root: run prove as postgres, in a copy of the tree
	# (it writes tmp_check/ there and the repository may be unreadable).
	if [[ "$(id -u)" -eq 0 ]]; then
		TAPDIR=$(mktemp -d /tmp/migrate-tap.XXXXXX)
		tar -C "$ROOT" --exclude=.git -cf - . | tar -C "$TAPDIR" -xf -
		chown -R postgres: "$TAPDIR"
		dir=$TAPDIR
	fi
	# The TAP clusters are their own: do not point them at ours.
	cluster_as_owner "$dir" env -u PGHOST -u PGPORT -u PGUSER -u PGDATA \
		-u PGDATABASE make installcheck PG_CONFIG="$PG_CONFIG" \
		REGRESS= ISOLATION= TAP_TESTS=1 PROVE_TESTS='test/t/*.pl' \
		PROVE_FLAGS=--timer \
		2>&1 | tee "$log" || rc=$?

	total=0
	for f in test/t/*.pl; do
		total=$((total + 1))
	done
	# prove's "Test Summary Report" names each failing file once.
	mapfile -t bad < <(sed -nE 's/^(test\/t\/[^ ]+\.pl) +\(Wstat:.*/\1/p' "$log")
	failed=${#bad[@]}
	if ((rc != 0 && failed == 0)); then
		failed=$total
	fi
	SUITE_FAILED=$failed
	SUITE_PASSED=$((total - failed))
	if ((rc != 0)); then
		cp -r "$dir/tmp_check/log" "$LOGDIR/tap_logs" 2>/dev/null || true
		for f in "${bad[@]}"; do
			f="$dir/tmp_check/log/regress_log_$(basename "$f" .pl)"
			[[ -f "$f" ]] || continue
			printf '\n---- last 60 lines of %s ----\n' "${f#"$dir"/}"
			tail -n 60 "$f"
		done
		echo "(all TAP logs: $LOGDIR/tap_logs)"
	fi
}

run_fuzz()
{
	local log="$LOGDIR/fuzz.log" rc=0 total=0 f

	for f in test/fuzz/*_fuzz.c; do
		total=$((total + 1))
	done
	# Builds and the working corpus go to a directory of fuzz.sh's own
	# under /tmp; the seed corpus in the repository is only read.
	scripts/fuzz.sh 2>&1 | tee "$log" || rc=$?
	if ((rc != 0)); then
		SUITE_FAILED=$(grep -c ' FAILED (exit' "$log" || true)
		((SUITE_FAILED > 0)) || SUITE_FAILED=$total
	fi
	SUITE_PASSED=$((total - SUITE_FAILED))
}

# run_suite NAME GLOB RUNNER: run one suite unless it has no files.
run_suite()
{
	local name="$1" glob="$2" runner="$3" files=()

	# shellcheck disable=SC2206
	files=($glob)
	if [[ ! -e "${files[0]}" ]]; then
		SUMMARY+=("$(printf '%-10s skipped (no %s yet)' "$name" "$glob")")
		return 0
	fi
	step "suite $name: ${#files[@]} file(s) in $(dirname "$glob")"
	SUITE_PASSED=0
	SUITE_FAILED=0
	"$runner"
	TOTAL_PASSED=$((TOTAL_PASSED + SUITE_PASSED))
	TOTAL_FAILED=$((TOTAL_FAILED + SUITE_FAILED))
	if ((SUITE_FAILED > 0)); then
		STATUS=1
		SUMMARY+=("$(printf '%-10s FAILED: %d passed, %d failed (log: %s)' \
			"$name" "$SUITE_PASSED" "$SUITE_FAILED" "$LOGDIR/$name.log")")
	else
		SUMMARY+=("$(printf '%-10s ok: %d passed' "$name" "$SUITE_PASSED")")
	fi
}

step "checking dependencies"
scripts/ensure_deps.sh
# Only now: it finds PostgreSQL's paths, which may just have been installed.
# shellcheck source=scripts/cluster.sh
. scripts/cluster.sh

step "building"
if ! ext_build; then
	echo "make test: the build failed (see above)" >&2
	exit 1
fi

step "installing"
ext_install

step "starting a throwaway cluster"
cluster_start "$ENVFILE"
# shellcheck disable=SC1090
. "$ENVFILE"
if ! "$PG_BINDIR/psql" -X -q -At -v ON_ERROR_STOP=1 -c \
	"SELECT name FROM pg_catalog.pg_available_extensions WHERE name IN ('migrate', 'pgtap') ORDER BY 1" \
	>"$LOGDIR/preflight.out" 2>&1 || [[ "$(wc -l <"$LOGDIR/preflight.out")" -ne 2 ]]; then
	cat "$LOGDIR/preflight.out" >&2
	echo "the cluster does not offer both extensions 'migrate' and 'pgtap'" >&2
	exit 1
fi

for suite in "${SUITES[@]}"; do
	read -r name glob runner <<<"$suite"
	run_suite "$name" "$glob" "$runner"
done

step "summary"
for line in "${SUMMARY[@]}"; do
	echo "  $line"
done
if ((TOTAL_PASSED + TOTAL_FAILED == 0)); then
	echo "  no test files found: nothing was tested"
fi
echo
echo "total: $TOTAL_PASSED passed, $TOTAL_FAILED failed"
exit "$STATUS"
