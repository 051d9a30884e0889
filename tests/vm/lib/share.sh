# The shared directory: the guest kernel has no 9p, so $SHARE travels as an
# ext4 image on an extra virtio disk.  mke2fs -d fills it from $SHARE before
# boot; debugfs rdump copies it back after power-off.  No mounts on the host.

# share_pack DIR IMG SIZE: sparse ext4 image of SIZE holding DIR.
share_pack()
{
	truncate -s "$3" "$2"
	mke2fs -q -F -t ext4 -L ferry-share -d "$1" "$2" >/dev/null ||
		die "cannot build the share image from $1"
}

# share_unpack IMG DIR: replace DIR's contents with the image's.
share_unpack()
{
	local out

	out=$(mktemp -d "$2.XXXXXX")
	debugfs -R "rdump / $out" "$1" >/dev/null 2>&1 || return 1
	rm -rf "$2"
	mv "$out" "$2"
	rm -rf "$2/lost+found"
}
