# coffer build. `make` builds bin/cofferd; `make run` and `make test` install what is missing first.
CC       ?= cc
# Builds use every core (2 in CI); the test runner itself stays sequential.
MAKEFLAGS += --jobs=$(shell nproc 2>/dev/null || echo 2)
PKGS     := libmicrohttpd libcrypto sqlite3 jansson expat zlib
WARN     := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wwrite-strings -Wvla -Werror
OPT      ?= -O2 -g
CFLAGS   += -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) -Isrc $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS   += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread

ifeq ($(SANITIZE)$(TSAN),11)
$(error SANITIZE=1 and TSAN=1 cannot share a build: pick one)
endif
ifeq ($(SANITIZE),1)
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
BUILD   := build/asan
BIN     := build/asan/bin
else ifeq ($(TSAN),1)
# ThreadSanitizer (gcc or CC=clang): -O1 because TSan is 5-15x slower anyway and -O2 blurs
# its stacks. Reports go to stderr, where the e2e fixtures look for them; scripts/test.sh sets
# TSAN_OPTIONS (tests/tsan.supp).
OPT     := -O1 -g
CFLAGS  += -fsanitize=thread -fno-omit-frame-pointer
LDFLAGS += -fsanitize=thread
BUILD   := build/tsan
BIN     := build/tsan/bin
else
BUILD   := build/default
BIN     := bin
endif

LIB_SRC  := $(sort $(wildcard src/core/*.c src/http/*.c src/s3/*.c src/admin/*.c src/auth/*.c src/meta/*.c src/blob/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
# The unit tests that start threads: the ones `make test` also runs under ThreadSanitizer.
TSAN_UNIT := $(patsubst tests/unit/%.c,build/tsan/tests/%,$(shell grep -lE \
               'pthread_create|cf_workq_new|cf_s3_gc_start|cf_s3_lifecycle_start' $(UNIT_SRC) 2>/dev/null))

.PHONY: all run test unit e2e deps test-deps clean checksrc format bench
all: $(BIN)/cofferd $(BIN)/coffer

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libcoffer.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BIN)/cofferd: $(BUILD)/src/main.o $(BUILD)/libcoffer.a
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

CLI_SRC  := $(sort $(wildcard src/cli/*.c))
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o)

$(BIN)/coffer: $(CLI_OBJ) $(BUILD)/libcoffer.a
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(shell pkg-config --libs libcurl 2>/dev/null)

# Unit tests may #include the .c under test; they link the rest of the library.
$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libcoffer.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Wno-missing-prototypes -Itests/unit -o $@ $< $(BUILD)/libcoffer.a $(LDFLAGS) $(LDLIBS) $(shell pkg-config --libs libcurl 2>/dev/null) -lcmocka

deps:
	@scripts/install-deps.sh build

test-deps:
	@scripts/install-deps.sh test

run: deps
	@$(MAKE) --no-print-directory all
	@scripts/run.sh

unit: $(UNIT_BIN)

# Everything, twice where it matters: the unit tests of the normal and of the ASan+UBSan build,
# every fuzz target for 20 s (after replaying its regressions), and the end-to-end suites
# against both servers. The ThreadSanitizer build runs only what has threads: the unit tests
# that start some and the concurrency end-to-end tests (scripts/test.sh picks them).
test: test-deps
	@$(MAKE) --no-print-directory SANITIZE= TSAN= all unit
	@$(MAKE) --no-print-directory SANITIZE=1 TSAN= all unit
	@$(MAKE) --no-print-directory SANITIZE= TSAN=1 build/tsan/bin/cofferd $(TSAN_UNIT)
	@scripts/checksrc.sh
	@$(MAKE) --no-print-directory fuzz-smoke
	@COFFER_BIN=$(CURDIR)/bin/cofferd COFFER_SAN_BIN=$(CURDIR)/build/asan/bin/cofferd \
	  COFFER_TSAN_BIN=$(CURDIR)/build/tsan/bin/cofferd \
	  COFFER_CLI=$(CURDIR)/bin/coffer scripts/test.sh \
	  $(UNIT_SRC:tests/unit/%.c=build/default/tests/%) $(UNIT_SRC:tests/unit/%.c=build/asan/tests/%) \
	  $(TSAN_UNIT)

checksrc:
	@scripts/checksrc.sh

# cofferd beside a private nginx on the same files (never part of `make test`; bench/run.py
# --help lists the options): make bench BENCH_ARGS=--quick is a smoke run of a few minutes.
bench:
	@scripts/install-deps.sh bench
	@$(MAKE) --no-print-directory all
	@/usr/bin/python3 bench/run.py --cofferd $(CURDIR)/$(BIN)/cofferd $(BENCH_ARGS)

format:
	clang-format -i $$(git ls-files 'src/*.c' 'src/*.h' 'tests/unit/*.c')

# ---- fuzzing: libFuzzer targets in fuzz/, against the library rebuilt with clang, coverage
# and ASan+UBSan in build/fuzz/. `make fuzz` runs each target FUZZ_SECONDS (60) with its
# corpus; `make fuzz-smoke` replays fuzz/regressions/ then runs each for FUZZ_SECONDS (20) on a
# temporary copy of the corpus. Both fail on any crash, leak or timeout (fuzz/run.sh).
.PHONY: fuzz fuzz-smoke fuzz-build
FUZZ_CC      ?= clang
FUZZ_BUILD   := build/fuzz
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS  := -std=c11 -D_GNU_SOURCE -O1 -g $(WARN) -Isrc $(FUZZ_SAN) \
                $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=$(FUZZ_BUILD)/%.o)
FUZZ_BIN     := $(patsubst fuzz/%.c,$(FUZZ_BUILD)/bin/%,$(sort $(wildcard fuzz/fuzz_*.c)))

$(FUZZ_BUILD)/src/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(FUZZ_BUILD)/libcoffer.a: $(FUZZ_LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(FUZZ_BUILD)/bin/%: fuzz/%.c fuzz/fuzz.h $(FUZZ_BUILD)/libcoffer.a
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_BUILD)/libcoffer.a $(LDLIBS)

fuzz-build: $(FUZZ_BIN)

fuzz: fuzz-build
	@FUZZ_SECONDS=$(or $(FUZZ_SECONDS),60) fuzz/run.sh full $(FUZZ_BIN)

fuzz-smoke: fuzz-build
	@FUZZ_SECONDS=$(or $(FUZZ_SECONDS),20) fuzz/run.sh smoke $(FUZZ_BIN)

-include $(FUZZ_LIB_OBJ:.o=.d)

clean:
	rm -rf build bin

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(BUILD)/src/main.d
