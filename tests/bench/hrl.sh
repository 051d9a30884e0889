#!/usr/bin/env bash
# hrl.sh BUILD KVER: .hrl encode (copy + crc32c + headers) and verify rates
# beside memcpy of the same payload bytes (target: both >= 0.5 of memcpy).
# FERRY_BENCH_HRL_SECS sets the minimum time per measurement (default 0.5).
set -euo pipefail
B=${1:?usage: hrl.sh BUILD KVER}
out=$("$B/bin/bench-hrl" "${FERRY_BENCH_HRL_SECS:-0.5}")
echo "$out"
awk '$3 == "GB/s" && $NF ~ /^[0-9.]+$/ {
	if ($(NF-1) < 0.5 || $NF < 0.5) low = low " " $1
}
END {
	if (low != "") print "hrl: below the 0.5 x memcpy target for record sizes" low
	else print "hrl: encode and verify >= 0.5 x memcpy at every record size"
}' <<<"$out"
