#!/bin/bash
exec ferry-test-capture raw "$FERRY_DISK1"
