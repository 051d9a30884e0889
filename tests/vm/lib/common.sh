# Helpers shared by the VM harness scripts (sourced, not executed).
#
# Kernel location: a kernel release KVER is booted from
#   $FERRY_KERNEL_ROOT/boot/vmlinuz-$KVER
# with its modules under
#   $FERRY_KERNEL_ROOT/lib/modules/$KVER
# FERRY_KERNEL_ROOT defaults to / (the host's own Debian cloud kernel); the
# kernel matrix points it at a debootstrap chroot holding another release.

VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOP_DIR=$(cd "$VM_DIR/../.." && pwd)
FERRY_KERNEL_ROOT=${FERRY_KERNEL_ROOT:-/}

die()
{
	echo "${0##*/}: $*" >&2
	exit 2
}

default_kver()
{
	"$TOP_DIR/scripts/kver"
}

kernel_image()
{
	echo "${FERRY_KERNEL_ROOT%/}/boot/vmlinuz-$1"
}

kernel_moddir()
{
	echo "${FERRY_KERNEL_ROOT%/}/lib/modules/$1"
}

# Default build directory: the B the Makefile uses, absolute.
default_build_dir()
{
	echo "${B:-$TOP_DIR/build}"
}

# now_ms: wall clock in milliseconds, for durations printed to people.
now_ms()
{
	date +%s%3N
}

# elapsed START_MS: seconds since START_MS with one decimal.
elapsed()
{
	local ms=$(( $(now_ms) - $1 ))
	printf '%d.%d' $((ms / 1000)) $((ms % 1000 / 100))
}
