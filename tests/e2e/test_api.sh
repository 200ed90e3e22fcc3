#!/usr/bin/env bash
# The web API end to end in the lab (router mode): a block over HTTP stops a device's TCP, UDP
# and ICMP to a remote node over IPv4 and IPv6 as soon as the response is back; unblock; allow
# overrides block; a flow block between one device and one remote leaves another device's
# access alone; ignore hides flows from MQTT; a rename shows in nodeInfo; spinctl against the
# running daemon; spinctl maps on the pinned maps while spind is stopped.
set -euo pipefail
export SPIN_LAB_PREFIX=${SPIN_LAB_PREFIX:-h5}
export SPIN_LAB_STATE=${SPIN_LAB_STATE:-/run/spin-lab-$SPIN_LAB_PREFIX}
# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"

# 'ip netns exec' gives spind a fresh /sys, so pins under /sys/fs/bpf vanish when it exits.
# spinctl maps needs them to outlive spind: a bpffs of our own, under /run, which the gateway's
# mount namespace shares.
BPF_MNT=/run/spin-bpf-$SPIN_LAB_PREFIX
PIN_DIR=$BPF_MNT/spin
API=http://127.0.0.1:13026
SPINCTL=$E2E_OUT/spinctl
REMOTE4=203.0.113.14
REMOTE6=2001:db8:203::14
THERMO_MAC=02:00:00:00:00:10

bpf_mount() {
	mkdir -p "$BPF_MNT"
	mountpoint -q "$BPF_MNT" || mount -t bpf bpf "$BPF_MNT"
}
bpf_umount() {
	mountpoint -q "$BPF_MNT" 2>/dev/null && umount -l "$BPF_MNT"
	rmdir "$BPF_MNT" 2>/dev/null || true
}
# shellcheck disable=SC2154 # rc is assigned inside the trap itself
trap 'rc=$?; bpf_umount; (exit $rc); e2e_on_exit' EXIT

rpc() { # METHOD PARAMS-JSON -> the whole answer
	gw curl -s --max-time 5 -H 'Content-Type: application/json' \
		-d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$1\",\"params\":$2}" "$API/spin_api/jsonrpc"
}

result() { # ANSWER -> result as compact JSON, or ERROR:<message>
	"$E2E_PY" -c '
import json, sys
a = json.loads(sys.argv[1])
if "error" in a:
    print("ERROR:" + a["error"]["message"])
else:
    print(json.dumps(a["result"], separators=(",", ":")))' "$1"
}

rpc_ok() { # NAME METHOD PARAMS: the call returns null
	check_eq "$1" "$(result "$(rpc "$2" "$3")")" null
}

url_host() { [[ $1 == *:* ]] && echo "[$1]" || echo "$1"; }

tcp_ok() { in_ns "$1" curl -s -g -o /dev/null --max-time 2 "http://$(url_host "$2")/small.json"; }
udp_ok() {
	local fam=UDP4
	[[ $2 == *:* ]] && fam=UDP6
	in_ns "$1" sh -c "echo spin-udp | socat -T1 - $fam:$(url_host "$2"):7007" 2>/dev/null |
		grep -q spin-udp
}
icmp_ok() { in_ns "$1" ping -c1 -W1 -q "$2" >/dev/null 2>&1; }

# expect NAME DEVICE reach|blocked: TCP, UDP and ICMP over IPv4 and IPv6 to the remote
expect() {
	local name=$1 dev=$2 want=$3 ip proto got
	for ip in $REMOTE4 $REMOTE6; do
		for proto in tcp udp icmp; do
			if "${proto}_ok" "$dev" "$ip"; then got=reach; else got=blocked; fi
			check_eq "$name: $dev $proto to $ip" "$got" "$want"
		done
	done
}

lab_up router --no-traffic
# Bound to the remote's own addresses: a reply from another address of svc0 would be ignored.
e2e_bg udp4 in_ns inet socat UDP4-RECVFROM:7007,bind=$REMOTE4,fork EXEC:cat
e2e_bg udp6 in_ns inet socat "UDP6-RECVFROM:7007,bind=[$REMOTE6],fork" EXEC:cat
bpf_umount
bpf_mount
mqtt=$E2E_TMP/mqtt.txt
mqtt_capture_start "$mqtt"
spind_start -i "$(lab_ifaces)" -o pubsub_host=127.0.0.1 -o "pin_dir=$PIN_DIR" \
	-o spinweb_interfaces=127.0.0.1 -o spinweb_port=13026 -s "$E2E_TMP/state" || e2e_done
wait_for 10 gw curl -s -o /dev/null "$API/spin_api/status" ||
	fail "web API answers" "no answer on $API inside the gateway"

# The devices are seen (their MACs learned) before we address them by MAC.
expect "before any block" thermo reach
expect "before any block" camera reach

# The remote's node (both addresses in one node). Node ids can change when the cache merges
# nodes, so it is looked up again (node_add_ip with node 0 returns the address's node) before
# every use.
node_of() { result "$(rpc node_add_ip "{\"node\":0,\"ipaddr\":\"$REMOTE4\"}")"; }
node=$(node_of)
check_eq "node_add_ip returns the remote's node id" "$([[ $node =~ ^[0-9]+$ ]] && echo id)" id
# Joining may merge the address's own node into it: the survivor (lowest id) holds both.
joined=$(result "$(rpc node_add_ip "{\"node\":$node,\"ipaddr\":\"$REMOTE6\"}")")
check_eq "node_add_ip joins the IPv6 address to the IPv4 address's node" "$joined" "$(node_of)"

# --- block a node: enforced when the answer is back
t0=$(date +%s%N)
node=$(node_of)
rpc_ok "add_iplist_node block" add_iplist_node "{\"list\":\"block\",\"node\":$node}"
tcp_ok thermo $REMOTE4 && got=reach || got=blocked
t1=$(date +%s%N)
check_eq "block: the first TCP attempt right after the answer fails" "$got" blocked
echo "# request + first blocked connection attempt: $(((t1 - t0) / 1000000)) ms (attempt times out at 2 s)"
expect "blocked node" thermo blocked
expect "blocked node" camera blocked
node=$(node_of)
rpc_ok "remove_iplist_node block" remove_iplist_node "{\"list\":\"block\",\"node\":$node}"
expect "unblocked node" thermo reach

# --- allow overrides block
node=$(node_of)
rpc_ok "block again" add_iplist_node "{\"list\":\"block\",\"node\":$node}"
node=$(node_of)
rpc_ok "allow the node" add_iplist_node "{\"list\":\"allow\",\"node\":$node}"
expect "blocked and allowed" thermo reach
node=$(node_of)
rpc_ok "remove from allow" remove_iplist_node "{\"list\":\"allow\",\"node\":$node}"
expect "allow removed, block stays" thermo blocked
node=$(node_of)
rpc_ok "remove from block" remove_iplist_node "{\"list\":\"block\",\"node\":$node}"
expect "both removed" thermo reach

# --- flow block: thermo <-> remote only
for _ in $(seq 50); do
	grep -q "$THERMO_MAC" <<<"$(rpc list_devices '{}')" && break
	sleep 0.2
done
node=$(node_of)
rpc_ok "set_device_flow_block thermo -> remote" set_device_flow_block \
	"{\"device\":\"$THERMO_MAC\",\"node\":$node,\"block\":1}"
expect "flow block" thermo blocked
expect "flow block (other device)" camera reach
node=$(node_of)
rpc_ok "set_device_flow_block 0" set_device_flow_block \
	"{\"device\":\"$THERMO_MAC\",\"node\":$node,\"block\":0}"
expect "flow block lifted" thermo reach

# --- bad input changes nothing
node=$(node_of)
check_eq "an injection string as MAC is refused" \
	"$(result "$(rpc set_device_flow_block "{\"device\":\"\$(reboot)\",\"node\":$node,\"block\":1}")")" \
	"ERROR:Invalid params: device must be a MAC address"
check_eq "a form post is 403" "$(gw curl -s -o /dev/null -w '%{http_code}' \
	-d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"add_iplist_ip\",\"params\":{\"list\":\"block\",\"ip\":\"$REMOTE4\"}}" \
	"$API/spin_api/jsonrpc")" 403
check_eq "a foreign Origin is 403" "$(gw curl -s -o /dev/null -w '%{http_code}' \
	-H 'Content-Type: application/json' -H 'Origin: http://evil.example' \
	-d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"add_iplist_ip\",\"params\":{\"list\":\"block\",\"ip\":\"$REMOTE4\"}}" \
	"$API/spin_api/jsonrpc")" 403
# JSON-RPC 2.0: the id comes back as sent (a JavaScript client's largest safe integer too);
# an id that is no string, number or null makes the request invalid, and it does not run.
check_eq "a safe-integer id is echoed exactly" "$(gw curl -s --max-time 5 \
	-H 'Content-Type: application/json' \
	-d '{"jsonrpc":"2.0","id":9007199254740991,"method":"get_flow_block"}' \
	"$API/spin_api/jsonrpc" | grep -o '"id":[^,]*')" '"id":9007199254740991'
check_eq "an object id is an invalid request" "$(gw curl -s --max-time 5 \
	-H 'Content-Type: application/json' \
	-d "{\"jsonrpc\":\"2.0\",\"id\":{\"a\":1},\"method\":\"add_iplist_ip\",\"params\":{\"list\":\"block\",\"ip\":\"$REMOTE4\"}}" \
	"$API/spin_api/jsonrpc" | "$E2E_PY" -c 'import json,sys; a=json.load(sys.stdin); print(a["id"], a.get("error", {}).get("code"))')" "None -32600"
check_eq "the refused requests blocked nothing" "$(result "$(rpc list_iplist '{"list":"block"}')")" "[]"
expect "after refused requests" thermo reach

# --- ignore hides the remote's flows from SPIN/traffic
rpc_ok "ignore the remote" add_iplist_ip "{\"list\":\"ignore\",\"ip\":\"$REMOTE4\"}"
sleep 1.5
mqtt_capture_stop
mqtt=$E2E_TMP/mqtt-ignore.txt
mqtt_capture_start "$mqtt"
in_ns thermo curl -s -o /dev/null --max-time 5 "http://$REMOTE4/1M.bin"
in_ns thermo curl -s -o /dev/null --max-time 5 "http://203.0.113.13/1M.bin"
sleep 3.5
read -r _ _ msgs < <(mqtt_flow_bytes "$mqtt" 6 "$THERMO_MAC,192.0.2.10" $REMOTE4 0 80 || echo "0 0 0")
ignored=$(grep -c "\"$REMOTE4\"" "$mqtt" || true)
other=$(mqtt_node_field "$mqtt" 203.0.113.13 id)
check_eq "ignored remote: no traffic flow on MQTT" "$msgs" 0
if [ "$other" != null ]; then ok "a remote that is not ignored still shows up"; else
	fail "a remote that is not ignored still shows up" "no nodeInfo for 203.0.113.13"; fi
rpc_ok "stop ignoring" remove_iplist_ip "{\"list\":\"ignore\",\"ip\":\"$REMOTE4\"}"
echo "# ($ignored MQTT lines mention $REMOTE4 while ignored)"

# --- rename shows in nodeInfo
thermo_id=$(gw curl -s -H 'Content-Type: application/json' \
	-d '{"jsonrpc":"2.0","id":1,"method":"list_devices"}' "$API/spin_api/jsonrpc" |
	"$E2E_PY" -c "import json,sys; print([d['id'] for d in json.load(sys.stdin)['result'] if d.get('mac')=='$THERMO_MAC'][0])")
rpc_ok "set_device_name" set_device_name "{\"node\":$thermo_id,\"name\":\"Living room thermostat\"}"
wait_for 5 sh -c "grep -q 'Living room thermostat' '$mqtt'" || true
check_eq "nodeInfo carries the new name" "$(mqtt_node_field "$mqtt" "$THERMO_MAC" name)" \
	'"Living room thermostat"'
check_eq "markup in a name is refused" \
	"$(result "$(rpc set_device_name "{\"node\":$thermo_id,\"name\":\"<script>x</script>\"}")" | cut -c1-21)" \
	"ERROR:Invalid params:"

# --- spinctl against the running daemon
out=$(gw "$SPINCTL" devices)
if grep -q "$THERMO_MAC.*Living room thermostat" <<<"$out"; then ok "spinctl devices lists thermo"; else
	fail "spinctl devices lists thermo" "$out"; fi
check_eq "spinctl --json status has the version" \
	"$(gw "$SPINCTL" --json status | "$E2E_PY" -c 'import json,sys; print("version" in json.load(sys.stdin))')" True
out=$(gw "$SPINCTL" status)
if grep -Eq '^interface +lan0 +tc on \((tcx|clsact)\), xdp ' <<<"$out"; then
	ok "spinctl status says how the TC programs are hooked in (tcx or clsact)"
else
	fail "spinctl status says how the TC programs are hooked in" "$(grep interface <<<"$out")"
fi
check_cmd "spinctl block $REMOTE6" gw "$SPINCTL" block $REMOTE6
tcp_ok thermo $REMOTE6 && got=reach || got=blocked
check_eq "spinctl block: IPv6 TCP stops" "$got" blocked
check_cmd "spinctl unblock $REMOTE6" gw "$SPINCTL" unblock $REMOTE6
tcp_ok thermo $REMOTE6 && got=reach || got=blocked
check_eq "spinctl unblock: IPv6 TCP flows" "$got" reach
check_eq "spinctl name N NAME says what it did" \
	"$(gw "$SPINCTL" name "$thermo_id" "Hall thermostat" 2>&1)" "node $thermo_id named 'Hall thermostat'"
check_eq "spinctl devices shows the new name" \
	"$(gw "$SPINCTL" devices | grep -c "$THERMO_MAC.*Hall thermostat")" 1
check_eq "spinctl name N \"\" clears the name" \
	"$(gw "$SPINCTL" name "$thermo_id" "" 2>&1)" "node $thermo_id: name cleared"
gw "$SPINCTL" name "$thermo_id" "Living room thermostat" >/dev/null
st=0
err=$(gw "$SPINCTL" name "$thermo_id" 2>&1) || st=$?
check_eq "spinctl name without a name: usage, status 2, nothing else" "$st: $err" \
	"2: spinctl: usage: spinctl name <node> <name>"
st=0
err=$(gw "$SPINCTL" -u 127.0.0.1:13026 status 2>&1) || st=$?
check_eq "spinctl -u without http://: one error line" "$st: $err" \
	"1: spinctl: --url must start with http://, got '127.0.0.1:13026'"
check_eq "spinctl rpc get_device_data node N" \
	"$(gw "$SPINCTL" rpc get_device_data node "$thermo_id" | "$E2E_PY" -c 'import json,sys; print(json.load(sys.stdin)["mac"])')" \
	"$THERMO_MAC"
if gw "$SPINCTL" rpc get_device_data node 999999 2>/dev/null; then
	fail "spinctl exits non-zero on an RPC error" "exit 0"
else ok "spinctl exits non-zero on an RPC error"; fi
if gw "$SPINCTL" --pin-dir "$PIN_DIR" maps block $REMOTE4 2>/dev/null; then
	fail "spinctl maps refuses to write while spind runs" "it wrote"
else ok "spinctl maps refuses to write while spind runs"; fi

# --- spinctl maps while spind is stopped: enforcement outlives the daemon
spind_stop
expect "spind stopped, nothing blocked" thermo reach
check_cmd "spinctl maps block $REMOTE4 (spind stopped)" gw "$SPINCTL" --pin-dir "$PIN_DIR" maps block $REMOTE4
tcp_ok thermo $REMOTE4 && got=reach || got=blocked
check_eq "maps block: TCP to $REMOTE4 stops without spind" "$got" blocked
icmp_ok thermo $REMOTE6 && got=reach || got=blocked
check_eq "maps block: IPv6 is untouched" "$got" reach
if grep -q "^$REMOTE4 .*block" <<<"$(gw "$SPINCTL" --pin-dir "$PIN_DIR" maps list)"; then
	ok "spinctl maps list shows the entry"
else fail "spinctl maps list shows the entry" "$(gw "$SPINCTL" --pin-dir "$PIN_DIR" maps list)"; fi
check_cmd "spinctl maps unblock $REMOTE4" gw "$SPINCTL" --pin-dir "$PIN_DIR" maps unblock $REMOTE4
tcp_ok thermo $REMOTE4 && got=reach || got=blocked
check_eq "maps unblock: TCP flows again" "$got" reach
check_eq "spinctl maps rejects a bad address" \
	"$(gw "$SPINCTL" --pin-dir "$PIN_DIR" maps block 'not-an-ip' >/dev/null 2>&1; echo $?)" 2

# The programs stay attached after spind exits (they go with the lab); the pins go here.
gw "$E2E_OUT/spind" -i "$(lab_ifaces)" -o "pin_dir=$PIN_DIR" -x >/dev/null 2>&1 || true
bpf_umount
e2e_done
