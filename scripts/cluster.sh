#!/usr/bin/env bash
#
# cluster.sh
#	Throwaway PostgreSQL 15 clusters for tests and the demo, and the few
#	helpers that test.sh and demo.sh share (toolchain paths, build, install).
#
# Usage:
#	scripts/cluster.sh start ENVFILE [--durable]
#	scripts/cluster.sh stop ENVFILE
#	scripts/cluster.sh status ENVFILE
#	. scripts/cluster.sh		(sets PG_CONFIG and PG_BINDIR, defines
#					the functions, runs nothing)
#
# "start" runs initdb in a fresh directory made by mktemp -d under /tmp,
# starts the server listening only on a unix socket in that directory, on a
# free port from 55432 upward, and writes ENVFILE: shell assignments of
# PGHOST, PGPORT, PGUSER (always "postgres", the initdb superuser), PGDATA
# and PGDATABASE, plus CLUSTER_DIR and CLUSTER_OWNER.  Source ENVFILE to
# talk to the cluster with psql, pg_regress or make installcheck.
#
# PostgreSQL refuses to run as root.  When we are root, the directory is
# given to the "postgres" OS user and initdb/pg_ctl run as that user through
# runuser, so the repository itself may live where postgres cannot read it
# (/root).  Otherwise everything runs as the current user.
#
# The default settings suit tests: fsync, full_page_writes and
# synchronous_commit are off, so a crash of the machine can lose or corrupt
# the cluster.  --durable keeps PostgreSQL's defaults; use it for anything
# that is measured (benchmarks).
#
# "stop" runs pg_ctl stop -m fast on that data directory only and removes the
# directory (set CLUSTER_KEEP=1 to keep it for a post-mortem).  No process is
# ever killed by name, and the system cluster (/var/lib/postgresql/15/main,
# port 5432) is never touched.

# Where PostgreSQL 15 lives.  PG_CONFIG may be set by the caller; Debian's
# /usr/bin/pg_config may belong to another major version, so prefer 15's.
if [[ -z "${PG_CONFIG:-}" ]]; then
	if [[ -x /usr/lib/postgresql/15/bin/pg_config ]]; then
		PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
	else
		PG_CONFIG=pg_config
	fi
fi
if [[ -z "${PG_BINDIR:-}" ]]; then
	PG_BINDIR=$("$PG_CONFIG" --bindir 2>/dev/null || true)
	[[ -n "$PG_BINDIR" ]] || PG_BINDIR=/usr/lib/postgresql/15/bin
fi
export PG_CONFIG PG_BINDIR

CLUSTER_FIRST_PORT=55432
CLUSTER_LAST_PORT=55631

cluster_log() { printf '%s\n' "cluster: $*" >&2; }

# Run a command as the OS user that owns throwaway clusters: "postgres" when
# we are root, ourselves otherwise.  The command runs from the cluster
# directory $1, since postgres may not be allowed into our working directory.
cluster_as_owner()
{
	local dir="$1"
	shift
	if [[ "$(id -u)" -eq 0 ]]; then
		(cd "$dir" && runuser -u postgres -- "$@")
	else
		(cd "$dir" && "$@")
	fi
}

# A port is taken if a socket lock file of that number exists in the usual
# socket directories or one level below /tmp (other throwaway clusters).
# Our socket lives in a private directory, so a clash would not break
# anything; this keeps port numbers unique for humans reading ps and logs.
cluster_port_taken()
{
	local port="$1" f
	for f in /tmp/.s.PGSQL."$port".lock /var/run/postgresql/.s.PGSQL."$port".lock \
		/tmp/*/.s.PGSQL."$port".lock; do
		[[ -e "$f" ]] && return 0
	done
	return 1
}

# cluster_start ENVFILE [--durable]
#
# Create and start a cluster; write its environment to ENVFILE.  Returns
# non-zero (with the server log on stderr) if the server does not start.
cluster_start()
{
	local envfile="${1:?usage: cluster_start ENVFILE [--durable]}"
	local durable=0 dir data owner port

	if [[ "${2:-}" == "--durable" ]]; then
		durable=1
	elif [[ -n "${2:-}" ]]; then
		cluster_log "unknown option: $2"
		return 2
	fi
	if [[ ! -x "$PG_BINDIR/initdb" || ! -x "$PG_BINDIR/pg_ctl" ]]; then
		cluster_log "no initdb/pg_ctl in $PG_BINDIR: install postgresql-15 (scripts/ensure_deps.sh)"
		return 1
	fi

	dir=$(mktemp -d /tmp/migrate-pg.XXXXXX)
	data="$dir/data"
	if [[ "$(id -u)" -eq 0 ]]; then
		if ! id postgres >/dev/null 2>&1; then
			cluster_log "running as root but there is no 'postgres' OS user to run the server"
			rm -rf "$dir"
			return 1
		fi
		chown postgres: "$dir"
		owner=postgres
	else
		owner=$(id -un)
	fi
	# Marks the directory as ours, so that stop never removes anything else.
	cluster_as_owner "$dir" touch "$dir/.migrate-cluster"

	if ! cluster_as_owner "$dir" "$PG_BINDIR/initdb" -D "$data" -U postgres \
		--auth=trust --encoding=UTF8 --locale=C --no-sync \
		>"$dir/initdb.log" 2>&1; then
		cat "$dir/initdb.log" >&2
		cluster_log "initdb failed"
		rm -rf "$dir"
		return 1
	fi

	port=$CLUSTER_FIRST_PORT
	while cluster_port_taken "$port"; do
		port=$((port + 1))
		if ((port > CLUSTER_LAST_PORT)); then
			cluster_log "no free port in $CLUSTER_FIRST_PORT..$CLUSTER_LAST_PORT"
			rm -rf "$dir"
			return 1
		fi
	done

	{
		echo
		echo "# throwaway cluster (scripts/cluster.sh)"
		echo "listen_addresses = ''"
		echo "port = $port"
		echo "unix_socket_directories = '$dir'"
		echo "unix_socket_permissions = 0700"
		echo "max_connections = 40"
		echo "lc_messages = 'C'"
		echo "log_line_prefix = '%m [%p] %q%u@%d '"
		echo "log_min_messages = warning"
		if ((durable == 0)); then
			echo "fsync = off"
			echo "full_page_writes = off"
			echo "synchronous_commit = off"
		fi
	} | cluster_as_owner "$dir" tee -a "$data/postgresql.conf" >/dev/null

	if ! cluster_as_owner "$dir" "$PG_BINDIR/pg_ctl" start -D "$data" \
		-l "$dir/server.log" -w -t 60 >/dev/null; then
		cat "$dir/server.log" >&2 || true
		cluster_log "server did not start"
		rm -rf "$dir"
		return 1
	fi

	{
		echo "# written by scripts/cluster.sh; source it to reach the cluster"
		printf 'export PGHOST=%q\n' "$dir"
		printf 'export PGPORT=%q\n' "$port"
		printf 'export PGUSER=postgres\n'
		printf 'export PGDATA=%q\n' "$data"
		printf 'export PGDATABASE=postgres\n'
		printf 'CLUSTER_DIR=%q\n' "$dir"
		printf 'CLUSTER_OWNER=%q\n' "$owner"
	} >"$envfile"
	cluster_log "started PostgreSQL in $dir (port $port, socket only, run by $owner)"
}

# cluster_stop ENVFILE
#
# Stop the cluster ENVFILE describes (fast shutdown) and remove its
# directory and ENVFILE.  Quiet no-op if ENVFILE does not exist; safe to call
# twice.  Never touches a directory that cluster_start did not create.
cluster_stop()
{
	local envfile="${1:?usage: cluster_stop ENVFILE}"
	local dir

	[[ -f "$envfile" ]] || return 0
	dir=$(
		# shellcheck disable=SC1090
		. "$envfile" && printf '%s' "$CLUSTER_DIR"
	)
	if [[ "$dir" == /tmp/migrate-pg.* && ! -e "$dir" ]]; then
		# Gone already (a reboot, a cleaned /tmp): nothing left to stop.
		rm -f "$envfile"
		return 0
	fi
	if [[ "$dir" != /tmp/migrate-pg.* || ! -e "$dir/.migrate-cluster" ]]; then
		cluster_log "$envfile does not describe a throwaway cluster; not touching $dir"
		return 1
	fi
	# pg_ctl status is 0 only if the postmaster in postmaster.pid is alive;
	# a stale pid file (the server died) needs no stop.
	if cluster_as_owner "$dir" "$PG_BINDIR/pg_ctl" status -D "$dir/data" \
		>/dev/null 2>&1; then
		if ! cluster_as_owner "$dir" "$PG_BINDIR/pg_ctl" stop -D "$dir/data" \
			-m fast -w -t 60 >/dev/null; then
			cluster_log "pg_ctl stop failed for $dir/data"
			return 1
		fi
	fi
	if [[ "${CLUSTER_KEEP:-0}" == 1 ]]; then
		cluster_log "stopped; kept $dir (CLUSTER_KEEP=1)"
	else
		rm -rf "$dir"
		cluster_log "stopped and removed $dir"
	fi
	rm -f "$envfile"
}

# cluster_status ENVFILE: exit status 0 if that cluster is running.
cluster_status()
{
	local envfile="${1:?usage: cluster_status ENVFILE}"
	local dir

	[[ -f "$envfile" ]] || return 3
	dir=$(
		# shellcheck disable=SC1090
		. "$envfile" && printf '%s' "$CLUSTER_DIR"
	)
	[[ -d "$dir/data" ]] || return 3
	cluster_as_owner "$dir" "$PG_BINDIR/pg_ctl" status -D "$dir/data" >/dev/null
}

# ext_build, ext_install: "make" and "make install" of the extension.  Both
# run in the current directory, which must be the top of the repository.
#
# ext_build: compile the extension (warnings are errors, see Makefile).
ext_build()
{
	make -j"$(nproc 2>/dev/null || echo 2)" PG_CONFIG="$PG_CONFIG"
}

# True if every file "make install" would install is already installed,
# byte for byte (so a non-root user can run the tests after "sudo make
# install").
ext_installed_uptodate()
{
	local libdir sharedir f
	libdir=$("$PG_CONFIG" --pkglibdir) || return 1
	sharedir=$("$PG_CONFIG" --sharedir)/extension || return 1
	cmp -s migrate.so "$libdir/migrate.so" || return 1
	cmp -s migrate.control "$sharedir/migrate.control" || return 1
	for f in sql/migrate--*.sql; do
		cmp -s "$f" "$sharedir/$(basename "$f")" || return 1
	done
}

# ext_install: "make install", which writes into PostgreSQL's own
# directories.  As root, just do it.  Otherwise do it if we may write there,
# skip it if the installed files are already these, use sudo if it needs no
# password, and else explain what to run.
ext_install()
{
	local libdir sharedir
	libdir=$("$PG_CONFIG" --pkglibdir)
	sharedir=$("$PG_CONFIG" --sharedir)/extension

	if [[ "$(id -u)" -eq 0 ]] || [[ -w "$libdir" && -w "$sharedir" ]]; then
		make install PG_CONFIG="$PG_CONFIG"
	elif ext_installed_uptodate; then
		echo "make install: the installed extension is already this build; skipping"
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
		sudo -n make install PG_CONFIG="$PG_CONFIG"
	else
		cat >&2 <<-EOF
		make install needs to write to $libdir and $sharedir,
		which $(id -un) may not do.  Either run this as root, or install the
		build first and run it again:
		    sudo make install PG_CONFIG=$PG_CONFIG
		EOF
		return 1
	fi
}

cluster_main()
{
	local cmd="${1:-}"
	case "$cmd" in
		start)
			[[ $# -ge 2 ]] || { echo "usage: $0 start ENVFILE [--durable]" >&2; return 2; }
			cluster_start "${@:2}"
			;;
		stop)
			[[ $# -eq 2 ]] || { echo "usage: $0 stop ENVFILE" >&2; return 2; }
			cluster_stop "$2"
			;;
		status)
			[[ $# -eq 2 ]] || { echo "usage: $0 status ENVFILE" >&2; return 2; }
			if cluster_status "$2"; then
				echo "running"
			else
				echo "not running"
				return 3
			fi
			;;
		*)
			echo "usage: $0 {start ENVFILE [--durable] | stop ENVFILE | status ENVFILE}" >&2
			return 2
			;;
	esac
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
	set -euo pipefail
	cluster_main "$@"
fi
