# Oops in module init (NULL store).  Were the oops not fatal, guest.sh
# would still exit 0: only the log check can fail this.
insmod "$FERRY_SHARE/ferry_selftest.ko" fault=oops
exit 0
