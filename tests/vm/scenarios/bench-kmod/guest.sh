#!/bin/bash
# Guest half of bench-kmod: see its scenario file.  Prints one line per
# device and workload: "kmod-bench DEV WORKLOAD off X on Y ratio R".
set -euo pipefail
read -r SECS ROUNDS <"$FERRY_SHARE/bench.conf"
OUT=$FERRY_SHARE/bench.out
: >"$OUT"

fail() { echo "bench-kmod: $*" >&2; exit 1; }

# fio_rate DEV randwrite|seqwrite: write IOPS or KiB/s (terse field 49/48).
fio_rate()
{
	local args

	case $2 in
	randwrite) args="--rw=randwrite --bs=4k --iodepth=32" ;;
	seqwrite) args="--rw=write --bs=1M --iodepth=8" ;;
	esac
	fio --name=b --filename="$1" --ioengine=libaio --direct=1 $args \
	    --size=192M --runtime="$SECS" --time_based --minimal |
		awk -F';' -v w="$2" '{ print (w == "randwrite") ? $49 : $48 }'
}

# measure DEV WORKLOAD: alternate detached/attached ROUNDS times.
measure()
{
	local dev=$1 w=$2 off=0 on=0 r v pid

	for ((r = 0; r < ROUNDS; r++)); do
		v=$(fio_rate "$dev" "$w"); off=$((off + v))
		ferry-test-cycles drain "$dev" 100000 >/tmp/drain.out 2>&1 & pid=$!
		sleep 1
		v=$(fio_rate "$dev" "$w"); on=$((on + v))
		kill -TERM "$pid"; wait "$pid" || { cat /tmp/drain.out; fail "drain on $dev"; }
		grep -q "drained [1-9]" /tmp/drain.out || fail "nothing captured on $dev"
		cat /tmp/drain.out
	done
	awk -v d="$dev" -v w="$w" -v off="$off" -v on="$on" -v n="$ROUNDS" 'BEGIN {
		unit = (w == "randwrite") ? "IOPS" : "KiB/s"
		printf "kmod-bench %s %s off %d %s on %d %s ratio %.3f\n",
		       d, w, off / n, unit, on / n, unit, off ? on / off : 0
	}' | tee -a "$OUT"
}

modprobe brd rd_nr=1 rd_size=262144 max_part=0 || fail "modprobe brd"
modprobe null_blk nr_devices=1 gb=1 queue_mode=2 irqmode=0 hw_queue_depth=64 ||
	fail "modprobe null_blk"
modprobe crc32c_intel 2>/dev/null || true
insmod "$FERRY_KO"
for dev in /dev/ram0 /dev/nullb0; do
	measure "$dev" randwrite
	measure "$dev" seqwrite
done
rmmod ferry
