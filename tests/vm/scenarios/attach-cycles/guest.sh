#!/bin/bash
set -euo pipefail

fail() { echo "attach-cycles: $*" >&2; exit 1; }

# kB of unreclaimable slab and of vmalloc, with caches dropped first.
meminfo()
{
	sync
	echo 3 >/proc/sys/vm/drop_caches
	sleep 1
	awk '/^SUnreclaim:/ { s = $2 } /^VmallocUsed:/ { v = $2 }
	     END { print s, v }' /proc/meminfo
}

refcount() { awk '$1 == "ferry" { print $3 }' /proc/modules; }

insmod "$FERRY_KO"
read -r slab0 vm0 < <(meminfo)
fio --name=load --ioengine=libaio --direct=1 --rw=randwrite --bs=4k-256k \
    --iodepth=8 --size=96M --time_based --runtime=3600 --verify=crc32c \
    --filename="$FERRY_DISK1" --eta=never --output=/tmp/fio.out &
fio=$!
sleep 2
ferry-test-cycles cycles "$FERRY_DISK1" 100 || fail "cycles"
kill -INT "$fio"
wait "$fio" || { cat /tmp/fio.out; fail "fio"; }
read -r slab1 vm1 < <(meminfo)
echo "attach-cycles: SUnreclaim ${slab0} -> ${slab1} kB, VmallocUsed ${vm0} -> ${vm1} kB, refcount $(refcount)"
[[ $(refcount) == 0 ]] || fail "module reference count $(refcount) after all detaches"
(( slab1 - slab0 < 512 )) || fail "unreclaimable slab grew by $((slab1 - slab0)) kB"
(( vm1 - vm0 < 256 )) || fail "vmalloc grew by $((vm1 - vm0)) kB"

# Hot removal: unplug the NVMe controller under an attached disk.
pci=$(readlink -f "/sys/block/${FERRY_DISK2##*/}/device/device")
[[ -e $pci/remove ]] || fail "no PCI remove file for $FERRY_DISK2 ($pci)"
dd if=/dev/zero of="$FERRY_DISK2" bs=64k count=400 oflag=direct 2>/dev/null &
ferry-test-cycles gone "$FERRY_DISK2" "$pci/remove" || fail "hot removal"
wait || true
rmmod ferry || fail "rmmod after the cycles"
echo "attach-cycles: ok"
