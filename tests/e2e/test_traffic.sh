#!/usr/bin/env bash
# The foundation's end-to-end slice: a device fetches 1 MiB over IPv4 and over IPv6 through the
# lab gateway where spind runs; the flow must show up on SPIN/traffic between the device's node
# and the server's node, with a byte count within 1% of what tcpdump saw on the same interface.
# Router mode (spind on lan0) and bridge mode (spind on the bridge ports; there also devices
# from their flows' MACs and from the bridge's forwarding database).
set -euo pipefail
# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"

DEVICE=thermo
DEVICE_KEYS=02:00:00:00:00:10,192.0.2.10,2001:db8:1::10
URL=http://api.thermo.example/1M.bin
SIZE=1048576

# Polls spind's reports until the flow's byte sum stops growing (spind reports once a second).
settled_flow_bytes() { # MQTT-FILE REMOTE_IP LOCAL_PORT -> "bytes packets messages"
	local prev="" cur end=$((SECONDS + 15))
	while :; do
		cur=$(mqtt_flow_bytes "$1" 6 "$DEVICE_KEYS" "$2" "$3" 80)
		if [ "${cur%% *}" != 0 ] && [ "$cur" = "$prev" ]; then
			break
		fi
		[ "$SECONDS" -ge "$end" ] && break
		prev=$cur
		sleep 1.5
	done
	echo "$cur"
}

one_fetch() { # MODE FAMILY CAPTURE-IFACE MQTT-FILE
	local mode=$1 fam=$2 capif=$3 mqtt=$4 pcap=$E2E_TMP/$1-ipv$2.pcap name="$1 ipv$2"
	local size lip lport rip rport wire pkts bytes count msgs
	pcap_start gw "$capif" "$pcap" || return 0
	read -r size lip lport rip rport < <(in_ns "$DEVICE" curl "-$fam" -s -o /dev/null \
		--max-time 20 -w '%{size_download} %{local_ip} %{local_port} %{remote_ip} %{remote_port}\n' \
		"$URL" || echo "0 - 0 - 0")
	check_eq "$name: $DEVICE downloads $URL" "$size" "$SIZE"
	sleep 1 # the connection's last FIN/ACK
	pcap_stop
	read -r wire pkts < <(pcap_flow_bytes "$pcap" 6 "$lip" "$lport" "$rip" "$rport")
	# The wire must hold at least the payload: the measurement itself is sound.
	if [ "$wire" -gt "$SIZE" ]; then
		ok "$name: tcpdump on $capif saw the flow ($wire bytes, $pkts packets)"
	else
		fail "$name: tcpdump on $capif saw the flow" "actual $wire bytes, expected > $SIZE"
	fi
	read -r bytes count msgs < <(settled_flow_bytes "$mqtt" "$rip" "$lport")
	if [ "$msgs" -gt 0 ]; then
		ok "$name: SPIN/traffic has the flow $DEVICE:$lport -> $rip:80 in $msgs message(s)"
	else
		fail "$name: SPIN/traffic has the flow $DEVICE:$lport -> $rip:80" \
			"no flow from the device's node to $rip's node ($(grep -c '"command":"traffic"' "$mqtt" || true) traffic messages captured)"
	fi
	check_within "$name: flow bytes on SPIN/traffic match the wire" "$bytes" "$wire" 1
	check_within "$name: flow packets on SPIN/traffic match the wire" "$count" "$pkts" 1
}

# Bridge mode: a LAN host that only talks to another LAN host (static neighbour, so no ARP to
# the gateway either) never appears in the gateway's neighbour table; its MAC can only come
# from its flow's first packet at the bridge port.
QUIET_HOST=camera QUIET_IP=192.0.2.11 QUIET_MAC=02:00:00:00:00:11

forget_quiet_host() { # before spind starts: no neighbour entry can tell it the MAC
	gw ip -4 neigh flush to "$QUIET_IP" 2>/dev/null || true
	gw ip -6 neigh flush to 2001:db8:1::11 2>/dev/null || true
	gw ip -4 neigh flush to "$ANSWER_IP" 2>/dev/null || true
}

node_mac_within() { # SECONDS MQTT-FILE IP MAC: the node's "mac" field, once it is MAC or at the end
	local mac="" i
	for ((i = 0; i < $1 * 2; i++)); do
		mac=$(mqtt_node_field "$2" "$3" mac)
		[ "$mac" = "\"$4\"" ] && break
		sleep 0.5
	done
	echo "$mac"
}

quiet_host_mac() { # MQTT-FILE
	local mac=""
	in_ns "$QUIET_HOST" ip neigh replace 192.0.2.12 lladdr 02:00:00:00:00:12 dev eth0 nud permanent
	in_ns "$QUIET_HOST" "$E2E_PY" -c 'import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(3):
    s.sendto(b"x" * 32, ("192.0.2.12", 9))'
	mac=$(node_mac_within 10 "$1" "$QUIET_IP" "$QUIET_MAC")
	check_eq "bridge: the gateway has no neighbour entry for $QUIET_HOST" \
		"$(gw ip -4 neigh show to "$QUIET_IP" | wc -l)" 0
	check_eq "bridge: $QUIET_HOST, which never talks to the gateway, has its MAC (from its flow)" \
		"$mac" "\"$QUIET_MAC\""
}

# Bridge mode: a LAN host that only answers (the laptop refuses a TCP connection from the camera
# with a RST, in the same flow) sends no flow's first packet; its MAC comes from its answer.
ANSWER_HOST=laptop ANSWER_IP=192.0.2.13 ANSWER_MAC=02:00:00:00:00:13

answering_host_mac() { # MQTT-FILE
	local mac=""
	in_ns "$QUIET_HOST" ip neigh replace "$ANSWER_IP" lladdr "$ANSWER_MAC" dev eth0 nud permanent
	in_ns "$ANSWER_HOST" ip neigh replace "$QUIET_IP" lladdr "$QUIET_MAC" dev eth0 nud permanent
	in_ns "$QUIET_HOST" "$E2E_PY" -c 'import socket
for port in (81, 82, 83):
    try:
        socket.create_connection(("192.0.2.13", port), timeout=2).close()
    except OSError:
        pass'
	mac=$(node_mac_within 10 "$1" "$ANSWER_IP" "$ANSWER_MAC")
	check_eq "bridge: the gateway has no neighbour entry for $ANSWER_HOST" \
		"$(gw ip -4 neigh show to "$ANSWER_IP" | wc -l)" 0
	check_eq "bridge: $ANSWER_HOST, which only answers, has its MAC on its address (from its answer)" \
		"$mac" "\"$ANSWER_MAC\""
}

# Bridge mode: a station that has no address yet and sends one non-IP frame is only in the
# bridge's forwarding database; SPIN must show it as a device (by MAC, "ips": []), and the
# address it takes later must join that same node.
FDB_MAC=02:00:00:00:00:77 FDB_IP=192.0.2.77

station_frame() { # IFNAME MAC: a station behind the phone's port sends one non-IP frame
	in_ns phone ip link add "$1" link eth0 address "$2" type macvlan mode bridge
	in_ns phone ip link set "$1" addrgenmode none
	in_ns phone ip link set "$1" up
	in_ns phone "$E2E_PY" -c 'import socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((sys.argv[1], 0))
s.send(b"\xff" * 6 + bytes.fromhex(sys.argv[2].replace(":", "")) + b"\x88\xb5" +
       b"spin-fdb-test".ljust(46, b"\0"))' "$1" "$2"
}

fdb_station() { # MQTT-FILE
	local id="" ips="" id2=""
	station_frame fdb0 "$FDB_MAC"
	for _ in $(seq 1 20); do
		id=$(mqtt_node_field "$1" "$FDB_MAC" id)
		[ "$id" != null ] && break
		sleep 0.5
	done
	check_eq "bridge: the bridge learned $FDB_MAC on lan-phone" \
		"$(gw bridge fdb show dev lan-phone | grep -c "^$FDB_MAC .*master" || true)" 1
	if [ "$id" != null ]; then
		ok "bridge: a station with no address is a device from the bridge FDB (node $id)"
	else
		fail "bridge: a station with no address is a device from the bridge FDB" \
			"no nodeInfo with mac $FDB_MAC within 10 s"
	fi
	check_eq "bridge: that device has no address yet" "$(mqtt_node_field "$1" "$FDB_MAC" ips)" "[]"
	in_ns phone ip addr add "$FDB_IP/24" dev fdb0
	in_ns phone ping -c 1 -W 2 -I fdb0 192.0.2.1 >/dev/null 2>&1 || true
	for _ in $(seq 1 20); do
		ips=$(mqtt_node_field "$1" "$FDB_MAC" ips)
		[[ $ips == *"\"$FDB_IP\""* ]] && break
		sleep 0.5
	done
	id2=$(mqtt_node_field "$1" "$FDB_IP" id)
	check_eq "bridge: its address joins the same node when it appears" "$id2 $ips" "$id [\"$FDB_IP\"]"
	in_ns phone ip link del fdb0
}

# A station the bridge learned while no spind ran is only in the FDB: the next spind reads it
# (a dump of the bridges' FDBs at start; the neighbour tables' dump does not include them).
FDB2_MAC=02:00:00:00:00:78

fdb_after_restart() { # MQTT-FILE SPIND-ARGS...
	local mq=$1 id=null
	shift
	spind_stop
	station_frame fdb1 "$FDB2_MAC"
	spind_start "$@" || return 0
	for _ in $(seq 1 20); do
		id=$(mqtt_node_field "$mq" "$FDB2_MAC" id)
		[ "$id" != null ] && break
		sleep 0.5
	done
	if [ "$id" != null ]; then
		ok "bridge: a station learned while spind was stopped is a device after its start"
	else
		fail "bridge: a station learned while spind was stopped is a device after its start" \
			"no nodeInfo with mac $FDB2_MAC within 10 s ($(gw bridge fdb show | grep -c "^$FDB2_MAC") FDB entries)"
	fi
	in_ns phone ip link del fdb1
}

run_mode() { # MODE
	local mode=$1 ifaces capif=lan0 mqtt=$E2E_TMP/mqtt-$1.txt args
	lab_up "$mode" --no-traffic
	ifaces=$(lab_ifaces)
	args=(-i "$ifaces" -o pubsub_host=127.0.0.1 -s "$E2E_TMP/spind-state-$mode")
	if [ "$mode" = bridge ]; then
		capif=lan-$DEVICE
		args+=(-m bridge)
		forget_quiet_host
	fi
	mqtt_capture_start "$mqtt"
	if spind_start "${args[@]}"; then
		one_fetch "$mode" 4 "$capif" "$mqtt"
		one_fetch "$mode" 6 "$capif" "$mqtt"
		check_eq "$mode: the device's node carries its MAC" \
			"$(mqtt_node_field "$mqtt" "$DEVICE_KEYS" mac)" '"02:00:00:00:00:10"'
		if [ "$mode" = bridge ]; then
			quiet_host_mac "$mqtt"
			answering_host_mac "$mqtt"
			fdb_station "$mqtt"
		fi
		local domains
		domains=$(mqtt_node_field "$mqtt" 203.0.113.10 domains)
		if [[ $domains == *'"api.thermo.example."'* ]]; then
			ok "$mode: the server's node is named api.thermo.example."
		else
			fail "$mode: the server's node is named api.thermo.example." \
				"actual domains $domains"
		fi
		[ "$mode" = bridge ] && fdb_after_restart "$mqtt" "${args[@]}"
		spind_stop
	fi
	mqtt_capture_stop
	lab_down
}

run_mode router
run_mode bridge
e2e_done
