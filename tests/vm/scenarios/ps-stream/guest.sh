# 60 s of fio on one protected disk and a file workload on the other while
# ferryd streams to ferry-ps; then quiesce, wait until all is shipped.
set -euo pipefail

CONF=/etc/ferry/ferryd.conf
SERVER=$FERRY_HOST:$(<"$FERRY_SHARE/ps-port")
SECS=60

json_num()
{
	sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p"
}

insmod "$FERRY_KO"
mkfs.ext4 -q "$FERRY_DISK3"
mkdir -p /var/lib/ferry /etc/ferry /run/ferry /mnt/d1
mount "$FERRY_DISK3" /var/lib/ferry
ferryctl register --server "$SERVER" \
	--passphrase-file "$FERRY_SHARE/passphrase" --state-dir /var/lib/ferry
cat >"$CONF" <<CONF
disk = $FERRY_DISK1
disk = $FERRY_DISK2
spool.dir = /var/lib/ferry/spool
spool.size = 160M
spool.segment_size = 4M
ship = server
server = $SERVER
state_dir = /var/lib/ferry
CONF
ferryd -c "$CONF" >/tmp/ferryd.log 2>&1 &
AGENT=$!
for _ in $(seq 100); do
	[[ -S /run/ferry/ferryd.sock ]] && break
	kill -0 "$AGENT" || { cat /tmp/ferryd.log; exit 1; }
	sleep 0.1
done

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
