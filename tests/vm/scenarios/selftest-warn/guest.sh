# Load the self-test module with a WARN in its init; the module loads fine,
# so only the harness's log check can notice.
set -euo pipefail
insmod "$FERRY_SHARE/ferry_selftest.ko" fault=warn
rmmod ferry_selftest
