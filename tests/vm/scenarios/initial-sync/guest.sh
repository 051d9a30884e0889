#!/bin/bash
# Guest half of initial-sync: see its scenario file.
set -euo pipefail
. "$FERRY_SHARE/ps-lib.sh"
. "$FERRY_SHARE/resync-lib.sh"

finish()
{
	cp "$RS_LOG" "$FERRY_SHARE/ferryd.log" 2>/dev/null || true
	cp /tmp/watch "$FERRY_SHARE/watch.log" 2>/dev/null || true
}
trap finish EXIT

# fio for as long as the copy runs: overlapping random writes over the
# whole disk (verify headers in every block; the end check is the sha256),
# plus a hot region the copy passes early and fio keeps rewriting.
# (exec: $! is fio itself; a background bash would ignore the signal)
writers()
{
	exec fio --output=/tmp/fio.out --ioengine=libaio --direct=1 --iodepth=4 \
	    --filename="$RS_DISK" --time_based --runtime=3600 --size=1G \
	    --verify=crc32c --do_verify=0 --rate=256k \
	    --name=a --rw=randwrite --bsrange=4k-128k --randseed=21 \
	    --name=b --rw=randwrite --bs=4k --randseed=22 \
	    --name=c --rw=randwrite --bsrange=8k-1m --size=64M --randseed=23
}

rs_setup
rs_ferryd
T0=$(cut -d" " -f1 /proc/uptime)
rs_watch /tmp/watch &
WATCH=$!
writers &
FIO=$!
rs_log "first protection of $RS_DISK (1 GiB): initial copy while fio writes"
ferryctl status || true
# fio keeps writing until the copy is done, and 3 s more, so that writes
# also land after it
rs_wait_copy 400
T1=$(cut -d" " -f1 /proc/uptime)
sleep 3
kill -TERM "$FIO"
wait "$FIO" || true
grep -E 'WRITE:|err=' /tmp/fio.out || true
sync
rs_log "copy finished; fio stopped; waiting until caught up"
rs_wait_caught_up 300 >"$FERRY_SHARE/final-seq"
T2=$(cut -d" " -f1 /proc/uptime)
ferryctl status | tee "$FERRY_SHARE/resync-status"
ferryctl status --json >"$FERRY_SHARE/status.json"
rs_stats
kill "$WATCH" 2>/dev/null || true
awk -v t0="$T0" -v t1="$T1" -v t2="$T2" 'BEGIN {
	printf "initial-sync: copy of 1 GiB took %.1f s (%.1f MB/s of disk), all shipped %.1f s after the start\n",
	       t1 - t0, 1073741824 / 1e6 / (t1 - t0), t2 - t0 }' | tee "$FERRY_SHARE/copy-summary"
j=$(<"$FERRY_SHARE/status.json")
echo "initial-sync: ferryd re-read $(json_num 'initial copy' <<<"$j") bytes for the" \
     "initial copy; sent as data $(json_num data_bytes <<<"$j") bytes, as zero ranges" \
     "$(json_num zero_bytes <<<"$j") bytes (all reasons)" | tee -a "$FERRY_SHARE/copy-summary"
grep -i 'initial copy' "$RS_LOG" | sed 's/^ferryd: /initial-sync: ferryd: /' | tee -a "$FERRY_SHARE/copy-summary" || true
rs_log "caught up at seq $(<"$FERRY_SHARE/final-seq"); stopping ferryd"
kill -TERM "$AGENT"
wait "$AGENT" || { rs_log "ferryd exit $?"; exit 1; }
