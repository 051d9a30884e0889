set -euo pipefail
fail()
{
	echo "drain-full: $*"
	exit 1
}

insmod "$FERRY_KO"
mkfs.ext4 -q -F "$FERRY_DISK2"
mkdir -p /mnt/s /etc/ferry
mount "$FERRY_DISK2" /mnt/s
cat >/etc/ferry/ferryd.conf <<EOC
disk = serial:ferry-disk1
spool.dir = /mnt/s/spool
spool.size = 4M
spool.segment_size = 1M
ship = none
ring.size = 8M
EOC
ferryd >/tmp/ferryd.log 2>&1 &
pid=$!
for ((i = 0; i < 100; i++)); do
	[[ -S /run/ferry/ferryd.sock ]] && break
	sleep 0.1
done
ferryctl status

# 32 MiB of writes through an 8 MiB ring into a 4 MiB spool
fio --name=w --filename="$FERRY_DISK1" --size=32M --rw=randwrite \
	--bs=64k --direct=1 --ioengine=psync --verify=crc32c \
	--do_verify=1 --output=/tmp/fio.out || fail "fio failed: $(cat /tmp/fio.out)"
grep -E 'WRITE:|err=' /tmp/fio.out

rc=0
ferryctl status >/tmp/status.txt || rc=$?
cat /tmp/status.txt
((rc == 4)) || fail "ferryctl status exit $rc, expected 4 (attention)"
grep -q "spool full: 4.0 MiB of 4.0 MiB unacknowledged; nothing ships it (ship = none)" \
	/tmp/status.txt || fail "status does not say why draining stopped"
grep -Eq "mode (metadata|bitmap): .*ring (and metadata room )?full" /tmp/status.txt ||
	fail "disk not in metadata or bitmap mode with the ring full as the reason"
rc=0
ferryctl status --json >/tmp/status.json || rc=$?
cat /tmp/status.json
((rc == 4)) || fail "ferryctl status --json exit $rc"
grep -q '"full":true' /tmp/status.json || fail "json: spool not full"
grep -q '"to_metadata":[1-9]' /tmp/status.json || fail "json: no change to metadata mode"
grep -q '"drops":0,' /tmp/status.json || fail "json: writes dropped"

rc=0
ferryctl attach serial:nope 2>/tmp/err || rc=$?
cat /tmp/err
((rc == 1)) && grep -q "serial nope: no disk has it" /tmp/err ||
	fail "attach of an unknown serial: exit $rc"
# status exits 4 (the spool is still full): keep its text, judge that
ferryctl detach serial:ferry-disk1 || fail "detach exit $?"
ferryctl status >/tmp/s1 || true
grep -q "serial:ferry-disk1" /tmp/s1 && fail "detached disk still listed"
ferryctl attach /dev/disk/by-id/virtio-ferry-disk1 || fail "attach exit $?"
ferryctl status >/tmp/s2 || true
grep -q "serial:ferry-disk1" /tmp/s2 || fail "attached disk not listed"
cat /tmp/s2

kill -TERM "$pid"
wait "$pid" || fail "ferryd exit $?: $(cat /tmp/ferryd.log)"
rc=0
ferryctl status || rc=$?
((rc == 3)) || fail "ferryctl status without ferryd: exit $rc, expected 3"
rc=0
ferryctl attach serial:nope 2>/tmp/err || rc=$?
((rc == 3)) || fail "attach without ferryd: exit $rc"
echo "drain-full: ok"
