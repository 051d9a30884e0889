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

# Leak check on an idle disk, where nothing else allocates: 100 cycles.
read -r slab0 vm0 < <(meminfo)
ferry-test-cycles cycles "$FERRY_DISK1" 100 || fail "idle cycles"
read -r slab1 vm1 < <(meminfo)
echo "attach-cycles: idle: SUnreclaim ${slab0} -> ${slab1} kB, VmallocUsed ${vm0} -> ${vm1} kB, refcount $(refcount)"
(( slab1 - slab0 < 128 )) || fail "unreclaimable slab grew by $((slab1 - slab0)) kB in 100 idle cycles"
(( vm1 - vm0 < 64 )) || fail "vmalloc grew by $((vm1 - vm0)) kB in 100 idle cycles"

# Under load: fio's own allocations make slab noisy; the bound is looser.
read -r slab0 vm0 < <(meminfo)
# fio rounds (write, then verify) back to back until the cycles are done.
(
	i=0
	while [[ ! -e /tmp/cycles.done ]]; do
		fio --name=load$i --ioengine=libaio --direct=1 --rw=randwrite \
		    --bs=4k-256k --iodepth=8 --size=24M --verify=crc32c \
		    --do_verify=1 --randseed=$i --filename="$FERRY_DISK1" \
		    --eta=never --output=/tmp/fio.out || { cat /tmp/fio.out; exit 1; }
		i=$((i + 1))
	done
	echo "attach-cycles: $i fio write+verify rounds"
) &
fio=$!
sleep 2
ferry-test-cycles cycles "$FERRY_DISK1" 100 || fail "cycles"
touch /tmp/cycles.done
wait "$fio" || fail "fio"
read -r slab1 vm1 < <(meminfo)
echo "attach-cycles: under load: SUnreclaim ${slab0} -> ${slab1} kB, VmallocUsed ${vm0} -> ${vm1} kB, refcount $(refcount)"
[[ $(refcount) == 0 ]] || fail "module reference count $(refcount) after all detaches"
(( slab1 - slab0 < 2048 )) || fail "unreclaimable slab grew by $((slab1 - slab0)) kB"
(( vm1 - vm0 < 256 )) || fail "vmalloc grew by $((vm1 - vm0)) kB"

# Hot removal: unplug the NVMe controller under an attached disk.
pci=$(readlink -f "/sys/block/${FERRY_DISK2##*/}/device/device")
[[ -e $pci/remove ]] || fail "no PCI remove file for $FERRY_DISK2 ($pci)"
dd if=/dev/zero of="$FERRY_DISK2" bs=64k count=400 oflag=direct 2>/dev/null &
ferry-test-cycles gone "$FERRY_DISK2" "$pci/remove" || fail "hot removal"
wait || true
rmmod ferry || fail "rmmod after the cycles"
echo "attach-cycles: ok"
