# Guest side of reboot-clean and reboot-unclean (copied to the share by
# rb_host_pre, sourced by their guest.sh after ps-lib.sh).  ferryd protects
# disk 1 (ext4 holding the spool, the state directory and files) and disk 2
# (raw); the same disk images boot twice.  What each boot leaves for the
# host goes to $FERRY_SHARE/bootN/.
#
#   rb_first_setup        insmod, mkfs, mount, register, ferryd.conf
#   rb_next_setup         insmod, ferryd.conf, `ferryd early-attach` (what
#                         the initramfs does), then mount
#   rb_ferryd / rb_stop   start ferryd; SIGTERM it and wait (park + drain)
#   rb_wait_caught_up S   nothing to re-read, compare or ship, twice
#   rb_quiesce            sync, caught up, then disk 1 copied and disk 2
#                         hashed into the share with the stream's end_seq,
#                         again until nothing was captured during the copy
#   rb_save               ferryd's log and status into the share

RB_MNT=/var/lib/ferry
RB_LOG=/tmp/ferryd.log
RB_OUT=$FERRY_SHARE/boot$FERRY_BOOT
mkdir -p "$RB_OUT"

rb_log()
{
	echo "$FERRY_SCENARIO: boot $FERRY_BOOT: $*"
}

rb_conf()
{
	mkdir -p /etc/ferry /run/ferry $RB_MNT
	cat >"$CONF" <<-CONF
	disk = $FERRY_DISK1
	disk = $FERRY_DISK2
	spool.dir = $RB_MNT/spool
	spool.size = 96M
	spool.segment_size = 4M
	ship = server
	server = $SERVER
	state_dir = $RB_MNT
	CONF
}

# lazytime: the spool's writes change its files' times in memory only, so
# an idle ferryd leaves disk 1 idle (no journal commit every 5 s that
# ferryd would then ship, and so on).
rb_mount()
{
	mount -o noatime,lazytime "$FERRY_DISK1" $RB_MNT
}

rb_first_setup()
{
	insmod "$FERRY_KO"
	mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$FERRY_DISK1"
	rb_conf
	rb_mount
	ferryctl register --server "$SERVER" \
		--passphrase-file "$FERRY_SHARE/passphrase" --state-dir $RB_MNT
}

rb_next_setup()
{
	local rc=0

	insmod "$FERRY_KO"
	rb_conf
	ferryd -c "$CONF" early-attach 2>"$RB_OUT/early-attach.log" || rc=$?
	cat "$RB_OUT/early-attach.log"
	((rc == 0)) || { rb_log "early-attach exit $rc"; return 1; }
	rb_mount
}

rb_ferryd()
{
	ferryd -c "$CONF" >>"$RB_LOG" 2>&1 &
	AGENT=$!
	for _ in $(seq 300); do
		[[ -S /run/ferry/ferryd.sock ]] && ferryctl status >/dev/null 2>&1
		case $? in 0|4) return 0 ;; esac
		kill -0 "$AGENT" 2>/dev/null || break
		sleep 0.1
	done
	cat "$RB_LOG"
	rb_log "ferryd did not come up"
	return 1
}

# rb_stop: SIGTERM, and ferryd parks, drains and exits within 150 s.
rb_stop()
{
	local end=$((SECONDS + 150))

	kill -TERM "$AGENT"
	while ((SECONDS < end)) && kill -0 "$AGENT" 2>/dev/null; do
		sleep 0.5
	done
	if kill -0 "$AGENT" 2>/dev/null; then
		rb_log "ferryd still running 150 s after SIGTERM:"
		ferryctl status || true
		tail -n 30 "$RB_LOG"
		return 1
	fi
	wait "$AGENT" || { rb_log "ferryd exit $?"; tail -n 30 "$RB_LOG"; return 1; }
}

rb_dev()
{
	local d

	d=$(readlink -f "$1")
	cat "/sys/class/block/${d##*/}/dev"
}

# rb_kstats: ferry.ko's statistics of both disks, one line each.
rb_kstats()
{
	ferry-test-stats "$(rb_dev "$FERRY_DISK1")" &&
		ferry-test-stats "$(rb_dev "$FERRY_DISK2")"
}

# Caught up: both disks in data mode, no dirty bit, no resync flag; no
# data left in the ring, every segment acknowledged, nothing being re-read
# or compared.
# Otherwise RB_WHY says what is left.
rb_caught_up()
{
	local s j rc=0

	s=$(rb_kstats) || { RB_WHY="no kernel statistics"; return 1; }
	RB_WHY="kernel: $(grep -o ' mode=[a-z]*\| dirty_bits=[0-9]*\| state=[a-z,]*' <<<"$s" | tr -d '\n')"
	[[ $(grep -c ' mode=data ' <<<"$s") == 2 &&
	   $(grep -c ' dirty_bits=0 ' <<<"$s") == 2 && $s != *",resync"* ]] ||
		return 1
	j=$(ferryctl status --json 2>/dev/null) || rc=$?
	RB_WHY="ferryctl status --json exit $rc"
	((rc != 3)) || { RB_WHY="ferryd is gone"; return 2; }
	((rc == 0 || rc == 4)) || return 1
	RB_WHY="resync or hash-compare active"
	[[ $j != *'"active":true'* ]] || return 1
	# a compare asked for at start may still wait behind another one
	RB_WHY="hash-compares asked for at start not all finished"
	(($(grep -c 'bytes compared' "$RB_LOG") >=
	  $(grep -c 'unclean shutdown detected' "$RB_LOG"))) || return 1
	RB_WHY="$(json_num sealed <<<"$j") segments not acknowledged"
	[[ $(json_num sealed <<<"$j") == 0 ]] || return 1
	# The spool's fdatasync on disk 1 sends cache flushes, which ferry.ko
	# records (64 bytes, no data) and ferryd seals and syncs again: the
	# ring is never quite empty.  Less than a data record left is enough.
	RB_WHY="ring read to $(json_num ring_pos <<<"$j"), released to $(json_num ring_consumed <<<"$j")"
	(($(json_num ring_pos <<<"$j") - $(json_num ring_consumed <<<"$j") < 4096)) ||
		return 1
	RB_WHY="ferryctl status: exit $rc (attention)"
	((rc == 0))
}

# rb_wait_caught_up SECS: caught up twice, two seconds apart; says every
# 30 s what it is waiting for.
rb_wait_caught_up()
{
	local end=$((SECONDS + $1)) n=0 said=$SECONDS rc

	while ((SECONDS < end)); do
		rc=0
		rb_caught_up || rc=$?
		if ((rc == 0)); then
			n=$((n + 1))
			((n >= 2)) && return 0
		elif ((rc == 2)); then
			rb_log "$RB_WHY:"
			tail -n 40 "$RB_LOG"
			return 1
		else
			n=0
			if ((SECONDS - said >= 30)); then
				rb_log "waiting: $RB_WHY"
				said=$SECONDS
			fi
		fi
		sleep 2
	done
	rb_log "not caught up after $1 s:" >&2
	rb_kstats >&2 || true
	ferryctl status >&2 || true
	tail -n 40 "$RB_LOG" >&2
	return 1
}

# rb_initial_done: both disks' initial copy is recorded as done.
rb_initial_done()
{
	[[ $(grep -lx 'initial_copy done' $RB_MNT/disks/*.state 2>/dev/null |
	     wc -l) == 2 ]]
}

rb_quiesce()
{
	local s1 s2

	for _ in 1 2 3 4 5 6; do
		sync
		rb_wait_caught_up 900
		s1=$(ferryctl status --json | json_num end_seq)
		dd if="$FERRY_DISK1" of="$RB_OUT/disk1.img" bs=1M iflag=direct 2>/dev/null
		sha256sum <"$FERRY_DISK2" | cut -d' ' -f1 >"$RB_OUT/disk2.sha256"
		# the copy is the state at s1 only if nothing was captured
		# meanwhile (ext4 commits the spool's metadata now and then)
		rb_wait_caught_up 900
		s2=$(ferryctl status --json | json_num end_seq)
		if [[ $s1 == "$s2" ]]; then
			echo "$s1" >"$RB_OUT/end-seq"
			rb_log "quiesced: all shipped up to seq $s1; disk 1 copied, disk 2 hashed"
			return 0
		fi
		rb_log "quiesce: writes captured during the copy (seq $s1 to $s2); again"
	done
	rb_log "quiesce: disk 1 never stood still for a copy"
	return 1
}

rb_save()
{
	cp "$RB_LOG" "$RB_OUT/ferryd.log" 2>/dev/null || true
	ferryctl status --json >"$RB_OUT/status.json" 2>/dev/null || true
	ferryctl status >"$RB_OUT/status.txt" 2>&1 || true
	rb_kstats >"$RB_OUT/kstats" 2>&1 || true
}
