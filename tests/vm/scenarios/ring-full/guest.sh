#!/bin/bash
set -e
insmod "$FERRY_KO"
ferry-test-ringfull "$FERRY_DISK1"
cat /sys/class/misc/ferry/stats
rmmod ferry
