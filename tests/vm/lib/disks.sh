# Scenario disks: DISKS="virtio:256M nvme:128M scsi:64M" (bus:size, in
# order).  Disk N is the sparse file $WORK/diskN.img, exported to host hooks
# as $DISKN and attached with serial "ferry-diskN", which the guest init
# uses to find it whatever the bus named it.  The share disk comes last.

# make_disks DISKS WORK: create the images and export DISK1..n.
make_disks()
{
	local spec bus size i=0

	for spec in $1; do
		i=$((i + 1))
		bus=${spec%%:*}
		size=${spec#*:}
		[[ $spec == *:* && -n $size ]] ||
			die "disk $i: '$spec' is not bus:size"
		case $bus in
		virtio|nvme|scsi) ;;
		*) die "disk $i: unknown bus '$bus' (virtio, nvme or scsi)" ;;
		esac
		truncate -s "$size" "$2/disk$i.img" ||
			die "disk $i: bad size '$size'"
		export "DISK$i=$2/disk$i.img"
	done
}

# disk_args DISKS WORK SHARE_IMG: QEMU arguments, one per line.
disk_args()
{
	local spec bus i=0 scsi=0

	for spec in $1; do
		i=$((i + 1))
		bus=${spec%%:*}
		printf '%s\n' -drive \
			"file=$2/disk$i.img,if=none,id=d$i,format=raw,cache=unsafe,discard=unmap"
		case $bus in
		virtio)
			printf '%s\n' -device \
				"virtio-blk-pci,drive=d$i,serial=ferry-disk$i"
			;;
		nvme)
			printf '%s\n' -device "nvme,drive=d$i,serial=ferry-disk$i"
			;;
		scsi)
			if ((!scsi)); then
				printf '%s\n' -device virtio-scsi-pci,id=scsi0
				scsi=1
			fi
			printf '%s\n' -device \
				"scsi-hd,drive=d$i,bus=scsi0.0,scsi-id=$i,serial=ferry-disk$i"
			;;
		esac
	done
	printf '%s\n' -drive "file=$3,if=none,id=share,format=raw,cache=unsafe" \
		-device virtio-blk-pci,drive=share,serial=ferry-share
}
