#!/bin/bash
set -e
ferry-test-capture ext4 "$FERRY_DISK1" ext4
ferry-test-capture xfs "$FERRY_DISK2" xfs
