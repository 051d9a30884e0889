# Host side of reboot-clean and reboot-unclean, sourced by their scenario
# files after BOOTS and TIMEOUT are set: ferry-ps for all boots, the guest
# library in the share, and the final check: the replicas equal what the
# guest copied at its last quiesce point, the spool's extents (and the
# boot-state file's) excepted, since the spool's writes are never captured.

. "$VM_DIR/scenarios/ps-lib/host.sh"

rb_host_pre()
{
	# ferry-ps outlives every boot, not just one TIMEOUT
	TIMEOUT=$((TIMEOUT * BOOTS)) ps_start 0
	cp "$VM_DIR/scenarios/reboot-lib/guest-lib.sh" "$SHARE/reboot-lib.sh"
}

rb_mdir()
{
	MDIR=$(echo "$WORK/$PS_DATA"/machines/*/)
	[[ -d $MDIR ]] || { echo "$NAME: no machine registered"; return 1; }
}

# rb_state KEY: a value of the machine's state at ferry-ps.
rb_state()
{
	awk -v k="$1" '$1 == k { print $2 }' "$MDIR/state" 2>/dev/null
}

# rb_wait_applied SEQ: ferry-ps has applied up to SEQ and every segment it
# stored (re-read records consume no seq: segments holding only them do
# not move applied_pos).
rb_wait_applied()
{
	local want=$1 pos=0 last

	for _ in $(seq 600); do
		pos=$(rb_state applied_pos)
		last=$(ls "$MDIR/segments" 2>/dev/null | sort | tail -n 1)
		[[ -n $pos ]] && ((pos >= want)) &&
			[[ $(rb_state applied_seg) == "$last" ]] && return 0
		sleep 0.2
	done
	echo "$NAME: server applied up to ${pos:-nothing} ($(rb_state applied_seg)), want $want ($last)"
	return 1
}

# rb_mask IMG EXTENTS: zero the "OFFSET LENGTH" byte ranges in IMG.
rb_mask()
{
	local off len

	while read -r off len; do
		dd if=/dev/zero of="$1" bs=1024 seek=$((off / 1024)) \
			count=$((len / 1024)) conv=notrunc status=none
	done <"$2"
}

# rb_diff_blocks A B: the first 4 KiB blocks in which A and B differ, with
# how many bytes of each, then how many blocks in all.
rb_diff_blocks()
{
	cmp -l "$1" "$2" 2>/dev/null |
		awk '{ n[int(($1 - 1) / 4096)]++ }
		     END { for (b in n) printf "%d %d\n", b, n[b] }' |
		sort -n | awk '{ if (NR <= 32) printf "    block %d (%d bytes)\n", $1, $2 }
			       END { printf "    %d blocks differ\n", NR }'
}

# rb_point_at SEQ: the id of ferry-ps's point at SEQ (crash or tag).
rb_point_at()
{
	"$B/bin/ferry-ps" points --data "$WORK/$PS_DATA" --json "$(basename "$MDIR")" |
		grep -o "\"id\":[0-9]*,\"seq\":$1," | head -n 1 |
		sed 's/"id":\([0-9]*\),.*/\1/'
}

# rb_export NAME POINT OUT: the server's image of disk NAME at POINT.
rb_export()
{
	"$B/bin/ferry-ps" export --data "$WORK/$PS_DATA" "$(basename "$MDIR")" \
		"$1" --point "$2" --out "$3"
}

# rb_check_replicas DIR: the replicas, exported at the point at DIR/end-seq
# (later writes, the shutdown's included, may be applied by now), against
# DIR/disk1.img (spool masked) and DIR/disk2.sha256.
rb_check_replicas()
{
	local dir=$1 n1 n2 a b end pt

	end=$(<"$dir/end-seq")
	rb_wait_applied "$end" || return 1
	n1=$(ps_disk_name "$DISK1") || { echo "$NAME: no replica of disk 1"; return 1; }
	n2=$(ps_disk_name "$DISK2") || { echo "$NAME: no replica of disk 2"; return 1; }
	[[ -s $dir/extents ]] || { echo "$NAME: guest left no spool extents"; return 1; }
	pt=$(rb_point_at "$end")
	[[ -n $pt ]] || {
		echo "$NAME: ferry-ps has no recovery point at seq $end; its points:"
		"$B/bin/ferry-ps" points --data "$WORK/$PS_DATA" "$(basename "$MDIR")" | tail -n 8
		return 1
	}
	rb_export "$n1" "$pt" "$WORK/rep1.img" >/dev/null &&
		rb_export "$n2" "$pt" "$WORK/rep2.img" >/dev/null ||
		{ echo "$NAME: export at point $pt failed"; return 1; }
	cp --sparse=always "$dir/disk1.img" "$WORK/src1.img" &&
		rb_mask "$WORK/src1.img" "$dir/extents" &&
		rb_mask "$WORK/rep1.img" "$dir/extents" || return 1
	a=$(sha256sum <"$WORK/src1.img" | cut -d' ' -f1)
	b=$(sha256sum <"$WORK/rep1.img" | cut -d' ' -f1)
	echo "$NAME: host: point $pt at seq $end exported; disk 1 (spool's" \
	     "$(wc -l <"$dir/extents") extents masked): source $a, replica $b"
	[[ $a == "$b" ]] || {
		echo "$NAME: disk 1 replica differs from source in 4 KiB blocks:"
		rb_diff_blocks "$WORK/src1.img" "$WORK/rep1.img"
		return 1
	}
	a=$(<"$dir/disk2.sha256")
	b=$(sha256sum <"$WORK/rep2.img" | cut -d' ' -f1)
	echo "$NAME: host: disk 2: source $a, replica $b"
	[[ $a == "$b" ]] || { echo "$NAME: disk 2 replica differs from source"; return 1; }
	a=$(sha256sum <"$DISK2" | cut -d' ' -f1)
	b=$(sha256sum <"$MDIR/disks/$n2/replica.img" | cut -d' ' -f1)
	[[ $a == "$b" ]] || { echo "$NAME: disk 2 changed after the quiesce point"; return 1; }
}

# rb_show FILE PATTERN: matching lines of a guest file, indented.
rb_show()
{
	grep -E "$2" "$1" 2>/dev/null | sed 's/^/    /' || true
}
