# Protect two disks, ship to ferry-ps on the host, quiesce at a recovery
# point and record what the disks held there, write more, quiesce again.
set -euo pipefail
. "$FERRY_SHARE/ps-lib.sh"

MAXLAG=/tmp/maxlag

step()
{
	echo "replicate: $*"
}

start_agent()
{
	step "loading ferry.ko, registering with ferry-ps at $SERVER" \
	     "(QEMU user net, guestfwd), starting ferryd protecting" \
	     "$FERRY_DISK1 and $FERRY_DISK2"
	agent_start
	ferryctl status || true
}

# Sample the age of the oldest unshipped change while the workload runs.
watch_lag()
{
	echo 0 >"$MAXLAG"
	while :; do
		ferryctl status --json 2>/dev/null | json_num oldest_unshipped_age_s |
			awk -v f="$MAXLAG" '{ getline m < f; close(f);
			     if ($1 > m) { print $1 > f; close(f) } }'
		sleep 0.5
	done
}

# Wait until every write is in the ring's past, sealed and acknowledged;
# print the stream position (end_seq) reached.
wait_shipped()
{
	local j sealed pos cons

	for _ in $(seq 600); do
		j=$(ferryctl status --json || true)
		sealed=$(json_num sealed <<<"$j")
		pos=$(json_num ring_pos <<<"$j")
		cons=$(json_num ring_consumed <<<"$j")
		if [[ $sealed == 0 && -n $pos && $pos == "$cons" ]]; then
			json_num end_seq <<<"$j"
			return 0
		fi
		sleep 0.5
	done
	ferryctl status >&2 || true
	cat /tmp/ferryd.log >&2
	return 1
}

workload_to_point()
{
	step "workload: ext4 + files on $FERRY_DISK1, fio random writes on $FERRY_DISK2"
	mkfs.ext4 -q "$FERRY_DISK1"
	mkdir -p /mnt/d1
	mount "$FERRY_DISK1" /mnt/d1
	cp -r /usr/lib/modules /mnt/d1/
	dd if=/dev/urandom of=/mnt/d1/random bs=1M count=8 2>/dev/null
	mkdir /mnt/d1/logs
	for i in $(seq 50); do
		head -c $((i * 997)) /dev/urandom >"/mnt/d1/logs/log.$i"
	done
	(cd /mnt/d1 && find . -path ./lost+found -prune -o -type f -print |
		sort | xargs sha256sum) >"$FERRY_SHARE/files-at-point.sha256"
	umount /mnt/d1
	fio --name=before --filename="$FERRY_DISK2" --ioengine=libaio \
	    --direct=1 --rw=randwrite --bs=4k --size=24M --iodepth=8 \
	    --randseed=1 --eta=never --output=/tmp/fio1.out
	grep -E 'WRITE:' /tmp/fio1.out
	sync
}

record_point()
{
	local seq

	seq=$(wait_shipped)
	echo "$seq" >"$FERRY_SHARE/point-seq"
	sha256sum <"$FERRY_DISK1" >"$FERRY_SHARE/disk1-at-point.sha256"
	sha256sum <"$FERRY_DISK2" >"$FERRY_SHARE/disk2-at-point.sha256"
	step "recovery point: quiesced and shipped up to seq $seq"
}

workload_after_point()
{
	step "more writes after the point"
	mount "$FERRY_DISK1" /mnt/d1
	dd if=/dev/urandom of=/mnt/d1/after bs=1M count=4 2>/dev/null
	rm -rf /mnt/d1/logs
	umount /mnt/d1
	fio --name=after --filename="$FERRY_DISK2" --ioengine=libaio \
	    --direct=1 --rw=randwrite --bs=64k --size=16M --iodepth=4 \
	    --randseed=2 --eta=never --output=/tmp/fio2.out
	sync
}

start_agent
t0=$(cut -d" " -f1 /proc/uptime)	# busybox date has no %N
watch_lag &
WATCH=$!
workload_to_point
record_point
workload_after_point
final=$(wait_shipped)
t1=$(cut -d" " -f1 /proc/uptime)
kill "$WATCH"
echo "$final" >"$FERRY_SHARE/final-seq"
j=$(ferryctl status --json)
bytes=$(json_num segment_bytes <<<"$j")
awk -v b="$bytes" -v t0="$t0" -v t1="$t1" -v l="$(<"$MAXLAG")" 'BEGIN {
	printf "%.1f MB shipped by the guest in %.1f s (%.1f MB/s, workload to acknowledged, QEMU TCG); largest age of an unshipped change seen %.1f s\n",
	       b / 1e6, t1 - t0, b / 1e6 / (t1 - t0), l }' >"$FERRY_SHARE/summary"
step "all shipped up to seq $final; stopping ferryd"
kill -TERM "$AGENT"
wait "$AGENT" || { cat /tmp/ferryd.log; exit 1; }
