#!/bin/bash
# Guest half of hashcmp-request: see its scenario file.
set -euo pipefail
. "$FERRY_SHARE/ps-lib.sh"
. "$FERRY_SHARE/resync-lib.sh"

BLK=4096
SIZE=$((128 << 20))

finish()
{
	cp "$RS_LOG" "$FERRY_SHARE/ferryd.log" 2>/dev/null || true
}
trap finish EXIT

# change COUNT blocks from block FIRST with random data, uncached
change()
{
	dd if=/dev/urandom of="$RS_DISK" bs=$BLK seek="$1" count="$2" \
	   oflag=direct conv=notrunc,fsync status=none
}

# the line hashcmp logs for the n-th compare of the disk
compare_line()
{
	local n=$1

	for _ in $(seq 240); do
		l=$(grep "hash-compare of $RS_DISK: .* bytes compared" "$RS_LOG" |
		    sed -n "${n}p")
		[[ -n $l ]] && { echo "$l"; return 0; }
		grep -q "hash-compare of $RS_DISK: failed" "$RS_LOG" && break
		sleep 0.5
	done
	grep 'hash-compare' "$RS_LOG" >&2 || true
	rs_log "no result of hash-compare $n"
	return 1
}

# wait_log PATTERN SECS: until ferryd logged a line matching PATTERN
wait_log()
{
	local end=$((SECONDS + $2))

	while ((SECONDS < end)); do
		grep -q "$1" "$RS_LOG" && return 0
		sleep 0.5
	done
	tail -n 20 "$RS_LOG" >&2
	rs_log "no '$1' in ferryd's log after $2 s"
	return 1
}

rs_setup
rs_ferryd
rs_log "initial copy of $RS_DISK (128 MiB, 6 MiB of data)"
wait_log "initial copy done" 200
rs_wait_caught_up 200 >/dev/null

rs_log "detached: 262 blocks changed in 4 runs, then attached again"
ferryctl detach "$RS_DISK"
change 5 1
change 100 4
change $((64 << 8)) 256
change $((SIZE / BLK - 1)) 1
ferryctl attach "$RS_DISK"

rc=0
ferryctl resync "$FERRY_DISK2" 2>/tmp/err && rc=0 || rc=$?
cat /tmp/err
[[ $rc == 1 ]] && grep -q "not protected by ferryd" /tmp/err ||
	{ rs_log "resync of an unprotected disk: exit $rc"; exit 1; }
ferryctl resync >/dev/null 2>&1 && rc=0 || rc=$?
[[ $rc == 2 ]] || { rs_log "resync without a disk: exit $rc, want 2"; exit 1; }

ferryctl resync "$RS_DISK"
ferryctl status | grep -i 'hash-compare' || true
line=$(compare_line 1)
rs_log "ferryd: $line"
want="$SIZE bytes compared, $((262 * BLK)) bytes differ in 4 ranges"
[[ $line == *"$want"* ]] || { rs_log "want '$want'"; exit 1; }
rs_wait_caught_up 200 >"$FERRY_SHARE/final-seq"
ferryctl status | tee "$FERRY_SHARE/resync-status"
rs_log "caught up at seq $(<"$FERRY_SHARE/final-seq"); stopping ferryd"
kill -TERM "$AGENT"
wait "$AGENT" || { rs_log "ferryd exit $?"; exit 1; }
