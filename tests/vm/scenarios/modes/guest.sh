#!/bin/bash
set -euo pipefail
insmod "$FERRY_KO"
ferry-test-modes "$FERRY_DISK1" -- \
	fio --name=modes --filename="$FERRY_DISK1" --direct=1 \
	--ioengine=libaio --iodepth=8 --rw=randwrite --bsrange=4k-32k \
	--size=128M --io_size=48M --verify=crc32c --do_verify=1 \
	--verify_fatal=1 --randrepeat=0 --output=/dev/null
cat /sys/class/misc/ferry/features
rmmod ferry
