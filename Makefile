# migrate: schema migrations kept and applied inside PostgreSQL.
#
# Two commands for a newcomer (see README.md):
#   make demo   a throwaway cluster with the example migrations applied
#   make test   every suite against a throwaway cluster, on a fresh machine
#
# And, not part of make test: make bench (bench/README.md).
#
# The rest is ordinary PGXS: make, make install, make installcheck.

EXTENSION = migrate
MODULE_big = migrate
OBJS = \
	src/migrate.o \
	src/sql_api.o \
	src/deploy.o \
	src/deploy_worker.o \
	src/change.o \
	src/registration.o \
	src/plan.o \
	src/adopt.o \
	src/lint.o \
	src/locks.o \
	src/runner.o \
	src/toplevel.o \
	src/catalog.o \
	src/catalog_due.o \
	src/catalog_report.o \
	src/migration.o \
	src/script.o \
	src/lock.o \
	src/guard.o \
	src/version.o \
	src/version_order.o

DATA = $(wildcard sql/migrate--*.sql)

# Warnings are errors.  PostgreSQL's own headers trip -Wunused-parameter,
# -Wsign-compare and -Wmissing-field-initializers, so those stay off.
PG_CFLAGS = -Wextra -Werror -Wno-unused-parameter -Wno-sign-compare \
	-Wno-missing-field-initializers

REGRESS = $(sort $(patsubst test/sql/%.sql,%,$(wildcard test/sql/*.sql)))
REGRESS_OPTS = --inputdir=test --outputdir=test

# Isolation specs (test/specs/*.spec, expected output in test/expected).
ISOLATION = $(sort $(patsubst test/specs/%.spec,%,$(wildcard test/specs/*.spec)))
ISOLATION_OPTS = --inputdir=test --outputdir=test/output_iso

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)
ifeq ($(PGXS),)
# Without the server headers only the newcomer targets below can work:
# they install what is missing first.
all install installcheck:
	@echo "pg_config --pgxs found nothing: run 'make test' or 'make demo'," \
	      "which install postgresql-server-dev-15 first" >&2; exit 1
else
include $(PGXS)

# migrate-bundle (bundle/, SPEC section 8): a standalone program, libc
# only, built by its own Makefile and installed next to the server's
# programs.  It is not PGXS's PROGRAM, which cannot sit beside MODULE_big.
all: bundle-all

bundle-all:
	$(MAKE) -C bundle CC='$(CC)'

install: install-bundle

install-bundle: bundle-all
	$(MKDIR_P) '$(DESTDIR)$(bindir)'
	$(INSTALL_PROGRAM) bundle/migrate-bundle '$(DESTDIR)$(bindir)/migrate-bundle'

uninstall: uninstall-bundle

uninstall-bundle:
	rm -f '$(DESTDIR)$(bindir)/migrate-bundle'

clean: clean-bundle

clean-bundle:
	$(MAKE) -C bundle clean

.PHONY: bundle-all install-bundle uninstall-bundle clean-bundle
endif

# PGXS tracks no header dependencies (unless the server was configured with
# --enable-depend): every object depends on every header of ours, so that a
# changed struct never leaves a stale object behind.
$(OBJS) $(OBJS:.o=.bc): $(wildcard src/*.h)

EXTRA_CLEAN = test/results test/regression.diffs test/regression.out tmp_check \
	test/output_iso

.PHONY: test demo demo-stop bench
test:
	scripts/test.sh

demo:
	scripts/demo.sh

demo-stop:
	scripts/demo.sh stop

bench:
	bench/run.sh
