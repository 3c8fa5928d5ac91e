# paygw — top-level build. `make` builds paygwd, paygwctl and the nginx module;
# `make run` / `make test` install what is missing, build and run (README.md).
# SAN=1 builds everything with AddressSanitizer + UBSan into build-san/.

-include config.mk

SAN     ?= 0
ifeq ($(SAN),1)
BUILD   := build-san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
BUILD   := build
SANFLAGS :=
endif

CFLAGS  ?= -O2 -g
WARN    := -std=c17 -Wall -Wextra -Werror -D_GNU_SOURCE
INC     := -Iadapters -Icore -Irouting
ALL_CFLAGS = $(WARN) $(CFLAGS) $(SANFLAGS) $(INC) $(DEP_CFLAGS)
ALL_LDFLAGS = $(SANFLAGS)

LIB_SRC := $(wildcard adapters/*.c) $(wildcard routing/*.c) \
           $(filter-out core/paygwd.c,$(wildcard core/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CLI_SRC := $(wildcard cli/*.c)
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
NGX_SRC := $(wildcard ngx_module/*.c ngx_module/*.h) ngx_module/config

.PHONY: all deps run test unit e2e bench clean check-config fmt configured install bench-front

all: check-config $(BUILD)/paygwd $(BUILD)/paygwctl $(BUILD)/ngx_http_paygw_module.so

check-config:
	@test -f config.mk || { echo "run ./configure first (or make run / make test)"; exit 1; }

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/libpaygw.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/paygwd: $(BUILD)/obj/core/paygwd.o $(BUILD)/libpaygw.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(DEP_LIBS)

$(BUILD)/paygwctl: $(CLI_OBJ) $(BUILD)/libpaygw.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(DEP_LIBS)

$(BUILD)/ngx_http_paygw_module.so: $(NGX_SRC)
	PAYGW_NGX_SAN=$(SAN) sh ngx_module/build.sh $(NGINX_SRC) $(abspath $(BUILD))

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libpaygw.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(TEST_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(BUILD)/libpaygw.a $(DEP_LIBS) $(TEST_LIBS)

unit: check-config $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; (cd $(CURDIR) && $$t); done

deps:
	sh tools/install-deps.sh

# (re)configure only when needed; make run/test call it after deps are installed
configured:
	@if [ ! -f config.mk ] || [ configure -nt config.mk ]; then ./configure; fi

run: deps
	$(MAKE) configured
	$(MAKE) all
	sh tools/run.sh $(BUILD)

e2e: all
	PAYGW_BUILD=$(abspath $(BUILD)) sh tests/e2e/run.sh

test: deps
	$(MAKE) configured
	$(MAKE) all
	$(MAKE) unit
	PAYGW_BUILD=$(abspath $(BUILD)) sh tests/run-node-tests.sh

bench: deps
	$(MAKE) configured
	$(MAKE) all
	PAYGW_BUILD=$(abspath $(BUILD)) sh bench/run.sh

# front gateway vs return 200 vs an OpenResty-style peer (bench/front/run.sh);
# builds the module itself (into BENCH_MOD_DIR unless build/ is up to date)
bench-front:
	sh bench/front/deps.sh
	NGINX_SRC=$(or $(NGINX_SRC),/usr/share/nginx/src) bash bench/front/run.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/paygw \
	    $(DESTDIR)$(PREFIX)/share/paygw
	install -m 755 $(BUILD)/paygwd $(BUILD)/paygwctl $(DESTDIR)$(PREFIX)/bin/
	install -m 644 $(BUILD)/ngx_http_paygw_module.so $(DESTDIR)$(PREFIX)/lib/paygw/
	cp -R templates scripts conf $(DESTDIR)$(PREFIX)/share/paygw/

fmt:
	clang-format -i core/*.c core/*.h routing/*.c routing/*.h adapters/*.c adapters/*.h cli/*.c

clean:
	rm -rf build build-san

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(BUILD)/obj/core/paygwd.d
