#!/bin/bash
set -e
insmod "$FERRY_KO"
ferry-test-ringfull "$FERRY_DISK1"
cat /sys/class/misc/ferry/stats
rmmod ferry
# Trackers exhausted (64 per disk, 256 writes in flight): drops, resync
# flag and DIRTY records in the stream (ferry-test-pool).
insmod "$FERRY_KO" max_inflight=64
ferry-test-pool "$FERRY_DISK1" -- fio --name=pool --filename="$FERRY_DISK1" \
	--direct=1 --ioengine=libaio --iodepth=256 --iodepth_batch_submit=256 \
	--rw=randwrite --bs=4k --size=64M --io_size=16M --output=/dev/null
rmmod ferry
