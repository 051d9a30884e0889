#!/bin/bash
set -euo pipefail
insmod "$FERRY_KO"
part=/dev/$(basename "$(ls -d /sys/block/${FERRY_DISK2##*/}/${FERRY_DISK2##*/}*1)")
ferry-test-ioctl "$FERRY_DISK1" "$part"
rmmod ferry
