#!/bin/bash
# ferry-test-capture MODE DISK [NAME]: the guest half of the capture scenarios.
#
#   1. load ferry.ko, check DISK was never written since boot (so the image
#      the host saved before boot is the attach-time copy)
#   2. ferryctl capture DISK $FERRY_SHARE/NAME.hrl (NAME: stream) in the
#      background
#   3. the MODE's workload on DISK, through:
#        raw   the whole disk        part  partition 1
#        lvm   two LVs of a VG       ext4, xfs  a filesystem, many files
#      fio: several jobs of random overlapping 4 KiB..1 MiB writes, direct
#      and buffered, plus discards, write-zeroes and secure erases from
#      ferry-test-blkops, in two phases that overwrite each other's regions
#   4. quiesce (sync, umount, vgchange -an), stop the capture, which
#      detaches, drains and writes the stream
# The host then replays the stream onto its copy and compares sha256 with
# DISK's image.  In-flight writes never overlap each other (fio
# serialize_overlap within a job, separate slices per job): the order of overlapping writes that are in flight together is not defined
# by the device, so no replica could reproduce it.
set -euo pipefail

MODE=${1:?usage: ferry-test-capture MODE DISK}
DISK=${2:?usage: ferry-test-capture MODE DISK}
STREAM=$FERRY_SHARE/${3:-stream}.hrl
MIB=$((1 << 20))

fail()
{
	echo "ferry-test-capture: $MODE: $*" >&2
	exit 1
}

load_ferry()
{
	[[ -e /dev/ferry ]] || insmod "$FERRY_KO" || fail "insmod $FERRY_KO"
}

writes_since_boot()
{
	awk '{ print $5 }' "/sys/block/${1##*/}/stat"
}

part1()
{
	local name=${DISK##*/} p

	for p in "/sys/block/$name/${name}1" "/sys/block/$name/${name}p1"; do
		[[ -d $p ]] && { echo "/dev/${p##*/}"; return 0; }
	done
	fail "$DISK has no partition 1"
}

start_capture()
{
	local i

	rm -f /tmp/capture.ready
	ferryctl capture --ready /tmp/capture.ready "$DISK" "$STREAM" \
		>/tmp/capture.log 2>&1 &
	CAPTURE=$!
	for ((i = 0; i < 300; i++)); do
		[[ -e /tmp/capture.ready ]] && return 0
		kill -0 "$CAPTURE" 2>/dev/null || break
		sleep 0.1
	done
	cat /tmp/capture.log >&2
	fail "ferryctl capture did not attach $DISK"
}

stop_capture()
{
	kill -INT "$CAPTURE"
	if ! wait "$CAPTURE"; then
		cat /tmp/capture.log >&2
		fail "ferryctl capture failed"
	fi
	cat /tmp/capture.log
	cat /sys/class/misc/ferry/stats
}

# fio_phase TARGET SLICE PHASE: three direct jobs and two buffered ones,
# each class in its own slice: slice (class + 2 * PHASE) % 5 of TARGET, the
# fifth slice left to blkops.  Within a direct job, writes overlap but wait
# for each other (serialize_overlap); the buffered jobs share their slice
# (the page cache never has two writebacks of one page in flight).
fio_phase()
{
	local t=$1 s=$2 p=$3 o=()
	local c

	for c in 0 1 2 3; do
		o[c]=$(( (c + 2 * p) % 5 * s ))
	done
	fio --eta=never --output=/tmp/fio.out - <<EOF || { cat /tmp/fio.out; fail "fio on $t"; }
[global]
filename=$t
randrepeat=0
randseed=$((p + 1))
bssplit=4k/40:16k/20:64k/20:256k/10:1m/10
blockalign=4k
rw=randwrite
number_ios=60
size=$s
[direct1]
ioengine=libaio
iodepth=8
direct=1
serialize_overlap=1
offset=${o[0]}
[direct2]
ioengine=libaio
iodepth=4
direct=1
serialize_overlap=1
offset=${o[1]}
[direct3]
ioengine=psync
direct=1
offset=${o[2]}
[buffered1]
ioengine=psync
direct=0
offset=${o[3]}
end_fsync=1
[buffered2]
ioengine=psync
direct=0
offset=${o[3]}
fsync=7
end_fsync=1
EOF
}

# workload_dev TARGET SIZE_BYTES: two phases of fio with blkops beside it in
# the fifth slice; phase 2 rotates the slices, so every class overwrites
# what others wrote.
workload_dev()
{
	local t=$1 s=$(( $2 / 5 / MIB * MIB )) p bp

	for p in 0 1; do
		ferry-test-blkops "$t" $(( (4 + 2 * p) % 5 * s )) "$s" 40 $((11 + p)) &
		bp=$!
		fio_phase "$t" "$s" "$p"
		wait "$bp" || fail "blkops on $t"
	done
	sync
}

workload_lvm()
{
	local lvm="lvm" cfg='activation { udev_sync=0 udev_rules=0 } devices { obtain_device_list_from_udev=0 }'

	modprobe dm_mod 2>/dev/null || true
	$lvm pvcreate -q --config "$cfg" "$DISK" || fail "pvcreate"
	$lvm vgcreate -q --config "$cfg" ferryvg "$DISK" || fail "vgcreate"
	$lvm lvcreate -q --config "$cfg" -Zn -L 48M -n a ferryvg || fail "lvcreate a"
	$lvm lvcreate -q --config "$cfg" -Zn -L 36M -n b ferryvg || fail "lvcreate b"
	$lvm vgmknodes --config "$cfg" ferryvg >/dev/null 2>&1 || true
	workload_dev /dev/ferryvg/a $((48 * MIB))
	workload_dev /dev/ferryvg/b $((36 * MIB))
	$lvm lvremove -q -f --config "$cfg" ferryvg/b || fail "lvremove"
	$lvm vgchange -q -an --config "$cfg" ferryvg || fail "vgchange -an"
}

# Many files created, written, fsynced and deleted, twice over.
workload_fs()
{
	local fs=$1 i

	case $fs in
	ext4) mkfs.ext4 -q -F "$DISK" ;;
	xfs) modprobe xfs 2>/dev/null || true; mkfs.xfs -q -f "$DISK" ;;
	esac || fail "mkfs.$fs"
	mkdir -p /mnt/t
	mount -t "$fs" "$DISK" /mnt/t || fail "mount $fs"
	for i in 1 2; do
		mkdir -p /mnt/t/d$i
		fio --eta=never --output=/tmp/fio.out --name=files --directory=/mnt/t/d$i \
		    --nrfiles=40 --filesize=4k-256k --bssplit=4k/60:64k/40 \
		    --rw=randwrite --number_ios=400 --fsync=5 --end_fsync=1 \
		    --ioengine=psync --randseed=$i --file_service_type=random ||
			{ cat /tmp/fio.out; fail "fio on $fs"; }
		rm -f /mnt/t/d$i/files.0.[0-9]
		cp -r /mnt/t/d$i /mnt/t/copy$i
		sync
	done
	rm -rf /mnt/t/d1
	sync
	umount /mnt/t || fail "umount $fs"
}

load_ferry
[[ $(writes_since_boot "$DISK") == 0 ]] ||
	fail "$DISK was written before attach; the host copy is not the attach-time image"
start_capture
case $MODE in
raw)	workload_dev "$DISK" $(( $(blockdev --getsize64 "$DISK") )) ;;
part)	P=$(part1); workload_dev "$P" $(( $(blockdev --getsize64 "$P") )) ;;
lvm)	workload_lvm ;;
ext4|xfs) workload_fs "$MODE" ;;
*)	fail "unknown mode" ;;
esac
blockdev --flushbufs "$DISK"
stop_capture
echo "ferry-test-capture: $MODE on $DISK captured"
