# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# kernel-matrix.sh: the kernels the project builds for and boots, and the
# module built for each: the matrix of scripts/check (and install-check),
# the kernel of scripts/demo and scripts/bench-overhead, a kernel image for
# scripts/vm-run. Sourced, not run, from the top of the work tree. (The
# selftests' own library is selftests/lib.sh.)

# Where scripts/kernels keeps the chroots that build for the kernels
# bookworm cannot build for, and those kernels.
TCPTRACE_CACHE=${TCPTRACE_CACHE:-/var/cache/tcptrace}
TCPTRACE_KERNELS=${TCPTRACE_KERNELS:-/var/lib/tcptrace/kernels}

# The kernels every selftest runs on, oldest first, one release a line:
# bookworm's installed kernels (the newest build of each series and
# flavour: 6.1, 6.12, 6.12-rt today) and those of scripts/kernels' cache
# (bullseye's 5.10, sid's newest, experimental's rc). $KERNELS overrides
# the list (space-separated releases).
tcptrace_kernels()
{
	if [ -n "${KERNELS:-}" ]; then
		printf '%s\n' $KERNELS
		return
	fi
	{
		# "6.12.118+deb12-rt-amd64": series 6.12, flavour rt-amd64.
		ls /boot/vmlinuz-*-amd64 2>/dev/null | sed 's|^/boot/vmlinuz-||' |
			sort -V | awk '{ series = $0; sub(/^[0-9]+\.[0-9]+/, "&\t", series)
					 split(series, s, "\t"); flavour = $0
					 sub(/.*[0-9]-/, "", flavour)
					 newest[s[1] " " flavour] = $0 }
				       END { for (k in newest) print newest[k] }'
		ls "$TCPTRACE_KERNELS"/*/boot/vmlinuz-* 2>/dev/null | sed 's|.*/vmlinuz-||'
	} | sort -V
}

# The image of kernel release $1, installed or from the cache.
tcptrace_kernel_image()
{
	local img

	for img in "/boot/vmlinuz-$1" "$TCPTRACE_KERNELS/$1/boot/vmlinuz-$1"; do
		[ -e "$img" ] && { echo "$img"; return 0; }
	done
	return 1
}

# The kernel the demo boots: the one linux-image-amd64 installs
# (bookworm's own).
tcptrace_default_kernel()
{
	dpkg-query -W -f='${Depends}\n' linux-image-amd64 2>/dev/null |
		sed -n 's/^linux-image-\([^ ,]*\).*/\1/p' | sed 's/-unsigned$//'
}

# Build the module for kernel $1 in build/$1/ (or in $2), out of the work
# tree, so that modules for several kernels can sit side by side, W=1 with
# warnings as errors. $1 is a release whose headers are installed here or
# in a chroot of scripts/kernels' cache (built there, with its release's
# compiler), or, if it contains a '/', a built kernel tree (as
# scripts/vm-run takes it; the default directory is then build/ and the
# tree's last component). Prints the .ko path.
tcptrace_build_module()
{
	local kver=$1 dir=${2:-build/${1##*/}} kdir=/lib/modules/$1/build suite root rc

	rm -rf "$dir" && mkdir -p "$dir" &&
		cp -r Kbuild module include "$dir"/ &&
		rm -f "$dir"/module/*.o "$dir"/module/*.ko "$dir"/module/.*.cmd || return 1
	[[ $kver == */* ]] && kdir=$kver
	if [ -d "$kdir" ]; then
		make -s -C "$kdir" M="$PWD/$dir" W=1 KCFLAGS=-Werror modules >&2 || return 1
		echo "$dir/module/tcptrace.ko"
		return 0
	fi
	suite=$(cat "$TCPTRACE_KERNELS/$kver/chroot" 2>/dev/null) ||
		{ echo "no headers for $kver here or in $TCPTRACE_KERNELS" >&2; return 1; }
	# The chroot sees the tree at the same path, bind-mounted, and /proc
	# (7.x's objtool reads it).
	root=$TCPTRACE_CACHE/chroot/$suite
	mkdir -p "$root/$PWD/$dir"
	mountpoint -q "$root/proc" || mount -t proc proc "$root/proc" || return 1
	mount --bind "$PWD/$dir" "$root/$PWD/$dir" || return 1
	chroot "$root" make -s -C "/lib/modules/$kver/build" M="$PWD/$dir" W=1 \
		KCFLAGS=-Werror modules >&2
	rc=$?
	umount "$root/$PWD/$dir"
	[ "$rc" = 0 ] && echo "$dir/module/tcptrace.ko"
	return "$rc"
}
