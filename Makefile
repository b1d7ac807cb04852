# zigtls for nginx: top-level build.
#   make            core library, example server, unit tests, corpus replayers,
#                   the BoGo shim (docs/conformance.md)
#   make test       every test: unit (known answers, negatives), fuzz corpus
#                   replay, end-to-end t/*.t with real clients
#   make asan       the same core tests built with ASan+UBSan (build-asan/)
#   make fuzz       libFuzzer run of every harness (FUZZ_SECONDS each)
#   make module     the nginx dynamic modules (see docs/)
#   make module-asan the same built with ASan+UBSan (build-asan-module/)
#   make demo       build and start nginx with the module on 127.0.0.1:8443

BUILD   ?= build
CC      ?= cc
SAN     ?=
OPT     ?= -O2
CFLAGS  ?= $(OPT) -g
WARN     = -Wall -Wextra -Wshadow -Wpointer-arith -Wstrict-prototypes \
           -Wmissing-prototypes -Wno-unused-parameter -Werror
# ML-KEM-768 from PQClean, fetched at the pinned version and integrity by
# .ci/fetch-pqclean into build-deps/pqclean/ (never committed; see
# docs/security.md). Only src/crypto.c includes its headers.
PQ_DIR   = build-deps/pqclean
PQ_STAMP = $(PQ_DIR)/.pin
PQ_KEM   = crypto_kem/ml-kem-768/clean
PQ_SRC   = $(addprefix $(PQ_KEM)/,cbd.c indcpa.c kem.c ntt.c poly.c polyvec.c \
             reduce.c symmetric-shake.c verify.c)
CPPFLAGS = -Isrc -I$(PQ_DIR) -I$(PQ_DIR)/common -D_GNU_SOURCE
ALL_CFLAGS = -std=c11 $(WARN) $(CFLAGS) $(SAN) -fPIC
LIBS     = -lsodium -lcrypto -lbrotlienc -lz
# the unit tests decompress what the server compressed
UNIT_LIBS = -lbrotlidec
# t/unit/test_files.c looks into every block the core releases
UNIT_WRAP = -Wl,--wrap=free -Wl,--wrap=realloc
LDFLAGS ?=

CORE_SRC  = $(sort $(wildcard src/*.c))
CORE_OBJ  = $(CORE_SRC:src/%.c=$(BUILD)/obj/%.o)
PQ_OBJ    = $(PQ_SRC:%.c=$(BUILD)/obj/pqclean/%.o)
UNIT_SRC  = $(sort $(wildcard t/unit/*.c))
UNIT_OBJ  = $(UNIT_SRC:t/unit/%.c=$(BUILD)/obj/unit/%.o)
FUZZ_SRC  = $(sort $(wildcard t/fuzz/fuzz_*.c))
FUZZ_REPLAY = $(FUZZ_SRC:t/fuzz/%.c=$(BUILD)/replay_%)

.PHONY: all deps pqclean test unit replay e2e asan fuzz module module-asan demo demo-stop clean distclean format fuzz-seeds-pq

all: $(BUILD)/libzigtls.a $(BUILD)/zigtls-server $(BUILD)/unit $(FUZZ_REPLAY) \
     $(BUILD)/bogo-shim

$(BUILD)/obj/%.o: src/%.c src/*.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

# The PQClean tree: fetched when missing or when the pin changes.
$(PQ_STAMP): .ci/fetch-pqclean
	.ci/fetch-pqclean
pqclean: $(PQ_STAMP)
$(BUILD)/obj/crypto.o: $(PQ_STAMP)

$(PQ_OBJ): $(BUILD)/obj/pqclean/%.o: $(PQ_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $(PQ_DIR)/$*.c

$(BUILD)/obj/unit/%.o: t/unit/%.c t/unit/*.h src/*.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -It/unit $(ALL_CFLAGS) -Wno-missing-prototypes -c -o $@ $<

$(BUILD)/libzigtls.a: $(CORE_OBJ) $(PQ_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/zigtls-server: examples/zigtls-server.c $(BUILD)/libzigtls.a
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -o $@ $< $(BUILD)/libzigtls.a $(LDFLAGS) $(LIBS)

# The shim BoringSSL's test runner drives (t/bogo/README.md).
$(BUILD)/bogo-shim: t/bogo/shim.c $(BUILD)/libzigtls.a
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -o $@ $< $(BUILD)/libzigtls.a $(LDFLAGS) $(LIBS)

$(BUILD)/unit: $(UNIT_OBJ) $(BUILD)/libzigtls.a
	$(CC) $(ALL_CFLAGS) -o $@ $(UNIT_OBJ) $(BUILD)/libzigtls.a $(LDFLAGS) $(LIBS) $(UNIT_LIBS) $(UNIT_WRAP)

# Corpus replayers: the libFuzzer harness plus a plain main() that feeds
# every file of t/fuzz/corpus/<name>/ once.
$(BUILD)/replay_%: t/fuzz/%.c t/fuzz/replay_main.c $(BUILD)/libzigtls.a
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -Wno-missing-prototypes -o $@ $< t/fuzz/replay_main.c $(BUILD)/libzigtls.a $(LDFLAGS) $(LIBS)

unit: $(BUILD)/unit
	cd t/unit && ../../$(BUILD)/unit

replay: $(FUZZ_REPLAY)
	@set -e; for h in $(FUZZ_REPLAY); do n=$${h##*/replay_}; \
	  $$h t/fuzz/corpus/$$n; done

e2e: all
	prove -v t/

# The packages the build and the tests need: installed once, only when one
# is missing (the same list as CI, .ci/install-deps).
deps:
	@.ci/install-deps --if-missing

test: deps
	$(MAKE) --no-print-directory all
	$(MAKE) --no-print-directory unit
	$(MAKE) --no-print-directory replay
	$(MAKE) --no-print-directory e2e

asan:
	$(MAKE) --no-print-directory BUILD=build-asan CC=clang OPT=-O1 \
	  SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" \
	  all unit replay

# New inputs go to build-fuzz/corpus-NAME (the committed corpus is read
# only); crashes to build-fuzz/NAME-crash-*. UBSan aborts instead of
# recovering, so undefined behaviour is a finding. FUZZ_FLAGS adds
# libFuzzer options (e.g. -jobs=2 -workers=2).
FUZZ_SECONDS ?= 60
FUZZ_FLAGS ?=
fuzz: $(BUILD)/libzigtls.a
	@mkdir -p build-fuzz
	@set -e; for f in $(FUZZ_SRC); do n=$$(basename $$f .c); \
	  clang $(CPPFLAGS) -std=c11 $(WARN) -Wno-missing-prototypes -g -O1 \
	    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	    -o build-fuzz/$$n $$f $(CORE_SRC) $(addprefix $(PQ_DIR)/,$(PQ_SRC)) \
	    $(LIBS); \
	  mkdir -p build-fuzz/corpus-$$n; \
	  build-fuzz/$$n -max_total_time=$(FUZZ_SECONDS) \
	    -artifact_prefix=build-fuzz/$$n- $(FUZZ_FLAGS) \
	    build-fuzz/corpus-$$n t/fuzz/corpus/$$n; \
	done

# Seeds with post-quantum hybrid key shares (t/fuzz/gen_pq_seeds.c),
# reproducible: the committed ones are what this writes.
$(BUILD)/gen_pq_seeds: t/fuzz/gen_pq_seeds.c t/unit/tclient.c t/unit/tclient.h $(BUILD)/libzigtls.a
	$(CC) $(CPPFLAGS) -It/unit $(ALL_CFLAGS) -Wno-missing-prototypes -o $@ $< t/unit/tclient.c $(BUILD)/libzigtls.a $(LDFLAGS) $(LIBS) $(UNIT_LIBS)
fuzz-seeds-pq: $(BUILD)/gen_pq_seeds
	$(BUILD)/gen_pq_seeds t/fuzz/corpus

format:
	clang-format -i src/*.c src/*.h t/unit/*.c t/unit/*.h t/fuzz/*.c examples/*.c

clean:
	rm -rf build build-asan build-fuzz build-nodebug build-asan-module

# also the fetched PQClean tree (the next build fetches it again)
distclean: clean
	rm -rf build-deps

# ---- nginx dynamic modules (the nginx glue; see docs/install.md) ----------
#   make module   build/ngx_http_zigtls_module.so, build/ngx_stream_zigtls_module.so
#                 against Debian's nginx-dev (default) or any nginx source
#                 tree: make module NGINX_SRC=/path/to/nginx-1.28.0
#                 NGX_DEBUG=yes|no forces --with-debug on or off
#   make demo     build, then start Debian's nginx with them on 127.0.0.1:8443
NGINX_SRC  ?= /usr/share/nginx/src
NGX_DEBUG  ?=

# Serialized by a lock (tests and benchmarks may ask for it at once).
module: $(PQ_STAMP)
	@mkdir -p $(BUILD)
	flock $(BUILD)/.module.lock env NGX_DEBUG=$(NGX_DEBUG) MAKE=$(MAKE) \
	  mk/module.sh $(NGINX_SRC) $(BUILD)

# The same modules (glue and core) built with ASan+UBSan, in
# build-asan-module/, for Debian's nginx, which is not instrumented: the
# tests load them with the ASan runtime preloaded (ZT_ASAN=1, see
# t/lib/ZtNginx.pm); UBSan findings abort the worker.
ASAN_MODULE ?= build-asan-module
SAN_NGX = -fsanitize=address,undefined -fno-sanitize-recover=undefined
module-asan: $(PQ_STAMP)
	@mkdir -p $(ASAN_MODULE)
	flock $(ASAN_MODULE)/.module.lock env NGX_DEBUG=no MAKE=$(MAKE) \
	  NGX_CC_OPT="-O1 -g -fno-omit-frame-pointer $(SAN_NGX)" \
	  NGX_CONFIGURE="--with-ld-opt=-fsanitize=address,undefined" \
	  mk/module.sh $(NGINX_SRC) $(ASAN_MODULE)

demo:
	@sh demo/zigtls-demo.sh start

demo-stop:
	@sh demo/zigtls-demo.sh stop
