set -euo pipefail
. "$FERRY_SHARE/drain-lib.sh"
FIO_SIZE=48M
drain_setup 64M
fio_write 2 &
FIO=$!
for ((i = 1; i <= 20; i++)); do
	# 0.1 .. 1.6 s of draining, then kill -9 at whatever it is doing
	sleep "$((RANDOM % 15 / 10)).$((RANDOM % 10))"
	kill -KILL "$FERRYD_PID"
	wait "$FERRYD_PID" 2>/dev/null || true
	ferryd_start
	log "kill -9 cycle $i done"
done
wait "$FIO"
grep -E 'WRITE:|READ:|err=' /tmp/fio.out
drain_finish
