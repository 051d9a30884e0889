# Load/unload ferry.ko on an idle guest and while fio writes (with
# verification) to one disk on each bus.
set -euo pipefail

fail()
{
	echo "load-unload: $*" >&2
	exit 1
}

check_dev()
{
	local st

	[[ -c /dev/ferry ]] || fail "/dev/ferry missing or not a character device"
	st=$(stat -c '%a %u %g' /dev/ferry)
	[[ $st == "600 0 0" ]] ||
		fail "/dev/ferry: mode/owner/group '$st', want '600 0 0'"
}

load()
{
	insmod "$FERRY_KO" || fail "insmod $FERRY_KO failed"
	[[ -d /sys/module/ferry ]] || fail "ferry not in /sys/module after insmod"
	check_dev
}

unload()
{
	rmmod ferry || fail "rmmod ferry failed"
	[[ ! -d /sys/module/ferry ]] || fail "ferry still loaded after rmmod"
	[[ ! -e /dev/ferry ]] || fail "/dev/ferry still present after rmmod"
}

idle_cycles()
{
	local i

	for ((i = 0; i < 3; i++)); do
		load
		unload
	done
	echo "load-unload: 3 idle load/unload cycles ok"
}

busy_cycles()
{
	local pid i=0

	fio --name=busy --ioengine=libaio --direct=1 --rw=randwrite --bs=4k \
	    --iodepth=8 --size=32M --verify=crc32c --do_verify=1 \
	    --filename="$FERRY_DISK1:$FERRY_DISK2:$FERRY_DISK3" \
	    --eta=never --output=/tmp/fio.out &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		load
		sleep 0.2
		unload
		i=$((i + 1))
	done
	wait "$pid" || { cat /tmp/fio.out; fail "fio failed"; }
	((i > 0)) || fail "fio finished before any load/unload cycle"
	echo "load-unload: $i load/unload cycles during fio ok"
}

[[ -f $FERRY_KO ]] || fail "no ferry.ko at $FERRY_KO"
idle_cycles
busy_cycles
