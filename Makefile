# Makefile: the one, non-recursive build of ofs.
#
# libcommon/*.c becomes build/libcommon.a; every cmd/ofs-NAME/ folder
# becomes bin/ofs-NAME, found by itself; tests/unit/test_*.c become TAP
# programs; tests/fuzz/fuzz_*.c become libFuzzer targets (clang).
# Variants: SANITIZE=1 (ASan+UBSan), COVERAGE=1, CC=clang. A change of
# variant rebuilds everything (build/flags records the last one), so bin/
# always holds binaries of the variant asked for.

include config.mk
-include config.local.mk

# Where objects (O) and programs (B) go; separate trees can build side by side.
O ?= build
B ?= bin

.DEFAULT_GOAL := all
SHELL := /bin/bash
.SECONDARY:
.DELETE_ON_ERROR:

# Quiet by default; make V=1 shows whole command lines.
ifneq ($(V),1)
  Q := @
  say = @printf '  %-6s %s\n' $(1) $(2);
endif

ifeq ($(SANITIZE),1)
  SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
  OPT := -O1 -g
endif
ifeq ($(COVERAGE),1)
  COVFLAGS := --coverage
  OPT := -O0 -g
endif

ALL_CFLAGS  = $(CSTD) $(WARN) $(CFLAGS) $(SANFLAGS) $(COVFLAGS) -Ilibcommon $(PKG_CFLAGS)
ALL_LDFLAGS = $(LDFLAGS) $(SANFLAGS) $(COVFLAGS)
PKG_CFLAGS  = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# libcurl is loaded on first use (libcommon/curlapi.c), not linked.
PKG_LIBS    = $(shell pkg-config --libs $(filter-out libcurl,$(PKGS)) 2>/dev/null) -ldl -lm

# ---- sources -----------------------------------------------------------
LIB_SRC  := $(sort $(wildcard libcommon/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(O)/%.o)
LIB      := $(O)/libcommon.a

TOOLS    := $(sort $(patsubst cmd/%/,%,$(wildcard cmd/ofs-*/)))
BINS     := $(TOOLS:%=$(B)/%)
TOOL_OBJ  = $(patsubst %.c,$(O)/%.o,$(wildcard cmd/$(1)/*.c))

SHOP_SRC := $(sort $(wildcard examples/shop/*.c))
SHOP_OBJ := $(SHOP_SRC:%.c=$(O)/%.o)
SHOP     := $(if $(SHOP_SRC),$(B)/shopd)

UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:%.c=$(O)/%)

BENCH_SRC := $(sort $(wildcard tests/bench/*.c))
BENCH_BIN := $(BENCH_SRC:%.c=$(O)/%)

FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(O)/fuzz/%)
FUZZ_LIB_OBJ := $(patsubst libcommon/%.c,$(O)/fuzz/lib/%.o,$(filter-out libcommon/main.c,$(LIB_SRC)))
FUZZ_CC  ?= clang
FUZZ_SECONDS ?= 30
FUZZ_FLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -g -O1

MANPAGES := $(sort $(wildcard man/*.1 man/*.7))
SCRIPTS  := .ci/run .ci/deps completions/gen tests/run-test tests/helpers.bash tests/deploy.bash tests/scale.bash tests/saga.bash $(wildcard tests/bench/*.sh) \
            $(wildcard examples/*.sh) $(wildcard examples/shop/*.sh)

# ---- set-up ------------------------------------------------------------
.PHONY: all deps check unit bats bench demo install uninstall clean fuzz lint completions

deps:
	@sh .ci/deps build test

all: $(BINS) $(SHOP)

# Record the variant; rebuild everything when it changes.
$(O)/flags: FORCE | deps
	@mkdir -p $(O)
	@echo '$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS)' > $(O)/flags.new
	@cmp -s $(O)/flags.new $(O)/flags || mv $(O)/flags.new $(O)/flags
	@rm -f $(O)/flags.new
FORCE:

$(O)/%.o: %.c $(O)/flags
	@mkdir -p $(@D)
	$(call say,CC,$<)$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(LIB): $(LIB_OBJ)
	@rm -f $@
	$(call say,AR,$@)$(AR) rcs $@ $^

define tool_rule
$(B)/$(1): $(call TOOL_OBJ,$(1)) $(LIB)
	@mkdir -p $$(@D)
	$$(call say,LINK,$$@)$$(CC) $$(ALL_LDFLAGS) -o $$@ $$^ $$(PKG_LIBS)
endef
$(foreach t,$(TOOLS),$(eval $(call tool_rule,$(t))))

$(SHOP): $(SHOP_OBJ) $(LIB)
	@mkdir -p $(@D)
	$(call say,LINK,$@)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(O)/tests/unit/%: $(O)/tests/unit/%.o $(O)/tests/unit/tap.o $(O)/tests/unit/child.o $(LIB)
	$(call say,LINK,$@)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

# test_scale_mix tests ofs-scale's mix solver, so it links cost.o too.
$(O)/tests/unit/test_scale_mix: $(O)/tests/unit/test_scale_mix.o $(O)/cmd/ofs-scale/cost.o \
		$(O)/tests/unit/tap.o $(O)/tests/unit/child.o $(LIB)
	$(call say,LINK,$@)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

# test_split_weights tests ofs-split's weights.c.
$(O)/tests/unit/test_split_weights: $(O)/tests/unit/test_split_weights.o \
		$(O)/cmd/ofs-split/weights.o $(O)/tests/unit/tap.o $(O)/tests/unit/child.o $(LIB)
	$(call say,LINK,$@)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(O)/tests/bench/%: $(O)/tests/bench/%.o $(LIB)
	$(call say,LINK,$@)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

-include $(LIB_OBJ:.o=.d) $(SHOP_OBJ:.o=.d) $(UNIT_BIN:=.d) $(BENCH_BIN:=.d) \
         $(foreach t,$(TOOLS),$(patsubst %.o,%.d,$(call TOOL_OBJ,$(t))))

# ---- tests -------------------------------------------------------------
# Every unit program and every bats file runs under one prove, so its
# closing summary counts every test. A failed test's diagnostics (TAP
# comments) are shown, so a log says why, not only which.
PROVE_FLAGS ?= --failures --comments
check: all $(UNIT_BIN) $(BENCH_BIN)
	@OFS_TOP=$(CURDIR) OFS_BIN=$(abspath $(B)) OFS_BUILD=$(abspath $(O)) \
	    prove --exec tests/run-test $(PROVE_FLAGS) \
	    $(UNIT_BIN) $(sort $(wildcard tests/*.bats))

unit: $(UNIT_BIN)
	@prove --exec tests/run-test $(UNIT_BIN)

bench: all $(BENCH_BIN)
	@sh .ci/deps bench
	@for b in $(sort $(wildcard tests/bench/*.sh)); do \
	    OFS_BIN=$(abspath $(B)) OFS_BUILD=$(abspath $(O)) bash $$b || exit 1; done

demo: all
	@OFS_BIN=$(abspath $(B)) bash examples/demo.sh

# ---- fuzzing (clang libFuzzer) -----------------------------------------
$(O)/fuzz/lib/%.o: libcommon/%.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CSTD) $(FUZZ_FLAGS) -Ilibcommon $(PKG_CFLAGS) -c -o $@ $<

# A target for a program's own parser links that program's files too.
$(O)/fuzz/cmd/%.o: cmd/%.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CSTD) $(FUZZ_FLAGS) -Ilibcommon -I$(<D) $(PKG_CFLAGS) -c -o $@ $<

$(O)/fuzz/fuzz_deploy_spec: tests/fuzz/fuzz_deploy_spec.c $(O)/fuzz/cmd/ofs-deploy/spec.o \
		$(O)/fuzz/cmd/ofs-deploy/cond.o $(FUZZ_LIB_OBJ) | deps
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CSTD) $(FUZZ_FLAGS) -fsanitize=fuzzer -Ilibcommon -Icmd/ofs-deploy $(PKG_CFLAGS) \
		-o $@ $^ $(PKG_LIBS)

$(O)/fuzz/fuzz_scale_policy: tests/fuzz/fuzz_scale_policy.c $(O)/fuzz/cmd/ofs-scale/policy.o \
		$(FUZZ_LIB_OBJ) | deps
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CSTD) $(FUZZ_FLAGS) -fsanitize=fuzzer -Ilibcommon -Icmd/ofs-scale $(PKG_CFLAGS) \
		-o $@ $^ $(PKG_LIBS)

$(O)/fuzz/fuzz_saga_def: tests/fuzz/fuzz_saga_def.c $(O)/fuzz/cmd/ofs-saga/def.o \
		$(FUZZ_LIB_OBJ) | deps
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CSTD) $(FUZZ_FLAGS) -fsanitize=fuzzer -Ilibcommon -Icmd/ofs-saga $(PKG_CFLAGS) \
		-o $@ $^ $(PKG_LIBS)

$(O)/fuzz/fuzz_split_weights: tests/fuzz/fuzz_split_weights.c $(O)/fuzz/cmd/ofs-split/weights.o \
		$(FUZZ_LIB_OBJ) | deps
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CSTD) $(FUZZ_FLAGS) -fsanitize=fuzzer -Ilibcommon -Icmd/ofs-split $(PKG_CFLAGS) \
		-o $@ $^ $(PKG_LIBS)

# ofs-replay's parsers live in cmd/ofs-replay: each target links the objects it tests.
REPLAY_FUZZ = $(FUZZ_CC) $(CSTD) $(FUZZ_FLAGS) -fsanitize=fuzzer -Ilibcommon -Icmd/ofs-replay \
	$(PKG_CFLAGS) -o $@ $^ $(PKG_LIBS)
$(O)/fuzz/fuzz_replay_reducer: tests/fuzz/fuzz_replay_reducer.c \
		$(O)/fuzz/cmd/ofs-replay/reducer.o $(FUZZ_LIB_OBJ) | deps
	@mkdir -p $(@D)
	$(REPLAY_FUZZ)
$(O)/fuzz/fuzz_replay_play: tests/fuzz/fuzz_replay_play.c $(O)/fuzz/cmd/ofs-replay/play_exchange.o \
		$(O)/fuzz/cmd/ofs-replay/play_compare.o $(FUZZ_LIB_OBJ) | deps
	@mkdir -p $(@D)
	$(REPLAY_FUZZ)

$(O)/fuzz/fuzz_replay_har: tests/fuzz/fuzz_replay_har.c $(O)/fuzz/cmd/ofs-replay/har.o \
		$(O)/fuzz/cmd/ofs-replay/exchange.o $(O)/fuzz/cmd/ofs-replay/capture.o \
		$(O)/fuzz/cmd/ofs-replay/capture_input.o $(O)/fuzz/cmd/ofs-replay/mask.o \
		$(FUZZ_LIB_OBJ) | deps
	@mkdir -p $(@D)
	$(REPLAY_FUZZ)

$(O)/fuzz/fuzz_replay_mapspec: tests/fuzz/fuzz_replay_mapspec.c \
		$(O)/fuzz/cmd/ofs-replay/mapspec.o \
		$(FUZZ_LIB_OBJ) | deps
	@mkdir -p $(@D)
	$(REPLAY_FUZZ)
$(O)/fuzz/fuzz_replay_vscan: tests/fuzz/fuzz_replay_vscan.c \
		$(FUZZ_LIB_OBJ) | deps
	@mkdir -p $(@D)
	$(REPLAY_FUZZ)

$(O)/fuzz/%: tests/fuzz/%.c $(FUZZ_LIB_OBJ) | deps
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CSTD) $(FUZZ_FLAGS) -fsanitize=fuzzer -Ilibcommon $(PKG_CFLAGS) -o $@ $^ $(PKG_LIBS)

fuzz: $(FUZZ_BIN)
	@sh .ci/deps fuzz
	@for f in $(FUZZ_BIN); do \
	    n=$${f#$(O)/fuzz/fuzz_}; corpus=$(O)/fuzz/corpus/$$n; mkdir -p $$corpus; \
	    echo "fuzz: $$n for $(FUZZ_SECONDS)s"; \
	    $$f -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -print_final_stats=0 \
	        -artifact_prefix=$(O)/fuzz/ $$corpus tests/fuzz/corpus/$$n >$(O)/fuzz/$$n.log 2>&1 \
	        || { tail -40 $(O)/fuzz/$$n.log; exit 1; }; \
	    grep -E '^#[0-9]+.*DONE' $(O)/fuzz/$$n.log | tail -1; \
	done

# ---- lint --------------------------------------------------------------
lint: all
	@sh .ci/deps lint
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability,performance \
	    --std=c11 --inline-suppr -Ilibcommon -I$(shell pkg-config --variable=includedir libcjson)/cjson \
	    --suppress=missingIncludeSystem libcommon cmd examples/shop tests/bench
	shellcheck -x $(SCRIPTS)
	mandoc -Tlint -Wwarning $(MANPAGES)
	@OFS_BIN=$(B) bash completions/gen --check

completions: all
	@OFS_BIN=$(B) bash completions/gen

# ---- install -----------------------------------------------------------
install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man7 \
	    $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR)
	$(if $(BINS),install -m 0755 $(BINS) $(DESTDIR)$(BINDIR))
	$(if $(wildcard man/*.1),install -m 0644 $(wildcard man/*.1) $(DESTDIR)$(MANDIR)/man1)
	install -m 0644 man/ofs.7 $(DESTDIR)$(MANDIR)/man7
	for t in $(TOOLS); do install -m 0644 completions/ofs.bash $(DESTDIR)$(BASHCOMPDIR)/$$t; done
	install -m 0644 completions/_ofs $(DESTDIR)$(ZSHCOMPDIR)/_ofs

uninstall:
	rm -f $(TOOLS:%=$(DESTDIR)$(BINDIR)/%) $(TOOLS:%=$(DESTDIR)$(MANDIR)/man1/%.1) \
	    $(DESTDIR)$(MANDIR)/man7/ofs.7 $(TOOLS:%=$(DESTDIR)$(BASHCOMPDIR)/%) \
	    $(DESTDIR)$(ZSHCOMPDIR)/_ofs

clean:
	rm -rf $(O) $(B)
