#!/usr/bin/env bash
#
# ensure_deps.sh
#	Check that the Debian packages needed to build and test migrate are
#	installed, and install the missing ones when we are root.
#
# Usage: scripts/ensure_deps.sh
#
# Needed: the PostgreSQL 15 server, client and server headers (PGXS,
# pg_regress, pg_isolation_regress, PostgreSQL::Test::Cluster), pgTAP for
# PostgreSQL 15, IPC::Run and prove for the Perl TAP tests, clang and
# libFuzzer's runtime for the fuzz targets (scripts/fuzz.sh), and a C
# toolchain.  Checked with dpkg-query, so a run with nothing missing is fast
# and does not touch the network.
#
# Also needed: the OS locale de_DE.UTF-8, for test/t/006_lc_messages.pl,
# which runs migrations with lc_messages = 'de_DE.UTF-8' (the server's
# German messages come with postgresql-15; the server accepts that setting
# only if the locale exists).  Its definition comes from the "locales"
# package; it is generated with localedef, which needs no /etc/locale.gen
# entry.  Checked with "locale -a", also fast and offline.  (Debian's
# locale-gen rebuilds the locale archive from /etc/locale.gen only, so a
# reconfiguration of "locales" may drop it again; the next run restores it.)
#
# As root: "apt-get update" then "apt-get install -y" of only the missing
# packages, then localedef if the locale is missing.  As anyone else: print
# what is missing and the commands that install it, and exit 1.  Exit 0
# means everything is there.

set -euo pipefail

PACKAGES=(
	postgresql-15
	postgresql-client-15
	postgresql-server-dev-15
	postgresql-15-pgtap
	libipc-run-perl
	perl
	clang-14
	libclang-rt-14-dev
	locales
)

# The locale test/t/006_lc_messages.pl needs, as localedef names it and as
# "locale -a" lists it.
LOCALE=de_DE.UTF-8
LOCALE_LISTED=de_DE.utf8
LOCALEDEF=(localedef -i de_DE -f UTF-8 "$LOCALE")

installed()
{
	[[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" == installed ]]
}

# Whether "locale -a" lists $LOCALE.  Its output is read whole first: with
# pipefail, "locale -a | grep -q" could fail on a SIGPIPE after a match.
locale_present()
{
	local all
	all=$(locale -a 2>/dev/null) || true
	grep -qix "$LOCALE_LISTED" <<<"$all"
}

if ! command -v dpkg-query >/dev/null 2>&1; then
	echo "ensure_deps: not a Debian system; make sure these (or their" \
		"equivalents) are installed: ${PACKAGES[*]} gcc make," \
		"and that the locale $LOCALE exists (${LOCALEDEF[*]})" >&2
	command -v pg_config >/dev/null 2>&1 && command -v make >/dev/null 2>&1 \
		&& command -v gcc >/dev/null 2>&1
	exit $?
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
	installed "$pkg" || missing+=("$pkg")
done
# A C compiler and make, however they got here; build-essential otherwise.
if ! installed build-essential &&
	! { command -v gcc >/dev/null 2>&1 && command -v make >/dev/null 2>&1; }; then
	missing+=(build-essential)
fi

missing_locale=0
locale_present || missing_locale=1

if [[ ${#missing[@]} -eq 0 ]] && ((missing_locale == 0)); then
	exit 0
fi

if [[ "$(id -u)" -ne 0 ]]; then
	# Packages first: localedef needs the definitions from "locales".
	if [[ ${#missing[@]} -gt 0 ]]; then
		cat >&2 <<-EOF
		ensure_deps: missing Debian packages: ${missing[*]}
		Install them with:
		    sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y ${missing[*]}
		EOF
	fi
	if ((missing_locale)); then
		cat >&2 <<-EOF
		ensure_deps: missing locale: $LOCALE
		Generate it with:
		    sudo ${LOCALEDEF[*]}
		EOF
	fi
	exit 1
fi

if [[ ${#missing[@]} -gt 0 ]]; then
	echo "ensure_deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get -o DPkg::Lock::Timeout=300 update
	apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends "${missing[@]}"

	# Check again: a package that apt-get did not install is a hard error
	# here, not a confusing build failure later.
	still=()
	for pkg in "${missing[@]}"; do
		installed "$pkg" || still+=("$pkg")
	done
	if [[ ${#still[@]} -gt 0 ]]; then
		echo "ensure_deps: still missing after apt-get install: ${still[*]}" >&2
		exit 1
	fi
fi

if ((missing_locale)); then
	echo "ensure_deps: generating locale $LOCALE"
	# localedef exits 1 for mere warnings: "locale -a" below is the test.
	"${LOCALEDEF[@]}" || true
	if ! locale_present; then
		echo "ensure_deps: locale $LOCALE still missing after: ${LOCALEDEF[*]}" >&2
		exit 1
	fi
fi
echo "ensure_deps: all dependencies installed"
