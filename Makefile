# SPDX-License-Identifier: GPL-2.0
#
# tcptrace: a thin driver around Kbuild plus the project's checks.
#
#   make                 module/tcptrace.ko and userspace/tcptrace
#   make KDIR=<dir>      build against other kernel headers
#   make check           host tests, build, selftests in a VM per kernel
#   make lint            checkpatch --strict, sparse, W=1, reader warnings
#   make demo            a VM that loads the module and shows real histories

# The running kernel's headers, else the newest installed ones (the host
# of a test VM need not run the kernel it builds for).
KDIR ?= $(firstword $(wildcard /lib/modules/$(shell uname -r)/build) \
	  $(shell ls -d /lib/modules/*/build 2>/dev/null | sort -V | tail -n 1))
KSRC ?= /usr/src/linux-source-6.1

MODULE_SRCS := $(filter-out %.mod.c,$(wildcard module/*.c module/*.h include/uapi/linux/*.h))

all: module reader

module:
	@test -n "$(KDIR)" || { echo "no kernel headers: run scripts/setup or set KDIR" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

reader:
	$(MAKE) -C userspace

check: scripts/setup
	@scripts/setup --check || scripts/setup
	scripts/check

demo:
	@scripts/setup --check || scripts/setup
	scripts/demo

lint: module
	$(KSRC)/scripts/checkpatch.pl --strict --no-tree --terse --show-types \
		--ignore FILE_PATH_CHANGES,SPDX_LICENSE_TAG -f $(MODULE_SRCS)
	$(MAKE) -C $(KDIR) M=$(CURDIR) W=1 C=2 CHECK="sparse -Wno-decl" modules 2>&1 | \
		tee /dev/stderr | { ! grep -E 'warning|error'; }
	$(MAKE) -C userspace clean all

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	$(MAKE) -C userspace clean

.PHONY: all module reader check demo lint clean
