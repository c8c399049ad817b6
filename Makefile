# SPDX-License-Identifier: GPL-2.0
#
# tcptrace: a thin driver around Kbuild plus the project's checks.
#
#   make                 module/tcptrace.ko and userspace/tcptrace
#   make KDIR=<dir>      build against other kernel headers
#   make check           host tests, build, selftests in a VM per kernel
#   make check-debug     the selftests and fault injection on a debug kernel
#                        (KASAN, lockdep, kmemleak; built once, cached)
#   make lint            checkpatch --strict, sparse, W=1, reader warnings
#   make demo            a VM that loads the module and shows real histories
#   make bench           its cost under connection churn, next to BPF tools
#                        (scripts/bench-overhead, bench-overhead/;
#                        BENCH_ARGS=--quick: a short check; see
#                        Documentation/benchmark.rst)
#   make install         the module, the reader and its man page (below)
#   make dkms-install    the module through dkms; make deb: Debian packages

# KVER=<release> stands for KDIR=/lib/modules/<release>/build.
ifneq ($(KVER),)
KDIR ?= /lib/modules/$(KVER)/build
endif

# The running kernel's headers, else the newest installed ones (the host
# of a test VM need not run the kernel it builds for).
KDIR ?= $(firstword $(wildcard /lib/modules/$(shell uname -r)/build) \
	  $(shell ls -d /lib/modules/*/build 2>/dev/null | sort -V | tail -n 1))
# The kernel source scripts/setup unpacks (checkpatch.pl): linux-source's.
KSRC ?= $(patsubst %.tar.xz,%,$(lastword $(sort $(wildcard /usr/src/linux-source-*.tar.xz))))

MODULE_SRCS := $(filter-out %.mod.c,$(wildcard module/*.c module/*.h include/uapi/linux/*.h))

all: module reader

module:
	@test -n "$(KDIR)" || { echo "no kernel headers: run scripts/setup or set KDIR" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

reader:
	$(MAKE) -C userspace

# Each installs what it needs first, and only that (scripts/setup).
check:
	@scripts/setup --check check || scripts/setup check
	scripts/check

check-debug:
	@scripts/setup --check debug || scripts/setup debug
	scripts/check --debug

demo:
	@scripts/setup --check demo || scripts/setup demo
	scripts/demo

bench:
	@scripts/setup --check bench || scripts/setup bench
	scripts/bench-overhead $(BENCH_ARGS)

lint: module
	$(KSRC)/scripts/checkpatch.pl --strict --no-tree --terse --show-types \
		--ignore FILE_PATH_CHANGES,SPDX_LICENSE_TAG -f $(MODULE_SRCS)
	$(MAKE) -C $(KDIR) M=$(CURDIR) W=1 C=2 modules 2>&1 | \
		tee /dev/stderr | { ! grep -E 'warning|error'; }
	$(MAKE) -C userspace clean all
	@for doc in Documentation/*.rst; do \
		python3 -m docutils --halt=warning "$$doc" /dev/null || exit 1; \
	done; echo "Documentation/*.rst: rendered without warnings"

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	$(MAKE) -C userspace clean

.PHONY: all module reader check check-debug demo bench lint clean

# ---- installing and packaging (Documentation/admin-guide.rst) -------------
#
#   make install   [KVER=<release>] [DESTDIR=<dir>] [PREFIX=/usr/local]
#   make uninstall [KVER=<release>] [DESTDIR=<dir>] [PREFIX=/usr/local]
#   make dkms-install [KVER=<release>]  add to dkms, build and install for KVER
#   make dkms-uninstall                 remove this version from dkms
#   make deb       tcptrace and tcptrace-dkms packages in build/deb/
#   make version   the version modinfo, dkms and the packages show

# The VERSION file of an exported tree (dkms, Debian build), else git
# describe (module/Kbuild does the same for MODULE_VERSION). Worked out
# once, on first use, so that one command never sees two versions.
TCPTRACE_VERSION ?= $(eval TCPTRACE_VERSION := $(or $(shell cat VERSION 2>/dev/null),$(shell \
	git describe --always --dirty 2>/dev/null),unknown))$(TCPTRACE_VERSION)

KVER ?= $(shell cat $(KDIR)/include/config/kernel.release 2>/dev/null)
INSTALL_MOD_DIR ?= updates
DEPMOD ?= depmod
DKMS ?= dkms

# Distribution headers carry no signing key: skip modules_install's signing
# step (and its OpenSSL errors) unless the key is there.
SIG_KEY = $(shell sed -n 's/^CONFIG_MODULE_SIG_KEY="\{0,1\}\([^"]*\)"\{0,1\}$$/\1/p' \
	    $(KDIR)/include/config/auto.conf 2>/dev/null)
NO_SIGN = $(if $(SIG_KEY),$(if $(wildcard $(KDIR)/$(SIG_KEY) $(SIG_KEY)),,CONFIG_MODULE_SIG_ALL=))

need-kver:
	@test -n "$(KVER)" || { echo "cannot tell the kernel release: set KVER" >&2; exit 1; }

# modules_install skips depmod without a System.map: run it here, unless
# installing into a staging DESTDIR.
install: need-kver module reader
	$(MAKE) -C $(KDIR) M=$(CURDIR) INSTALL_MOD_PATH=$(DESTDIR) \
		INSTALL_MOD_DIR=$(INSTALL_MOD_DIR) $(NO_SIGN) modules_install
	$(if $(DESTDIR),,$(DEPMOD) -a $(KVER))
	$(MAKE) -C userspace install

uninstall: need-kver
	rm -f $(DESTDIR)/lib/modules/$(KVER)/$(INSTALL_MOD_DIR)/module/tcptrace.ko*
	d=$(DESTDIR)/lib/modules/$(KVER)/$(INSTALL_MOD_DIR)/module; \
		if [ -d $$d ]; then rmdir --ignore-fail-on-non-empty $$d; fi
	$(if $(DESTDIR),,$(DEPMOD) -a $(KVER))
	$(MAKE) -C userspace uninstall

# The module's source as dkms builds it, in $(DESTDIR)/usr/src/tcptrace-<version>
# (debian/rules uses this too).
DKMS_SRC = $(DESTDIR)/usr/src/tcptrace-$(TCPTRACE_VERSION)
DKMS_FILES = Kbuild module/Kbuild $(filter-out %.mod.c,$(wildcard module/*.[ch])) \
	     $(wildcard include/uapi/linux/*.h)

dkms-source:
	rm -rf $(DKMS_SRC)
	mkdir -p $(DKMS_SRC)
	cp --parents $(DKMS_FILES) $(DKMS_SRC)/
	echo '$(TCPTRACE_VERSION)' > $(DKMS_SRC)/VERSION
	sed 's/#MODULE_VERSION#/$(TCPTRACE_VERSION)/' dkms.conf > $(DKMS_SRC)/dkms.conf

dkms-install: need-kver
	$(MAKE) --no-print-directory dkms-source DESTDIR= TCPTRACE_VERSION=$(TCPTRACE_VERSION)
	$(DKMS) status -m tcptrace -v $(TCPTRACE_VERSION) | grep -q . || \
		$(DKMS) add -m tcptrace -v $(TCPTRACE_VERSION)
	$(DKMS) install --force -m tcptrace -v $(TCPTRACE_VERSION) -k $(KVER)

dkms-uninstall:
	if $(DKMS) status -m tcptrace -v $(TCPTRACE_VERSION) | grep -q .; then \
		$(DKMS) remove -m tcptrace -v $(TCPTRACE_VERSION) --all; fi
	rm -rf /usr/src/tcptrace-$(TCPTRACE_VERSION)

# Build from a copy of the tracked files (as they are in the work tree) in
# build/deb/src, versioned <debian/changelog's version>+git<commits>.<version>.
DEB_DIR := build/deb

deb:
	@set -e; v='$(TCPTRACE_VERSION)'; d=$(DEB_DIR)/src/tcptrace-$$v; \
	rm -rf $(DEB_DIR); mkdir -p $$d; \
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
		git ls-files -z | tar -c --null -T - --ignore-failed-read | tar -x -C $$d; \
	else \
		tar -c --exclude=./build --exclude=./.git . | tar -x -C $$d; \
	fi; \
	echo "$$v" > $$d/VERSION; \
	base=$$(dpkg-parsechangelog -l debian/changelog -S Version); \
	n=$$(git rev-list --count HEAD 2>/dev/null || echo 0); \
	debv=$$base+git$$n.$$(echo "$$v" | tr -- - .); \
	{ printf 'tcptrace (%s) UNRELEASED; urgency=medium\n\n' "$$debv"; \
	  printf '  * Built by make deb from version %s.\n\n' "$$v"; \
	  printf ' -- %s  %s\n\n' "$$(sed -n 's/^Maintainer: //p' debian/control)" "$$(date -R)"; \
	  cat debian/changelog; } > $$d/debian/changelog; \
	echo "make deb: tcptrace $$debv (module version $$v)"; \
	(cd $$d && dpkg-buildpackage -b -us -uc); \
	mv $(DEB_DIR)/src/*.deb $(DEB_DIR)/src/*.buildinfo $(DEB_DIR)/src/*.changes $(DEB_DIR)/; \
	mv $(DEB_DIR)/src/*.ddeb $(DEB_DIR)/ 2>/dev/null || true; \
	rm -rf $(DEB_DIR)/src; \
	ls -l $(DEB_DIR)

version:
	@echo '$(TCPTRACE_VERSION)'

.PHONY: need-kver install uninstall dkms-source dkms-install dkms-uninstall deb version
