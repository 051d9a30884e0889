#!/usr/bin/env bash
# kmod.sh BUILD KVER: ferry.ko's write overhead, filter attached / detached,
# same boot, in a QEMU guest on brd and null_blk (scenario bench-kmod):
# 4 KiB random writes QD32 (target >= 0.95) and 1 MiB sequential writes
# (target >= 0.90).  FERRY_BENCH_KMOD_SECS (default 15) per measurement,
# FERRY_BENCH_KMOD_ROUNDS (default 2) alternations.
set -euo pipefail
B=${1:?usage: kmod.sh BUILD KVER}
KVER=${2:?usage: kmod.sh BUILD KVER}
DIR=$(cd "$(dirname "$0")/../vm" && pwd)
export B FERRY_BENCH_KMOD_SECS=${FERRY_BENCH_KMOD_SECS:-15}
export FERRY_BENCH_KMOD_ROUNDS=${FERRY_BENCH_KMOD_ROUNDS:-2}
out=$("$DIR/run" bench-kmod --kernel "$KVER" 2>&1) || { echo "$out"; exit 1; }
grep '^kmod-bench' <<<"$out"
awk '$1 == "kmod-bench" {
	t = ($3 == "randwrite") ? 0.95 : 0.90
	if ($NF < t) low = low " " $2 "/" $3 "(" $NF "<" t ")"
}
END {
	if (low != "") print "kmod: below target:" low
	else print "kmod: every ratio meets its target"
}' <<<"$out"
