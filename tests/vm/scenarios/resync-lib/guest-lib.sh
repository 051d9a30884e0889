# Guest side of the resync scenarios (overflow, initial-sync), copied to the
# share by rs_host_pre and sourced by their guest.sh after ps-lib.sh:
# ferry.ko loaded, the machine registered with ferry-ps, ferryd protecting
# disk 1 with its spool (and state directory) on disk 2.
#
#   rs_setup [CONF LINES...]   insmod, spool fs, register, ferryd.conf
#   rs_ferryd                  start ferryd (again); sets AGENT
#   rs_stats                   ferry.ko's statistics of disk 1, one line
#   rs_wait_copy SECS          until ferryd logs "initial copy done"
#   rs_caught_up               true when nothing is left to re-read or ship
#   rs_wait_caught_up SECS     ... waits for it, prints the stream end_seq
#   rs_watch FILE              sample status into FILE every second (bg)

RS_DISK=$FERRY_DISK1
RS_LOG=/tmp/ferryd.log

rs_log()
{
	echo "$FERRY_SCENARIO: $*"
}

# rs_setup [LINE...]: extra ferryd.conf lines (ring.size = 1M, ...).
rs_setup()
{
	local l

	[[ -e /dev/ferry ]] || insmod "$FERRY_KO"
	mkfs.ext4 -q "$FERRY_DISK2"
	mkdir -p /var/lib/ferry /etc/ferry /run/ferry
	mount "$FERRY_DISK2" /var/lib/ferry
	ferryctl register --server "$SERVER" \
		--passphrase-file "$FERRY_SHARE/passphrase" --state-dir /var/lib/ferry
	cat >"$CONF" <<-CONF
	disk = $RS_DISK
	spool.dir = /var/lib/ferry/spool
	spool.size = 160M
	spool.segment_size = 4M
	ship = server
	server = $SERVER
	state_dir = /var/lib/ferry
	CONF
	for l in "$@"; do
		echo "$l" >>"$CONF"
	done
}

rs_ferryd()
{
	ferryd -c "$CONF" >>"$RS_LOG" 2>&1 &
	AGENT=$!
	local rc

	for _ in $(seq 300); do
		rc=0
		ferryctl status >/dev/null 2>&1 || rc=$?
		# 0 healthy, 4 attention (degraded, resync): either way it
		# answers; 3 (not running) also while a killed one's socket is
		# still there
		((rc == 0 || rc == 4)) && return 0
		kill -0 "$AGENT" 2>/dev/null || break
		sleep 0.1
	done
	cat "$RS_LOG"
	rs_log "ferryd did not come up"
	return 1
}

rs_dev()
{
	local d

	d=$(readlink -f "$RS_DISK")
	cat "/sys/class/block/${d##*/}/dev"
}

rs_stats()
{
	ferry-test-stats "$(rs_dev)"
}

# rs_stat KEY: one value from rs_stats.
rs_stat()
{
	rs_stats | tr ' ' '\n' | sed -n "s/^$1=//p"
}

# Caught up: the kernel has disk 1 in data mode with no dirty bit and no
# resync flag; ferryd's ring is consumed, every segment acknowledged, and
# it reports nothing queued, being read or compared ("active":true), the
# resync window closed, and a healthy status (exit 0).
rs_caught_up()
{
	local s j

	s=$(rs_stats) || return 1
	[[ $s == *" mode=data "* && $s == *" dirty_bits=0 "* &&
	   $s != *",resync"* ]] || return 1
	j=$(ferryctl status --json 2>/dev/null) || return 1
	[[ $j != *'"active":true'* && $j == *'"resync_window":false'* ]] ||
		return 1
	[[ $(json_num sealed <<<"$j") == 0 ]] || return 1
	[[ $(json_num ring_pos <<<"$j") == "$(json_num ring_consumed <<<"$j")" ]] ||
		return 1
	ferryctl status >/dev/null 2>&1
}

# rs_wait_caught_up SECS: caught up twice, a second apart; prints end_seq.
rs_wait_caught_up()
{
	local end=$((SECONDS + $1)) n=0

	while ((SECONDS < end)); do
		if rs_caught_up; then
			n=$((n + 1))
			if ((n >= 2)); then
				ferryctl status --json | json_num end_seq
				return 0
			fi
		else
			n=0
		fi
		sleep 1
	done
	rs_log "not caught up after $1 s:" >&2
	rs_stats >&2 || true
	ferryctl status >&2 || true
	tail -n 40 "$RS_LOG" >&2
	return 1
}

# rs_wait_copy SECS: until ferryd logs that the initial copy is done.
rs_wait_copy()
{
	local end=$((SECONDS + $1))

	while ((SECONDS < end)); do
		grep -q 'initial copy done' "$RS_LOG" && return 0
		kill -0 "$AGENT" 2>/dev/null || break
		sleep 0.5
	done
	rs_log "no 'initial copy done' from ferryd after $1 s" >&2
	ferryctl status >&2 || true
	tail -n 40 "$RS_LOG" >&2
	return 1
}

# rs_watch FILE: status and kernel statistics every second, for the record.
rs_watch()
{
	while :; do
		{
			echo "== $(date +%T)"
			rs_stats || true
			ferryctl status 2>&1 || true
		} >>"$1"
		sleep 1
	done
}
