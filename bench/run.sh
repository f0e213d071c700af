#!/usr/bin/env bash
#
# run.sh
#	What "make bench" runs: migrate against raw SQL, a PL/pgSQL runner,
#	Sqitch, dbmate and node-pg-migrate, on a throwaway durable cluster.
#	Writes bench/RESULTS.md.  Not part of "make test".  See bench/README.md.
#
# Usage: bench/run.sh		(or: make bench)
#	BENCH_QUICK=1	a smoke run: smaller N, fewer repetitions; writes
#			bench/RESULTS-quick.md instead
#	BENCH_OUT=FILE	where to write the results instead
#	BENCH_KEEP=1	keep the work directory and the cluster's files
#
# Steps: install what is missing (scripts/ensure_deps.sh; Debian sqitch and
# libdbd-pg-perl; npm install --no-save in bench/), build and install the
# extension, start a cluster with PostgreSQL's durable defaults
# (scripts/cluster.sh --durable; max_connections raised back to
# PostgreSQL's default 100 for the 64 concurrent callers), generate every
# contender's migrations, run the seven sections, write the report
# (bench/report.mjs), stop the cluster whatever happened.
#
# Every measurement is one line of $WORK/results.tsv:
#	section metric contender n round value unit status
# status is "ok", or "fail" when the command failed or its result was
# wrong (then the value is not a time to compare).  report.mjs turns the
# lines into tables, medians, ratios and PASS/MISS per target.
#
# Fairness rules, kept throughout:
#	- each timed run gets its own database, created (and, for the
#	  pre-registered contenders, filled) before any timing starts, from a
#	  template where that contender's own bookkeeping is already set up;
#	- a CHECKPOINT before each timed run, outside the timing;
#	- rounds interleave the contenders (rotating the order), and ratios
#	  are computed between runs of the same round;
#	- nothing is dropped until the cluster goes (file deletion slows later
#	  file creation on these machines).

# Functions are called indirectly (traps, tables of contenders):
# shellcheck disable=SC2317

set -euo pipefail
export LC_ALL=C

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
BENCH=$ROOT/bench
QUICK=${BENCH_QUICK:-0}
if [[ "$QUICK" == 1 ]]; then
	OUT=${BENCH_OUT:-$BENCH/RESULTS-quick.md}
else
	OUT=${BENCH_OUT:-$BENCH/RESULTS.md}
fi
BENCH_T0=$EPOCHREALTIME

#
# Sizes and repetitions.  Each N gets one warm-up round (not reported),
# then ROUNDS rounds.
#
if [[ "$QUICK" == 1 ]]; then
	APPLY_NS=(10 50)
	APPLY_ROUNDS=(2 2)
	DEPLOY_NS=(10 50)
	DEPLOY_ROUNDS=(2 2)
	NOOP_REPS=3
	CATALOG_N=10000
	REG_SMALL_N=2000
	REG_AUTOCOMMIT_N=200
	REG_BIG_N=2
	REG_REPS=1
	FOLDER_N=500
	MEM_N=1000
	LOCK_N=3000
	CONC_N=100
	CONC_CLIENTS=64
	CONC_REPS=1
else
	APPLY_NS=(10 100 1000)
	APPLY_ROUNDS=(9 9 3)
	DEPLOY_NS=(100 1000)
	# 9 rounds at 1000 too (section 1 has 3): a run whose database's
	# files land among recently deleted inodes takes twice as long (ext4,
	# see README.md), and at a few seconds a run, rounds are cheap
	DEPLOY_ROUNDS=(9 9)
	NOOP_REPS=10
	CATALOG_N=100000
	REG_SMALL_N=10000
	REG_AUTOCOMMIT_N=1000
	REG_BIG_N=5
	REG_REPS=3
	FOLDER_N=2000
	MEM_N=10000
	LOCK_N=3000
	CONC_N=100
	CONC_CLIENTS=64
	CONC_REPS=5
fi
REG_BIG_KB=1024

step() { printf '\n==> %s\n' "$*"; }

# The machine's load average when a section starts, for the report: the
# machines are shared, and other work shows here.
load_note() { meta "load_$1" "$(cut -d' ' -f1-3 /proc/loadavg)"; }
note() { printf '    %s\n' "$*"; }

#
# Dependencies: the extension's (ensure_deps.sh), then the peers'.
#
BENCH_APT=(sqitch libdbd-pg-perl)

ensure_bench_deps()
{
	local missing=() pkg

	for pkg in "${BENCH_APT[@]}"; do
		[[ "$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null)" == installed ]] ||
			missing+=("$pkg")
	done
	if ((${#missing[@]} > 0)); then
		if [[ "$(id -u)" -ne 0 ]]; then
			echo "bench: missing Debian packages: ${missing[*]}" >&2
			echo "    sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
			exit 1
		fi
		note "installing ${missing[*]}"
		export DEBIAN_FRONTEND=noninteractive
		apt-get -o DPkg::Lock::Timeout=300 update
		apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends "${missing[@]}"
	fi
	if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
		echo "bench: node and npm are needed (node-pg-migrate 9 wants Node.js >= 20.11)" >&2
		exit 1
	fi
	if ! node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a==20&&b>=11)?0:1)'; then
		echo "bench: Node.js $(node --version) is too old: node-pg-migrate 9 wants >= 20.11" >&2
		exit 1
	fi
	# Install the lockfile's versions when node_modules is missing or older
	# than the lockfile.  Not "npm ci": npm 11's ci wants the lockfile to
	# list every platform package of dbmate's optional dependencies, and
	# the registry these machines reach resolves only linux-x64 at 2.36.0.
	# "npm install --no-save" installs what the lockfile pins and never
	# rewrites it.
	if [[ ! -f "$BENCH/node_modules/.package-lock.json" ||
		"$BENCH/package-lock.json" -nt "$BENCH/node_modules/.package-lock.json" ]]; then
		note "npm install (from package-lock.json) in bench/"
		(cd "$BENCH" && npm install --no-save --no-audit --no-fund --loglevel=error)
	fi
	DBMATE=$BENCH/node_modules/@dbmate/linux-x64/bin/dbmate
	NPM_MIGRATE=$BENCH/node_modules/node-pg-migrate/bin/node-pg-migrate.js
	if [[ ! -x "$DBMATE" ]]; then
		echo "bench: the dbmate package did not install its linux-x64 binary ($DBMATE)" >&2
		exit 1
	fi
}

#
# The work directory, the cluster, and cleanup.
#
WORK=""
ENVFILE=""
STATUS=0

cleanup()
{
	local rc=$?
	trap - EXIT INT TERM
	restore_hugepages
	if [[ -n "$ENVFILE" && -f "$ENVFILE" ]]; then
		if ((rc != 0)) && [[ -n "${CLUSTER_DIR:-}" ]]; then
			cp "$CLUSTER_DIR/server.log" "$WORK/server.log" 2>/dev/null || true
		fi
		CLUSTER_KEEP=${BENCH_KEEP:-0} cluster_stop "$ENVFILE" || rc=1
	fi
	if [[ -n "$WORK" ]]; then
		if ((rc == 0)) && [[ "${BENCH_KEEP:-0}" != 1 ]]; then
			rm -rf "$WORK"
		else
			echo "bench: work directory kept: $WORK" >&2
		fi
	fi
	exit "$rc"
}

PSQL=""
q() { "$PSQL" -X -q -v ON_ERROR_STOP=1 "$@"; }
qv() { "$PSQL" -X -q -At -v ON_ERROR_STOP=1 "$@"; }

# record SECTION METRIC CONTENDER N ROUND VALUE UNIT STATUS
record()
{
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$WORK/results.tsv"
}

meta() { printf '%s\t%s\n' "$1" "$2" >>"$WORK/meta.tsv"; }

# The command as it ran, with the work directory and the tool paths
# abbreviated, for the report.  One per section and contender.
show_command()
{
	local section="$1" contender="$2"
	shift 2
	show_text "$section" "$contender" "$(shell_words "$@")"
}

# show_text SECTION CONTENDER TEXT: show_command for a command line written
# out by hand (one whose arguments are too long to show as they are)
show_text()
{
	local section="$1" contender="$2" text="$3"
	grep -q "^$section	$contender	" "$WORK/commands.tsv" 2>/dev/null && return 0
	text=${text//"$WORK"/'$WORK'}
	text=${text//"$BENCH"/bench}
	text=${text//"$PG_BINDIR"/'$PG_BINDIR'}
	text=${text//"$PGHOST"/'$PGHOST'}
	text=${text//"$PGPORT"/'$PGPORT'}
	printf '%s\t%s\t%s\n' "$section" "$contender" "${text% }" >>"$WORK/commands.tsv"
}

# The words of a command, quoted for a POSIX shell only where needed.
shell_words()
{
	local w out=""
	for w in "$@"; do
		if [[ "$w" =~ ^[A-Za-z0-9_./:=@%+,-]+$ ]]; then
			out+="$w "
		else
			out+="'${w//\'/\'\\\'\'}' "
		fi
	done
	printf '%s' "$out"
}

# timed LOG CMD...: runs CMD with its output in LOG; sets ELAPSED (seconds)
# and RC.  The clock is bash's own: no process is started to read it.
timed()
{
	local log="$1" t0 t1
	shift
	t0=$EPOCHREALTIME
	if "$@" >"$log" 2>&1; then RC=0; else RC=$?; fi
	t1=$EPOCHREALTIME
	ELAPSED=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }')
}

checkpoint() { q -d postgres -c CHECKPOINT; }

# Server log helpers: durations logged while log_min_duration_statement
# is 0 (set per database), summed for one database.
log_offset() { stat -c %s "$CLUSTER_DIR/server.log"; }
# log_durations OFFSET DB: each "duration: X ms" of DB since OFFSET, one a line
log_durations()
{
	tail -c +"$(($1 + 1))" "$CLUSTER_DIR/server.log" |
		sed -nE "s/.*@$2 LOG:  duration: ([0-9.]+) ms.*/\1/p"
}
sum_lines() { awk '{ s += $1 } END { printf "%.3f", s }'; }

new_db() # new_db NAME TEMPLATE
{
	q -d postgres -c "CREATE DATABASE \"$1\" TEMPLATE \"$2\""
}

# N tables t_i and N indexes t_i_v in schema public?
check_apply() # check_apply DB N -> 0 if exactly N of each
{
	local got
	got=$(qv -d "$1" -c "SELECT count(*) FILTER (WHERE c.relkind = 'r' AND c.relname ~ '^t_[0-9]+\$')
		   || '|' || count(*) FILTER (WHERE c.relkind = 'i' AND c.relname ~ '^t_[0-9]+_v\$')
		FROM pg_catalog.pg_class AS c JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
		WHERE n.nspname = 'public'") || return 1
	[[ "$got" == "$2|$2" ]]
}

###########################################################################
# The contenders of section 1.  contender_cmd ID DB N fills CMD (an array)
# with the command that applies the pending migrations of database DB.
# (Section 7 uses three of them: deploy, which section 1 does not run,
# rawf and dbmate.)
###########################################################################
CONTENDERS=(raw1 raw1m rawf plr mrun me2e1 me2ef sqitch dbmate npm)
# the template database each one's fresh databases come from
declare -A TEMPLATE=(
	[raw1]=tpl_raw [raw1m]=tpl_raw [rawf]=tpl_raw [plr]=tpl_plr [mrun]=tpl_migrate
	[me2e1]=tpl_migrate [me2ef]=tpl_migrate [sqitch]=tpl_sqitch
	[dbmate]=tpl_dbmate [npm]=tpl_npm [deploy]=tpl_migrate
)

dbmate_url() { printf 'postgres://postgres@:%s/%s?socket=%s&sslmode=disable' "$PGPORT" "$1" "$PGHOST"; }
npm_url() { printf 'postgres://postgres@/%s?host=%s&port=%s' "$1" "$PGHOST" "$PGPORT"; }

# raw1m sends the whole of raw.sql as one argument, one simple-query
# message (one implicit transaction); CMD_SHOW is then the command line
# for the report, with the file named instead of its text.  Linux limits
# one argument to 131,072 bytes (MAX_ARG_STRLEN): section_apply checks
# RAW1M_MAX_BYTES before anything runs.
RAW1M_MAX_BYTES=131000
CMD_SHOW=""

contender_cmd()
{
	local id="$1" db="$2" dir="$WORK/apply/$3"
	CMD_SHOW=""
	case "$id" in
		raw1) CMD=("$PSQL" -X -q -1 -v ON_ERROR_STOP=1 -d "$db" -f "$dir/raw.sql") ;;
		raw1m) CMD=("$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$db" -c "$(<"$dir/raw.sql")")
			CMD_SHOW="$(shell_words "${CMD[@]:0:${#CMD[@]}-1}")\"\$(cat $dir/raw.sql)\"" ;;
		rawf) CMD=("$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$db" -f "$dir/raw.sql") ;;
		plr) CMD=("$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$db" -c 'SELECT plr.run()') ;;
		mrun) CMD=("$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$db" -c 'SELECT * FROM migrate.run()') ;;
		deploy) CMD=("$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$db" -c 'CALL migrate.deploy()') ;;
		me2e1) CMD=("$PSQL" -X -q -1 -v ON_ERROR_STOP=1 -d "$db" -f "$dir/migrate_bundle.sql") ;;
		me2ef) CMD=("$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$db" -f "$dir/migrate_bundle.sql") ;;
		sqitch) CMD=(env -C "$dir/sqitch" SQITCH_USER_CONFIG=/dev/null
				SQITCH_SYSTEM_CONFIG=/dev/null sqitch deploy --target "db:pg:///$db") ;;
		dbmate) CMD=("$DBMATE" --url "$(dbmate_url "$db")" --migrations-dir "$dir/dbmate"
				--no-dump-schema migrate) ;;
		npm) CMD=(env -C "$dir" DATABASE_URL="$(npm_url "$db")" node "$NPM_MIGRATE" up -m npm) ;;
		*) echo "unknown contender $id" >&2; return 1 ;;
	esac
}

# Work a contender's fresh database needs before timing: pre-registered
# migrations for migrate.run() and migrate.deploy(), the script table for
# the PL/pgSQL runner.
contender_prepare()
{
	local id="$1" db="$2" dir="$WORK/apply/$3"
	case "$id" in
		mrun|deploy) q -1 -d "$db" -f "$dir/migrate_register.sql" >/dev/null ;;
		plr) q -1 -d "$db" -f "$dir/plr_load.sql" ;;
		*) ;;
	esac
}

# The template databases: each contender's bookkeeping set up, nothing
# of the benchmark applied.  The peers' templates have applied their
# "init" migration (000000 / t_000000), which every generated project
# starts with, so their registries exist and are theirs.
make_templates()
{
	local init="$WORK/init"
	node "$BENCH/gen.mjs" init "$init"
	set_sqitch_client "$init/sqitch"
	q -d postgres -c "CREATE DATABASE tpl_raw" -c "CREATE DATABASE tpl_migrate" \
		-c "CREATE DATABASE tpl_plr" -c "CREATE DATABASE tpl_sqitch" \
		-c "CREATE DATABASE tpl_dbmate" -c "CREATE DATABASE tpl_npm"
	q -d tpl_migrate -c "CREATE EXTENSION migrate"
	q -d tpl_plr -f "$BENCH/plr.sql"
	env -C "$init/sqitch" SQITCH_USER_CONFIG=/dev/null SQITCH_SYSTEM_CONFIG=/dev/null \
		sqitch deploy --target db:pg:///tpl_sqitch >"$WORK/logs/tpl_sqitch.log" 2>&1
	"$DBMATE" --url "$(dbmate_url tpl_dbmate)" --migrations-dir "$init/dbmate" \
		--no-dump-schema migrate >"$WORK/logs/tpl_dbmate.log" 2>&1
	env -C "$init" DATABASE_URL="$(npm_url tpl_npm)" node "$NPM_MIGRATE" up -m npm \
		>"$WORK/logs/tpl_npm.log" 2>&1
}

set_sqitch_client()
{
	printf '[engine "pg"]\n\tclient = %s\n' "$PSQL" >>"$1/sqitch.conf"
}

###########################################################################
# Section 1: apply N pending migrations.
###########################################################################
section_apply()
{
	local n i size
	load_note apply
	step "1. apply N pending migrations: N = ${APPLY_NS[*]}"
	for i in "${!APPLY_NS[@]}"; do
		n=${APPLY_NS[$i]}
		node "$BENCH/gen.mjs" apply "$WORK/apply/$n" "$n"
		set_sqitch_client "$WORK/apply/$n/sqitch"
		# raw1m passes raw.sql as one argument of psql -c
		size=$(stat -c %s "$WORK/apply/$n/raw.sql")
		if ((size > RAW1M_MAX_BYTES)); then
			echo "bench: N=$n: raw.sql is $size bytes, more than $RAW1M_MAX_BYTES;" \
				"contender raw1m passes it as one argument (psql -c), and Linux" \
				"takes at most 131,072 bytes in one argument. Choose a smaller N" \
				"(APPLY_NS in bench/run.sh)." >&2
			exit 1
		fi
	done

	apply_rounds apply a APPLY_NS APPLY_ROUNDS CONTENDERS
}

# apply_rounds SECTION PREFIX NS ROUNDS CONTENDERS
#	Sections 1 and 7: for each N of array NS (with the number of rounds in
#	array ROUNDS), a fresh database per contender and round, all made
#	before any timing (PREFIX_<contender>_<N>_<round>), then the timed
#	rounds, round 0 a warm-up, the contenders' order rotating from round to
#	round.  Each run must leave its migrations applied (check_apply, and
#	for migrate's contenders check_catalog).
apply_rounds()
{
	local section="$1" prefix="$2"
	local -n ns="$3" rounds_of="$4" contenders="$5"
	local n i r rounds c db order k st log

	note "creating and preparing the fresh databases"
	for i in "${!ns[@]}"; do
		n=${ns[$i]}
		rounds=${rounds_of[$i]}
		for ((r = 0; r <= rounds; r++)); do
			for c in "${contenders[@]}"; do
				db="${prefix}_${c}_${n}_$r"
				new_db "$db" "${TEMPLATE[$c]}"
				contender_prepare "$c" "$db" "$n"
			done
		done
	done
	sync
	checkpoint

	for i in "${!ns[@]}"; do
		n=${ns[$i]}
		rounds=${rounds_of[$i]}
		for ((r = 0; r <= rounds; r++)); do
			order=()
			for ((k = 0; k < ${#contenders[@]}; k++)); do
				order+=("${contenders[$(((k + r) % ${#contenders[@]}))]}")
			done
			printf '    N=%s round %s%s:' "$n" "$r" "$( ((r == 0)) && echo ' (warm-up)')"
			for c in "${order[@]}"; do
				db="${prefix}_${c}_${n}_$r"
				log="$WORK/logs/${section}_${c}_${n}_$r.log"
				contender_cmd "$c" "$db" "$n"
				if [[ -n "$CMD_SHOW" ]]; then
					show_text "$section" "$c" "$CMD_SHOW"
				else
					show_command "$section" "$c" "${CMD[@]}"
				fi
				checkpoint
				timed "$log" "${CMD[@]}"
				if ((RC == 0)) && check_apply "$db" "$n" &&
					check_catalog "$c" "$db" "$n"; then
					st=ok
				else
					st=fail
					echo >&2
					echo "bench: $section: $c N=$n round $r FAILED (exit $RC); log: $log" >&2
					tail -n 5 "$log" >&2 || true
					STATUS=1
				fi
				((r == 0)) || record "$section" wall "$c" "$n" "$r" "$ELAPSED" s "$st"
				printf ' %s %.2fs' "$c" "$ELAPSED"
			done
			echo
		done
	done
}

# check_catalog CONTENDER DB N: a deploy leaves every migration applied in
# migrate's catalog too.
check_catalog()
{
	local c="$1" db="$2" n="$3"
	[[ $c == deploy ]] || return 0
	[[ "$(qv -d "$db" -c "SELECT count(*) FILTER (WHERE state = 'applied') || '|' || count(*) FROM migrate.status()")" == "$n|$n" ]]
}

###########################################################################
# Section 2: the no-op check, 1000 applied, nothing pending.
###########################################################################
noop_cmd()
{
	local id="$1" n="$2"
	local dir="$WORK/apply/$n"
	local r=${APPLY_ROUNDS[$((${#APPLY_NS[@]} - 1))]}
	case "$id" in
		floor) NOOP_DB="a_mrun_${n}_$r"
			CMD=("$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$NOOP_DB" -c 'SELECT 1') ;;
		mrun) NOOP_DB="a_mrun_${n}_$r"
			CMD=("$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$NOOP_DB" -c 'SELECT * FROM migrate.run()') ;;
		mbundle) NOOP_DB="a_me2e1_${n}_$r"
			CMD=("$PSQL" -X -q -1 -v ON_ERROR_STOP=1 -d "$NOOP_DB" -f "$dir/migrate_bundle.sql") ;;
		plr) NOOP_DB="a_plr_${n}_$r"
			CMD=("$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$NOOP_DB" -c 'SELECT plr.run()') ;;
		*) NOOP_DB="a_${id}_${n}_$r"
			contender_cmd "$id" "$NOOP_DB" "$n" ;;
	esac
}

NOOP_CONTENDERS=(floor mrun mbundle plr sqitch dbmate npm)

section_noop()
{
	local n=${APPLY_NS[$((${#APPLY_NS[@]} - 1))]}
	load_note noop
	local c rep off k order warm
	step "2. the no-op check: $n applied, nothing pending"
	meta noop_n "$n"

	# Whole process, no statement logging.
	for ((rep = 0; rep <= NOOP_REPS; rep++)); do
		order=()
		for ((k = 0; k < ${#NOOP_CONTENDERS[@]}; k++)); do
			order+=("${NOOP_CONTENDERS[$(((k + rep) % ${#NOOP_CONTENDERS[@]}))]}")
		done
		for c in "${order[@]}"; do
			noop_cmd "$c" "$n"
			show_command noop "$c" "${CMD[@]}"
			timed "$WORK/logs/noop_${c}_$rep.log" "${CMD[@]}"
			st=ok
			((RC == 0)) && check_apply "$NOOP_DB" "$n" || { st=fail; STATUS=1; }
			((rep == 0)) || record noop wall "$c" "$n" "$rep" "$ELAPSED" s "$st"
		done
	done

	# Server side: every statement's duration in the server log
	# (log_min_duration_statement = 0 for these databases only), summed
	# per invocation.  Durations include parse, plan, execute and commit.
	for c in "${NOOP_CONTENDERS[@]}"; do
		noop_cmd "$c" "$n"
		q -d postgres -c "ALTER DATABASE \"$NOOP_DB\" SET log_min_duration_statement = 0"
	done
	for ((rep = 1; rep <= NOOP_REPS; rep++)); do
		for c in "${NOOP_CONTENDERS[@]}"; do
			noop_cmd "$c" "$n"
			off=$(log_offset)
			"${CMD[@]}" >/dev/null 2>&1 || STATUS=1
			sleep 0.05
			record noop server "$c" "$n" "$rep" \
				"$(log_durations "$off" "$NOOP_DB" | sum_lines)" ms ok
			record noop statements "$c" "$n" "$rep" \
				"$(log_durations "$off" "$NOOP_DB" | wc -l)" count ok
		done
	done

	# Warm: the same call again in one session (library loaded, plans
	# prepared); the first call of the session is left out.
	for c in floor mrun plr; do
		noop_cmd "$c" "$n"
		warm=$(printf '%s;\n' "${CMD[-1]}")
		off=$(log_offset)
		for ((k = 0; k <= NOOP_REPS; k++)); do printf '%s' "$warm"; done |
			q -d "$NOOP_DB" >/dev/null 2>&1 || STATUS=1
		sleep 0.05
		k=0
		while read -r v; do
			((k++ == 0)) || record noop server_warm "$c" "$n" "$k" "$v" ms ok
		done < <(log_durations "$off" "$NOOP_DB")
	done
	for c in "${NOOP_CONTENDERS[@]}"; do
		noop_cmd "$c" "$n"
		q -d postgres -c "ALTER DATABASE \"$NOOP_DB\" RESET log_min_duration_statement"
	done
}

###########################################################################
# Section 3: the catalog at scale; register() throughput.
###########################################################################
section_catalog()
{
	local db=s3_catalog rep off k dir what sql v
	load_note catalog
	step "3. catalog scale: $CATALOG_N registered; register() throughput"
	meta catalog_n "$CATALOG_N"

	node "$BENCH/gen.mjs" register "$WORK/catalog" "$CATALOG_N"
	node "$BENCH/gen.mjs" register "$WORK/reg_small" "$REG_SMALL_N"
	node "$BENCH/gen.mjs" register "$WORK/reg_auto" "$REG_AUTOCOMMIT_N"
	node "$BENCH/gen.mjs" big "$WORK/reg_big" "$REG_BIG_N" "$REG_BIG_KB"
	node "$BENCH/gen.mjs" folder "$WORK/reg_folder" "$FOLDER_N"
	meta folder_n "$FOLDER_N"
	meta reg_small_n "$REG_SMALL_N"
	meta reg_autocommit_n "$REG_AUTOCOMMIT_N"
	meta reg_big_n "$REG_BIG_N"
	meta reg_big_bytes "$(stat -c %s "$WORK/reg_big/migrate_register.sql")"

	new_db "$db" tpl_migrate
	for ((rep = 1; rep <= REG_REPS; rep++)); do
		new_db "s3_small_$rep" tpl_migrate
		new_db "s3_auto_$rep" tpl_migrate
		new_db "s3_values_$rep" tpl_migrate
		new_db "s3_big_$rep" tpl_migrate
		new_db "s3_folder_$rep" tpl_migrate
	done
	sync
	checkpoint

	# register() throughput
	for ((rep = 1; rep <= REG_REPS; rep++)); do
		CMD=("$PSQL" -X -q -1 -v ON_ERROR_STOP=1 -d "s3_small_$rep" -f "$WORK/reg_small/migrate_register.sql")
		show_command catalog register_small "${CMD[@]}"
		checkpoint
		timed "$WORK/logs/reg_small_$rep.log" "${CMD[@]}"
		st_of_rc
		record catalog register_small migrate "$REG_SMALL_N" "$rep" "$ELAPSED" s "$ST"

		CMD=("$PSQL" -X -q -1 -v ON_ERROR_STOP=1 -d "s3_values_$rep" -f "$WORK/reg_small/migrate_register_values.sql")
		show_command catalog register_values "${CMD[@]}"
		checkpoint
		timed "$WORK/logs/reg_values_$rep.log" "${CMD[@]}"
		st_of_rc
		record catalog register_values migrate "$REG_SMALL_N" "$rep" "$ELAPSED" s "$ST"

		CMD=("$PSQL" -X -q -v ON_ERROR_STOP=1 -d "s3_auto_$rep" -f "$WORK/reg_auto/migrate_register.sql")
		show_command catalog register_autocommit "${CMD[@]}"
		checkpoint
		timed "$WORK/logs/reg_auto_$rep.log" "${CMD[@]}"
		st_of_rc
		record catalog register_autocommit migrate "$REG_AUTOCOMMIT_N" "$rep" "$ELAPSED" s "$ST"

		CMD=("$PSQL" -X -q -1 -v ON_ERROR_STOP=1 -d "s3_big_$rep" -f "$WORK/reg_big/migrate_register.sql")
		show_command catalog register_big "${CMD[@]}"
		checkpoint
		timed "$WORK/logs/reg_big_$rep.log" "${CMD[@]}"
		st_of_rc
		record catalog register_big migrate "$REG_BIG_N" "$rep" "$ELAPSED" s "$ST"

		# A folder of files loaded end to end: migrate-bundle reads and
		# quotes them, psql registers them in one statement.
		CMD=(bash -o pipefail -c '"$1" "$2" | "$3" -X -q -v ON_ERROR_STOP=1 -d "$4"' load_folder
			"$PG_BINDIR/migrate-bundle" "$WORK/reg_folder/folder" "$PSQL" "s3_folder_$rep")
		show_text catalog register_folder \
			"\$PG_BINDIR/migrate-bundle $WORK/reg_folder/folder | $PSQL -X -q -v ON_ERROR_STOP=1 -d s3_folder_$rep"
		checkpoint
		timed "$WORK/logs/reg_folder_$rep.log" "${CMD[@]}"
		st_of_rc
		k=$(qv -d "s3_folder_$rep" -c "SELECT count(*) FROM migrate.migrations")
		if [[ "$k" != "$FOLDER_N" ]]; then
			echo "bench: the folder registered $k migrations, not $FOLDER_N" >&2
			ST=fail
			STATUS=1
		fi
		record catalog register_folder migrate "$FOLDER_N" "$rep" "$ELAPSED" s "$ST"
	done

	# The big catalog: register everything in one transaction, then mark
	# it applied with baseline() (running 100,000 migrations would only
	# create 100,000 tables; the catalog ends up the same: every row
	# applied, one history row each).
	CMD=("$PSQL" -X -q -1 -v ON_ERROR_STOP=1 -d "$db" -f "$WORK/catalog/migrate_register.sql")
	show_command catalog register_catalog "${CMD[@]}"
	checkpoint
	timed "$WORK/logs/catalog_register.log" "${CMD[@]}"
	st_of_rc
	record catalog register_catalog migrate "$CATALOG_N" 1 "$ELAPSED" s "$ST"
	CMD=("$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$db" -c "SELECT migrate.baseline('$(printf '%06d' "$CATALOG_N")')")
	show_command catalog baseline "${CMD[@]}"
	timed "$WORK/logs/catalog_baseline.log" "${CMD[@]}"
	st_of_rc
	record catalog baseline migrate "$CATALOG_N" 1 "$ELAPSED" s "$ST"
	k=$(qv -d "$db" -c "SELECT count(*) FILTER (WHERE state = 'applied') || '|' || count(*) FROM migrate.status()")
	[[ "$k" == "$CATALOG_N|$CATALOG_N" ]] || { echo "bench: catalog not as expected: $k" >&2; STATUS=1; }
	q -d "$db" -c "VACUUM ANALYZE"
	checkpoint

	# Whole process.
	for ((rep = 0; rep <= NOOP_REPS; rep++)); do
		CMD=("$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$db" -c 'SELECT * FROM migrate.status()')
		show_command catalog status_wall "${CMD[@]}"
		timed "$WORK/logs/catalog_status.log" "${CMD[@]}"
		st_of_rc
		((rep == 0)) || record catalog status_wall migrate "$CATALOG_N" "$rep" "$ELAPSED" s "$ST"
		CMD=("$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$db" -c 'SELECT * FROM migrate.run()')
		show_command catalog noop_wall "${CMD[@]}"
		timed "$WORK/logs/catalog_noop.log" "${CMD[@]}"
		st_of_rc
		((rep == 0)) || record catalog noop_wall migrate "$CATALOG_N" "$rep" "$ELAPSED" s "$ST"
	done

	# Server side, from the statement log: first call of a new session
	# (cold: library load, the session's caches empty) and later calls
	# (warm).
	q -d postgres -c "ALTER DATABASE $db SET log_min_duration_statement = 0"
	for what in status noop; do
		sql=$(catalog_sql "$what")
		cold_calls "$db" "$sql" "${what}_server" "${what}_server_cold" 1
		off=$(log_offset)
		for ((k = 0; k <= NOOP_REPS; k++)); do printf '%s;\n' "$sql"; done |
			q -d "$db" >/dev/null || STATUS=1
		sleep 0.05
		k=0
		while read -r v; do
			((k++ == 0)) || record catalog "${what}_server_warm" migrate "$CATALOG_N" "$k" "$v" ms ok
		done < <(log_durations "$off" "$db")
	done
	q -d postgres -c "ALTER DATABASE $db RESET log_min_duration_statement"
}

# ST: "ok" if the last timed command succeeded, else "fail" (and STATUS=1)
st_of_rc() { if ((RC == 0)); then ST=ok; else ST=fail; STATUS=1; fi; }

###########################################################################
# Section 4: resources.
###########################################################################
section_resources()
{
	local dir="$WORK/data" db n=100 out k v
	load_note resources
	step "4. resources: memory over $MEM_N data-only migrations; subtransaction XIDs; the lock limit"

	# Memory.
	node "$BENCH/gen.mjs" data "$dir" "$MEM_N"
	new_db s4_mem_migrate tpl_migrate
	new_db s4_mem_plr tpl_plr
	for db in s4_mem_migrate s4_mem_plr; do
		q -d "$db" -c "CREATE TABLE data (id integer PRIMARY KEY, v text)"
	done
	q -1 -d s4_mem_migrate -f "$dir/migrate_register.sql" >/dev/null
	q -1 -d s4_mem_plr -f "$dir/plr_load.sql"
	checkpoint
	for db in s4_mem_migrate s4_mem_plr; do
		if [[ $db == s4_mem_migrate ]]; then
			sql='SELECT * FROM migrate.run()'
		else
			sql='SELECT plr.run()'
		fi
		show_command resources "memory_${db#s4_mem_}" node bench/mem.mjs "$db" "$sql" '$PGHOST/server.log' OUT.json
		out=$(node "$BENCH/mem.mjs" "$db" "$sql" "$CLUSTER_DIR/server.log" \
			"$WORK/mem_${db#s4_mem_}.json") || { STATUS=1; echo "bench: mem.mjs failed for $db" >&2; }
		cp "$WORK/mem_${db#s4_mem_}.json" "$WORK/report_mem_${db#s4_mem_}.json" 2>/dev/null || true
		k=$(qv -d "$db" -c "SELECT count(*) FROM data")
		st=ok
		[[ "$k" == "$MEM_N" ]] || { st=fail; STATUS=1; }
		for v in baseline_rss_anon peak_rss_anon growth_rss_anon baseline_context_total \
			peak_context_total growth_context_total wall_ms context_samples; do
			record resources "mem_$v" "${db#s4_mem_}" "$MEM_N" 1 \
				"$(node -e 'const s=JSON.parse(process.argv[1]); const v=s[process.argv[2]]; console.log(v===null||v===undefined?"":v)' "$out" "$v")" \
				"$( [[ $v == wall_ms || $v == context_samples ]] && echo - || echo bytes)" "$st"
		done
	done

	# Subtransaction XIDs: the XIDs a run consumed (autovacuum paused so
	# that nothing else takes one), and how many distinct XIDs created the
	# N tables (pg_class.xmin).  One top-level XID is the run's own.
	node "$BENCH/gen.mjs" apply "$WORK/xid" "$n" >/dev/null
	new_db s4_xid_migrate tpl_migrate
	new_db s4_xid_noatomic tpl_migrate
	new_db s4_xid_plr tpl_plr
	q -1 -d s4_xid_migrate -f "$WORK/xid/migrate_register.sql" >/dev/null
	q -1 -d s4_xid_noatomic -f "$WORK/xid/migrate_register.sql" >/dev/null
	q -1 -d s4_xid_plr -f "$WORK/xid/plr_load.sql"
	q -d postgres -c "ALTER SYSTEM SET autovacuum = off" -c "SELECT pg_reload_conf()" >/dev/null
	sleep 1
	for c in migrate noatomic plr; do
		db=s4_xid_$c
		case $c in
			migrate) sql='SELECT * FROM migrate.run()' ;;
			noatomic) sql='SELECT * FROM migrate.run(atomic => false)' ;;
			plr) sql='SELECT plr.run()' ;;
		esac
		show_command resources "xid_$c" "$PSQL" -X -q -d "$db" -c "$sql"
		local x0 x1 distinct
		x0=$(qv -d "$db" -c "SELECT pg_catalog.pg_current_xact_id()")
		q -d "$db" -c "$sql" >/dev/null 2>&1 || STATUS=1
		x1=$(qv -d "$db" -c "SELECT pg_catalog.pg_current_xact_id()")
		distinct=$(qv -d "$db" -c "SELECT count(DISTINCT xmin::text) FROM pg_catalog.pg_class WHERE relname ~ '^t_[0-9]+\$'")
		st=ok
		check_apply "$db" "$n" || { st=fail; STATUS=1; }
		# x1 - x0 - 2: the XIDs of neither reading transaction nor the run's own
		record resources xid_sub "$c" "$n" 1 "$((x1 - x0 - 2))" count "$st"
		record resources xid_distinct_xmin "$c" "$n" 1 "$distinct" count "$st"
	done
	q -d postgres -c "ALTER SYSTEM RESET autovacuum" -c "SELECT pg_reload_conf()" >/dev/null

	# The lock limit: one atomic run of LOCK_N table-creating migrations,
	# at PostgreSQL's default max_locks_per_transaction.  Where it stops,
	# and what the user reads then.  Raw psql -1 -f of the same SQL for
	# comparison.
	node "$BENCH/gen.mjs" apply "$WORK/locks" "$LOCK_N" >/dev/null
	new_db s4_locks_migrate tpl_migrate
	new_db s4_locks_raw tpl_raw
	q -1 -d s4_locks_migrate -f "$WORK/locks/migrate_register.sql" >/dev/null
	checkpoint
	CMD=("$PSQL" -X -q -v ON_ERROR_STOP=1 -v VERBOSITY=default -d s4_locks_migrate -c 'SELECT count(*) FROM migrate.run()')
	show_command resources locks_migrate "${CMD[@]}"
	timed "$WORK/logs/locks_migrate.log" "${CMD[@]}"
	grep -v '^NOTICE:' "$WORK/logs/locks_migrate.log" >"$WORK/locks_migrate.err" || true
	v=$(sed -nE 's/^ERROR:  migration [a-z_0-9]+ 0*([0-9]+) .*/\1/p' "$WORK/locks_migrate.err" | head -n 1)
	record resources locks_fail_at migrate "$LOCK_N" 1 "${v:-}" migration "$( [[ -n $v && $RC != 0 ]] && echo ok || echo fail)"
	record resources locks_seconds migrate "$LOCK_N" 1 "$ELAPSED" s ok
	CMD=("$PSQL" -X -q -1 -v ON_ERROR_STOP=1 -d s4_locks_raw -f "$WORK/locks/raw.sql")
	show_command resources locks_raw "${CMD[@]}"
	checkpoint
	timed "$WORK/logs/locks_raw.log" "${CMD[@]}"
	cp "$WORK/logs/locks_raw.log" "$WORK/locks_raw.err"
	v=$(sed -nE 's/^psql:[^:]*:([0-9]+): ERROR: .*/\1/p' "$WORK/locks_raw.err" | head -n 1)
	record resources locks_fail_at raw "$LOCK_N" 1 "${v:-}" migration "$( [[ -n $v && $RC != 0 ]] && echo ok || echo fail)"
	record resources locks_seconds raw "$LOCK_N" 1 "$ELAPSED" s ok
}

###########################################################################
# Section 5: concurrent callers.
###########################################################################
section_concurrency()
{
	local n=$CONC_N rep c k
	load_note concurrency
	step "5. concurrency: $CONC_CLIENTS callers against $n pending migrations"
	node "$BENCH/gen.mjs" apply "$WORK/conc" "$n" >/dev/null
	# migrate_warm: a diagnostic.  Each connection first calls
	# migrate.validate(), which prepares the catalog queries that run()
	# needs (without taking the lock), so that only the work done under
	# the migration lock is left in the timing.
	for ((rep = 1; rep <= CONC_REPS; rep++)); do
		for c in migrate migrate_warm plr; do
			for k in 1 "$CONC_CLIENTS"; do
				conc_prepare "$c" "$k" "$rep"
			done
		done
	done
	sync
	checkpoint
	for ((rep = 1; rep <= CONC_REPS; rep++)); do
		for c in migrate migrate_warm plr; do
			for k in 1 "$CONC_CLIENTS"; do
				conc_measure "$c" "$k" "$rep"
			done
		done
	done
}

# conc_prepare RUNNER K REP: the fresh database of one measurement
conc_prepare()
{
	local db="s5_$1_$2_$3"
	if [[ $1 == plr ]]; then
		new_db "$db" tpl_plr
		q -1 -d "$db" -f "$WORK/conc/plr_load.sql"
	else
		new_db "$db" tpl_migrate
		q -1 -d "$db" -f "$WORK/conc/migrate_register.sql" >/dev/null
	fi
}

# conc_measure RUNNER K REP: K callers at once on its database
conc_measure()
{
	local c=$1 k=$2 rep=$3 n=$CONC_N db="s5_$1_$2_$3" sql out rows hist st
	local warm=()
	case $c in
		migrate|migrate_preload) sql='SELECT * FROM migrate.run()' ;;
		migrate_warm) sql='SELECT * FROM migrate.run()'
			warm=('SELECT count(*) FROM migrate.validate()') ;;
		plr) sql='SELECT plr.run()' ;;
	esac
	show_command concurrency "${c}_$k" node bench/conc.mjs "$db" "$k" "$sql" "${warm[@]}"
	checkpoint
	st=ok
	out=$(node "$BENCH/conc.mjs" "$db" "$k" "$sql" "${warm[@]}") || st=fail
	# exactly once: rows (or counts) returned add up to n, the history has
	# n distinct "up" events, n tables exist
	if [[ $c == plr ]]; then
		rows=$(node -e 'const o=JSON.parse(process.argv[1]); console.log(o.first.reduce((a,b)=>a+Number(b),0))' "$out")
		hist=$(qv -d "$db" -c "SELECT count(*) || '|' || count(DISTINCT version) FROM plr.history WHERE status = 'ok'")
	else
		rows=$(node -e 'const o=JSON.parse(process.argv[1]); console.log(o.rows.reduce((a,b)=>a+b,0))' "$out")
		hist=$(qv -d "$db" -c "SELECT count(*) || '|' || count(DISTINCT version) FROM migrate.history WHERE action = 'up'")
	fi
	[[ "$rows" == "$n" && "$hist" == "$n|$n" ]] && check_apply "$db" "$n" || st=fail
	[[ $st == ok ]] || { STATUS=1; echo "bench: concurrency $c x$k: rows=$rows history=$hist $out" >&2; }
	record concurrency wall "$c" "$k" "$rep" \
		"$(node -e 'console.log((JSON.parse(process.argv[1]).wall_ms/1000).toFixed(6))' "$out")" s "$st"
	record concurrency applied "$c" "$k" "$rep" "$rows" count "$st"
	printf '    %s x%s round %s: %s\n' "$c" "$k" "$rep" "$(node -e 'console.log(JSON.parse(process.argv[1]).wall_ms.toFixed(1)+" ms")' "$out")"
}

###########################################################################
# Section 6 (diagnostics): two server settings a DBA would use, measured
# last, each after a restart.
#
# - shared_preload_libraries = 'migrate': the first call of a C function
#   in a session loads its library, and the first library a backend loads
#   costs it about 75 page faults in the dynamic loader, whichever it is.
#   Preloaded, the postmaster loads it once and every backend inherits it.
# - huge pages: a new backend takes a page fault on every 4 kB page of
#   shared memory it touches for the first time, which on these virtual
#   machines is most of the first status() of a session.  PostgreSQL uses
#   huge pages when the kernel has them (huge_pages = try); this reserves
#   them (vm.nr_hugepages, root only) for the measurement and gives the
#   reservation back afterwards.
###########################################################################
HUGEPAGES_SAVED=""

section_settings()
{
	local rep k
	load_note settings
	step "6. diagnostics: shared_preload_libraries = 'migrate', then huge pages"
	for ((rep = 1; rep <= CONC_REPS; rep++)); do
		for k in 1 "$CONC_CLIENTS"; do
			conc_prepare migrate_preload "$k" "$rep"
		done
	done
	q -d postgres -c "ALTER SYSTEM SET shared_preload_libraries = 'migrate'"
	cluster_restart
	meta preload "$(qv -d postgres -c 'SHOW shared_preload_libraries')"
	checkpoint
	settings_cold preload
	for ((rep = 1; rep <= CONC_REPS; rep++)); do
		for k in 1 "$CONC_CLIENTS"; do
			conc_measure migrate_preload "$k" "$rep"
		done
	done

	if [[ $EUID -eq 0 && -w /proc/sys/vm/nr_hugepages ]]; then
		local need
		need=$(qv -d postgres -c 'SHOW shared_memory_size_in_huge_pages')
		HUGEPAGES_SAVED=$(cat /proc/sys/vm/nr_hugepages)
		echo $((HUGEPAGES_SAVED + need + 8)) >/proc/sys/vm/nr_hugepages
		# huge_pages = try (the default) uses them now that they exist;
		# whether it did shows in the kernel's count of free ones
		cluster_restart
		if (($(awk '/^HugePages_Free:/ { print $2 }' /proc/meminfo) <
			 $(awk '/^HugePages_Total:/ { print $2 }' /proc/meminfo) ||
			 $(awk '/^HugePages_Rsvd:/ { print $2 }' /proc/meminfo) > 0)); then
			meta huge_pages "$need pages of $(awk '/^Hugepagesize:/ { print $2 " kB" }' /proc/meminfo) reserved for shared memory (shared_preload_libraries = 'migrate' still set)"
			checkpoint
			settings_cold hugepages
		else
			note "huge pages: reserved, but the server did not use them; skipped"
		fi
	else
		note "huge pages: not root, skipped"
	fi
	q -d postgres -c "ALTER SYSTEM RESET shared_preload_libraries"
	cluster_restart
	restore_hugepages
}

cluster_restart()
{
	cluster_as_owner "$CLUSTER_DIR" "$PG_BINDIR/pg_ctl" restart -D "$PGDATA" -m fast -w -t 60 \
		-l "$CLUSTER_DIR/server.log" >/dev/null
}

restore_hugepages()
{
	if [[ -n "$HUGEPAGES_SAVED" ]]; then
		echo "$HUGEPAGES_SAVED" >/proc/sys/vm/nr_hugepages || true
		HUGEPAGES_SAVED=""
	fi
}

# settings_cold TAG: server time of the first call in new sessions, on the
# catalog of section 3: status() and a no-op run(); after a warm-up call
# that reads the catalog into the restarted server's shared buffers
settings_cold()
{
	local db=s3_catalog what
	q -d postgres -c "ALTER DATABASE $db SET log_min_duration_statement = 0"
	for what in status noop; do
		cold_calls "$db" "$(catalog_sql "$what")" "${what}_server_$1" \
			"${what}_server_cold_$1" 0
	done
	q -d postgres -c "ALTER DATABASE $db RESET log_min_duration_statement"
}

# catalog_sql WHAT: the call section 3 times, for "status" or "noop"
catalog_sql()
{
	if [[ $1 == status ]]; then
		echo 'SELECT count(*) FROM migrate.status()'
	else
		echo 'SELECT count(*) FROM migrate.run()'
	fi
}

# cold_calls DB SQL COMMAND_ID METRIC FIRST: SQL in new sessions, rounds
# FIRST..NOOP_REPS (a round 0 is a warm-up, not recorded), each call's
# server time from the statement log of DB (which must have
# log_min_duration_statement = 0)
cold_calls()
{
	local db=$1 sql=$2 rep off
	show_command catalog "$3" "$PSQL" -X -q -d "$db" -c "$sql"
	for ((rep = $5; rep <= NOOP_REPS; rep++)); do
		off=$(log_offset)
		q -d "$db" -c "$sql" >/dev/null || STATUS=1
		sleep 0.05
		((rep == 0)) || record catalog "$4" migrate "$CATALOG_N" "$rep" \
			"$(log_durations "$off" "$db" | sum_lines)" ms ok
	done
}

###########################################################################
# Section 7: CALL migrate.deploy(), one transaction per migration, against
# the contenders that also commit step by step: raw psql -f (autocommit, a
# commit per statement: the floor for committing each step) and dbmate (a
# transaction per migration, its default).  The migrations, commands,
# templates and preparation are section 1's (deploy's databases are
# registered before timing, as run()'s are); the rounds run the same way.
# Measured after section 6, which has put the server back on PostgreSQL's
# defaults and restarted it; the warm-up round comes first as everywhere.
###########################################################################
DEPLOY_CONTENDERS=(deploy rawf dbmate)

section_deploy()
{
	local n
	load_note deploy
	step "7. deploy: one transaction per migration: N = ${DEPLOY_NS[*]}"
	for n in "${DEPLOY_NS[@]}"; do
		# section 1's files for this N, or the same generated anew
		[[ -f "$WORK/apply/$n/raw.sql" ]] || node "$BENCH/gen.mjs" apply "$WORK/apply/$n" "$n"
	done

	apply_rounds deploy d DEPLOY_NS DEPLOY_ROUNDS DEPLOY_CONTENDERS
}

###########################################################################
# Machine facts.
###########################################################################
machine_facts()
{
	meta mode "$([[ $QUICK == 1 ]] && echo 'quick (BENCH_QUICK=1)' || echo full)"
	meta date "$(date -u '+%Y-%m-%d %H:%M UTC')"
	meta cpu "$(lscpu 2>/dev/null | sed -nE 's/^Model name: +//p' | head -n 1)"
	meta cores "$(nproc)"
	meta memory "$(free -g | awk '/^Mem:/ { print $2 " GiB" }')"
	meta kernel "$(uname -sr)"
	meta os "$(. /etc/os-release && echo "$PRETTY_NAME")"
	meta disk "$(df -h "$CLUSTER_DIR" | awk 'NR == 2 { print $1 " (" $2 ", " $5 " used)" }')"
	meta postgres "$(qv -d postgres -c 'SELECT version()')"
	meta psql "$("$PSQL" --version)"
	meta migrate "$(qv -d tpl_migrate -c "SELECT extversion FROM pg_extension WHERE extname = 'migrate'") (commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet HEAD -- src sql 2>/dev/null || echo ', with uncommitted changes in src/ or sql/'))"
	meta sqitch "$(sqitch --version 2>&1 | head -n 1), DBD::Pg $(perl -MDBD::Pg -e 'print $DBD::Pg::VERSION')"
	meta dbmate "$("$DBMATE" --version) (the linux-x64 binary of the npm package dbmate)"
	meta node_pg_migrate "node-pg-migrate $(node -p 'require(process.argv[1]).version' "$BENCH/node_modules/node-pg-migrate/package.json"), pg $(node -p 'require(process.argv[1]).version' "$BENCH/node_modules/pg/package.json"), Node.js $(node --version)"
	local s
	for s in fsync synchronous_commit full_page_writes wal_level shared_buffers \
		max_connections max_locks_per_transaction checkpoint_timeout max_wal_size; do
		meta "setting_$s" "$(qv -d postgres -c "SHOW $s")"
	done
}

###########################################################################
# Main.
###########################################################################
step "checking dependencies"
scripts/ensure_deps.sh
# shellcheck source=scripts/cluster.sh
. scripts/cluster.sh
ensure_bench_deps
PSQL=$PG_BINDIR/psql

step "building and installing the extension"
ext_build
ext_install

WORK=$(mktemp -d /tmp/migrate-bench.XXXXXX)
mkdir -p "$WORK/logs"
: >"$WORK/results.tsv"
: >"$WORK/meta.tsv"
: >"$WORK/commands.tsv"
ENVFILE=$WORK/cluster.env
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

step "starting a durable throwaway cluster"
cluster_start "$ENVFILE" --durable
# shellcheck disable=SC1090
. "$ENVFILE"
# scripts/cluster.sh caps max_connections at 40; the 64 concurrent callers
# need PostgreSQL's default, 100.  Everything else stays default.
q -d postgres -c "ALTER SYSTEM SET max_connections = 100"
cluster_restart

step "template databases"
make_templates
machine_facts

section_apply
section_noop
section_catalog
section_resources
section_concurrency
section_settings
section_deploy

load_note end
meta duration_s "$(awk -v a="$BENCH_T0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }')"
step "writing $OUT"
cp "$WORK/locks_migrate.err" "$WORK/report_locks_migrate.txt" 2>/dev/null || true
cp "$WORK/locks_raw.err" "$WORK/report_locks_raw.txt" 2>/dev/null || true
node "$BENCH/report.mjs" "$WORK" "$OUT"
echo
sed -n '/^## Targets/,/^## 1\./p' "$OUT" | sed '$d'
if ((STATUS != 0)); then
	echo "bench: some runs failed (marked FAIL in $OUT)" >&2
fi
exit "$STATUS"
