#!/usr/bin/env bash
# initsync.sh BUILD KVER: the initial copy's read rate beside fio's
# sequential read rate of the same disk (1 MiB O_DIRECT, QD 8), in a QEMU
# guest (scenario bench-initsync): a disk full of random data, ferryd with
# ship = local and its spool on a second disk.  Target: ratio >= 0.90.
# FERRY_BENCH_INITSYNC_MB (default 1024) sets the disk size.
set -euo pipefail
B=${1:?usage: initsync.sh BUILD KVER}
KVER=${2:?usage: initsync.sh BUILD KVER}
DIR=$(cd "$(dirname "$0")/../vm" && pwd)
export B FERRY_BENCH_INITSYNC_MB=${FERRY_BENCH_INITSYNC_MB:-1024}
out=$("$DIR/run" bench-initsync --kernel "$KVER" 2>&1) || { echo "$out"; exit 1; }
grep '^initsync-bench' <<<"$out"
awk '$1 == "initsync-bench" {
	if ($NF < 0.90) print "initsync: below target: ratio " $NF " < 0.90"
	else print "initsync: ratio " $NF " meets the target (>= 0.90)"
}' <<<"$out"
