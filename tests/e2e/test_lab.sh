#!/usr/bin/env bash
# The lab itself, in both modes: DNS through dnsmasq (A, AAAA, CNAME chain), HTTP over NATed
# IPv4 and routed IPv6, ping, the broker, traffic habits, expose, a clean 'down', and 'up' after
# a crash of a previous lab.
# shellcheck disable=SC2034 # read by tests/run
SAN_SKIP=1
set -euo pipefail
# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"

P=$E2E_P

# answer NS-SHORT NAME TYPE: the answer section's records as "type data" lines
answer() {
	in_ns "$1" drill "$2" "$3" | awk '/^;; ANSWER SECTION/ { a = 1; next } /^$/ { a = 0 }
		a && NF >= 5 { print $4, $5 }' | sort
}

check_dns() { # MODE
	local m=$1
	check_eq "$m: thermo resolves api.thermo.example A" \
		"$(answer thermo api.thermo.example A)" "A 203.0.113.10"
	check_eq "$m: thermo resolves api.thermo.example AAAA" \
		"$(answer thermo api.thermo.example AAAA)" "AAAA 2001:db8:203::10"
	check_eq "$m: camera resolves the CNAME chain of cam-upload.example" \
		"$(answer camera cam-upload.example A | tr '\n' ' ')" \
		"A 203.0.113.11 CNAME upload.cdn.example. "
	check_eq "$m: phone resolves ipv6only.example AAAA" \
		"$(answer phone ipv6only.example AAAA)" "AAAA 2001:db8:203::19"
	check_eq "$m: ipv6only.example has no A record" "$(answer phone ipv6only.example A)" ""
	check_eq "$m: unknown names are NXDOMAIN" \
		"$(in_ns laptop drill nosuchname.example A | grep -o 'rcode: [A-Z]*')" "rcode: NXDOMAIN"
}

check_http() { # MODE
	local m=$1 got
	got=$(in_ns thermo curl -4 -s -o /dev/null -w '%{size_download} %{remote_ip}' \
		--max-time 10 http://api.thermo.example/1M.bin || true)
	check_eq "$m: thermo fetches 1 MiB over IPv4" "$got" "1048576 203.0.113.10"
	got=$(in_ns thermo curl -6 -s -o /dev/null -w '%{size_download} %{remote_ip}' \
		--max-time 10 http://api.thermo.example/1M.bin || true)
	check_eq "$m: thermo fetches 1 MiB over IPv6" "$got" "1048576 2001:db8:203::10"
	got=$(in_ns camera curl -4 -s -o /dev/null -w '%{http_code}' --max-time 10 \
		--data-binary "@$SPIN_LAB_STATE/www/upload.bin" http://cam-upload.example/upload || true)
	check_eq "$m: camera uploads over HTTP POST" "$got" 204

	# Who the internet sees: the gateway for IPv4 (NAT), the device itself for IPv6.
	# shellcheck disable=SC2016 # $SOCAT_PEERADDR is socat's, for the shell it starts
	e2e_bg "peer4-$m" in_ns inet socat TCP4-LISTEN:8081,fork,reuseaddr \
		SYSTEM:'echo "$SOCAT_PEERADDR"'
	# shellcheck disable=SC2016
	e2e_bg "peer6-$m" in_ns inet socat TCP6-LISTEN:8082,fork,reuseaddr \
		SYSTEM:'echo "$SOCAT_PEERADDR"'
	wait_for 5 in_ns inet bash -c ': </dev/tcp/127.0.0.1/8081'
	wait_for 5 in_ns inet bash -c ': </dev/tcp/::1/8082'
	check_eq "$m: IPv4 leaves the gateway NATed" \
		"$(in_ns laptop socat -T 3 - TCP4:203.0.113.13:8081 </dev/null || true)" "198.51.100.2"
	check_eq "$m: IPv6 is routed without NAT" \
		"$(in_ns phone socat -T 3 - 'TCP6:[2001:db8:203::13]:8082' </dev/null || true)" \
		"[2001:0db8:0001:0000:0000:0000:0000:0014]"
}

check_ping() { # MODE
	local m=$1
	check_cmd "$m: thermo pings tv.stream.example over IPv4" \
		in_ns thermo ping -4 -c 1 -W 2 tv.stream.example
	check_cmd "$m: phone pings tv.stream.example over IPv6" \
		in_ns phone ping -6 -c 1 -W 2 tv.stream.example
	check_cmd "$m: laptop pings the tv on the LAN" in_ns laptop ping -c 1 -W 2 192.0.2.12
	check_cmd "$m: phone pings the gateway over IPv6" in_ns phone ping -6 -c 1 -W 2 2001:db8:1::1
}

check_broker() { # MODE
	local m=$1 sub got
	ip netns exec "$P-gw" mosquitto_sub -h 127.0.0.1 -p 1883 -C 1 -W 5 -t spin-e2e/lab \
		>"$E2E_TMP/sub-$m" 2>&1 &
	sub=$!
	E2E_PIDS+=("$sub")
	for _ in $(seq 30); do
		gw mosquitto_pub -h 127.0.0.1 -p 1883 -t spin-e2e/lab -m "hello $m" || true
		[ -s "$E2E_TMP/sub-$m" ] && break
		sleep 0.1
	done
	wait "$sub" || true
	got=$(head -1 "$E2E_TMP/sub-$m")
	check_eq "$m: mosquitto in gw delivers a published message" "$got" "hello $m"
	got=$(gw curl -s -i --max-time 3 -H 'Connection: Upgrade' -H 'Upgrade: websocket' \
		-H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' \
		-H 'Sec-WebSocket-Protocol: mqtt' http://127.0.0.1:1884/mqtt | head -1 | tr -d '\r' || true)
	check_eq "$m: the WebSocket listener upgrades /mqtt" "$got" "HTTP/1.1 101 Switching Protocols"
}

lab_namespaces() { ip netns list | awk '{ print $1 }' | grep -E "^$P-(inet|gw|sw|thermo|camera|tv|laptop|phone)\$" | sort | tr '\n' ' '; }

# PIDs of everything the lab runs: recorded ones and whatever sits in its namespaces.
lab_pids() {
	local n
	cat "$SPIN_LAB_STATE"/pids/*.pid 2>/dev/null | awk '{ print $1 }'
	for n in $(lab_namespaces); do ip netns pids "$n"; done
}

check_down() { # WHAT
	local pids alive="" pid
	pids=$(lab_pids | sort -u)
	"$SPIN_LAB" down >/dev/null
	E2E_LAB=0
	check_eq "$1: down leaves no lab namespace" "$(lab_namespaces)" ""
	check_eq "$1: down leaves no /etc/netns entry" \
		"$(find /etc/netns -maxdepth 1 -name "$P-*" 2>/dev/null | tr '\n' ' ')" ""
	check_eq "$1: down leaves no state directory" "$(ls -d "$SPIN_LAB_STATE" 2>/dev/null)" ""
	for pid in $pids; do e2e_alive "$pid" && alive+="$pid "; done
	check_eq "$1: down leaves no lab process (of $(echo "$pids" | wc -w))" "$alive" ""
}

for mode in router bridge; do
	lab_up "$mode" --no-traffic
	expected="$P-camera $P-gw $P-inet $P-laptop $P-phone $P-sw $P-thermo $P-tv "
	[ "$mode" = bridge ] && expected=${expected/"$P-sw "/}
	check_eq "$mode: namespaces" "$(lab_namespaces)" "$expected"
	ifaces=lan0
	[ "$mode" = bridge ] && ifaces=lan-thermo,lan-camera,lan-tv,lan-laptop,lan-phone
	check_eq "$mode: spind interface list" "$(lab_ifaces)" "$ifaces"
	check_eq "$mode: status shows the spind interface list" \
		"$("$SPIN_LAB" status | sed -n 's/^spind interfaces: //p')" "$ifaces"
	check_eq "$mode: thermo has its MAC" \
		"$(in_ns thermo cat /sys/class/net/eth0/address)" "02:00:00:00:00:10"
	check_dns "$mode"
	check_http "$mode"
	check_ping "$mode"
	check_broker "$mode"
	check_down "$mode"
done

# Background habits and expose, once.
lab_up router
wait_for 5 "$SPIN_LAB" status
for d in thermo camera tv laptop phone; do
	check_eq "habit of $d runs" "$("$SPIN_LAB" status | sed -n "s/^traffic $d: \([a-z]*\).*/\1/p")" \
		running
done
tx0=$(gw cat /sys/class/net/wan0/statistics/tx_bytes)
sleep 6
tx1=$(gw cat /sys/class/net/wan0/statistics/tx_bytes)
# The camera alone uploads about 128 KiB/s; more than 200 KB in 6 s shows the habits work.
if [ $((tx1 - tx0)) -gt 200000 ]; then
	ok "habits send traffic through the gateway ($((tx1 - tx0)) bytes in 6 s)"
else
	fail "habits send traffic through the gateway" "actual $((tx1 - tx0)) bytes in 6 s, expected > 200000"
fi
"$SPIN_LAB" traffic stop >/dev/null
check_eq "traffic stop stops every habit" \
	"$("$SPIN_LAB" status | grep -c '^traffic .*: running' || true)" 0

port=13997
e2e_bg expose-srv gw socat TCP-LISTEN:$port,bind=127.0.0.1,fork,reuseaddr SYSTEM:'echo inside-gw'
wait_for 5 gw bash -c ": </dev/tcp/127.0.0.1/$port"
"$SPIN_LAB" expose $port >/dev/null
wait_for 5 bash -c ": </dev/tcp/127.0.0.1/$port"
check_eq "expose reaches gw's loopback from the host" \
	"$(socat -T 3 - TCP:127.0.0.1:$port </dev/null || true)" "inside-gw"
expose_pid=$(awk '{ print $1 }' "$SPIN_LAB_STATE/pids/expose-$port.pid")
check_down "habits and expose"
if e2e_alive "$expose_pid"; then
	fail "down stops the expose socat" "pid $expose_pid still runs"
else
	ok "down stops the expose socat"
fi

# A crashed lab: dnsmasq killed, a pid file lost, namespaces left behind; 'up' must recover.
lab_up router --no-traffic
dns_pid=$(awk '{ print $1 }' "$SPIN_LAB_STATE/pids/dnsmasq.pid")
broker_pid=$(awk '{ print $1 }' "$SPIN_LAB_STATE/pids/mosquitto.pid")
kill -9 "$dns_pid"
rm -f "$SPIN_LAB_STATE/pids/mosquitto.pid"
ip netns add "$P-phone-stray" 2>/dev/null || true # not ours: must survive
lab_up router --no-traffic
check_eq "up after a crash: DNS answers" "$(answer thermo api.thermo.example A)" "A 203.0.113.10"
if e2e_alive "$broker_pid"; then
	fail "up after a crash stops the unrecorded old broker" "pid $broker_pid still runs"
else
	ok "up after a crash stops the unrecorded old broker"
fi
check_eq "up after a crash: one broker in gw" \
	"$(for p in $(ip netns pids "$P-gw"); do tr '\0' ' ' <"/proc/$p/cmdline"; echo; done | grep -c '^mosquitto ')" 1
check_eq "down leaves namespaces it does not own" \
	"$("$SPIN_LAB" down >/dev/null; ip netns list | awk '{ print $1 }' | grep -c "^$P-phone-stray\$")" 1
ip netns del "$P-phone-stray"
E2E_LAB=0
# Half-built: only a gateway namespace with a stray link, no state at all.
ip netns add "$P-gw"
ip -n "$P-gw" link add wan0 type veth peer name stray0
lab_up bridge --no-traffic
check_eq "up over a half-built lab: thermo reaches the internet" \
	"$(in_ns thermo curl -4 -s -o /dev/null -w '%{http_code}' --max-time 5 http://news.example/ || true)" 200
check_down "after recovery"

e2e_done
