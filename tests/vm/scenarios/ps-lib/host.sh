# Host side of the scenarios that stream to ferry-ps (replicate, ps-stream),
# sourced by their scenario files after TIMEOUT is set: ferry-ps on a free
# port of the host's loopback, which the guest reaches only through QEMU's
# forward, and the guest library and passphrase in the share.

ps_free_port()
{
	local p

	for _ in $(seq 50); do
		p=$((20000 + RANDOM % 30000))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
	done
	echo 9443
}

# Exported so the hooks, which source the scenario again, keep the same one.
: "${FERRY_PS_PORT:=$(ps_free_port)}"
export FERRY_PS_PORT
NET_FWD=$FERRY_PS_PORT
PS_DATA=ps-data

# ps_start POINT_INTERVAL: ferry-ps serving $WORK/$PS_DATA, bounded in time
# even if the run dies before host_post.
ps_start()
{
	setsid timeout $((TIMEOUT + 120)) "$B/bin/ferry-ps" serve \
		--listen "127.0.0.1:$FERRY_PS_PORT" --data "$WORK/$PS_DATA" \
		--point-interval "$1" >"$WORK/ps.out" 2>"$WORK/ps.log" </dev/null &
	echo $! >"$WORK/ps.pid"
	for _ in $(seq 100); do
		grep -q '^listening' "$WORK/ps.out" 2>/dev/null && break
		sleep 0.1
	done
	grep -q '^listening' "$WORK/ps.out" || { cat "$WORK/ps.log"; return 1; }
	"$B/bin/ferry-ps" passphrase --data "$WORK/$PS_DATA" >"$SHARE/passphrase"
	echo "$FERRY_PS_PORT" >"$SHARE/ps-port"
	cp "$VM_DIR/scenarios/ps-lib/guest-lib.sh" "$SHARE/ps-lib.sh"
}

ps_stop()
{
	kill "$(<"$WORK/ps.pid")" 2>/dev/null || true
}

# ps_disk_name IMAGE: the server's name for the replica of a source image
# (the scenarios' disks differ in size).  Needs MDIR.
ps_disk_name()
{
	local size d

	size=$(stat -c %s "$1")
	for d in "$MDIR"/disks/*/; do
		[[ $(stat -c %s "$d/replica.img") == "$size" ]] && { basename "$d"; return; }
	done
	return 1
}
