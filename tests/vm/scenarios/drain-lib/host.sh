# Host side of the drain-* scenarios, sourced by their scenario files.

drain_host_pre()
{
	cp "$VM_DIR/scenarios/drain-lib/guest-lib.sh" "$SHARE/drain-lib.sh"
}

# result = base.img + every exported segment (hrl apply); expected = the
# source disk with the spool's extents taken from base.img.  Equality shows
# both that the stream rebuilds the disk and that the spool's own writes
# are not in it (result's spool extents are still those of base.img).
drain_host_post()
{
	local hrl=$B/bin/hrl off len n=0

	[[ -s $SHARE/base.img && -e $SHARE/extents ]] || {
		echo "drain: guest left no base image or extents" >&2
		return 1
	}
	cp --sparse=always "$SHARE/base.img" result.img
	cp --sparse=always "$DISK1" expected.img
	"$hrl" verify -q "$SHARE"/seg1/*.hrl "$SHARE"/seg2/*.hrl
	# seg2 (the ring after the unmount) comes from a second, fresh spool
	# that cannot chain on seg1's last end_seq: apply it on its own.
	"$hrl" apply -q "$SHARE"/seg1/*.hrl result.img
	"$hrl" apply -q "$SHARE"/seg2/*.hrl result.img
	while read -r off len; do
		# byte offsets: a small ext4 has 1 KiB blocks, so extents
		# need not be 4 KiB aligned
		dd if="$SHARE/base.img" of=expected.img bs=64K \
			iflag=skip_bytes,count_bytes oflag=seek_bytes \
			skip="$off" seek="$off" count="$len" conv=notrunc status=none
		n=$((n + 1))
	done <"$SHARE/extents"
	((n > 0 || ${SPOOL_ELSEWHERE:-0})) || {
		echo "drain: no spool extents on the disk" >&2
		return 1
	}
	truncate -s "$(stat -c %s "$DISK1")" result.img
	local a b
	a=$(sha256sum <result.img | cut -d' ' -f1)
	b=$(sha256sum <expected.img | cut -d' ' -f1)
	echo "drain: applied sha256 $a, source sha256 $b ($n spool extents)"
	if [[ $a != "$b" ]]; then
		cmp -l result.img expected.img | head -5 >&2 || true
		return 1
	fi
	# the spool did hold data: the source differs from base there
	cmp -s "$SHARE/base.img" "$DISK1" && {
		echo "drain: source disk unchanged: nothing was tested" >&2
		return 1
	}
	return 0
}
