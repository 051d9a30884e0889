set -euo pipefail
. "$FERRY_SHARE/drain-lib.sh"
FIO_SIZE=24M
# the writes, re-drained records after each kill and the initial copy
SPOOL_SIZE=352M
drain_setup 64M
fio_write 2 --loops=8 &
FIO=$!
loaded=0
for ((i = 1; i <= 20; i++)); do
	# 0.1 .. 0.9 s of draining, then kill -9 at whatever it is doing
	sleep "0.$((RANDOM % 9 + 1))"
	kill -0 "$FIO" 2>/dev/null && loaded=$((loaded + 1))
	kill -KILL "$FERRYD_PID"
	wait "$FERRYD_PID" 2>/dev/null || true
	ferryd_start
done
log "20 kill -9 cycles, $loaded of them while fio was writing"
wait "$FIO"
grep -E 'WRITE:|READ:|err=' /tmp/fio.out
drain_finish
