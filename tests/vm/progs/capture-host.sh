# Host half of the capture scenarios (sourced by their scenario files).
#
# capture_pre N [FILL_MIB]: fill the first FILL_MIB of disk N with random
#   data (so discards and zeroes change something), then keep a copy of the
#   image: the guest checks that nothing writes the disk before it attaches,
#   so the copy is the attach-time image.
# capture_post N [NAME]: replay $SHARE/NAME.hrl (and NAME.hrl.1, ...) onto
#   the copy with ferry-test-replay and compare sha256 with disk N.

capture_pre()
{
	local img
	img=$(eval echo "\$DISK$1")

	if [[ -n ${2:-} ]]; then
		head -c "$(($2 << 20))" /dev/urandom |
			dd of="$img" conv=notrunc,fsync status=none
	fi
}

capture_base()
{
	local img
	img=$(eval echo "\$DISK$1")
	cp --sparse=always "$img" "$img.base"
}

capture_post()
{
	local img name=${2:-stream} segs want got i=1
	img=$(eval echo "\$DISK$1")

	segs=("$SHARE/$name.hrl")
	[[ -f ${segs[0]} ]] || { echo "capture: no $name.hrl in the share"; return 1; }
	while [[ -f $SHARE/$name.hrl.$i ]]; do
		segs+=("$SHARE/$name.hrl.$i")
		i=$((i + 1))
	done
	"$B/bin/ferry-test-replay" "$img.base" "${segs[@]}" || return 1
	want=$(sha256sum <"$img")
	got=$(sha256sum <"$img.base")
	if [[ $want != "$got" ]]; then
		echo "capture: $name: replayed image differs from disk $1: ${got%% *} != ${want%% *}"
		cmp -l "$img" "$img.base" | head -5
		return 1
	fi
	echo "capture: $name: replay of ${#segs[@]} segment(s) equals disk $1 (sha256 ${want:0:16})"
}

# mbr_partition IMG START SECTORS: an MS-DOS partition table with one Linux
# partition (512-byte sectors), written without sfdisk.
mbr_partition()
{
	le32() { printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 & 255)) \
		$(($1 >> 8 & 255)) $(($1 >> 16 & 255)) $(($1 >> 24 & 255)); }
	{
		printf '\x00\xfe\xff\xff\x83\xfe\xff\xff'
		printf "$(le32 "$2")$(le32 "$3")"
		head -c 48 /dev/zero
		printf '\x55\xaa'
	} | dd of="$1" bs=1 seek=446 conv=notrunc status=none
}
