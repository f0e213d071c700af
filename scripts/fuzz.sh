#!/usr/bin/env bash
#
# fuzz.sh
#	Build the libFuzzer targets of test/fuzz with clang and run each for a
#	bounded time; fail on any crash, sanitizer report or broken property.
#
# Usage: scripts/fuzz.sh [target ...]	(default: every test/fuzz/*_fuzz.c)
#
# Environment:
#	FUZZ_SECONDS	how long each target runs (default 30)
#	CLANG		the compiler (default: clang-14, else clang)
#	FUZZ_OUT	where builds, the working corpus and crash files go
#			(default: a new directory under /tmp, removed on success)
#
# Each target test/fuzz/<name>_fuzz.c is linked with the plain-C sources it
# names in test/fuzz/<name>_fuzz.sources (default: src/<name>_order.c),
# built with -fsanitize=fuzzer,address,undefined, and started on a copy of
# its seed corpus test/fuzz/corpus/<name>: new inputs go to the copy, never
# into the repository.  On a crash, the input that caused it is kept in
# FUZZ_OUT and named in the output; reproduce it with
#	$FUZZ_OUT/<name>_fuzz <crash file>
#
# Needs clang and libFuzzer's runtime (Debian: clang-14 libclang-rt-14-dev;
# scripts/ensure_deps.sh installs them).  Runs as any user.

set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

FUZZ_SECONDS=${FUZZ_SECONDS:-30}
if [[ -z "${CLANG:-}" ]]; then
	if command -v clang-14 >/dev/null 2>&1; then
		CLANG=clang-14
	else
		CLANG=clang
	fi
fi
if ! command -v "$CLANG" >/dev/null 2>&1; then
	echo "fuzz.sh: $CLANG not found (Debian: apt-get install clang-14 libclang-rt-14-dev)" >&2
	exit 1
fi

KEEP=0
if [[ -n "${FUZZ_OUT:-}" ]]; then
	KEEP=1
	mkdir -p "$FUZZ_OUT"
else
	FUZZ_OUT=$(mktemp -d /tmp/migrate-fuzz.XXXXXX)
fi

targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
	for f in test/fuzz/*_fuzz.c; do
		targets+=("$(basename "$f" _fuzz.c)")
	done
fi

status=0
for name in "${targets[@]}"; do
	src=test/fuzz/${name}_fuzz.c
	bin=$FUZZ_OUT/${name}_fuzz
	seeds=test/fuzz/corpus/$name
	work=$FUZZ_OUT/corpus_$name
	log=$FUZZ_OUT/${name}_fuzz.log
	sources=("src/${name}_order.c")
	if [[ -f test/fuzz/${name}_fuzz.sources ]]; then
		mapfile -t sources < "test/fuzz/${name}_fuzz.sources"
	fi

	echo "fuzz.sh: building $name with $CLANG"
	"$CLANG" -g -O1 -Wall -Wextra -Werror \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		-Isrc -o "$bin" "$src" "${sources[@]}"

	mkdir -p "$work"
	echo "fuzz.sh: running $name for ${FUZZ_SECONDS}s ($(find "$seeds" -type f | wc -l) seeds)"
	rc=0
	# The working corpus first: libFuzzer adds new inputs to it.
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	ASAN_OPTIONS=abort_on_error=1:detect_leaks=1 \
		"$bin" -max_total_time="$FUZZ_SECONDS" -max_len=600 -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$FUZZ_OUT/${name}-" "$work" "$seeds" \
		>"$log" 2>&1 || rc=$?

	# A summary: executions, corpus, coverage.
	grep -E '^(stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb|stat::new_units_added)' "$log" || true
	grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1 || true
	if ((rc != 0)); then
		status=1
		echo "fuzz.sh: $name FAILED (exit $rc); the end of its log:" >&2
		tail -n 60 "$log" >&2
		find "$FUZZ_OUT" -maxdepth 1 -name "${name}-*" -printf 'fuzz.sh: crash input: %p\n' >&2
		KEEP=1
	else
		echo "fuzz.sh: $name ok"
	fi
done

if ((KEEP)); then
	echo "fuzz.sh: builds, corpus and logs kept in $FUZZ_OUT"
else
	rm -rf "$FUZZ_OUT"
fi
exit "$status"
