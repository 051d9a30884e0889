#!/usr/bin/env bash
# agent.sh BUILD KVER: ferryd's drain, ring -> spool, on tmpfs and on a
# disk, beside a plain copy of the same bytes with the same durability;
# agent CPU seconds per GB and resident memory.  The ring is ferry.ko's
# producer compiled in userspace (no module needed on this machine).
# FERRY_BENCH_AGENT_MB: bytes pushed through per run (default 2048).
set -euo pipefail
B=${1:?usage: agent.sh BUILD KVER}
mb=${FERRY_BENCH_AGENT_MB:-2048}
bin=$B/bin/bench-agent
if [[ ! -x $bin ]]; then
	echo "agent: $bin not built (needs tests/integration/kshim.h)"
	exit 1
fi
tmp=$(mktemp -d /dev/shm/ferry-bench-agent.XXXXXX)
disk=$(mktemp -d "${FERRY_BENCH_DISK_DIR:-/var/tmp}/ferry-bench-agent.XXXXXX")
trap 'rm -rf "$tmp" "$disk"' EXIT
echo "agent: $mb MiB of 64 KiB writes; spool of 64 x 4 MiB slots, ship = local"
"$bin" "$tmp" "$mb" | sed 's/^/agent: tmpfs /'
"$bin" "$disk" "$mb" | sed 's/^/agent: disk  /'
