# SPDX-License-Identifier: GPL-2.0
# Shared by scripts/check, scripts/demo and scripts/bench: the kernel
# matrix and the per-kernel module build. Source it from the top of the
# work tree.

# The kernels every selftest runs on, newest build of each, one per line:
# 6.1 (bookworm), 6.12 and its PREEMPT_RT flavour (bookworm-backports).
# $KERNELS overrides the list (space-separated releases).
tcptrace_kernels()
{
	local pattern

	if [ -n "${KERNELS:-}" ]; then
		printf '%s\n' $KERNELS
		return
	fi
	for pattern in '6.1.*-amd64' '6.12.*+deb12-amd64' '6.12.*+deb12-rt-amd64'; do
		# shellcheck disable=SC2086 # the pattern is a glob on purpose
		ls /boot/vmlinuz-$pattern 2>/dev/null | sed 's|^/boot/vmlinuz-||' |
			sort -V | tail -n 1
	done
}

# The kernel the demo boots: Debian bookworm's own.
tcptrace_default_kernel()
{
	local kernels

	kernels=$(KERNELS='' tcptrace_kernels)
	echo "${kernels%%$'\n'*}"
}

# Build the module for kernel $1 in build/$1/ (or in $2), out of the work
# tree, so that modules for several kernels can sit side by side. $1 is a
# release with its headers installed or, if it contains a '/', a built
# kernel tree (as scripts/vm-run takes it; the default directory is then
# build/ and the tree's last component). Prints the .ko path.
tcptrace_build_module()
{
	local kver=$1 dir=${2:-build/${1##*/}} kdir=/lib/modules/$1/build

	[[ $kver == */* ]] && kdir=$kver
	rm -rf "$dir" && mkdir -p "$dir" &&
		cp -r Kbuild module include "$dir"/ &&
		rm -f "$dir"/module/*.o "$dir"/module/*.ko "$dir"/module/.*.cmd &&
		make -s -C "$kdir" M="$PWD/$dir" W=1 KCFLAGS=-Werror modules >&2 &&
		echo "$dir/module/tcptrace.ko"
}
