#!/usr/bin/env bash
# Every packet counted exactly once, whatever its path (issue 3): in bridge mode, traffic
# bridged between two LAN devices (ingress on one port, egress on another) and traffic to and
# from the gateway itself (the bridge's own address); in router mode, traffic to and from the
# gateway. Each flow's bytes on SPIN/traffic must be within 1% of what tcpdump saw: a packet
# counted twice would show as 200%.
set -euo pipefail
# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"

THERMO=02:00:00:00:00:10,192.0.2.10,2001:db8:1::10
GW4=192.0.2.1
CAMERA4=192.0.2.11
SIZE=1048576

settled() { # MQTT-FILE INITIATOR-KEYS REMOTE-IP LOCAL-PORT REMOTE-PORT -> "bytes packets msgs"
	local prev="" cur end=$((SECONDS + 15))
	while :; do
		cur=$(mqtt_flow_bytes "$1" 6 "$2" "$3" "$4" "$5")
		[ "${cur%% *}" != 0 ] && [ "$cur" = "$prev" ] && break
		[ "$SECONDS" -ge "$end" ] && break
		prev=$cur
		sleep 1.5
	done
	echo "$cur"
}

# NAME CLIENT-NS CLIENT-KEYS URL CAPTURE-NS CAPTURE-IFACE MQTT-FILE
one_path() {
	local name=$1 client=$2 keys=$3 url=$4 capns=$5 capif=$6 mqtt=$7
	local pcap=$E2E_TMP/${name// /-}.pcap size lip lport rip rport wire pkts bytes count msgs
	pcap_start "$capns" "$capif" "$pcap" || return 0
	read -r size lip lport rip rport < <(in_ns "$client" curl -4 -s -o /dev/null --max-time 20 \
		-w '%{size_download} %{local_ip} %{local_port} %{remote_ip} %{remote_port}\n' \
		"$url" || echo "0 - 0 - 0")
	check_eq "$name: the fetch works" "$size" "$SIZE"
	sleep 1
	pcap_stop
	read -r wire pkts < <(pcap_flow_bytes "$pcap" 6 "$lip" "$lport" "$rip" "$rport")
	read -r bytes count msgs < <(settled "$mqtt" "$keys" "$rip" "$lport" "$rport")
	if [ "$msgs" -gt 0 ]; then
		ok "$name: the flow is on SPIN/traffic"
	else
		fail "$name: the flow is on SPIN/traffic" "no flow $lip:$lport -> $rip:$rport"
	fi
	check_within "$name: bytes counted once (SPIN vs wire)" "$bytes" "$wire" 1
	check_within "$name: packets counted once (SPIN vs wire)" "$count" "$pkts" 1
}

serve() { # NS ADDRESS: an HTTP server with a 1 MiB file on ADDRESS:8080
	local dir=$E2E_TMP/www-$1
	mkdir -p "$dir"
	head -c "$SIZE" /dev/urandom >"$dir/1M.bin"
	e2e_bg "http-$1" in_ns "$1" python3 -m http.server 8080 --bind "$2" --directory "$dir"
	wait_for 5 in_ns "$1" curl -s -o /dev/null "http://$2:8080/"
}

# --- bridge mode: device to device, device to gateway, gateway to device
lab_up bridge --no-traffic
mqtt=$E2E_TMP/mqtt-bridge.txt
mqtt_capture_start "$mqtt"
if spind_start -i "$(lab_ifaces)" -m bridge -o pubsub_host=127.0.0.1 -s "$E2E_TMP/state-b"; then
	serve camera "$CAMERA4"
	serve gw "$GW4"
	one_path "bridge device-to-device" thermo "$THERMO" "http://$CAMERA4:8080/1M.bin" \
		gw lan-thermo "$mqtt"
	one_path "bridge device-to-gateway" thermo "$THERMO" "http://$GW4:8080/1M.bin" \
		gw lan-thermo "$mqtt"
	one_path "bridge gateway-to-device" gw "$GW4" "http://$CAMERA4:8080/1M.bin" \
		gw lan-camera "$mqtt"
	skipped=$(gw curl -s "http://127.0.0.1:13026/spin_api/status" |
		"$E2E_PY" -c 'import json,sys; print(json.load(sys.stdin)["kernel"]["skipped_egress"])' \
			2>/dev/null || echo 0)
	if [ "${skipped:-0}" -gt 0 ]; then
		ok "bridged packets were skipped at the egress port ($skipped): counted at ingress only"
	else
		fail "bridged packets were skipped at the egress port" "skipped_egress is '$skipped'"
	fi
	spind_stop
fi
mqtt_capture_stop
lab_down

# --- router mode: device to gateway and back
lab_up router --no-traffic
mqtt=$E2E_TMP/mqtt-router.txt
mqtt_capture_start "$mqtt"
if spind_start -i lan0 -o pubsub_host=127.0.0.1 -s "$E2E_TMP/state-r"; then
	serve gw "$GW4"
	serve camera "$CAMERA4"
	one_path "router device-to-gateway" thermo "$THERMO" "http://$GW4:8080/1M.bin" \
		gw lan0 "$mqtt"
	one_path "router gateway-to-device" gw "$GW4" "http://$CAMERA4:8080/1M.bin" \
		gw lan0 "$mqtt"
	spind_stop
fi
mqtt_capture_stop
lab_down
e2e_done
