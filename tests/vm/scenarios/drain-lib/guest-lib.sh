# Guest side of the drain-* scenarios (copied to the share by host_pre and
# sourced by their guest.sh).  ferryd protects disk 1 and keeps its spool
# on an ext4 file system of that same disk; fio writes a file beside it.
#
#   drain_setup         mkfs, mount, config, ferryd started (attach), the
#                       attach-time image copied to the share
#   drain_finish        stop ferryd, spool extents and segments to the
#                       share, unmount, drain what is left in the ring into
#                       a second spool on the share
#
# The host then applies base.img + segments and compares with the disk.

MNT=/mnt/p
CONF=/etc/ferry/ferryd.conf
FIO_SIZE=${FIO_SIZE:-32M}
FERRYD_PID=

log()
{
	echo "drain: $*"
}

ferryd_start()
{
	ferryd -c "$CONF" >>/tmp/ferryd.log 2>&1 &
	FERRYD_PID=$!
	local i
	for ((i = 0; i < 300; i++)); do
		# 0 healthy, 4 attention: either way ferryd answers
		ferryctl status >/dev/null 2>&1 && return 0
		[[ $? == 4 ]] && return 0
		kill -0 "$FERRYD_PID" 2>/dev/null || break
		sleep 0.1
	done
	cat /tmp/ferryd.log
	log "ferryd did not come up"
	return 1
}

drain_setup()
{
	local disk=$FERRY_DISK1 ring=${1:-32M} sdir=$MNT/spool

	insmod "$FERRY_KO"
	mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$disk"
	mkdir -p $MNT /etc/ferry
	mount -o noatime "$disk" $MNT
	if [[ ${SPOOL_DISK:-} ]]; then
		# debugging aid: the spool on another, unprotected disk
		mkfs.ext4 -q -F "$SPOOL_DISK"
		mkdir -p /mnt/s
		mount -o noatime "$SPOOL_DISK" /mnt/s
		sdir=/mnt/s/spool
	fi
	# by-id name with no udev link: ferryd finds the disk by its serial;
	# stop.park = no: the ring keeps capturing after ferryd stops, for
	# drain_finish's last drain
	cat >"$CONF" <<-EOC
	disk = /dev/disk/by-id/virtio-ferry-disk1
	spool.dir = $sdir
	spool.size = ${SPOOL_SIZE:-128M}
	spool.segment_size = 1M
	ship = none
	ring.size = $ring
	stop.park = no
	run_dir = /run/ferry
	EOC
	fio --name=prep --filename=$MNT/fio.dat --size="$FIO_SIZE" \
		--create_only=1 >/dev/null
	sync
	ferryd_start
	ferryctl status
	# After attach: blocks written from now on are in the stream, the
	# others are as they are now, so this copy may even race the writes.
	dd if="$disk" of="$FERRY_SHARE/base.img" bs=1M iflag=direct 2>/dev/null
}

fio_write()
{
	fio --name=w --filename=$MNT/fio.dat --size="$FIO_SIZE" \
		--rw=randwrite --bsrange=4k-64k --direct=1 --ioengine=psync \
		--verify=crc32c --do_verify=1 --randseed="$1" "${@:2}" \
		--output=/tmp/fio.out
}

drain_finish()
{
	local rc=0

	sync
	ferryctl status || rc=$?
	ferryctl status --json >"$FERRY_SHARE/status.json" || true
	# drops would mean the ring overflowed: the stream has a hole
	if grep -q '"drops":[1-9]' "$FERRY_SHARE/status.json"; then
		log "ring overflowed during the test (drops): enlarge ring.size"
		return 1
	fi
	((rc == 0)) || { log "ferryctl status exit $rc"; return 1; }
	log "ferryd memory: $(grep -E 'VmHWM|VmRSS' /proc/$FERRYD_PID/status | tr -s ' \t' ' ' | tr '\n' ' ')"
	kill -TERM "$FERRYD_PID"
	wait "$FERRYD_PID" || { log "ferryd exit $?"; cat /tmp/ferryd.log; return 1; }
	if [[ ${SPOOL_DISK:-} ]]; then
		: >"$FERRY_SHARE/extents"
	else
		ferryd -c "$CONF" spool-extents >"$FERRY_SHARE/extents"
	fi
	ferryd -c "$CONF" export-spool "$FERRY_SHARE/seg1"
	umount $MNT
	# What the unmount wrote is still in the ring: drain it to the share.
	mkdir -p "$FERRY_SHARE/final"
	cat >/tmp/final.conf <<-EOC
	spool.dir = $FERRY_SHARE/final/spool
	spool.size = 8M
	spool.segment_size = 1M
	ship = none
	run_dir = /run/ferry-final
	EOC
	ferryd -c /tmp/final.conf --exit-when-drained
	ferryd -c /tmp/final.conf export-spool "$FERRY_SHARE/seg2"
	rm -rf "$FERRY_SHARE/final"
	cp /tmp/ferryd.log "$FERRY_SHARE/ferryd.log"
	log "extents excluded: $(wc -l <"$FERRY_SHARE/extents")," \
	    "segments: $(ls "$FERRY_SHARE/seg1" | wc -l) + $(ls "$FERRY_SHARE/seg2" | wc -l)"
}
