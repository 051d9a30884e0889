# Guest side of the scenarios that stream to ferry-ps (copied to the share
# by ps_start and sourced by their guest.sh): ferry.ko loaded, the machine
# registered, ferryd protecting disks 1 and 2 with its spool on disk 3.

CONF=/etc/ferry/ferryd.conf
SERVER=$FERRY_HOST:$(<"$FERRY_SHARE/ps-port")

json_num()
{
	sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p"
}

# agent_start: sets AGENT to ferryd's pid once its control socket is up.
agent_start()
{
	insmod "$FERRY_KO"
	mkfs.ext4 -q "$FERRY_DISK3"
	mkdir -p /var/lib/ferry /etc/ferry /run/ferry
	mount "$FERRY_DISK3" /var/lib/ferry
	ferryctl register --server "$SERVER" \
		--passphrase-file "$FERRY_SHARE/passphrase" --state-dir /var/lib/ferry
	cat >"$CONF" <<-CONF
	disk = $FERRY_DISK1
	disk = $FERRY_DISK2
	spool.dir = /var/lib/ferry/spool
	spool.size = 160M
	spool.segment_size = 4M
	ship = server
	server = $SERVER
	state_dir = /var/lib/ferry
	CONF
	ferryd -c "$CONF" >/tmp/ferryd.log 2>&1 &
	AGENT=$!
	for _ in $(seq 100); do
		[[ -S /run/ferry/ferryd.sock ]] && return 0
		kill -0 "$AGENT" || break
		sleep 0.1
	done
	cat /tmp/ferryd.log
	return 1
}
