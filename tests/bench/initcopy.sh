#!/usr/bin/env bash
# initcopy.sh BUILD KVER: ferryd's initial copy pipeline (drain.c +
# resync.c + spool.c) on the host, without a VM, beside a plain O_DIRECT
# read of the same file: a file of random data and a sparse one (zeros,
# no I/O: the loop, zero checks and records alone).  The spool is in the
# same directory.  FERRY_BENCH_INITCOPY_MB: file size (default 1024);
# FERRY_BENCH_DISK_DIR: where (default /var/tmp).
set -euo pipefail
B=${1:?usage: initcopy.sh BUILD KVER}
mb=${FERRY_BENCH_INITCOPY_MB:-1024}
bin=$B/bin/bench-initcopy
if [[ ! -x $bin ]]; then
	echo "initcopy: $bin not built (needs tests/integration/kshim.h)"
	exit 1
fi
dir=$(mktemp -d "${FERRY_BENCH_DISK_DIR:-/var/tmp}/ferry-bench-initcopy.XXXXXX")
trap 'rm -rf "$dir"' EXIT
head -c "${mb}M" /dev/urandom >"$dir/random.img"
truncate -s "${mb}M" "$dir/zero.img"
sync
"$bin" "$dir" "$dir/random.img" 2>/dev/null | sed 's/^/initcopy: random /'
"$bin" "$dir" "$dir/zero.img" 2>/dev/null | sed 's/^/initcopy: sparse /'
