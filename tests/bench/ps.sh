#!/usr/bin/env bash
# ps.sh BUILD KVER: end-to-end churn, agent -> TLS -> ferry-ps, on this
# machine: a real spool and ferryd's shipper (bench-ps) against ferry-ps on
# 127.0.0.1 with its data directory on disk.  Reports sustained MB/s
# (target >= 500) and the lag from write to server acknowledgement at
# 100 MB/s (target p99 <= 1000 ms).  FERRY_BENCH_PS_SECONDS (default 20).
set -euo pipefail

B=${1:?usage: ps.sh BUILD KVER}
SECS=${FERRY_BENCH_PS_SECONDS:-20}
W=$(mktemp -d "${TMPDIR:-/var/tmp}/bench-ps.XXXXXX")
PS_PID=

cleanup()
{
	# the server dies of the TERM: its status is not this script's (set -e)
	if [[ -n $PS_PID ]]; then
		kill "$PS_PID" 2>/dev/null || true
		wait "$PS_PID" 2>/dev/null || true
	fi
	rm -rf "$W"
}
trap cleanup EXIT

start_server()
{
	local port=

	mkfifo "$W/ps.out"
	"$B/bin/ferry-ps" serve --listen 127.0.0.1:0 --data "$W/data" \
		>"$W/ps.out" 2>"$W/ps.log" &
	PS_PID=$!
	read -r -t 20 _ addr <"$W/ps.out"
	ADDR=$addr
	"$B/bin/ferry-ps" passphrase --data "$W/data" >"$W/pass"
}

ps_cpu()
{
	awk '{ printf "%.2f", ($14 + $15) / 100 }' "/proc/$PS_PID/stat"
}

# run NAME RATE: a fresh machine (its own stream), then bench-ps, then
# the server's CPU seconds for the run (applier included, after it caught
# up: the spool is empty when bench-ps returns, the replica a moment later).
run()
{
	local name=$1 rate=$2 id c0

	id=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
	mkdir -p "$W/$name"
	"$B/bin/ferryctl" register --server "$ADDR" --passphrase-file "$W/pass" \
		--state-dir "$W/$name" --machine-id "$id" >/dev/null
	c0=$(ps_cpu)
	"$B/bin/bench-ps" --server "$ADDR" --state-dir "$W/$name" \
		--spool "$W/$name/spool" --seconds "$SECS" --rate "$rate"
	sleep 2
	echo "server cpu $(awk -v a="$c0" -v b="$(ps_cpu)" 'BEGIN { printf "%.2f", b - a }') s"
}

start_server
echo "ferry-ps on $ADDR, data on $(df --output=source "$W" | tail -1), ${SECS} s per run"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) (other work on this machine skews every number)"
full=$(run full 0)
echo "unpaced:"
sed 's/^/  /' <<<"$full"
paced=$(run paced 100)
echo "paced at 100 MB/s:"
sed 's/^/  /' <<<"$paced"
mbps=$(sed -n 's/.*: \([0-9.]*\) MB\/s.*/\1/p' <<<"$full")
p50=$(sed -n 's/.*p50 \([0-9]*\) p99.*/\1/p' <<<"$paced")
p99=$(sed -n 's/.*p99 \([0-9]*\) max.*/\1/p' <<<"$paced")
awk -v m="$mbps" -v a="$p50" -v b="$p99" 'BEGIN {
	printf "end-to-end churn: %.1f MB/s (target >= 500: %s)\n", m, (m >= 500) ? "met" : "NOT met"
	printf "lag at 100 MB/s: p50 %d ms, p99 %d ms (target p99 <= 1000: %s)\n", a, b, (b <= 1000) ? "met" : "NOT met"
}'
