# 60 s of fio on one protected disk and a file workload on the other while
# ferryd streams to ferry-ps; then quiesce, wait until all is shipped.
set -euo pipefail
. "$FERRY_SHARE/ps-lib.sh"

SECS=60

agent_start
mkdir -p /mnt/d1
mkfs.ext4 -q "$FERRY_DISK1"
mount "$FERRY_DISK1" /mnt/d1

files()
{
	local end=$((SECONDS + SECS)) i=0

	mkdir -p /mnt/d1/w
	while ((SECONDS < end)); do
		i=$((i + 1))
		head -c $(((i % 37 + 1) * 4096)) /dev/urandom >"/mnt/d1/w/f.$i.tmp"
		sync "/mnt/d1/w/f.$i.tmp" 2>/dev/null || sync
		mv "/mnt/d1/w/f.$i.tmp" "/mnt/d1/w/f.$i"
		echo "$i" >>/mnt/d1/w/journal.log
		((i % 5)) || rm -f "/mnt/d1/w/f.$((i - 4))"
	done
	echo "file workload: $i files"
}

echo "ps-stream: ${SECS} s of fio and a file workload while streaming"
files &
FILES=$!
fio --name=stream --filename="$FERRY_DISK2" --ioengine=libaio --direct=1 \
    --rw=randwrite --bs=4k --iodepth=4 --time_based --runtime="$SECS" \
    --size=96M --eta=never --output=/tmp/fio.out
grep -E 'WRITE:' /tmp/fio.out
wait "$FILES"
umount /mnt/d1
sync

for _ in $(seq 900); do
	j=$(ferryctl status --json || true)
	sealed=$(json_num sealed <<<"$j")
	pos=$(json_num ring_pos <<<"$j")
	cons=$(json_num ring_consumed <<<"$j")
	[[ $sealed == 0 && -n $pos && $pos == "$cons" ]] && break
	sleep 0.5
done
[[ $sealed == 0 && $pos == "$cons" ]] || { ferryctl status; cat /tmp/ferryd.log; exit 1; }
json_num end_seq <<<"$j" >"$FERRY_SHARE/final-seq"
echo "ps-stream: all shipped up to seq $(<"$FERRY_SHARE/final-seq")"
kill -TERM "$AGENT"
wait "$AGENT" || { cat /tmp/ferryd.log; exit 1; }
