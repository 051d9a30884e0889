# Boot 1: marker on disk 1 and in the share, then a hard kill.  Boot 2:
# check both, and what the host left between the boots.
set -euo pipefail

if [[ $FERRY_BOOT == 1 ]]; then
	echo "boot $FERRY_BOOT of $FERRY_BOOTS" >"$FERRY_SHARE/boot1"
	echo "ferry-selftest-marker" | dd of="$FERRY_DISK1" bs=4k conv=sync,fsync 2>/dev/null
	sync
	echo "ferry-vm: kill-qemu"
	sleep 60
	echo "selftest-boots: still alive 60 s after kill-qemu"
	exit 1
fi
[[ $(<"$FERRY_SHARE/between") == "from the host between boots" ]]
head -c 21 "$FERRY_DISK1" | grep -q ferry-selftest-marker
echo "boot $FERRY_BOOT of $FERRY_BOOTS: marker ok" >"$FERRY_SHARE/boot2"
