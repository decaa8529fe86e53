# mod_md: build, test, demo.
#
#   make          build build/mod_md.so and build/a2md
#   make test     install what is missing, build, run unit and integration tests
#   make demo     run the main job against a local pebble CA (see README)
#   make install  copy mod_md.so and the a2enmod files into the system Apache, a2md and its man page
#
# Every target that needs Debian packages first runs scripts/install-deps.sh (idempotent).

BUILD   ?= build
APXS    ?= apxs
CC      ?= gcc
PYTHON  ?= /usr/bin/python3
DEPS_STAMP := $(BUILD)/.deps-ok

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
        -Wmissing-declarations -Wpointer-arith -Wformat=2 -Wwrite-strings -Wundef -Wvla \
        -Wconversion -Wno-sign-conversion -Wcast-qual -Wnull-dereference \
        -Wimplicit-fallthrough

# Compiler and linker flags come from pkg-config and apxs, which exist only once
# scripts/install-deps.sh has run. They are written to $(FLAGS_MK) by a rule that first runs the
# script; make builds that file before it reads the rest of its input (and starts over), so the
# very first `make` on a fresh machine already compiles with the right include paths.
FLAGS_MK := $(BUILD)/flags.mk
ifeq ($(filter clean format,$(MAKECMDGOALS)),)
include $(FLAGS_MK)
endif

OPT     ?= -O2 -g
INCS    := -Isrc/core -Isrc/http -Isrc/store -Isrc/acme -Isrc/reg
CFLAGS  := -std=c11 -D_GNU_SOURCE $(OPT) -fPIC $(WARN) $(INCS) $(APR_CFLAGS) $(OTHER_CFLAGS) \
           $(EXTRA_CFLAGS)
MODCFLAGS := $(CFLAGS) -Isrc/mod -I$(HTTPD_INC)
LIBS    := $(OTHER_LIBS) $(APR_LIBS) -lpthread

LIB_SRC := $(wildcard src/core/*.c src/http/*.c src/store/*.c src/acme/*.c src/reg/*.c)
MOD_SRC := $(wildcard src/mod/*.c)
CLI_SRC := $(wildcard src/cli/*.c)
UNIT_SRC := $(wildcard test/unit/test_*.c)

LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
MOD_OBJ := $(MOD_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/%.o)
UNIT_OBJ := $(UNIT_SRC:%.c=$(BUILD)/%.o)
HDR     := $(wildcard src/*/*.h)

LIBMD   := $(BUILD)/libmd.a
MODULE  := $(BUILD)/mod_md.so
A2MD    := $(BUILD)/a2md
UNIT    := $(BUILD)/unit-tests


.PHONY: cli-e2e check-lognos all deps test unit integration demo install uninstall clean lint format asan asan-build asan-integration headers bench bench-ocsp bench-hot bench-etcd bench-leaks bench-scale \
        fuzz fuzz-bins fuzz-smoke fuzz-long

all: $(DEPS_STAMP) $(MODULE) $(A2MD)

deps: $(DEPS_STAMP)
$(DEPS_STAMP): scripts/install-deps.sh
	@mkdir -p $(BUILD)
	@bash scripts/install-deps.sh
	@touch $@

$(FLAGS_MK): $(DEPS_STAMP) Makefile
	@{ echo "APR_CFLAGS := $$(pkg-config --cflags apr-1 apr-util-1)"; \
	   echo "APR_LIBS := $$(pkg-config --libs apr-1 apr-util-1)"; \
	   echo "OTHER_CFLAGS := $$(pkg-config --cflags openssl libcurl jansson)"; \
	   echo "OTHER_LIBS := $$(pkg-config --libs openssl libcurl jansson)"; \
	   echo "HTTPD_INC := $$($(APXS) -q INCLUDEDIR)"; \
	   echo "CHECK_LIBS := $$(pkg-config --libs check)"; } > $@.tmp
	@grep -q '^HTTPD_INC := /' $@.tmp || { echo "flags: apxs -q INCLUDEDIR failed" >&2; exit 1; }
	@mv $@.tmp $@

$(BUILD)/src/mod/%.o: src/mod/%.c $(HDR) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	@echo "  CC $<"
	@$(CC) $(MODCFLAGS) -c $< -o $@

$(BUILD)/%.o: %.c $(HDR) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	@echo "  CC $<"
	@$(CC) $(CFLAGS) -c $< -o $@

$(LIBMD): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(MODULE): $(MOD_OBJ) $(LIBMD)
	$(CC) $(EXTRA_LDFLAGS) -shared -o $@ $(MOD_OBJ) $(LIBMD) $(LIBS)

$(A2MD): $(CLI_OBJ) $(LIBMD)
	$(CC) $(EXTRA_LDFLAGS) -o $@ $(CLI_OBJ) $(LIBMD) $(LIBS)

$(BUILD)/test/unit/%.o: test/unit/%.c $(HDR) test/unit/unit.h | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	@echo "  CC $<"
	@$(CC) $(CFLAGS) -Wno-missing-prototypes -Wno-missing-declarations -c $< -o $@

$(UNIT): $(UNIT_OBJ) $(LIBMD)
	$(CC) $(EXTRA_LDFLAGS) -o $@ $(UNIT_OBJ) $(LIBMD) $(CHECK_LIBS) $(LIBS)

unit: $(UNIT)
	$(UNIT)

integration: all
	cd test/integration && $(PYTHON) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

test: all unit check-lognos fuzz-smoke cli-e2e integration

demo: all
	@bash scripts/demo.sh

bench-ocsp: all
	@bash bench/ocsp.sh

bench-hot: all
	@bash bench/hot.sh

bench: all
	@bash bench/startup.sh

bench-etcd: all
	@bash bench/etcd.sh

bench-leaks: all
	@bash bench/leaks.sh

bench-scale: all
	@bash bench/scale.sh

# Headers compile on their own (STYLE.md, Layers).
headers: | $(DEPS_STAMP)
	@for h in src/core/*.h src/http/*.h src/store/*.h src/acme/*.h src/reg/*.h; do \
	  echo "#include \"$$(basename $$h)\"" | $(CC) $(CFLAGS) -x c -fsyntax-only - || exit 1; done
	@for h in src/mod/*.h; do \
	  echo "#include \"$$(basename $$h)\"" | $(CC) $(MODCFLAGS) -x c -fsyntax-only - || exit 1; done
	@echo "headers: all compile on their own"

# Sanitizers (docs/robustness.md, Sanitizers): module, a2md and unit tests built with ASan and
# UBSan in build-asan/, then the unit tests run under them. UBSan findings abort (no recovery),
# so a finding fails the run. The module needs libasan preloaded into Apache: asan-integration
# runs the pytest suite that way (MD_ASAN=1, see test/integration/harness.py).
ASAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined \
              -fno-omit-frame-pointer
ASAN_ENV   := ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1 \
              UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

asan-build: $(DEPS_STAMP)
	$(MAKE) BUILD=build-asan OPT="$(ASAN_FLAGS)" EXTRA_LDFLAGS="-fsanitize=address,undefined" \
	    build-asan/unit-tests build-asan/a2md build-asan/mod_md.so

asan: asan-build
	$(ASAN_ENV) build-asan/unit-tests

asan-integration: asan-build
	cd test/integration && MD_ASAN=1 nice $(PYTHON) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

# libFuzzer targets (test/fuzz/, docs/robustness.md): clang 14 with ASan and UBSan, into
# build-fuzz/. The library is compiled with the same sanitizers and coverage; src/http/md_http.c is
# replaced by the scripted client test/fuzz/fuzz_http.c.
FUZZ_BUILD   := build-fuzz
FUZZ_CC      ?= clang-14
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
                -fno-omit-frame-pointer
FUZZ_NAMES   := $(patsubst test/fuzz/fuzz_%.c,%,$(filter-out test/fuzz/fuzz_common.c \
                  test/fuzz/fuzz_http.c,$(wildcard test/fuzz/fuzz_*.c)))
FUZZ_BINS    := $(FUZZ_NAMES:%=$(FUZZ_BUILD)/fuzz_%)
FUZZ_SUPPORT := $(BUILD)/test/fuzz/fuzz_common.o $(BUILD)/test/fuzz/fuzz_http.o
FUZZ_LIB_OBJ := $(filter-out $(BUILD)/src/http/md_http.o,$(LIB_OBJ))
# fuzz-smoke: seconds per target; fuzz-long: seconds per target, and runs (-1: no limit)
FUZZ_SMOKE_TIME ?= 12
FUZZ_TIME ?= 600
FUZZ_RUNS ?= -1
FUZZ_OPTS := -rss_limit_mb=2048 -timeout=120 -max_len=65536 -print_final_stats=1

fuzz:
	$(MAKE) BUILD=$(FUZZ_BUILD) CC=$(FUZZ_CC) \
	    OPT="-O1 -g -fsanitize=fuzzer-no-link $(FUZZ_SAN)" fuzz-bins

$(BUILD)/test/fuzz/%.o: test/fuzz/%.c test/fuzz/fuzz.h $(HDR) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	@echo "  CC $<"
	@$(CC) $(CFLAGS) -Isrc/mod -c $< -o $@

.PRECIOUS: $(BUILD)/test/fuzz/%.o
fuzz-bins: $(FUZZ_BINS)

$(FUZZ_BUILD)/fuzz_%: $(BUILD)/test/fuzz/fuzz_%.o $(FUZZ_SUPPORT) $(FUZZ_LIB_OBJ)
	$(CC) -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $^ $(LIBS)

# Every target for FUZZ_SMOKE_TIME seconds from its seeds; a crash, leak or UB fails the build.
# New inputs go to build-fuzz/corpus/<target>, never into the committed seeds.
fuzz-smoke: fuzz
	@for t in $(FUZZ_NAMES); do \
	  mkdir -p $(FUZZ_BUILD)/corpus/$$t $(FUZZ_BUILD)/artifacts; \
	  echo "fuzz-smoke: $$t ($(FUZZ_SMOKE_TIME)s)"; \
	  $(FUZZ_BUILD)/fuzz_$$t $(FUZZ_OPTS) -max_total_time=$(FUZZ_SMOKE_TIME) \
	    -artifact_prefix=$(FUZZ_BUILD)/artifacts/$$t- \
	    $(FUZZ_BUILD)/corpus/$$t test/fuzz/corpus/$$t > $(FUZZ_BUILD)/fuzz-$$t.log 2>&1 \
	    || { tail -n 60 $(FUZZ_BUILD)/fuzz-$$t.log; echo "fuzz-smoke: $$t FAILED" >&2; exit 1; }; \
	  grep -h "stat::number_of_executed_units\|Done " $(FUZZ_BUILD)/fuzz-$$t.log | tr '\n' ' '; \
	  echo; done

# Long runs: FUZZ_TIME seconds (or FUZZ_RUNS executions) per target, FUZZ_TARGETS to choose.
FUZZ_TARGETS ?= $(FUZZ_NAMES)
fuzz-long: fuzz
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_BUILD)/corpus/$$t $(FUZZ_BUILD)/artifacts; \
	  echo "fuzz-long: $$t"; \
	  nice $(FUZZ_BUILD)/fuzz_$$t $(FUZZ_OPTS) -max_total_time=$(FUZZ_TIME) -runs=$(FUZZ_RUNS) \
	    -artifact_prefix=$(FUZZ_BUILD)/artifacts/$$t- \
	    $(FUZZ_BUILD)/corpus/$$t test/fuzz/corpus/$$t > $(FUZZ_BUILD)/fuzz-long-$$t.log 2>&1 \
	    || { tail -n 60 $(FUZZ_BUILD)/fuzz-long-$$t.log; echo "fuzz-long: $$t FAILED" >&2; \
	         exit 1; }; \
	  grep -h "stat::number_of_executed_units\|Done " $(FUZZ_BUILD)/fuzz-long-$$t.log \
	    | tr '\n' ' '; echo; done

lint: | $(DEPS_STAMP)
	cppcheck --std=c11 --enable=warning,portability,performance --inline-suppr \
	  --suppress=missingIncludeSystem --error-exitcode=1 --include=test/tools/cppcheck.h \
	  $(INCS) -Isrc/mod src

format:
	clang-format -i src/*/*.c src/*/*.h test/unit/*.c test/fuzz/*.c test/fuzz/*.h

install: all
	bash scripts/install-module.sh install

uninstall:
	bash scripts/install-module.sh uninstall

clean:
	rm -rf $(BUILD) build-asan build-fuzz

check-lognos:
	$(PYTHON) test/tools/check_lognos.py

# a2md against a real pebble: the ACME client end to end without Apache
cli-e2e: $(A2MD)
	bash test/tools/acme_e2e.sh $(A2MD)
