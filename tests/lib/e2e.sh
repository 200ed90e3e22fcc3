# shellcheck shell=bash
# The library every end-to-end test sources: result lines in the runner's contract, the lab,
# spind inside the gateway namespace, MQTT capture, packet capture, and flow arithmetic.
#
#   . "$(dirname "$0")/../lib/e2e.sh"
#
# Results: ok NAME | fail NAME WHY | check_eq NAME ACTUAL EXPECTED
#          check_within NAME ACTUAL EXPECTED PERCENT | check_cmd NAME CMD... | e2e_done
# Lab:     lab_up [router|bridge] [spin-lab up options] | lab_down | in_ns SHORT CMD... | gw CMD...
# spind:   spind_start ARGS... | spind_stop          (binary: $SPIN_TOP/${SPIN_OUT:-build}/spind)
# MQTT:    mqtt_capture_start FILE | mqtt_capture_stop
# Packets: pcap_start NS-SHORT IFACE FILE | pcap_stop
#          pcap_flow_bytes PCAP PROTO IP1 PORT1 IP2 PORT2   -> "bytes packets"
#          mqtt_flow_bytes FILE PROTO DEVICE REMOTE_IP DEVICE_PORT REMOTE_PORT -> "bytes packets
#          messages"; DEVICE is a comma list of the device's MAC and addresses
#          mqtt_node_field FILE MATCH FIELD  -> FIELD of the latest nodeInfo matching MATCH
# Misc:    wait_for TIMEOUT CMD... | e2e_bg NAME CMD... (background, killed at exit)
#
# Every process a test starts is recorded by PID and stopped at exit (EXIT/INT/TERM trap), the
# lab is torn down, and a test that dies on an unexpected error prints a "not ok" line naming
# the line and command.

SPIN_TOP=${SPIN_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
SPIN_OUT=${SPIN_OUT:-build}
case $SPIN_OUT in /*) E2E_OUT=$SPIN_OUT ;; *) E2E_OUT=$SPIN_TOP/$SPIN_OUT ;; esac
SPIN_LAB=$SPIN_TOP/tools/spin-lab
export SPIN_LAB_PREFIX=${SPIN_LAB_PREFIX:-spin}
# a state directory per prefix: labs of two prefixes run side by side without stopping
# each other's daemons (their pid files live there)
export SPIN_LAB_STATE=${SPIN_LAB_STATE:-/run/spin-lab-$SPIN_LAB_PREFIX}
E2E_P=$SPIN_LAB_PREFIX
E2E_PY=${E2E_PY:-/usr/bin/python3}
E2E_NAME=$(basename "$0" .sh)
E2E_TMP=$(mktemp -d "/tmp/spin-e2e-$E2E_NAME.XXXXXX")
E2E_PASSED=0
E2E_FAILED=0
E2E_PIDS=()
E2E_LAB=0
SPIND_PID=""
SPIND_LOG=""
MQTT_CAPTURE_PID=""
PCAP_PID=""
# Each test pins under a directory of its own (unless it passes -o pin_dir=...), removed at exit.
E2E_PIN=/sys/fs/bpf/$SPIN_LAB_PREFIX-e2e-$E2E_NAME # the prefix lets two labs run side by side
SPIND_START_TIMEOUT=${SPIND_START_TIMEOUT:-20}
SPIND_STOP_TIMEOUT=${SPIND_STOP_TIMEOUT:-10}
# A log line that means spind is fully up, as an alternative to seeing serverRestart.
SPIND_READY_RE=${SPIND_READY_RE:-'spind running on [0-9]+ interface'}

# --- results

ok() {
	echo "ok - $1"
	E2E_PASSED=$((E2E_PASSED + 1))
}

fail() {
	echo "not ok - $1: $2"
	E2E_FAILED=$((E2E_FAILED + 1))
}

check_eq() { # NAME ACTUAL EXPECTED
	if [ "$2" = "$3" ]; then ok "$1"; else fail "$1" "actual '$2', expected '$3'"; fi
}

check_within() { # NAME ACTUAL EXPECTED PERCENT
	if [[ $2 =~ ^-?[0-9]+(\.[0-9]+)?$ ]] && awk -v a="$2" -v e="$3" -v p="$4" \
		'BEGIN { d = a - e; if (d < 0) d = -d; m = e < 0 ? -e : e; exit !(d * 100 <= m * p) }'; then
		ok "$1"
	else
		fail "$1" "actual $2, expected $3 within $4%"
	fi
}

check_cmd() { # NAME CMD...: the command succeeds
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		ok "$name"
	else
		fail "$name" "command failed: $* ($(printf '%s' "$out" | tail -1))"
	fi
}

e2e_done() {
	e2e_cleanup
	trap - EXIT
	echo "# $E2E_NAME: $E2E_PASSED passed, $E2E_FAILED failed"
	[ "$E2E_FAILED" -eq 0 ] || exit 1
	exit 0
}

# --- processes

e2e_alive() { # PID: running and not a zombie
	local st
	st=$(cat 2>/dev/null <"/proc/$1/stat") || return 1
	st=${st##*) }
	[ "${st%% *}" != Z ]
}

e2e_kill() { # PID [TIMEOUT]: SIGTERM, SIGKILL after TIMEOUT seconds (default 3); reaps it
	local pid=$1
	e2e_alive "$pid" || {
		wait "$pid" 2>/dev/null || true
		return 0
	}
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq $((${2:-3} * 10))); do
		e2e_alive "$pid" || break
		sleep 0.1
	done
	e2e_alive "$pid" && kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null || true
}

# The lab wrappers (gw, in_ns) as a plain command line: a shell function put in the background
# runs in a subshell whose PID is not the command's, and killing it would orphan the command.
e2e_argv() { # CMD... -> E2E_ARGV
	case $1 in
	gw) E2E_ARGV=(ip netns exec "$E2E_P-gw" "${@:2}") ;;
	in_ns) E2E_ARGV=(ip netns exec "$E2E_P-$2" "${@:3}") ;;
	*) E2E_ARGV=("$@") ;;
	esac
}

e2e_bg() { # NAME CMD...: background process, output in $E2E_TMP/NAME.log; PID in E2E_BG_PID
	local name=$1
	shift
	e2e_argv "$@"
	"${E2E_ARGV[@]}" >"$E2E_TMP/$name.log" 2>&1 </dev/null &
	E2E_BG_PID=$!
	E2E_PIDS+=("$E2E_BG_PID")
}

wait_for() { # TIMEOUT CMD...: polls CMD every 0.1 s; 0 once it succeeds, 1 after TIMEOUT s
	local end=$((SECONDS + $1))
	shift
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		[ "$SECONDS" -ge "$end" ] && return 1
		sleep 0.1
	done
}

e2e_cleanup() {
	local pid
	[ -n "$SPIND_PID" ] && spind_stop
	for pid in "${E2E_PIDS[@]}"; do e2e_kill "$pid"; done
	E2E_PIDS=()
	MQTT_CAPTURE_PID=""
	PCAP_PID=""
	[ "$E2E_LAB" = 1 ] && lab_down
	rm -rf "$E2E_PIN"
	if [ "$E2E_FAILED" -eq 0 ]; then
		rm -rf "$E2E_TMP"
	else
		echo "# $E2E_NAME: logs kept in $E2E_TMP"
	fi
}

e2e_on_exit() {
	local rc=$?
	trap - EXIT INT TERM ERR
	e2e_cleanup
	exit "$rc"
}

e2e_on_err() { # LINE COMMAND STATUS: set -e is about to end the test
	[[ $- == *e* ]] || return 0
	fail "$E2E_NAME aborted" "line $1: '$2' exited with status $3"
}

trap e2e_on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'e2e_on_err "$LINENO" "$BASH_COMMAND" "$?"' ERR

# --- the lab

in_ns() { # SHORT CMD...: run CMD in the lab namespace $E2E_P-SHORT
	local n=$E2E_P-$1
	shift
	ip netns exec "$n" "$@"
}

gw() { in_ns gw "$@"; }

# How many SPIN TC programs sit on a hook of the gateway's IFACE: a cls_bpf filter on clsact,
# or a TCX link spind pinned in PIN-DIR (kernels with TCX; `tc filter show` does not list it).
spin_tc_progs() { # IFACE ingress|egress [PIN-DIR]
	local dir=${3:-$E2E_PIN} n ifindex id
	n=$(gw tc filter show dev "$1" "$2" 2>/dev/null | grep -c "spin_tc_$2" || true)
	ifindex=$(gw cat "/sys/class/net/$1/ifindex" 2>/dev/null) || ifindex=""
	if [ -n "$ifindex" ] && [ -e "$dir/tcx_$2_$ifindex" ]; then
		id=$(bpftool link show pinned "$dir/tcx_$2_$ifindex" 2>/dev/null |
			sed -n 's/.*prog \([0-9]*\).*/\1/p')
		# Not 'bpftool ... | grep -q': under pipefail, grep leaving at the first match can
		# fail the pipe (bpftool's next write gets SIGPIPE), which read as "not attached".
		[ -n "$id" ] && grep -q "spin_tc_$2" <<<"$(bpftool prog show id "$id" 2>/dev/null)" &&
			n=$((n + 1))
	fi
	echo "$n"
}

lab_up() { # [router|bridge] [spin-lab up options]
	local mode=${1:-router}
	shift || true
	E2E_LAB=1
	if ! "$SPIN_LAB" up --mode "$mode" "$@" >"$E2E_TMP/lab-up.log" 2>&1; then
		fail "lab up ($mode)" "spin-lab up failed: $(tail -1 "$E2E_TMP/lab-up.log")"
		e2e_done
	fi
}

lab_down() {
	local pid
	[ -n "$SPIND_PID" ] && spind_stop
	# Processes we started inside the lab die with it; reap them first.
	for pid in "${E2E_PIDS[@]}"; do e2e_kill "$pid" 1; done
	E2E_PIDS=()
	MQTT_CAPTURE_PID=""
	PCAP_PID=""
	"$SPIN_LAB" down >/dev/null 2>&1 || echo "# lab_down: spin-lab down failed" >&2
	E2E_LAB=0
}

lab_ifaces() { "$SPIN_LAB" ifaces; }

# --- MQTT

mqtt_pub() { # TOPIC MESSAGE
	gw mosquitto_pub -h 127.0.0.1 -p 1883 -q 0 -t "$1" -m "$2"
}

# A subscriber prints nothing until its subscription is active: prove it by a probe message.
mqtt_sub_ready() { # FILE
	for _ in $(seq 50); do
		mqtt_pub spin-e2e/probe "probe" >/dev/null 2>&1 || true
		grep -q '^spin-e2e/probe ' "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

mqtt_capture_start() { # FILE: every SPIN/# message, "topic payload" per line
	local file=$1
	ip netns exec "$E2E_P-gw" mosquitto_sub -h 127.0.0.1 -p 1883 -v -t 'SPIN/#' \
		-t spin-e2e/probe >"$file" 2>"$file.err" </dev/null &
	MQTT_CAPTURE_PID=$!
	E2E_PIDS+=("$MQTT_CAPTURE_PID")
	mqtt_sub_ready "$file" || fail "mqtt capture" "mosquitto_sub in $E2E_P-gw did not subscribe"
}

mqtt_capture_stop() {
	[ -n "$MQTT_CAPTURE_PID" ] || return 0
	e2e_kill "$MQTT_CAPTURE_PID" 1
	MQTT_CAPTURE_PID=""
}

# --- spind

spind_san_report() { # LOG: the first sanitizer report line, if any
	grep -m1 -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$1" 2>/dev/null
}

spind_start() { # ARGS...: spind in the gw namespace; 0 once it is ready
	local bin=$E2E_OUT/spind ready=$E2E_TMP/spind-ready.log sub st end
	if [ ! -x "$bin" ]; then
		fail "spind starts" "no executable $bin (build it: make${SPIN_OUT:+ OUT=$SPIN_OUT})"
		return 1
	fi
	SPIND_LOG=$E2E_TMP/spind.log
	e2e_bg spind-ready gw mosquitto_sub -h 127.0.0.1 -p 1883 -v -t SPIN/traffic \
		-t spin-e2e/probe
	sub=$E2E_BG_PID
	mqtt_sub_ready "$ready" || true
	case " $* " in *pin_dir=*) ;; *) set -- "$@" -o "pin_dir=$E2E_PIN" ;; esac
	# Never the host's /var/lib/spin: another spind (or the package test) may own it.
	case " $* " in *" -s "* | *" --state-dir "* | *state_dir=*) ;;
	*) set -- "$@" -s "$E2E_TMP/spind-state" ;; esac
	# Under the sanitizer build any report ends spind with its stack in the log.
	# nsenter --net, not 'ip netns exec': the latter remounts /sys in a private mount
	# namespace, which hides the host's /sys/fs/bpf, so pins would die with spind.
	nsenter --net="/run/netns/$E2E_P-gw" env ASAN_OPTIONS="halt_on_error=1:abort_on_error=0:detect_leaks=1:exitcode=66:${ASAN_OPTIONS:-}" \
		UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:exitcode=66:${UBSAN_OPTIONS:-}" \
		"$bin" "$@" >"$SPIND_LOG" 2>&1 </dev/null &
	SPIND_PID=$!
	end=$((SECONDS + SPIND_START_TIMEOUT))
	while :; do
		if grep -q '"serverRestart"' "$ready" 2>/dev/null ||
			grep -Eq "$SPIND_READY_RE" "$SPIND_LOG" 2>/dev/null; then
			e2e_kill "$sub" 1
			ok "spind starts ($*)"
			return 0
		fi
		if ! e2e_alive "$SPIND_PID"; then
			st=0
			wait "$SPIND_PID" || st=$?
			SPIND_PID=""
			e2e_kill "$sub" 1
			fail "spind starts ($*)" "exited with status $st: $(tail -3 "$SPIND_LOG" | tr '\n' ' ')"
			return 1
		fi
		if [ "$SECONDS" -ge "$end" ]; then
			e2e_kill "$sub" 1
			fail "spind starts ($*)" "no serverRestart on SPIN/traffic and no ready line in the log within ${SPIND_START_TIMEOUT} s"
			spind_stop
			return 1
		fi
		sleep 0.1
	done
}

spind_stop() { # SIGTERM, SIGKILL after SPIND_STOP_TIMEOUT; checks the exit and the log
	local pid=$SPIND_PID st=0 san
	[ -n "$pid" ] || return 0
	SPIND_PID=""
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq $((SPIND_STOP_TIMEOUT * 10))); do
		e2e_alive "$pid" || break
		sleep 0.1
	done
	if e2e_alive "$pid"; then
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		fail "spind stops on SIGTERM" "still running after ${SPIND_STOP_TIMEOUT} s, killed"
	else
		wait "$pid" 2>/dev/null || st=$?
		check_eq "spind exits with status 0 on SIGTERM" "$st" 0
	fi
	if san=$(spind_san_report "$SPIND_LOG"); then
		fail "spind log has no sanitizer report" "$san (log: $SPIND_LOG)"
	else
		ok "spind log has no sanitizer report"
	fi
}

# --- packet capture and flow arithmetic

pcap_start() { # NS-SHORT IFACE FILE: tcpdump, every packet written as it arrives
	local file=$3
	e2e_bg "pcap-$2" in_ns "$1" tcpdump -i "$2" -n -U -Z root -s 160 -w "$file"
	PCAP_PID=$E2E_BG_PID
	for _ in $(seq 50); do
		grep -q 'listening on' "$E2E_TMP/pcap-$2.log" 2>/dev/null && return 0
		sleep 0.1
	done
	fail "pcap on $1/$2" "tcpdump did not start: $(tail -1 "$E2E_TMP/pcap-$2.log")"
	return 1
}

pcap_stop() {
	[ -n "$PCAP_PID" ] || return 0
	e2e_kill "$PCAP_PID" 2
	PCAP_PID=""
}

# Sums the IP lengths (header included, as SPIN counts) of one flow, both directions.
pcap_flow_bytes() { # PCAP PROTO IP1 PORT1 IP2 PORT2 -> "bytes packets"
	"$E2E_PY" - "$@" <<-'EOF'
		import ipaddress, struct, sys
		path, proto = sys.argv[1], int(sys.argv[2])
		a = (ipaddress.ip_address(sys.argv[3]).packed, int(sys.argv[4]))
		b = (ipaddress.ip_address(sys.argv[5]).packed, int(sys.argv[6]))
		data = open(path, "rb").read()
		if len(data) < 24:
		    sys.exit("pcap: file shorter than its global header")
		magic = data[:4]
		if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
		    end = "<"
		elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
		    end = ">"
		else:
		    sys.exit("pcap: bad magic")
		if struct.unpack(end + "I", data[20:24])[0] != 1:
		    sys.exit("pcap: link type is not ethernet")
		off, total, count = 24, 0, 0
		while off + 16 <= len(data):
		    caplen = struct.unpack(end + "I", data[off + 8:off + 12])[0]
		    pkt = data[off + 16:off + 16 + caplen]
		    off += 16 + caplen
		    if len(pkt) < 14:
		        continue
		    l3, etype = 14, struct.unpack("!H", pkt[12:14])[0]
		    while etype in (0x8100, 0x88A8) and len(pkt) >= l3 + 4:
		        etype = struct.unpack("!H", pkt[l3 + 2:l3 + 4])[0]
		        l3 += 4
		    ip = pkt[l3:]
		    if etype == 0x0800 and len(ip) >= 20:
		        ihl, length, p = (ip[0] & 15) * 4, struct.unpack("!H", ip[2:4])[0], ip[9]
		        src, dst, l4 = ip[12:16], ip[16:20], ip[ihl:]
		    elif etype == 0x86DD and len(ip) >= 40:
		        length, p = 40 + struct.unpack("!H", ip[4:6])[0], ip[6]
		        src, dst, l4 = ip[8:24], ip[24:40], ip[40:]
		    else:
		        continue
		    if p != proto:
		        continue
		    sport = dport = 0
		    if p in (6, 17) and len(l4) >= 4:
		        sport, dport = struct.unpack("!HH", l4[:4])
		    if ((src, sport), (dst, dport)) in ((a, b), (b, a)):
		        total += length
		        count += 1
		print(total, count)
	EOF
}

# The node ids that ever matched MATCH (a comma list of MACs and IPs), merged ids included.
E2E_MQTT_PY='
import json, sys

def load(path):
    info, merged = {}, {}
    traffic, order = [], []
    for line in open(path, encoding="utf-8", errors="replace"):
        topic, _, payload = line.rstrip("\n").partition(" ")
        if not topic.startswith("SPIN/") or not payload.startswith("{"):
            continue
        try:
            msg = json.loads(payload)
        except ValueError:
            continue
        cmd, res = msg.get("command"), msg.get("result")
        if cmd == "nodeInfo" and isinstance(res, dict) and "id" in res:
            info.setdefault(res["id"], []).append(res)
            order.append(res)
        elif cmd == "nodeMerged" and isinstance(res, dict):
            merged[res.get("id")] = res.get("merged-to")
        elif cmd == "traffic" and isinstance(res, dict):
            traffic.append(res)
    return info, merged, traffic, order

def ids_matching(info, merged, match):
    keys = {m.strip().lower() for m in match.split(",") if m.strip()}
    ids = set()
    for nid, versions in info.items():
        for n in versions:
            if (n.get("mac") or "").lower() in keys or keys & {i.lower() for i in n.get("ips", [])}:
                ids.add(nid)
    # A merge joins both ids into one node.
    changed = True
    while changed:
        changed = False
        for old, new in merged.items():
            if (old in ids) != (new in ids):
                ids |= {old, new}
                changed = True
    return ids
'

mqtt_flow_bytes() { # FILE PROTO DEVICE REMOTE_IP DEVICE_PORT REMOTE_PORT -> "bytes packets messages"
	"$E2E_PY" -c "$E2E_MQTT_PY"'
f, proto, dev, remote, dport, rport = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6])
info, merged, traffic, _ = load(f)
dev_ids, rem_ids = ids_matching(info, merged, dev), ids_matching(info, merged, remote)
size = count = msgs = 0
for t in traffic:
    for fl in t.get("flows", []):
        if fl.get("protocol") != proto:
            continue
        fwd = fl.get("from") in dev_ids and fl.get("to") in rem_ids and \
            fl.get("from_port") == dport and fl.get("to_port") == rport
        if fwd:
            size += fl.get("size", 0)
            count += fl.get("count", 0)
            msgs += 1
print(size, count, msgs)
' "$@"
}

mqtt_node_field() { # FILE MATCH FIELD -> the field (JSON) of the newest nodeInfo matching MATCH
	"$E2E_PY" -c "$E2E_MQTT_PY"'
info, merged, _, order = load(sys.argv[1])
ids = ids_matching(info, merged, sys.argv[2])
# The node that survived its merges speaks for them.
alive = {i for i in ids if i not in merged} or ids
latest = None
for n in order:
    if n["id"] in alive:
        latest = n
print(json.dumps(latest.get(sys.argv[3]) if latest else None, separators=(",", ":")))
' "$@"
}
