set -euo pipefail
mkfs.ext4 -q "$FERRY_DISK1"
mkdir -p /mnt/uring
mount -t ext4 "$FERRY_DISK1" /mnt/uring
rc=0
ferry-test-uring /mnt/uring/direct.dat >"$FERRY_SHARE/uring.txt" 2>&1 || rc=$?
cat "$FERRY_SHARE/uring.txt"
umount /mnt/uring
# 77 (no io_uring) is a failure here: every kernel of the matrix has it.
exit $rc
