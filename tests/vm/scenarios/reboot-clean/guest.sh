# Boot 1: protect, write, initial copy, clean stop, write, unmount,
# shutdown-save.  Boot 2: early attach, mount, write, ferryd resumes.
set -euo pipefail
. "$FERRY_SHARE/ps-lib.sh"
. "$FERRY_SHARE/reboot-lib.sh"

fio_disk2()
{
	fio --name="$1" --filename="$FERRY_DISK2" --ioengine=libaio --direct=1 \
	    --rw=randwrite --bs="$2" --size="$3" --iodepth=4 --randseed="$4" \
	    --output=/tmp/fio.out
	grep -E 'WRITE:' /tmp/fio.out
}

boot1()
{
	rb_log "ext4 on $FERRY_DISK1 (spool, state, files), ferryd protecting $FERRY_DISK1 and $FERRY_DISK2"
	rb_first_setup
	rb_ferryd
	rb_log "writes during the initial copy"
	mkdir -p $RB_MNT/data
	cp -r /usr/lib/modules $RB_MNT/data/
	dd if=/dev/urandom of=$RB_MNT/data/random bs=1M count=8 2>/dev/null
	fio_disk2 w1 4k 16M 11
	sync
	rb_wait_caught_up 1000
	rb_initial_done || { rb_log "initial copies not recorded as done"; cat $RB_MNT/disks/*.state; return 1; }
	ferryctl status --json | json_num end_seq >"$RB_OUT/end-seq"
	rb_log "initial copy done and shipped (seq $(<"$RB_OUT/end-seq")); stopping ferryd"
	rb_stop
	grep -E 'clean stop' "$RB_LOG"
	rb_kstats
	[[ $(rb_kstats | grep -c ' mode=bitmap ') == 2 ]] ||
		{ rb_log "disks not parked"; return 1; }
	rb_log "writes after the stop (bits only)"
	dd if=/dev/urandom of=$RB_MNT/data/after-stop bs=1M count=4 2>/dev/null
	rm -rf $RB_MNT/data/modules/*/kernel/drivers
	fio_disk2 w2 64k 8M 12
	sync
	umount $RB_MNT
	rb_kstats
	rb_log "file systems down: ferryd shutdown-save (systemd-shutdown's hook)"
	ferryd -c "$CONF" shutdown-save 2>"$RB_OUT/shutdown-save.log" ||
		{ cat "$RB_OUT/shutdown-save.log"; return 1; }
	cat "$RB_OUT/shutdown-save.log"
	cp "$RB_LOG" "$RB_OUT/ferryd.log"
}

boot2()
{
	rb_log "ferry.ko and early attach before the mount (as the initramfs)"
	rb_next_setup
	rb_log "writes before ferryd starts (in the ring since early-attach)"
	dd if=/dev/urandom of=$RB_MNT/data/boot2-before bs=1M count=4 2>/dev/null
	fio_disk2 w3 16k 4M 13
	sync
	rb_ferryd
	grep -E 'shutdown|hash-compare' "$RB_LOG" || true
	rb_log "writes with ferryd running"
	dd if=/dev/urandom of=$RB_MNT/data/boot2-after bs=1M count=4 2>/dev/null
	fio_disk2 w4 4k 4M 14
	rb_quiesce
	rb_save
	rb_stop
	ferryd -c "$CONF" spool-extents >"$RB_OUT/extents"
}

"boot$FERRY_BOOT"
