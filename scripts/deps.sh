#!/bin/sh
# Install every build and test dependency of ferry from Debian's archive.
# Idempotent: when all packages are present it only asks dpkg and returns.
set -eu

PKGS="build-essential pkg-config git ca-certificates
	liburing-dev libcurl4-openssl-dev libssl-dev openssl
	libprotobuf-c-dev protobuf-c-compiler libcmocka-dev
	clang libclang-rt-14-dev llvm
	linux-image-cloud-amd64 linux-headers-cloud-amd64 sparse
	qemu-system-x86 busybox-static cpio kmod zstd xz-utils
	fio e2fsprogs xfsprogs lvm2 mdadm util-linux
	debootstrap dkms"

missing=""
for p in $PKGS; do
	s=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$s" = installed ] || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "deps: missing packages:$missing; run 'make deps' as root" >&2
	exit 1
fi
echo "deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends $missing
