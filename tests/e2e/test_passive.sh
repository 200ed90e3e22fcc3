#!/usr/bin/env bash
# Passive mode against the live kernel path: in the lab (router mode), spind runs on lan0 with
# its BPF programs while tcpdump records lan0 and a device resolves names and fetches over IPv4
# and IPv6. Then, in a fresh lab (a fresh broker: no retained state from the live run),
# `spind -r CAPTURE --fast` replays the recording. Both runs' MQTT output must agree: the
# flows' byte and packet counts (within 1%, and within 1% of the wire), the device's MAC,
# the servers' names, and the device's DNS queries.
# Then, in a third lab, `spind -P -i lan0` (live capture) while lan0 is deleted and re-created
# and taken down and up: spind stays, does not spin (CPU time while lan0 is away), says it
# once, and reports the traffic after lan0 is back.
set -euo pipefail
export SPIN_LAB_PREFIX=${SPIN_LAB_PREFIX:-h7}
export SPIN_LAB_STATE=${SPIN_LAB_STATE:-/run/spin-lab-h7}
# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"

DEVICE=thermo
DEVICE_KEYS=02:00:00:00:00:10,192.0.2.10,2001:db8:1::10
URL=http://api.thermo.example/1M.bin
SRV4=203.0.113.10
SRV6=2001:db8:203::10
PIN_DIR=/sys/fs/bpf/spin-$SPIN_LAB_PREFIX-passive # the prefix keeps two labs' runs apart
CAPTURE=$E2E_TMP/lan0.pcap
LIVE=$E2E_TMP/mqtt-live.txt
REPLAY=$E2E_TMP/mqtt-replay.txt
PLIVE=$E2E_TMP/mqtt-passive-live.txt
declare -A FLOW_LPORT FLOW_WIRE

# The flow's byte sum on the channel once it stops growing (spind reports once a second).
settled() { # MQTT-FILE REMOTE LOCAL-PORT -> "bytes packets messages"
	local prev="" cur end=$((SECONDS + 15))
	while :; do
		cur=$(mqtt_flow_bytes "$1" 6 "$DEVICE_KEYS" "$2" "$3" 80)
		[ "${cur%% *}" != 0 ] && [ "$cur" = "$prev" ] && break
		[ "$SECONDS" -ge "$end" ] && break
		prev=$cur
		sleep 1.5
	done
	echo "$cur"
}

fetch() { # FAMILY: the device downloads URL; records the flow's local port and wire bytes
	local fam=$1 size lip lport rip rport
	read -r size lip lport rip rport < <(in_ns "$DEVICE" curl "-$fam" -s -o /dev/null \
		--max-time 20 -w '%{size_download} %{local_ip} %{local_port} %{remote_ip} %{remote_port}\n' \
		"$URL" || echo "0 - 0 - 0")
	check_eq "live ipv$fam: $DEVICE downloads $URL" "$size" 1048576
	FLOW_LPORT[$fam]=$lport
	FLOW_WIRE[$fam]="$lip $lport $rip $rport"
}

# The live spind pins its maps here; a run never inherits another's (nor leaves them).
clear_pins() {
	case $PIN_DIR in /sys/fs/bpf/spin-?*-passive) rm -rf "$PIN_DIR" ;; esac
}

live_run() {
	local pcap_pid
	clear_pins
	lab_up router --no-traffic
	mqtt_capture_start "$LIVE"
	# Whole packets (-s 0): DNS answers are parsed from the capture.
	e2e_bg tcpdump in_ns gw tcpdump -i lan0 -n -U -s 0 -w "$CAPTURE"
	pcap_pid=$E2E_BG_PID
	wait_for 5 grep -q 'listening on' "$E2E_TMP/tcpdump.log" ||
		fail "tcpdump on lan0" "did not start: $(tail -1 "$E2E_TMP/tcpdump.log")"
	if spind_start -i lan0 -o pubsub_host=127.0.0.1 -o "pin_dir=$PIN_DIR" \
		-s "$E2E_TMP/state-live"; then
		fetch 4
		fetch 6
		sleep 1 # the connections' last FIN/ACKs
		for fam in 4 6; do
			local srv=$SRV4
			[ "$fam" = 6 ] && srv=$SRV6
			settled "$LIVE" "$srv" "${FLOW_LPORT[$fam]}" >"$E2E_TMP/live-flow-$fam"
		done
		spind_stop
	fi
	e2e_kill "$pcap_pid" 2
	mqtt_capture_stop
	lab_down
	clear_pins
}

replay_run() {
	lab_up router --no-traffic
	mqtt_capture_start "$REPLAY"
	SPIND_READY_RE='replay finished'
	if spind_start -r "$CAPTURE" --fast -o pubsub_host=127.0.0.1 -s "$E2E_TMP/state-replay"; then
		grep -q 'replay finished;' "$SPIND_LOG" && ok "replay: spind read the capture to its end"
		sleep 1 # the last messages reach the subscriber
		spind_stop
	fi
	mqtt_capture_stop
	lab_down
}

# --- passive live capture (-P) across lan0 going away and coming back

cpu_ticks() { # PID -> utime + stime in clock ticks
	local st f
	st=$(cat "/proc/$1/stat")
	st=${st##*) } # the fields after the command name
	read -r -a f <<<"$st"
	echo $((f[11] + f[12]))
}

# spind lives through WHAT while lan0 is away: alive, at most 0.5 s of CPU time in 3 s (a
# resource check: a loop that spins on a dead fd uses all 3 s).
away_check() { # WHAT
	local before after hz
	hz=$(getconf CLK_TCK)
	before=$(cpu_ticks "$SPIND_PID")
	sleep 3
	if ! e2e_alive "$SPIND_PID"; then
		fail "passive live, $1: spind keeps running" "exited: $(tail -2 "$SPIND_LOG" | tr '\n' ' ')"
		return 1
	fi
	ok "passive live, $1: spind keeps running"
	after=$(cpu_ticks "$SPIND_PID")
	if [ $(((after - before) * 2)) -le "$hz" ]; then
		ok "passive live, $1: spind is idle while lan0 is away"
	else
		fail "passive live, $1: spind is idle while lan0 is away" \
			"$((after - before)) CPU ticks in 3 s (at most $((hz / 2)))"
	fi
}

# The device fetches URL over IPv4; the flow must reach SPIN/traffic.
passive_fetch() { # WHAT
	local size lport bytes
	read -r size lport < <(in_ns "$DEVICE" curl -4 -s -o /dev/null --max-time 20 \
		-w '%{size_download} %{local_port}\n' "$URL" || echo "0 0")
	check_eq "passive live, $1: $DEVICE downloads $URL" "$size" 1048576
	read -r bytes _ < <(settled "$PLIVE" "$SRV4" "$lport")
	if [ "${bytes:-0}" -ge 1048576 ]; then
		ok "passive live, $1: the flow $DEVICE:$lport -> $SRV4:80 is reported ($bytes bytes)"
	else
		fail "passive live, $1: the flow $DEVICE:$lport -> $SRV4:80 is reported" \
			"${bytes:-0} bytes on SPIN/traffic, expected at least 1048576"
	fi
}

# lan0 as spin-lab makes it: a veth to the switch's bridge, the gateway's LAN addresses.
lan0_create() {
	local p=$SPIN_LAB_PREFIX
	ip -n "$p-gw" link add lan0 address 02:00:00:00:00:01 type veth peer name uplink netns "$p-sw"
	gw ethtool -K lan0 tso off gso off gro off >/dev/null 2>&1 || true
	in_ns sw ethtool -K uplink tso off gso off gro off >/dev/null 2>&1 || true
	ip -n "$p-sw" link set uplink master br0 up
	ip -n "$p-gw" link set lan0 up
	ip -n "$p-gw" addr add 192.0.2.1/24 dev lan0
	ip -n "$p-gw" addr add 2001:db8:1::1/64 dev lan0 nodad
}

passive_stat() { # NAME -> stats.passive.NAME of /spin_api/status
	local api
	api=$(sed -n 's/.*web API on \([0-9.:]*\)$/\1/p' "$SPIND_LOG" | tail -1)
	gw curl -s --max-time 5 "http://$api/spin_api/status" |
		"$E2E_PY" -c "import json, sys; print(json.load(sys.stdin)['stats']['passive']['$1'])" ||
		echo "no status"
}

log_count() { # REGEX -> matching lines in spind's log
	grep -cE "$1" "$SPIND_LOG" || true
}

passive_live_run() {
	local gone
	lab_up router --no-traffic
	mqtt_capture_start "$PLIVE"
	# shellcheck disable=SC2034 # read by tests/lib/e2e.sh; replay_run's was another
	SPIND_READY_RE='spind running on [0-9]+ interface'
	if spind_start -P -i lan0 -o pubsub_host=127.0.0.1 -s "$E2E_TMP/state-passive-live"; then
		passive_fetch "before"

		gw ip link del lan0
		if wait_for 5 grep -q 'capture lan0: the interface went away' "$SPIND_LOG"; then
			ok "passive live, lan0 deleted: spind says the interface went away"
		else
			fail "passive live, lan0 deleted: spind says the interface went away" \
				"log: $(tail -2 "$SPIND_LOG" | tr '\n' ' ')"
		fi
		away_check "lan0 deleted"
		# One line, not one per read attempt.
		gone=$(log_count 'capture lan0: .*(went away|disappeared|went down)')
		check_eq "passive live, lan0 deleted: one warning while it is away" "$gone" 1
		lan0_create
		if wait_for 5 grep -q 'capture lan0: interface is back, capturing again' "$SPIND_LOG"; then
			ok "passive live, lan0 re-created: spind captures again"
		else
			fail "passive live, lan0 re-created: spind captures again" \
				"log: $(tail -2 "$SPIND_LOG" | tr '\n' ' ')"
		fi
		passive_fetch "lan0 re-created"
		check_eq "passive live: the status counts the loss (stats.passive.iface_lost)" \
			"$(passive_stat iface_lost)" 1

		gw ip link set dev lan0 down
		away_check "lan0 down"
		gw ip link set dev lan0 up
		passive_fetch "lan0 down and up again"
		check_eq "passive live: 'back' said once per time away" \
			"$(log_count 'capture lan0: interface is back')" \
			"$(log_count 'capture lan0: the interface went away')"
		spind_stop
		if grep -qE 'capture lan0: .*interface lost [1-9]' "$SPIND_LOG"; then
			ok "passive live: the exit statistics count the interface's loss"
		else
			fail "passive live: the exit statistics count the interface's loss" \
				"$(grep -o 'interface lost [0-9]*' "$SPIND_LOG" || echo 'no statistics line')"
		fi
	fi
	mqtt_capture_stop
	lab_down
}

live_run
if [ ! -s "$CAPTURE" ]; then
	fail "live run recorded a capture" "no packets in $CAPTURE"
	e2e_done
fi
replay_run

for fam in 4 6; do
	srv=$SRV4
	[ "$fam" = 6 ] && srv=$SRV6
	read -r _ lport rip rport <<<"${FLOW_WIRE[$fam]}"
	read -r wire wire_pkts < <(pcap_flow_bytes "$CAPTURE" 6 "$(echo "${FLOW_WIRE[$fam]}" | cut -d' ' -f1)" "$lport" "$rip" "$rport")
	read -r lbytes lpkts _ <"$E2E_TMP/live-flow-$fam" || true
	read -r rbytes rpkts rmsgs < <(mqtt_flow_bytes "$REPLAY" 6 "$DEVICE_KEYS" "$srv" "$lport" 80)
	if [ "$rmsgs" -gt 0 ]; then
		ok "ipv$fam: the replay reports the flow $DEVICE:$lport -> $srv:80 ($rmsgs messages)"
	else
		fail "ipv$fam: the replay reports the flow $DEVICE:$lport -> $srv:80" "no such flow on SPIN/traffic"
	fi
	check_within "ipv$fam: replay flow bytes match the live run's" "$rbytes" "${lbytes:-0}" 1
	check_within "ipv$fam: replay flow packets match the live run's" "$rpkts" "${lpkts:-0}" 1
	check_within "ipv$fam: replay flow bytes match the wire" "$rbytes" "$wire" 1
	check_within "ipv$fam: live flow bytes match the wire" "${lbytes:-0}" "$wire" 1
	check_eq "ipv$fam: replay flow packets equal the wire's" "$rpkts" "$wire_pkts"
	for f in "$LIVE" "$REPLAY"; do
		run=live
		[ "$f" = "$REPLAY" ] && run=replay
		domains=$(mqtt_node_field "$f" "$srv" domains)
		if [[ $domains == *'"api.thermo.example."'* ]]; then
			ok "ipv$fam $run: $srv's node is named api.thermo.example."
		else
			fail "ipv$fam $run: $srv's node is named api.thermo.example." "domains $domains"
		fi
	done
done

check_eq "live: the device's node carries its MAC" \
	"$(mqtt_node_field "$LIVE" "$DEVICE_KEYS" mac)" '"02:00:00:00:00:10"'
check_eq "replay: the device's node carries its MAC" \
	"$(mqtt_node_field "$REPLAY" "$DEVICE_KEYS" mac)" '"02:00:00:00:00:10"'
# Link-local addresses come and go with neighbour discovery's timing: the global ones count.
global_ips() { # MQTT-FILE
	mqtt_node_field "$1" "$DEVICE_KEYS" ips | tr -d '[]"' | tr ',' '\n' | grep -v '^fe80:' | sort | tr '\n' ' '
}
check_eq "replay: the device's node has the live run's global addresses" \
	"$(global_ips "$REPLAY")" "$(global_ips "$LIVE")"
queries() { # MQTT-FILE -> the distinct names of dnsquery messages
	grep -o '"command":"dnsquery","result":{[^}]*}' "$1" | grep -o '"query":"[^"]*"' | sort -u | tr '\n' ' '
}
live_q=$(queries "$LIVE")
if [ -n "$live_q" ]; then
	check_eq "replay: the same dnsquery names as the live run" "$(queries "$REPLAY")" "$live_q"
else
	fail "live: dnsquery messages" "none in $LIVE"
fi

passive_live_run
e2e_done
