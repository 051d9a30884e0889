# Talk to the host's server through the forward; fail to reach it any other
# way.
set -euo pipefail

ip addr show eth0 | grep -q '10.0.2.15/24'
got=$(timeout 20 nc "$FERRY_HOST" 19443 </dev/null || true)
echo "forwarded $got" | tee "$FERRY_SHARE/net.txt"
[[ $got == ferry-net-ok ]]
got=$(timeout 10 nc -w 5 10.0.2.2 19443 </dev/null 2>/dev/null || true)
if [[ -z $got ]]; then
	echo "gateway unreachable" | tee -a "$FERRY_SHARE/net.txt"
else
	echo "gateway reachable: $got" | tee -a "$FERRY_SHARE/net.txt"
	exit 1
fi
