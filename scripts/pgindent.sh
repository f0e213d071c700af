#!/usr/bin/env bash
#
# pgindent.sh
#	Lays out migrate's C code as PostgreSQL's pgindent does: pg_bsd_indent
#	(Debian package pg-bsd-indent) with pgindent's options and its
#	post-processing, and a typedef list made from the server's headers and
#	ours.
#
# Usage: scripts/pgindent.sh [--check] [FILE...]	(default: src/*.[ch])
#	--check		change nothing; list the files whose layout differs
#			and exit 1 if there are any
#
# PostgreSQL's own typedefs.list comes from its buildfarm; here the list
# is extracted from the installed server headers (pg_config
# --includedir-server) and from src/: every name a typedef declares, and
# the C library's types that PostgreSQL's list has.
# pgindent's pre-processing only protects constructs we do not use (//
# comments, extern "C" blocks, CATALOG() lines, "/* ---" comments); of
# its post-processing, what applies to us is kept: one space before the
# "*" of a pointer return type.

set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

INDENT_OPTS=(-bad -bap -bbb -bc -bl -cli1 -cp33 -cdb -nce -d0 -di12 -nfc1
	-i4 -l79 -lp -lpl -nip -npro -sac -tpg -ts4)

check=0
if [[ "${1:-}" == "--check" ]]; then
	check=1
	shift
fi
if [[ $# -eq 0 ]]; then
	set -- src/*.c src/*.h
fi

if ! command -v pg_bsd_indent >/dev/null 2>&1; then
	echo "pgindent.sh: pg_bsd_indent not found; install the Debian package pg-bsd-indent" >&2
	exit 1
fi

PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
[[ -x "$PG_CONFIG" ]] || PG_CONFIG=pg_config
incdir=$("$PG_CONFIG" --includedir-server)

tmp=$(mktemp -d /tmp/pgindent.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# Every name declared by a typedef: "typedef ... Name;", "} Name;" closing
# a typedef'd struct, union or enum, and "typedef ... (*Name) (...)".
# pgindent leaves out the words in the grep below.
find "$incdir" src -name '*.[ch]' -print0 |
	xargs -0 cat |
	perl -0777 -ne '
		s{/\*.*?\*/}{}gs;
		# typedef struct|union|enum [tag] { ... } Name;
		while (/\btypedef\s+(?:struct|union|enum)\s*\w*\s*(\{(?:[^{}]++|(?1))*\})\s*(\w+)/g) {
			print "$2\n";
		}
		# typedef ... (*Name) (...);  and  typedef ... Name;
		while (/\btypedef\b([^;{]*);/g) {
			my $d = $1;
			if ($d =~ /\(\s*\*\s*(\w+)\s*\)/) { print "$1\n"; next; }
			print "$1\n" if $d =~ /(\w+)\s*(?:\[[^\]]*\]\s*)*$/;
		}' |
	grep -vxE 'ANY|FD_SET|U|abs|allocfunc|boolean|date|digit|ilist|interval|iterator|other|pointer|printfunc|reference|string|timestamp|type|wrap' |
	sort -u >"$tmp/typedefs"
# and what PostgreSQL's list has from the C library
printf '%s\n' bool size_t ssize_t va_list FILE >>"$tmp/typedefs"

status=0
for f in "$@"; do
	cp "$f" "$tmp/src"
	# from $tmp: pg_bsd_indent leaves a backup file in the working directory
	(cd "$tmp" && pg_bsd_indent "${INDENT_OPTS[@]}" -U"$tmp/typedefs" src 2>"$tmp/err") ||
		{ cat "$tmp/err" >&2; exit 1; }
	if [[ -s "$tmp/err" ]]; then
		echo "pgindent.sh: $f:" >&2
		cat "$tmp/err" >&2
		exit 1
	fi
	# pgindent's post-processing: one space before '*' of a return type
	perl -pi -e 's/^([A-Za-z_]\S*)[ \t]+\*$/$1 */' "$tmp/src"
	if ! cmp -s "$f" "$tmp/src"; then
		if ((check)); then
			echo "$f"
			status=1
		else
			cp "$tmp/src" "$f"
		fi
	fi
done
exit "$status"
