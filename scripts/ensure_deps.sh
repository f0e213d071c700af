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
# As root: "apt-get update" then "apt-get install -y" of only what is
# missing.  As anyone else: print what is missing and the command that
# installs it, and exit 1.  Exit 0 means everything is there.

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
)

installed()
{
	[[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" == installed ]]
}

if ! command -v dpkg-query >/dev/null 2>&1; then
	echo "ensure_deps: not a Debian system; make sure these (or their" \
		"equivalents) are installed: ${PACKAGES[*]} gcc make" >&2
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

if [[ ${#missing[@]} -eq 0 ]]; then
	exit 0
fi

if [[ "$(id -u)" -ne 0 ]]; then
	cat >&2 <<-EOF
	ensure_deps: missing Debian packages: ${missing[*]}
	Install them with:
	    sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y ${missing[*]}
	EOF
	exit 1
fi

echo "ensure_deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=300 update
apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends "${missing[@]}"

# Check again: a package that apt-get did not install is a hard error here,
# not a confusing build failure later.
still=()
for pkg in "${missing[@]}"; do
	installed "$pkg" || still+=("$pkg")
done
if [[ ${#still[@]} -gt 0 ]]; then
	echo "ensure_deps: still missing after apt-get install: ${still[*]}" >&2
	exit 1
fi
echo "ensure_deps: all dependencies installed"
