#!/usr/bin/env bash
# Hostile input from a LAN host (the camera), as raw frames through the gateway:
# - forged DNS answers (a name never asked; a name asked, but from the wrong resolver, with the
#   wrong id, to the wrong port) do not rename remote nodes, while an answer that matches the
#   remembered query does (the forging path works, so the negative checks can fail);
# - matching answers naming thermo, the gateway's addresses, 0.0.0.0, the broadcast or loopback
#   are refused (counted in stats.dns.addrs_refused), and one with 64 addresses names only 16;
# - malformed and absurd frames (truncated headers, lying lengths, bad IHL, deep IPv6 extension
#   chains, stacked VLAN tags, broken DNS messages) raise the kernel's parse_error counter, do not
#   disturb the counts of good traffic (within 1% of the wire) and never crash spind;
# - hostile web API requests: a DNS-rebinding page (foreign Host, matching Origin) is refused on
#   every kind of path; JSON-RPC bodies with a raw NUL, a raw control byte or invalid UTF-8 are
#   parse errors over HTTP and over MQTT (jsonrpc_mqtt), with a UTF-8 answer and no change;
# - slow clients (headers trickled over many connections from two addresses) do not hold every
#   web API connection: the gateway's own requests and a LAN device's still get answers.
set -euo pipefail
. "$(dirname "$0")/../lib/e2e.sh"

API_PORT=13128
PIN=${SPIN_TEST_PIN_DIR:-/sys/fs/bpf/spin-$E2E_P-hostile}
THERMO=02:00:00:00:00:10,192.0.2.10,2001:db8:1::10
GW_MAC=02:00:00:00:00:01
CAMERA_MAC=02:00:00:00:00:11
TRUE_RESOLVER=203.0.113.20 # an address with no DNS server: queries stay unanswered
FRAMES=$E2E_TMP/frames.py

hostile_cleanup() { rm -rf "$PIN"; }
# shellcheck disable=SC2154 # rc is assigned inside the trap itself
trap 'rc=$?; hostile_cleanup; (exit $rc); e2e_on_exit' EXIT

api() { gw curl -s --max-time 5 "http://127.0.0.1:$API_PORT$1"; }
kstat() { api /spin_api/status | "$E2E_PY" -c "import json,sys; print(json.load(sys.stdin)['kernel']['$1'])"; }
dstat() { api /spin_api/status | "$E2E_PY" -c "import json,sys; print(json.load(sys.stdin)['stats']['dns'].get('$1', 0))"; }

# Raw frame builder and sender (AF_PACKET on the camera's eth0, to the gateway's MAC).
cat >"$FRAMES" <<'EOF'
import socket, struct, sys

GW, CAM = bytes.fromhex(sys.argv[1].replace(":", "")), bytes.fromhex(sys.argv[2].replace(":", ""))

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF

def ip4(src, dst, proto, payload, total=None, ihl=5, opts=b""):
    total = 20 + len(opts) + len(payload) if total is None else total
    h = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, total, 0x1234, 0, 64, proto, 0,
                    socket.inet_aton(src), socket.inet_aton(dst)) + opts
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + payload

def udp(sport, dport, data, length=None):
    return struct.pack("!HHHH", sport, dport, 8 + len(data) if length is None else length, 0) + data

def eth(payload, etype=0x0800, vlans=0):
    tags = b"".join(struct.pack("!HH", 0x8100, 10 + i) for i in range(vlans))
    return GW + CAM + tags + struct.pack("!H", etype) + payload

def name(n):
    return b"".join(bytes([len(l)]) + l.encode() for l in n.split(".")) + b"\0"

def dns_answer(qid, qname, addrs):  # addrs: comma-separated IPv4 addresses, one A record each
    q = name(qname) + struct.pack("!HH", 1, 1)
    a = b"".join(b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 300, 4) + socket.inet_aton(x)
                 for x in addrs.split(","))
    return struct.pack("!HHHHHH", qid, 0x8180, 1, len(addrs.split(",")), 0, 0) + q + a

def send(frames, repeat=1):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind(("eth0", 0))
    n = 0
    for _ in range(repeat):
        for f in frames:
            s.send(f)
            n += 1
    print(n)

def spoof(args):  # RESOLVER SPORT CLIENT_PORT ID NAME ADDR[,ADDR...]
    res, sport, cport, qid, qname, addr = args
    d = dns_answer(int(qid, 0), qname, addr)
    send([eth(ip4(res, "192.0.2.10", 17, udp(int(sport), int(cport), d)))])

def garbage(args):  # REPEAT
    me, them = "192.0.2.11", "203.0.113.10"
    v6 = socket.inet_pton(socket.AF_INET6, "2001:db8:1::11") + \
        socket.inet_pton(socket.AF_INET6, "2001:db8:203::10")
    good_udp = udp(4000, 9, b"z" * 20)
    ext = b"".join(struct.pack("!BB6x", 60, 0) for _ in range(8))  # 8 destination-option headers
    loop = struct.pack("!HHHHHH", 7, 0x8180, 1, 1, 0, 0) + b"\xc0\x0c" + \
        struct.pack("!HH", 1, 1)  # a name that points at itself
    frames = [
        eth(b"\x45\x00\x00"),                                     # IPv4 header cut short
        eth(ip4(me, them, 17, good_udp, ihl=3)),                  # IHL below 5
        eth(ip4(me, them, 17, good_udp, ihl=15)[:40]),            # IHL past the frame
        eth(ip4(me, them, 17, good_udp, total=9000)),             # total length past the frame
        eth(ip4(me, them, 17, good_udp, total=12)),               # total length below the header
        eth(ip4(me, them, 6, b"\x00\x50")),                       # TCP header cut short
        eth(ip4(me, them, 17, b"\x0f\xa0")),                      # UDP header cut short
        eth(struct.pack("!IHBB", 0x60000000, 200, 17, 64) + v6 + good_udp, 0x86DD),  # payload len lies
        eth(struct.pack("!IHBB", 0x60000000, len(ext) + 28, 60, 64) + v6 + ext + good_udp, 0x86DD),
        eth(b"\x60\x00", 0x86DD),                                 # IPv6 header cut short
        eth(ip4(me, them, 17, good_udp), vlans=3),                # three stacked VLAN tags
        eth(ip4(me, them, 17, udp(4000, 53, loop))),              # DNS name compression loop
        eth(ip4(me, them, 17, udp(4000, 53, b"\x00\x07\x81"))),   # DNS header cut short
        eth(ip4(me, them, 17, udp(4000, 53, struct.pack("!HHHHHH", 9, 0x8180, 65535, 65535, 0, 0)))),
        eth(ip4(me, them, 17, udp(4000, 53, b"x" * 30, length=4000))),  # UDP length lies
    ]
    send(frames, int(args[0]))

{"spoof": spoof, "garbage": garbage}[sys.argv[3]](sys.argv[4:])
EOF

frames() { in_ns camera "$E2E_PY" "$FRAMES" "$GW_MAC" "$CAMERA_MAC" "$@"; }

ask() { # NAME ID PORT: thermo sends one query to TRUE_RESOLVER (no answer comes back)
	in_ns thermo "$E2E_PY" -c '
import socket, struct, sys
qname, qid, port = sys.argv[1], int(sys.argv[2], 0), int(sys.argv[3])
q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + \
    b"".join(bytes([len(l)]) + l.encode() for l in qname.split(".")) + b"\0\0\1\0\1"
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", port))
s.sendto(q, (sys.argv[4], 53))
' "$1" "$2" "$3" "$TRUE_RESOLVER"
}

domains_of() { mqtt_node_field "$MQ" "$1" domains; }

rm -rf "$PIN"
lab_up router --no-traffic
# shellcheck disable=SC2054 # the commas are inside option values
ARGS=(-i lan0 -s "$E2E_TMP/state" -o "pin_dir=$PIN" -o "spinweb_port=$API_PORT"
	-o pubsub_host=127.0.0.1 -o jsonrpc_mqtt=1
	-o spinweb_interfaces=127.0.0.1,192.0.2.1 -o http_max_connections=16)
MQ=$E2E_TMP/mqtt.txt
mqtt_capture_start "$MQ"
spind_start "${ARGS[@]}" || e2e_done
wait_for 10 api /spin_api/status || fail "status API answers" "no answer on port $API_PORT"

# --- forged DNS answers
# A name thermo never asked for, "from" the real resolver.
frames spoof 198.51.100.1 53 40000 0x1111 evil.example 203.0.113.10 >/dev/null
# A name thermo asked (pending: its resolver does not answer), answered by the wrong resolver,
# with the wrong id, and to the wrong port.
ask wiki.example 0x2222 40001
frames spoof 198.51.100.1 53 40001 0x2222 wiki.example 203.0.113.12 >/dev/null
frames spoof "$TRUE_RESOLVER" 53 40001 0x2223 wiki.example 203.0.113.12 >/dev/null
frames spoof "$TRUE_RESOLVER" 53 40002 0x2222 wiki.example 203.0.113.12 >/dev/null
frames spoof "$TRUE_RESOLVER" 5353 40001 0x2222 wiki.example 203.0.113.12 >/dev/null
# The control: an answer matching the remembered query in every field is used.
ask weather.example 0x3333 40003
frames spoof "$TRUE_RESOLVER" 53 40003 0x3333 weather.example 203.0.113.19 >/dev/null
sleep 1
# Every DNS counter is in status, and these say what happened to the frames above: two
# questions reported; the four forged answers from port 53 match nothing remembered (the one
# from port 5353 is no DNS to SPIN).
check_eq "status shows every DNS counter" "$(api /spin_api/status | "$E2E_PY" -c "import json,sys; print(' '.join(sorted(json.load(sys.stdin)['stats']['dns'])))")" \
	"addrs_capped addrs_refused answers bad_rcode cname_too_deep expired malformed messages pending pending_full queries queries_folded queries_not_lan queries_reported responses tc_set unmatched unsupported"
check_eq "the two questions thermo asked are reported" "$(dstat queries_reported)" 2
check_eq "the forged answers match nothing remembered" "$(dstat unmatched)" 4
# Traffic to the addresses makes spind publish their nodes.
for a in 203.0.113.10 203.0.113.12 203.0.113.19; do
	in_ns thermo ping -c 1 -W 1 "$a" >/dev/null 2>&1 || true
done
sleep 2.5
d=$(domains_of 203.0.113.19)
case $d in *weather.example.*) ok "control: a fully matching answer names the node ($d)" ;;
*) fail "control: a fully matching answer names the node" "203.0.113.19 has domains $d" ;; esac
d=$(domains_of 203.0.113.10)
case $d in *evil.example*) fail "an answer nobody asked for does not rename a node" "203.0.113.10 has $d" ;;
*) ok "an answer nobody asked for does not rename a node ($d)" ;; esac
d=$(domains_of 203.0.113.12)
case $d in *wiki.example*) fail "wrong resolver, id or port does not rename a node" "203.0.113.12 has $d" ;;
*) ok "wrong resolver, id or port does not rename a node ($d)" ;; esac
# wiki.example was asked for, so it has a node (dnsquery) but must hold no address.
bad=$("$E2E_PY" -c "$E2E_MQTT_PY"'
info, _, _, _ = load(sys.argv[1])
for versions in info.values():
    for n in versions:
        d = n.get("domains", [])
        if "evil.example." in d or ("wiki.example." in d and n.get("ips")):
            print(json.dumps(n))
' "$MQ")
check_eq "no nodeInfo joins a forged name to an address" "$bad" ""

# --- matching answers naming what no answer may name, or too many addresses
# thermo itself, the gateway's LAN and WAN addresses, 0.0.0.0, the broadcast and loopback are
# refused; the one remote address is used. 64 A records: 16 are used, 48 ignored.
r0=$(dstat addrs_refused)
c0=$(dstat addrs_capped)
ask local.example 0x4444 40004
frames spoof "$TRUE_RESOLVER" 53 40004 0x4444 local.example \
	192.0.2.10,192.0.2.1,198.51.100.2,0.0.0.0,255.255.255.255,127.0.0.1,203.0.113.30 >/dev/null
ask many.example 0x5555 40005
frames spoof "$TRUE_RESOLVER" 53 40005 0x5555 many.example \
	"$(seq -s, -f '203.0.113.%g' 100 163)" >/dev/null
sleep 1
for a in 203.0.113.30 203.0.113.100 203.0.113.163; do
	in_ns thermo ping -c 1 -W 1 "$a" >/dev/null 2>&1 || true
done
sleep 2.5
check_eq "an answer naming thermo, the gateway, 0.0.0.0, broadcast, loopback: 6 refused" \
	"$(($(dstat addrs_refused) - r0))" 6
check_eq "an answer with 64 addresses: 48 ignored" "$(($(dstat addrs_capped) - c0))" 48
d=$(domains_of 203.0.113.30)
case $d in *local.example.*) ok "control: the remote address of that answer is named ($d)" ;;
*) fail "control: the remote address of that answer is named" "203.0.113.30 has domains $d" ;; esac
bad=$("$E2E_PY" -c "$E2E_MQTT_PY"'
info, _, _, _ = load(sys.argv[1])
local = {"192.0.2.10", "192.0.2.1", "198.51.100.2", "0.0.0.0", "255.255.255.255", "127.0.0.1"}
for versions in info.values():
    for n in versions:
        if "local.example." in n.get("domains", []) and (local & set(n.get("ips", [])) or n.get("mac")):
            print(json.dumps(n))
' "$MQ")
check_eq "no nodeInfo names a device, the gateway or a special address" "$bad" ""
n=$("$E2E_PY" -c 'import json,sys; print(len(json.loads(sys.argv[1]) or []))' \
	"$(mqtt_node_field "$MQ" 203.0.113.100 ips)")
check_eq "the node of a 64-address answer holds 16 addresses" "$n" 16
d=$(mqtt_node_field "$MQ" 203.0.113.163 domains)
case $d in *many.example.*) fail "an address past the cap is not named" "203.0.113.163 has $d" ;;
*) ok "an address past the cap is not named ($d)" ;; esac

# --- hostile web API requests
URL=http://127.0.0.1:$API_PORT
RPC_LIST='{"jsonrpc":"2.0","id":1,"method":"list_devices"}'
code() { gw curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@" || true; }
# A page of evil.example whose name now points at the gateway: its Origin matches its Host.
check_eq "DNS rebinding: JSON-RPC with Host and Origin evil.example is 403" \
	"$(code -H 'Content-Type: application/json' -H "Host: evil.example:$API_PORT" \
		-H "Origin: http://evil.example:$API_PORT" -d "$RPC_LIST" "$URL/spin_api/jsonrpc")" 403
for path in /spin_api/status /spin_api/events /metrics / "/spin_api/capture_stop?device=$CAMERA_MAC"; do
	check_eq "DNS rebinding: GET $path with Host evil.example is 403" \
		"$(code -H "Host: evil.example:$API_PORT" "$URL$path")" 403
done
body=$(gw curl -s --max-time 5 -H "Host: evil.example" "$URL/spin_api/status" || true)
case $body in *spinweb_hostnames*) ok "the 403 names spinweb_hostnames" ;;
*) fail "the 403 names spinweb_hostnames" "body: $body" ;; esac
check_eq "control: the same JSON-RPC with Host and Origin 127.0.0.1 is 200" \
	"$(code -H 'Content-Type: application/json' -H "Origin: $URL" -d "$RPC_LIST" \
		"$URL/spin_api/jsonrpc")" 200
check_eq "control: Host localhost is 200" "$(code -H "Host: localhost:$API_PORT" "$URL/spin_api/status")" 200

thermo_id=$(gw curl -s --max-time 5 -H 'Content-Type: application/json' \
	-d "$RPC_LIST" "$URL/spin_api/jsonrpc" | "$E2E_PY" -c '
import json, sys
print(next(d["id"] for d in json.load(sys.stdin)["result"] if d.get("mac") == "02:00:00:00:00:10"))')
name_of_thermo() {
	gw curl -s --max-time 5 -H 'Content-Type: application/json' \
		-d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"get_device_data\",\"params\":{\"node\":$thermo_id}}" \
		"$URL/spin_api/jsonrpc" | "$E2E_PY" -c 'import json,sys; print(json.load(sys.stdin)["result"].get("name"))'
}
name0=$(name_of_thermo)
# Bodies with bytes JSON forbids (printf: \0 is a raw NUL, \001 a raw control byte).
declare -A RAW=(
	[mac-nul]='{"jsonrpc":"2.0","id":1,"method":"set_device_flow_block","params":{"device":"02:00:00:00:00:10\0; rm -rf /","node":1,"block":1}}'
	[name-nul]="{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"set_device_name\",\"params\":{\"node\":$thermo_id,\"name\":\"Laptop\\0<script>\"}}"
	[ctrl]='{"jsonrpc":"2.0","id":"a\001","method":"list_devices"}'
	[utf8-id]='{"jsonrpc":"2.0","id":"\377\376","method":"list_devices"}'
	[utf8-method]='{"jsonrpc":"2.0","id":1,"method":"list\303\050"}'
)
is_parse_error() { # FILE: a UTF-8 JSON-RPC answer with error -32700 and id null
	"$E2E_PY" -c '
import json, sys
a = json.loads(open(sys.argv[1], "rb").read().decode("utf-8"))
sys.exit(0 if a["error"]["code"] == -32700 and a["id"] is None and "result" not in a else 1)' "$1"
}
for k in "${!RAW[@]}"; do
	# shellcheck disable=SC2059 # the body is the format: its escapes make the raw bytes
	printf "${RAW[$k]}" >"$E2E_TMP/raw-$k.json"
	gw curl -s --max-time 5 -H 'Content-Type: application/json' --data-binary "@$E2E_TMP/raw-$k.json" \
		"$URL/spin_api/jsonrpc" >"$E2E_TMP/raw-$k.http" || true
	if is_parse_error "$E2E_TMP/raw-$k.http" 2>/dev/null; then
		ok "HTTP: a body with $k is a parse error (-32700, id null, UTF-8 answer)"
	else
		fail "HTTP: a body with $k is a parse error" "answer: $(head -c 300 "$E2E_TMP/raw-$k.http" | cat -v)"
	fi
	e2e_bg "raw-$k-mqtt" gw mosquitto_sub -h 127.0.0.1 -t SPIN/jsonrpc/a -C 1 -W 10
	sleep 0.5
	gw mosquitto_pub -h 127.0.0.1 -t SPIN/jsonrpc/q -f "$E2E_TMP/raw-$k.json"
	wait "$E2E_BG_PID" 2>/dev/null || true
	if is_parse_error "$E2E_TMP/raw-$k-mqtt.log" 2>/dev/null; then
		ok "MQTT: a body with $k is a parse error (-32700, id null, UTF-8 answer)"
	else
		fail "MQTT: a body with $k is a parse error" "answer: $(head -c 300 "$E2E_TMP/raw-$k-mqtt.log" | cat -v)"
	fi
done
check_eq "no raw-byte body renamed thermo" "$(name_of_thermo)" "$name0"
check_eq "no raw-byte body blocked a flow" \
	"$(gw curl -s --max-time 5 -H 'Content-Type: application/json' \
		-d '{"jsonrpc":"2.0","id":1,"method":"list_device_flows","params":{"device":"02:00:00:00:00:10"}}' \
		"$URL/spin_api/jsonrpc" | grep -c '"blocked":1' || true)" 0

# --- malformed frames among good traffic
mqtt_capture_stop
MQ=$E2E_TMP/mqtt-garbage.txt
mqtt_capture_start "$MQ"
PCAP=$E2E_TMP/lan0.pcap
pcap_start gw lan0 "$PCAP"
pe0=$(kstat parse_error)
e2e_bg garbage in_ns camera "$E2E_PY" "$FRAMES" "$GW_MAC" "$CAMERA_MAC" garbage 200
GARBAGE_PID=$E2E_BG_PID
in_ns thermo ping -c 20 -i 0.05 -s 1000 -W 1 203.0.113.13 >/dev/null 2>&1 || true
in_ns thermo curl -s -o /dev/null --max-time 10 --local-port 41000 http://203.0.113.14/1M.bin || true
wait "$GARBAGE_PID" 2>/dev/null || true
sleep 2.5
pcap_stop
mqtt_capture_stop
pe1=$(kstat parse_error)
sent=$(cat "$E2E_TMP/garbage.log" 2>/dev/null || echo 0)
if [ "$((pe1 - pe0))" -gt 0 ]; then
	ok "malformed frames raise parse_error ($((pe1 - pe0)) for $sent frames sent)"
else
	fail "malformed frames raise parse_error" "parse_error $pe0 -> $pe1 after $sent frames"
fi
read -r wire _ <<<"$(pcap_flow_bytes "$PCAP" 1 192.0.2.10 0 203.0.113.13 0)"
read -r got _ _ <<<"$(mqtt_flow_bytes "$MQ" 1 "$THERMO" 203.0.113.13 0 0)"
check_eq "ping among garbage: bytes exact (41120 on the wire: 20 x 1028 x 2)" "$got" 41120
check_eq "ping among garbage: the capture agrees" "$wire" 41120
read -r wire _ <<<"$(pcap_flow_bytes "$PCAP" 6 192.0.2.10 41000 203.0.113.14 80)"
read -r got _ _ <<<"$(mqtt_flow_bytes "$MQ" 6 "$THERMO" 203.0.113.14 41000 80)"
if [ "${wire:-0}" -gt 1000000 ]; then
	check_within "HTTP download among garbage: bytes within 1% of the wire ($got vs $wire)" \
		"${got:-0}" "$wire" 1
else
	fail "HTTP download among garbage" "only ${wire:-0} bytes on the wire"
fi
check_cmd "spind alive after the garbage" kill -0 "$SPIND_PID"

# --- slow clients: a LAN host with two addresses opens 24 connections (the per-address limit is
# 32) and trickles header lines, never ending a request; http_max_connections is 16 here
in_ns camera ip addr add 192.0.2.111/24 dev eth0
e2e_bg slowloris in_ns camera "$E2E_PY" -c '
import socket, sys, time
socks = []
for src in ("192.0.2.11", "192.0.2.111"):
    for i in range(12):
        try:
            s = socket.socket()
            s.bind((src, 0))
            s.connect(("192.0.2.1", int(sys.argv[1])))
            s.sendall(b"GET /spin_api/status HTTP/1.1\r\nHost: 192.0.2.1\r\n")
            socks.append(s)
        except OSError:
            pass
        time.sleep(0.02)
print("open", len(socks), flush=True)
while True:
    time.sleep(2)
    for s in socks:
        try:
            s.sendall(b"X-Slow: 1\r\n")
        except OSError:
            pass
' "$API_PORT"
SLOW_PID=$E2E_BG_PID
wait_for 10 grep -q open "$E2E_TMP/slowloris.log" || fail "slow clients connect" "$(cat "$E2E_TMP/slowloris.log")"
sleep 1
check_eq "slow clients from the LAN do not lock out the gateway's own status request" \
	"$(code "$URL/spin_api/status")" 200
check_eq "slow clients from the LAN do not lock out a LAN device" \
	"$(in_ns thermo curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
		"http://192.0.2.1:$API_PORT/spin_api/status" || true)" 200
evicted=$(api /spin_api/status | "$E2E_PY" -c \
	'import json,sys; print(json.load(sys.stdin)["web"]["idle_evicted"])' || true)
check_cmd "status counts the idle connections closed for new ones ($evicted)" test "${evicted:-0}" -ge 2
e2e_kill "$SLOW_PID"
in_ns camera ip addr del 192.0.2.111/24 dev eth0
spind_stop

# --- wrong passwords from the LAN: every check is a crypt in spind's one event loop (yescrypt
# 20 ms); a client gets AUTH_FAIL_BURST (5) failed checks, then 429 without a crypt until its
# budget refills (one per 2 s); other clients and loopback are not held up, and a signed-in
# client is not checked again (its credentials are remembered), so it never runs into the
# total budget (20 at once, 10 a second).
PW=$E2E_TMP/passwd
echo "admin:$(openssl passwd -6 's3cret pass')" >"$PW"
spind_start "${ARGS[@]}" -o "spinweb_password_file=$PW" || e2e_done
LAN_URL=http://192.0.2.1:$API_PORT/spin_api/status
lan_code() { # NS USER:PASS
	in_ns "$1" curl -s -o /dev/null -w '%{http_code}' --max-time 5 -u "$2" "$LAN_URL" || true
}
wait_for 10 test "$(lan_code camera admin:'s3cret pass')" = 200 || true
codes=""
for _ in $(seq 8); do codes="$codes $(lan_code thermo admin:wrong)"; done
check_eq "wrong passwords from one LAN client: 5 checked (401), then 429 with no check" \
	"$codes" " 401 401 401 401 401 429 429 429"
check_eq "another LAN client still signs in meanwhile" "$(lan_code camera admin:'s3cret pass')" 200
codes=""
for _ in $(seq 30); do codes="$codes $(lan_code camera admin:'s3cret pass')"; done
check_eq "a signed-in client's 30 requests in a row all answer 200 (remembered, not crypted)" \
	"$(echo "$codes" | tr ' ' '\n' | grep -c '^200$')" 30
codes=""
for _ in $(seq 8); do
	codes="$codes $(gw curl -s -o /dev/null -w '%{http_code}' --max-time 5 -u admin:wrong \
		"http://127.0.0.1:$API_PORT/spin_api/status" || true)"
done
check_eq "loopback is never held up: 8 wrong passwords, 8 x 401" "$codes" " 401 401 401 401 401 401 401 401"
sleep 2.2
check_eq "the client's budget refills: its right password answers 200 after 2 s" \
	"$(lan_code thermo admin:'s3cret pass')" 200
throttled=$(gw curl -s --max-time 5 -u admin:'s3cret pass' "http://127.0.0.1:$API_PORT/spin_api/status" |
	"$E2E_PY" -c 'import json,sys; print(json.load(sys.stdin)["web"]["auth_throttled"])' || true)
check_eq "status counts the refused checks (web.auth_throttled)" "$throttled" 3
spind_stop
nsenter --net="/run/netns/$E2E_P-gw" "$E2E_OUT/spind" -x -i lan0 -o "pin_dir=$PIN" \
	>/dev/null 2>&1 || true
hostile_cleanup
e2e_done
