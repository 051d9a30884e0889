#!/bin/bash
exec ferry-test-capture lvm "$FERRY_DISK1"
