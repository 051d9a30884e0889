#!/usr/bin/env bash
# integ-packaging: the Debian packages build from the tree, carry what they
# must, and the DKMS source package builds ferry.ko for the test kernel.
# Needs the tree built (make); run by tests/run-integration.
set -euo pipefail

TOP=$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)
[[ -f $TOP/VERSION ]] || TOP=$(git -C "$(dirname "$(readlink -f "$0")")" rev-parse --show-toplevel)
B=${FERRY_BUILD:-$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)}
KVER=$("$TOP/scripts/kver")
VER=$(cat "$TOP/VERSION")
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
failed=0

fail()
{
	echo "FAIL integ-packaging: $*"
	failed=1
}

# contains DEB PATH...: every PATH is in the package.
contains()
{
	local deb=$1 p list
	shift

	list=$(dpkg-deb -c "$deb" | awk '{ print $6 }')
	for p in "$@"; do
		grep -qx "./${p#/}" <<<"$list" || fail "$(basename "$deb") lacks $p"
	done
}

"$TOP/packaging/build-deb" "$B" >/dev/null
P=$B/pkg
contains "$P/ferry-agent_${VER}_amd64.deb" /usr/sbin/ferryd /usr/sbin/ferryctl \
	/lib/systemd/system/ferryd.service /etc/ferry/ferryd.conf \
	/usr/lib/modules-load.d/ferry.conf \
	/usr/share/initramfs-tools/hooks/ferry \
	/usr/share/initramfs-tools/scripts/local-top/ferry \
	/usr/lib/systemd/system-shutdown/ferry /usr/share/doc/ferry/boot.md
contains "$P/ferry-ps_${VER}_amd64.deb" /usr/sbin/ferry-ps \
	/lib/systemd/system/ferry-ps.service
contains "$P/ferry-tools_${VER}_amd64.deb" /usr/bin/hrl
contains "$P/ferry-dkms_${VER}_all.deb" "/usr/src/ferry-$VER/dkms.conf" \
	"/usr/src/ferry-$VER/Kbuild" "/usr/src/ferry-$VER/include/uapi/ferry.h"
dpkg-deb -f "$P/ferry-agent_${VER}_amd64.deb" Depends | grep -q liburing ||
	fail "ferry-agent does not depend on liburing"
dpkg-deb -I "$P/ferry-agent_${VER}_amd64.deb" conffiles | grep -q ferryd.conf ||
	fail "ferryd.conf is not a conffile"
# boot and shutdown hooks (docs/boot.md): executable, and the initramfs is
# rebuilt when the agent is installed
agent_list=$(dpkg-deb -c "$P/ferry-agent_${VER}_amd64.deb")
for p in usr/share/initramfs-tools/hooks/ferry \
	 usr/share/initramfs-tools/scripts/local-top/ferry \
	 usr/lib/systemd/system-shutdown/ferry; do
	grep -q "^-rwxr-xr-x .* ./$p\$" <<<"$agent_list" ||
		fail "ferry-agent: $p is not an executable file"
done
postinst=$(dpkg-deb -I "$P/ferry-agent_${VER}_amd64.deb" postinst)
grep -q 'update-initramfs -u' <<<"$postinst" ||
	fail "ferry-agent's postinst does not update the initramfs"

# DKMS, in a private tree: nothing is installed on this machine.
dpkg-deb -x "$P/ferry-dkms_${VER}_all.deb" "$T/root"
mkdir -p "$T/dkms"
if ! dkms build -m ferry -v "$VER" -k "$KVER" --dkmstree "$T/dkms" \
	--sourcetree "$T/root/usr/src" >"$T/dkms.log" 2>&1; then
	cat "$T/dkms.log"
	fail "dkms build for $KVER failed"
else
	ko=$(find "$T/dkms" -name 'ferry.ko*' | head -1)
	if [[ -z $ko ]]; then
		fail "dkms build left no ferry.ko"
	elif [[ $(modinfo -F vermagic "$ko" | cut -d' ' -f1) != "$KVER" ]]; then
		fail "dkms built ferry.ko for $(modinfo -F vermagic "$ko"), not $KVER"
	fi
fi

if ((failed)); then
	exit 1
fi
echo "PASS integ-packaging: 4 packages, DKMS build for $KVER"
