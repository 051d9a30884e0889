# Host side of the resync scenarios (overflow, initial-sync), sourced by
# their scenario files after ps-lib/host.sh: ferry-ps serving (a crash
# point every second, so that points are offered all along), and checks on
# what it received.
#
#   rs_host_pre         ferry-ps started, guest libraries in the share
#   rs_machine          sets MDIR and M (the one registered machine)
#   rs_wait_applied SEQ the server applied everything up to SEQ
#   rs_compare          replica of disk 1 == source image (sha256)
#   rs_window_check     the stream had a resync window, and no recovery
#                       point lies inside it

rs_host_pre()
{
	ps_start 1
	cp "$VM_DIR/scenarios/resync-lib/guest-lib.sh" "$SHARE/resync-lib.sh"
}

rs_machine()
{
	MDIR=$(echo "$WORK/$PS_DATA"/machines/*/)
	[[ -d $MDIR ]] || { echo "$NAME: no machine registered"; return 1; }
	M=$(basename "$MDIR")
}

rs_wait_applied()
{
	local want=$1 pos=0

	for _ in $(seq 600); do
		pos=$(awk '$1 == "applied_pos" { print $2 }' "$MDIR/state" 2>/dev/null)
		[[ -n $pos ]] && ((pos >= want)) && return 0
		sleep 0.2
	done
	echo "$NAME: server applied up to ${pos:-nothing}, want $want"
	return 1
}

rs_compare()
{
	local name a b

	name=$(ps_disk_name "$DISK1") || { echo "$NAME: no replica of disk 1"; return 1; }
	a=$(sha256sum <"$DISK1" | cut -d' ' -f1)
	b=$(sha256sum <"$MDIR/disks/$name/replica.img" | cut -d' ' -f1)
	echo "$NAME: host: disk 1: source $a, replica $b"
	if [[ $a != "$b" ]]; then
		cmp -l "$DISK1" "$MDIR/disks/$name/replica.img" 2>/dev/null |
			awk 'NR == 1 { f = $1 } { n++ } END {
			     if (n) printf "%s: first difference at byte %d, %d bytes differ\n", name, f - 1, n }' \
			     name="$NAME"
		echo "$NAME: replica differs from the source"
		return 1
	fi
}

# The server's segments with HRL_SEG_RESYNC form the window(s); a recovery
# point at seq P holds the records below P, so P inside (start, end) of a
# window would be a state mixing re-read data with write order.  At the
# window's end the last re-read is in, and the unflagged segment that
# closes it makes a point there (ferry-ps, docs/server.md).
rs_window_check()
{
	local segs flagged bad

	segs=$WORK/segments.stat
	"$B/bin/hrl" stat "$MDIR"/segments/*.hrl >"$segs" ||
		{ echo "$NAME: hrl stat of the server's segments failed"; return 1; }
	flagged=$(awk -F'[][,) ]+' '/^[^ ].*: seq \[/ && /, resync$/ {
		for (i = 1; i < NF; i++) if ($i == "seq") { print $(i + 1), $(i + 2); break } }' "$segs")
	if [[ -z $flagged ]]; then
		echo "$NAME: no segment carries the resync flag: the window never opened"
		return 1
	fi
	echo "$NAME: host: $(wc -l <<<"$flagged") resync-flagged segments," \
	     "seq $(head -n 1 <<<"$flagged" | cut -d' ' -f1)" \
	     "to $(tail -n 1 <<<"$flagged" | cut -d' ' -f2);" \
	     "$(grep -c ': seq \[' "$segs") segments in all"
	awk '$1 ~ /^(resync|resync-zero|metadata|write|discard|write-zeroes)$/ {
		r[$1] += $2; b[$1] += $4 }
	     END { for (k in r) printf "%s: host: stream: %s %d records, %d bytes\n", name, k, r[k], b[k] }' \
		name="$NAME" "$segs" | sort
	"$B/bin/ferry-ps" points --data "$WORK/$PS_DATA" "$M" >"$WORK/points"
	echo "$NAME: host: $(($(wc -l <"$WORK/points") - 1)) recovery points offered"
	bad=$(awk 'NR == FNR { if (n && $1 == e[n]) e[n] = $2
			       else { n++; s[n] = $1; e[n] = $2 }
			       next }
		   FNR > 1 { for (i = 1; i <= n; i++)
			if ($2 > s[i] && $2 < e[i]) { print $0; break } }' \
		<(echo "$flagged") "$WORK/points")
	if [[ -n $bad ]]; then
		echo "$NAME: recovery points inside the resync window:"
		echo "$bad"
		return 1
	fi
	echo "$NAME: host: no recovery point inside the window"
	"$B/bin/ferry-ps" status --data "$WORK/$PS_DATA" "$M" || true
}
