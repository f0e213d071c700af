#!/usr/bin/env bash
#
# demo.sh
#	What "make demo" runs: a throwaway PostgreSQL 15 cluster that stays up,
#	with migrate installed and the example migrations applied.
#
# Usage:
#	scripts/demo.sh [start]	build, install, (re)start the demo cluster
#	scripts/demo.sh stop	stop it and remove it ("make demo-stop")
#	scripts/demo.sh status	say whether it runs and how to connect
#
# "start" installs missing packages (scripts/ensure_deps.sh), builds and
# installs the extension and migrate-bundle, and replaces any demo cluster
# this checkout started before (so a rebuilt extension is the one loaded).
# Then, in a database migrate_demo: CREATE EXTENSION migrate, the folder
# examples/ registered by migrate-bundle, CALL migrate.deploy(),
# migrate.status(), migrate.rollback(), migrate.status() again.  It prints
# how to connect and how to stop.
#
# The cluster's environment is kept in .demo-cluster/env in this checkout
# (see scripts/cluster.sh); the cluster itself lives under /tmp.  Unlike
# the test cluster, it keeps PostgreSQL's durable defaults (fsync on).

set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
STATE="$ROOT/.demo-cluster"
ENVFILE="$STATE/env"
DB=migrate_demo

step() { printf '\n==> %s\n' "$*"; }

# Print a statement as psql's prompt would show it, then run it.
show()
{
	printf '\n%s=# %s;\n' "$DB" "$1"
	"$PG_BINDIR/psql" -X -v ON_ERROR_STOP=1 -P pager=off -P expanded=auto \
		-d "$DB" -c "$1"
}

how_to_connect()
{
	# shellcheck disable=SC1090
	. "$ENVFILE"
	cat <<-EOF
	Connect:  psql -h $PGHOST -p $PGPORT -U postgres $DB
	Stop:     make demo-stop    (or scripts/demo.sh stop)
	EOF
}

demo_stop()
{
	if [[ ! -f "$ENVFILE" ]]; then
		echo "demo: no demo cluster is running for this checkout"
		rm -rf "$STATE"
		return 0
	fi
	cluster_stop "$ENVFILE"
	rm -rf "$STATE"
}

demo_status()
{
	if cluster_status "$ENVFILE"; then
		echo "demo: the demo cluster is running"
		how_to_connect
	else
		echo "demo: no demo cluster is running for this checkout (make demo starts one)"
		return 3
	fi
}

# If anything fails once the cluster is up, take it down again rather than
# leave a half-made demo running.
on_exit()
{
	local rc=$?
	if ((rc != 0)); then
		echo "demo: failed; stopping the demo cluster" >&2
		demo_stop >&2 || true
	fi
	exit "$rc"
}

demo_start()
{
	step "checking dependencies"
	scripts/ensure_deps.sh
	# Only now: it finds PostgreSQL's paths, which may just have been
	# installed.
	# shellcheck source=scripts/cluster.sh
	. scripts/cluster.sh

	step "building"
	ext_build

	step "installing"
	ext_install

	if [[ -f "$ENVFILE" ]]; then
		step "replacing the previous demo cluster"
		demo_stop
	fi

	step "starting the demo cluster"
	mkdir -p "$STATE"
	# Keeps git from listing the state, whatever the top .gitignore says.
	echo '*' >"$STATE/.gitignore"
	trap on_exit EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	cluster_start "$ENVFILE" --durable
	# shellcheck disable=SC1090
	. "$ENVFILE"

	step "creating database $DB with the extension"
	"$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -d postgres \
		-c "CREATE DATABASE $DB"
	show "CREATE EXTENSION migrate"

	step "registering the folder examples/ (migrate-bundle examples | psql)"
	"$PG_BINDIR/migrate-bundle" examples |
		"$PG_BINDIR/psql" -X -v ON_ERROR_STOP=1 -P pager=off -d "$DB"

	step "applying them, one transaction each (003 builds its index concurrently)"
	show "CALL migrate.deploy()"
	show "SELECT * FROM migrate.status()"

	step "reverting the newest one"
	show "SELECT * FROM migrate.rollback()"
	show "SELECT * FROM migrate.status()"

	trap - EXIT INT TERM
	cat <<-EOF

	The demo cluster is up.  Database $DB has the example migrations
	registered, all applied but the last, which was rolled back: try
	    SELECT * FROM migrate.run();

	EOF
	how_to_connect
}

case "${1:-start}" in
	start)
		demo_start
		;;
	stop)
		# shellcheck source=scripts/cluster.sh
		. scripts/cluster.sh
		demo_stop
		;;
	status)
		# shellcheck source=scripts/cluster.sh
		. scripts/cluster.sh
		demo_status
		;;
	*)
		echo "usage: $0 [start | stop | status]" >&2
		exit 2
		;;
esac
