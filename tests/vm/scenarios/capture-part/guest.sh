#!/bin/bash
exec ferry-test-capture part "$FERRY_DISK1"
