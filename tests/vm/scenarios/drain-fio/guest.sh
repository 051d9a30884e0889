set -euo pipefail
. "$FERRY_SHARE/drain-lib.sh"
drain_setup 32M
fio_write 1
grep -E 'WRITE:|READ:|err=' /tmp/fio.out
drain_finish
