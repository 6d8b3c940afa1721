# coffer build. `make` builds bin/cofferd; `make run` and `make test` install what is missing first.
CC       ?= cc
PKGS     := libmicrohttpd libcrypto sqlite3 jansson expat zlib
WARN     := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wwrite-strings -Wvla -Werror
OPT      ?= -O2 -g
CFLAGS   += -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) -Isrc $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS   += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread

ifeq ($(SANITIZE),1)
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
BUILD   := build/asan
BIN     := build/asan/bin
else
BUILD   := build/default
BIN     := bin
endif

LIB_SRC  := $(sort $(wildcard src/core/*.c src/http/*.c src/s3/*.c src/admin/*.c src/auth/*.c src/meta/*.c src/blob/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

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

test: test-deps
	@$(MAKE) --no-print-directory all unit
	@scripts/checksrc.sh
	@COFFER_BIN=$(CURDIR)/$(BIN)/cofferd COFFER_CLI=$(CURDIR)/$(BIN)/coffer scripts/test.sh $(UNIT_BIN)

checksrc:
	@scripts/checksrc.sh

format:
	clang-format -i $$(git ls-files 'src/*.c' 'src/*.h' 'tests/unit/*.c')

clean:
	rm -rf build bin

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(BUILD)/src/main.d
