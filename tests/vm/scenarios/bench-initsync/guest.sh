#!/bin/bash
# Guest half of bench-initsync: see its scenario file.  Prints
# "initsync-bench MiB N fio_read X MB/s initial_copy Y MB/s ratio R".
set -euo pipefail
read -r MB <"$FERRY_SHARE/bench.conf"
DISK=$FERRY_DISK1
BYTES=$((MB << 20))
LOG=/tmp/ferryd.log

fail()
{
	echo "bench-initsync: $*" >&2
	[[ -f $LOG ]] && tail -n 20 "$LOG" >&2
	exit 1
}

# fio_read: MB/s of 1 MiB O_DIRECT sequential reads of the whole disk, QD 8
fio_read()
{
	fio --name=r --filename="$DISK" --ioengine=libaio --direct=1 \
	    --rw=read --bs=1M --iodepth=8 --size="$BYTES" --minimal |
		awk -F';' '$9 > 0 { printf "%.1f\n", $6 * 1024 / 1e6 / ($9 / 1000) }'
}

# busybox date has no %N: /proc/uptime has centiseconds
now() { cut -d" " -f1 /proc/uptime; }

start_ferryd()
{
	ferryd -c "$1" >>"$LOG" 2>&1 &
	AGENT=$!
}

# ferryd up with the spool made, no disk: the copy's time below is then
# not the spool's one-time creation (zero fill).
make_spool()
{
	local rc

	sed '/^disk = /d' /etc/ferry/ferryd.conf >/tmp/nodisk.conf
	start_ferryd /tmp/nodisk.conf
	for _ in $(seq 600); do
		rc=0
		ferryctl status >/dev/null 2>&1 || rc=$?
		((rc == 0 || rc == 4)) && break
		kill -0 "$AGENT" 2>/dev/null || fail "ferryd (no disk) exited"
		sleep 0.1
	done
	kill -TERM "$AGENT"
	wait "$AGENT" || fail "ferryd (no disk) exit $?"
}

insmod "$FERRY_KO"
mkfs.ext4 -q "$FERRY_DISK2"
mkdir -p /mnt/s /etc/ferry /run/ferry
mount -o noatime "$FERRY_DISK2" /mnt/s
cat >/etc/ferry/ferryd.conf <<-CONF
disk = $DISK
spool.dir = /mnt/s/spool
spool.size = 64M
spool.segment_size = 4M
ship = local
state_dir = /mnt/s/state
CONF
make_spool

r1=$(fio_read)
[[ -n $r1 ]] || fail "fio read failed"
t0=$(now)
start_ferryd /etc/ferry/ferryd.conf
# at least 2 MB/s, or it is a failure (under TCG on 2 cores)
limit=$((SECONDS + 120 + MB / 2))
while ((SECONDS < limit)); do
	grep -q 'initial copy done' "$LOG" && break
	kill -0 "$AGENT" 2>/dev/null || fail "ferryd exited during the copy"
	sleep 0.05
done
t1=$(now)
grep -q 'initial copy done' "$LOG" || fail "no 'initial copy done' from ferryd"
grep 'initial copy done' "$LOG"
ferryctl status || true
ferryctl status --json >"$FERRY_SHARE/status.json" || true
kill -TERM "$AGENT"
wait "$AGENT" || fail "ferryd exit $?"
r2=$(fio_read)
[[ -n $r2 ]] || fail "fio read failed"
awk -v mb="$MB" -v b="$BYTES" -v r1="$r1" -v r2="$r2" -v t0="$t0" -v t1="$t1" 'BEGIN {
	fio = (r1 + r2) / 2; copy = b / 1e6 / (t1 - t0)
	printf "initsync-bench MiB %d fio_read %.1f MB/s (%.1f, %.1f) initial_copy %.1f MB/s (%.2f s) ratio %.3f\n",
	       mb, fio, r1, r2, copy, t1 - t0, copy / fio
}' | tee "$FERRY_SHARE/bench.out"
