#!/bin/bash
# Guest half of overflow: see its scenario file.
set -euo pipefail
. "$FERRY_SHARE/ps-lib.sh"
. "$FERRY_SHARE/resync-lib.sh"

finish()
{
	cp "$RS_LOG" "$FERRY_SHARE/ferryd.log" 2>/dev/null || true
	cp /tmp/watch "$FERRY_SHARE/watch.log" 2>/dev/null || true
}
trap finish EXIT

# light_writes SEED: 2 MiB of 4 KiB random writes, slow enough for data mode
light_writes()
{
	fio --name=light --filename="$RS_DISK" --ioengine=psync --direct=1 \
	    --rw=randwrite --bs=4k --io_size=2M --size=256M --rate=1m \
	    --randseed="$1" --output=/tmp/fio-light.out
}

rs_setup "ring.size = 1M"
rs_ferryd
rs_watch /tmp/watch &
WATCH=$!
rs_log "initial copy of $RS_DISK (256 MiB, 15 MiB of data)"
rs_wait_copy 150
rs_wait_caught_up 150 >/dev/null
ferryctl status
# writes in data mode, shipped: recovery points before the window
light_writes 31
rs_wait_caught_up 60 >"$FERRY_SHARE/before-seq"
sleep 2
rs_log "kernel before: $(rs_stats)"

rs_log "killing ferryd (SIGKILL), heavy writes while it is down"
kill -KILL "$AGENT"
wait "$AGENT" || true
fio --name=rand --filename="$RS_DISK" --ioengine=libaio --direct=1 \
    --rw=randwrite --bs=4k --io_size=24M --size=256M --iodepth=16 \
    --randseed=11 --output=/tmp/fio1.out
fio --name=seq --filename="$RS_DISK" --ioengine=libaio --direct=1 \
    --rw=write --bs=1M --offset=128M --size=16M --iodepth=4 \
    --output=/tmp/fio2.out
grep -h 'WRITE:' /tmp/fio1.out /tmp/fio2.out
rs_stats | tee "$FERRY_SHARE/stats-stopped"

rs_log "starting ferryd again, lighter writes while it catches up"
rs_ferryd
fio --name=during --filename="$RS_DISK" --ioengine=libaio --direct=1 \
    --rw=randwrite --bsrange=4k-64k --io_size=8M --size=256M --iodepth=4 \
    --randseed=12 --output=/tmp/fio3.out
grep 'WRITE:' /tmp/fio3.out
sync
rs_log "waiting until caught up"
rs_wait_caught_up 240 >"$FERRY_SHARE/caught-up-seq"
rs_stats | tee "$FERRY_SHARE/stats-final"
# writes in data mode again: recovery points after the window
light_writes 32
rs_wait_caught_up 60 >"$FERRY_SHARE/final-seq"
sleep 2
ferryctl status | tee "$FERRY_SHARE/resync-status"
ferryctl status --json >"$FERRY_SHARE/status.json"
kill "$WATCH" 2>/dev/null || true
rs_log "caught up at seq $(<"$FERRY_SHARE/final-seq"); stopping ferryd"
kill -TERM "$AGENT"
wait "$AGENT" || { rs_log "ferryd exit $?"; exit 1; }
