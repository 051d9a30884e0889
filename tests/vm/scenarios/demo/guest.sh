# Protect two disks with ferry.ko + ferryd, write to them, and hand the
# captured change log (the spool's .hrl segments) to the host.
set -euo pipefail

CONF=/etc/ferry/ferryd.conf
SPOOL=/var/lib/ferry/spool

step()
{
	echo "demo: $*"
}

start_agent()
{
	step "loading ferry.ko"
	insmod "$FERRY_KO"
	mkfs.ext4 -q "$FERRY_DISK3"
	mkdir -p /var/lib/ferry /etc/ferry /run/ferry
	mount "$FERRY_DISK3" /var/lib/ferry
	cat >"$CONF" <<-CONF
	disk = $FERRY_DISK1
	disk = $FERRY_DISK2
	spool.dir = $SPOOL
	spool.size = 160M
	spool.segment_size = 4M
	ship = none
	CONF
	step "starting ferryd protecting $FERRY_DISK1 and $FERRY_DISK2"
	ferryd -c "$CONF" >/tmp/ferryd.log 2>&1 &
	AGENT=$!
	for _ in $(seq 100); do
		[[ -S /run/ferry/ferryd.sock ]] && break
		kill -0 "$AGENT" || { cat /tmp/ferryd.log; return 1; }
		sleep 0.1
	done
	ferryctl status
}

workload()
{
	step "workload: ext4 + files on $FERRY_DISK1, fio random writes on $FERRY_DISK2"
	mkfs.ext4 -q "$FERRY_DISK1"
	mkdir -p /mnt/d1
	mount "$FERRY_DISK1" /mnt/d1
	cp -r /usr/lib/modules /mnt/d1/
	dd if=/dev/urandom of=/mnt/d1/random bs=1M count=8 2>/dev/null
	umount /mnt/d1
	fio --name=demo --filename="$FERRY_DISK2" --ioengine=libaio \
	    --direct=1 --rw=randwrite --bs=4k --size=16M --iodepth=8 \
	    --eta=never --output=/tmp/fio.out
	grep -E 'WRITE:' /tmp/fio.out
	sync
}

# disk_id N: ferry's id of $FERRY_DISKN, from ferryd's disk table
# ("DEVICE ID STATE ...").
disk_id()
{
	local dev=FERRY_DISK$1

	ferryctl status | awk -v d="${!dev}" '$1 == d { print $2; exit }'
}

stop_agent()
{
	sleep 1			# let ferryd seal the last segment
	ferryctl status
	disk_id 1 >"$FERRY_SHARE/disk1.id"
	disk_id 2 >"$FERRY_SHARE/disk2.id"
	step "stopping ferryd"
	kill -TERM "$AGENT"
	wait "$AGENT" || { cat /tmp/ferryd.log; return 1; }
}

export_segments()
{
	mkdir -p "$FERRY_SHARE/segments"
	ferryd -c "$CONF" export-spool "$FERRY_SHARE/segments"
	hrl verify "$FERRY_SHARE"/segments/*.hrl | tail -n 3
}

start_agent
workload
stop_agent
export_segments
