# Boot 1: protect, initial copy, fio on both disks, power loss.  Boot 2:
# early attach, mount, ferryd detects it and hash-compares.
set -euo pipefail
. "$FERRY_SHARE/ps-lib.sh"
. "$FERRY_SHARE/reboot-lib.sh"

boot1()
{
	rb_log "ext4 on $FERRY_DISK1 (spool, state, files), ferryd protecting $FERRY_DISK1 and $FERRY_DISK2"
	rb_first_setup
	rb_ferryd
	mkdir -p $RB_MNT/data
	fio --name=prep --filename=$RB_MNT/data/fio.dat --size=48M \
	    --create_only=1 >/dev/null
	sync
	rb_wait_caught_up 1000
	rb_initial_done || { rb_log "initial copies not recorded as done"; cat $RB_MNT/disks/*.state; return 1; }
	ferryctl status --json | json_num end_seq >"$RB_OUT/end-seq"
	rb_log "initial copy done and shipped (seq $(<"$RB_OUT/end-seq")); fio on both disks, then power loss"
	fio --name=f1 --filename=$RB_MNT/data/fio.dat --size=48M \
	    --rw=randwrite --bsrange=4k-64k --direct=1 --ioengine=libaio \
	    --iodepth=4 --time_based --runtime=600 --randseed=21 \
	    --output=/tmp/fio1.out &
	fio --name=f2 --filename="$FERRY_DISK2" --size=128M \
	    --rw=randwrite --bs=4k --direct=1 --ioengine=libaio --iodepth=8 \
	    --time_based --runtime=600 --randseed=22 --output=/tmp/fio2.out &
	sleep 15
	rb_kstats
	ferryctl status || true
	cp "$RB_LOG" "$RB_OUT/ferryd.log"
	sync -f "$FERRY_SHARE"
	rb_log "power loss now"
	echo "ferry-vm: kill-qemu"
	sleep 600
	return 1
}

boot2()
{
	rb_log "ferry.ko and early attach before the mount (as the initramfs)"
	rb_next_setup
	rb_ferryd
	grep -E 'shutdown|hash-compare' "$RB_LOG" || true
	rb_log "hash-compare resync of both disks"
	rb_quiesce
	rb_save
	rb_stop
	ferryd -c "$CONF" spool-extents >"$RB_OUT/extents"
}

"boot$FERRY_BOOT"
