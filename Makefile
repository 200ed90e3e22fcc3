# SPIN, eBPF edition. One Makefile, out-of-tree output (libbpf-bootstrap style).
#   make            BPF objects, skeletons, spind, spinctl, test programs  -> build/
#   make SAN=1      the same under AddressSanitizer + UBSan                -> build-san/
#   make test       everything, then every suite; ends with "N passed, N failed"
#   make demo       the virtual home network with spind, UI on http://127.0.0.1:13026/
#   make bench      benchmarks in about 7 minutes, written to docs/benchmarks.md
#   make bench-full every configuration, more and longer rounds, per-stage costs (about 20 minutes)
#   make install    PREFIX=/usr/local DESTDIR=
#   make format / make format-check, make vmlinux, make clean;  V=1 shows commands

PREFIX ?= /usr/local
DESTDIR ?=
BINDIR ?= $(PREFIX)/sbin
LIBDIR ?= $(PREFIX)/lib/spin
SHAREDIR ?= $(PREFIX)/share/spin
SYSCONFDIR ?= /etc

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

# PASSIVE_ONLY=1: spind without the kernel data path and without libbpf (replay and mirror-port
# modes only), into build-passive/; user/nokernel.c stands in for user/kernel.c and user/flows.c.
PASSIVE_ONLY ?= 0
SAN ?= 0
ifeq ($(PASSIVE_ONLY),1)
OUT ?= build-passive
SAN_FLAGS =
else ifeq ($(SAN),1)
OUT ?= build-san
SAN_FLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
OUT ?= build
SAN_FLAGS =
endif

CC ?= cc
CLANG ?= clang
BPFTOOL ?= bpftool
PKG_CONFIG ?= pkg-config

ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/' -e 's/arm.*/arm/')

PKGS := ldns libmosquitto libmicrohttpd libcjson libpcap libmnl
ifneq ($(PASSIVE_ONLY),1)
PKGS += libbpf
endif
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null) -lcrypt

CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -D_GNU_SOURCE \
	  -I$(OUT)/include -Iinclude -Iuser $(PKG_CFLAGS) $(SAN_FLAGS) $(EXTRA_CFLAGS) \
	  -DCONFIG_DEFAULT_WEB_ROOT='"$(SHAREDIR)/web"'
LDFLAGS += $(SAN_FLAGS)
LDLIBS += $(PKG_LIBS) -lm
ifeq ($(PASSIVE_ONLY),1)
CFLAGS += -DSPIN_PASSIVE_ONLY
else
LDLIBS += -lelf -lz
endif

BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror -Iinclude -Ibpf \
	      -I/usr/include/$(shell uname -m)-linux-gnu $(BPF_EXTRA_CFLAGS)

BPF_SRCS := $(if $(filter 1,$(PASSIVE_ONLY)),,$(wildcard bpf/*.bpf.c))
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(OUT)/bpf/%.bpf.o,$(BPF_SRCS))
SKELS := $(patsubst bpf/%.bpf.c,$(OUT)/include/%.skel.h,$(BPF_SRCS))

# Every user/*.c except main.c is a module, shared by spind, the tools and the tests.
ifeq ($(PASSIVE_ONLY),1)
USER_SRCS := $(filter-out user/main.c user/kernel.c user/flows.c,$(wildcard user/*.c))
else
USER_SRCS := $(filter-out user/main.c user/nokernel.c,$(wildcard user/*.c))
endif
USER_OBJS := $(patsubst user/%.c,$(OUT)/user/%.o,$(USER_SRCS))
LIBSPIN := $(OUT)/libspin.a

TOOL_SRCS := $(if $(filter 1,$(PASSIVE_ONLY)),,$(wildcard tools/*.c))
TOOLS := $(patsubst tools/%.c,$(OUT)/%,$(TOOL_SRCS))

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUT)/tests/%,$(UNIT_SRCS))
BPFTEST_SRCS := $(if $(filter 1,$(PASSIVE_ONLY)),,$(wildcard tests/bpf/*.c))
BPFTEST_BINS := $(patsubst tests/bpf/%.c,$(OUT)/tests/bpf_%,$(filter-out tests/bpf/bpftest.c,$(BPFTEST_SRCS)))
BENCH_SRCS := $(if $(filter 1,$(PASSIVE_ONLY)),,$(wildcard tests/bench/*.c))
BENCH_BINS := $(patsubst tests/bench/%.c,$(OUT)/bench/%,$(BENCH_SRCS))
TESTLIB_SRCS := $(wildcard tests/lib/*.c)
TESTLIB_OBJS := $(patsubst tests/lib/%.c,$(OUT)/tests/lib/%.o,$(TESTLIB_SRCS))

FORMAT_FILES = $(shell git ls-files '*.c' '*.h' 2>/dev/null | grep -v '^vmlinux/')

.PHONY: FORCE all deps test demo bench bench-full fuzz soak install uninstall clean format format-check vmlinux deb
.DELETE_ON_ERROR:
.SECONDARY:

all: $(BPF_OBJS) $(SKELS) $(OUT)/spind $(TOOLS) $(UNIT_BINS) $(BPFTEST_BINS) $(BENCH_BINS) $(OUT)/web/index.html

$(OUT)/bpf $(OUT)/include $(OUT)/user $(OUT)/tests $(OUT)/tests/lib $(OUT)/bench:
	$(Q)mkdir -p $@

$(OUT)/bpf/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.h include/*.h) | $(OUT)/bpf
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUT)/include/%.skel.h: $(OUT)/bpf/%.bpf.o | $(OUT)/include
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

$(OUT)/user/%.o: user/%.c $(wildcard user/*.h include/*.h) $(SKELS) | $(OUT)/user
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

# The compiled-in web_root follows PREFIX/SHAREDIR: config.o is rebuilt when they change
# (a 'make' then 'make install PREFIX=/usr' must not keep /usr/local in the binary).
WEB_ROOT_STAMP := $(OUT)/user/web_root.stamp
$(WEB_ROOT_STAMP): FORCE | $(OUT)/user
	$(Q)echo '$(SHAREDIR)/web' | cmp -s - $@ || echo '$(SHAREDIR)/web' >$@
$(OUT)/user/config.o: $(WEB_ROOT_STAMP)

$(LIBSPIN): $(USER_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(OUT)/spind: $(OUT)/user/main.o $(LIBSPIN)
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(OUT)/%: tools/%.c $(LIBSPIN) $(wildcard tools/*.h) | $(OUT)/user
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $< $(LIBSPIN) $(LDLIBS) -o $@

$(OUT)/tests/lib/%.o: tests/lib/%.c $(wildcard tests/lib/*.h) $(SKELS) | $(OUT)/tests/lib
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Itests/lib -c $< -o $@

$(OUT)/tests/test_%: tests/unit/test_%.c $(LIBSPIN) $(TESTLIB_OBJS) | $(OUT)/tests
	$(call msg,TEST,$@)
	$(Q)$(CC) $(CFLAGS) -Itests/lib $(LDFLAGS) $< $(TESTLIB_OBJS) $(LIBSPIN) $(LDLIBS) -o $@

$(OUT)/tests/bpf_%: tests/bpf/%.c $(wildcard tests/bpf/*.h) $(LIBSPIN) $(TESTLIB_OBJS) $(SKELS) | $(OUT)/tests
	$(call msg,TEST,$@)
	$(Q)$(CC) $(CFLAGS) -Itests/lib -Itests/bpf $(LDFLAGS) $< $(TESTLIB_OBJS) $(LIBSPIN) $(LDLIBS) -o $@

$(OUT)/bench/%: tests/bench/%.c $(wildcard tests/bpf/*.h) $(LIBSPIN) $(TESTLIB_OBJS) $(SKELS) | $(OUT)/bench
	$(call msg,BENCH,$@)
	$(Q)$(CC) $(CFLAGS) -Itests/lib $(LDFLAGS) $< $(TESTLIB_OBJS) $(LIBSPIN) $(LDLIBS) -o $@

deps:
	$(Q)tools/install-deps

test: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(MAKE) --no-print-directory SAN=1 all
	$(Q)tests/run

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tools/spin-demo

bench: deps
	$(Q)SPIN_DEPS_BENCH=1 tools/install-deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tests/bench/run

bench-full: deps
	$(Q)SPIN_DEPS_BENCH=1 tools/install-deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)BENCH_FULL=1 tests/bench/run

fuzz: deps
	$(Q)tests/fuzz/run long

soak: deps
	$(Q)$(MAKE) --no-print-directory SAN=1 all
	$(Q)tests/soak

format:
	$(Q)clang-format -i $(FORMAT_FILES)

format-check:
	$(Q)clang-format --dry-run --Werror $(FORMAT_FILES)

vmlinux:
	$(call msg,GEN,vmlinux/$(ARCH)/vmlinux.h)
	$(Q)mkdir -p vmlinux/$(ARCH)
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux/$(ARCH)/vmlinux.h

install: all
	$(Q)install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(SHAREDIR)/web \
		$(DESTDIR)$(SYSCONFDIR)/spin
	$(Q)install -m 0755 $(OUT)/spind $(DESTDIR)$(BINDIR)/spind
	$(Q)for t in $(TOOLS); do install -m 0755 $$t $(DESTDIR)$(BINDIR)/; done
	$(Q)install -m 0755 tools/spin-lab $(DESTDIR)$(BINDIR)/spin-lab
	$(Q)install -m 0644 $(OUT)/bpf/spin.bpf.o $(DESTDIR)$(LIBDIR)/
	$(Q)cp -r $(OUT)/web/. $(DESTDIR)$(SHAREDIR)/web/
	$(Q)install -d $(DESTDIR)$(PREFIX)/share/man/man1
	$(Q)install -m 0644 docs/spinctl.1 $(DESTDIR)$(PREFIX)/share/man/man1/spinctl.1
	$(Q)install -d $(DESTDIR)$(PREFIX)/share/man/man8
	$(Q)install -m 0644 docs/spind.8 $(DESTDIR)$(PREFIX)/share/man/man8/spind.8
	$(Q)test -e $(DESTDIR)$(SYSCONFDIR)/spin/spind.conf || \
		install -m 0600 docs/spind.conf.example $(DESTDIR)$(SYSCONFDIR)/spin/spind.conf

uninstall:
	$(Q)rm -f $(DESTDIR)$(BINDIR)/spind $(DESTDIR)$(BINDIR)/spin-lab \
		$(patsubst $(OUT)/%,$(DESTDIR)$(BINDIR)/%,$(TOOLS))
	$(Q)rm -rf $(DESTDIR)$(LIBDIR) $(DESTDIR)$(SHAREDIR) $(DESTDIR)$(PREFIX)/share/man/man1/spinctl.1 \
		$(DESTDIR)$(PREFIX)/share/man/man8/spind.8

# --- Debian package ----------------------------------------------------------------------------
# A copy of the tree with tools/debian as debian/, built by dpkg-buildpackage in build/deb/src
# (log: build/deb/build.log); the .deb files land in build/.
DEB_STAGE := build/deb
DEB_TREE := Makefile bpf user include web tools vmlinux tests docs README.md .clang-format

deb:
	$(call msg,DEB,$(DEB_STAGE)/src)
	$(Q)rm -rf $(DEB_STAGE) && mkdir -p $(DEB_STAGE)/src
	$(Q)tar -cf - $(DEB_TREE) | tar -xf - -C $(DEB_STAGE)/src
	$(Q)cp -a tools/debian $(DEB_STAGE)/src/debian
	$(Q)cd $(DEB_STAGE)/src && dpkg-buildpackage -us -uc -b >../build.log 2>&1 || \
		{ tail -25 ../build.log; echo "make deb: dpkg-buildpackage failed (log: $(DEB_STAGE)/build.log)" >&2; exit 1; }
	$(Q)for f in $(DEB_STAGE)/*.deb; do mv "$$f" build/ && echo "  DEB      build/$${f##*/}"; done

clean:
	$(call msg,CLEAN,build build-san)
	$(Q)rm -rf build build-san

# --- web UI ------------------------------------------------------------------------------------
# The browser app (web/src, ES modules) bundled by esbuild into $(OUT)/web, the folder spind
# serves as web_root. npm ci (re)installs web/node_modules from the lockfile when it is missing
# or older than package.json / package-lock.json; nothing is fetched at run time (no CDN).
WEB_SRCS := web/build.mjs web/index.html $(wildcard web/src/*.js web/src/*.css web/assets/*)
WEB_STAMP := web/node_modules/.package-lock.json

$(WEB_STAMP): web/package.json web/package-lock.json
	$(call msg,NPM,web/node_modules)
	$(Q)cd web && npm ci --no-audit --no-fund --loglevel=error >/dev/null # stdout: 'added N packages'
	$(Q)touch $@

$(OUT)/web/index.html: $(WEB_SRCS) $(WEB_STAMP)
	$(call msg,ESBUILD,$(OUT)/web)
	$(Q)node web/build.mjs $(OUT)/web
