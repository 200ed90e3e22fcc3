#!/usr/bin/env bash
# The MQTT side of the compatibility contract (shared/spec/protocol.md section 2), message by
# message, as a subscriber of SPIN/# sees it in the lab (router mode): every message of a run
# with DNS, traffic, a block, list changes, a merge, deletions and statistics is checked for its
# topic, envelope, field names and JSON types, QoS 0, nodeInfo before any message naming the
# node, nodeMerged/nodeDeleted followed by the clearing of the node topic, and no mention of a
# node after that; a retained nodeInfo left by a previous run is cleared at start-up; what the
# broker keeps retained afterwards is the live nodes and the statistics, nothing else.
set -euo pipefail
# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"

API=http://127.0.0.1:13326
GHOST=4242

rpc() { # METHOD PARAMS-JSON -> the result as JSON ("error: ..." on an error)
	gw curl -s --max-time 5 -H 'Content-Type: application/json' \
		-d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$1\",\"params\":$2}" "$API/spin_api/jsonrpc" |
		"$E2E_PY" -c 'import json, sys
a = json.load(sys.stdin)
print("error: " + a["error"]["message"] if "error" in a else json.dumps(a["result"]))'
}
node_of() { rpc node_add_ip "{\"node\":0,\"ipaddr\":\"$1\"}"; }

lab_up router --no-traffic
# A nodeInfo a previous run left retained on the broker.
gw mosquitto_pub -h 127.0.0.1 -r -t "SPIN/traffic/node/$GHOST" \
	-m "{\"command\":\"nodeInfo\",\"result\":{\"id\":$GHOST,\"lastseen\":1,\"ips\":[\"203.0.113.99\"],\"domains\":[]}}"
# retain flag, QoS (subscribed with 2: the QoS shown is the one published), topic, payload
MQ=$E2E_TMP/mqtt.txt
e2e_bg mqtt gw mosquitto_sub -h 127.0.0.1 -q 2 -F '%r %q %t %p' -t 'SPIN/#' -t spin-e2e/probe
for _ in $(seq 50); do
	mqtt_pub spin-e2e/probe p >/dev/null 2>&1 || true
	grep -q ' spin-e2e/probe ' "$E2E_TMP/mqtt.log" 2>/dev/null && break
	sleep 0.1
done
spind_start -i lan0 -o pubsub_host=127.0.0.1 -o spinweb_port=13326 -o node_cache_retain_time=10 ||
	{ e2e_done; exit 1; }
wait_for 10 gw curl -s -o /dev/null "$API/spin_api/status" || fail "web API answers" "not within 10 s"

# The thermostat pings one remote all along: its node stays, the idle ones are deleted.
e2e_bg ping in_ns thermo ping -i 1 -W 1 203.0.113.12
in_ns thermo curl -s -o /dev/null --max-time 3 http://api.thermo.example/small.json || true
in_ns thermo curl -6 -s -o /dev/null --max-time 3 http://ipv6only.example/small.json || true
in_ns camera curl -s -o /dev/null --max-time 3 http://cam-upload.example/ || true
in_ns thermo ping -c 1 -W 1 203.0.113.16 >/dev/null || true
in_ns thermo ping -c 1 -W 1 203.0.113.17 >/dev/null || true
sleep 1.5
# a merge: one published remote's address joins another's node
a=$(node_of 203.0.113.16)
check_eq "node_add_ip joins two remote nodes" "$(rpc node_add_ip "{\"node\":$a,\"ipaddr\":\"203.0.113.17\"}")" \
	"$(node_of 203.0.113.16)"
# a block, traffic it drops, the lists
api=$(node_of 203.0.113.10)
check_eq "add_iplist_node block" "$(rpc add_iplist_node "{\"list\":\"block\",\"node\":$api}")" null
in_ns thermo ping -c 2 -W 1 203.0.113.10 >/dev/null || true
sleep 1.5
check_eq "remove_iplist_node block" "$(rpc remove_iplist_node "{\"list\":\"block\",\"node\":$api}")" null
check_eq "add_iplist_ip allow" "$(rpc add_iplist_ip '{"list":"allow","ip":"2001:db8:203::77"}')" null
check_eq "add_iplist_ip ignore" "$(rpc add_iplist_ip '{"list":"ignore","ip":"203.0.113.15"}')" null
# statistics come every 30 s; idle remotes go after 10 s
wait_for 40 grep -q ' SPIN/stat/' "$E2E_TMP/mqtt.log" || true
sleep 1
e2e_kill "$E2E_BG_PID" 1 # the ping
# What the broker keeps now: a fresh subscriber gets the retained messages only. Read before
# the capture is taken, so that every node kept there was published in it.
gw timeout 5 mosquitto_sub -h 127.0.0.1 -F '%r %t' -t 'SPIN/#' -W 2 >"$E2E_TMP/retained.txt" 2>/dev/null || true
cp "$E2E_TMP/mqtt.log" "$MQ"
live=$(rpc list_devices '{}' | "$E2E_PY" -c 'import json,sys; print(len(json.load(sys.stdin)))')
[ "$live" -ge 1 ] || fail "list_devices answers" "$live"

"$E2E_PY" - "$MQ" "$E2E_TMP/retained.txt" "$GHOST" >"$E2E_TMP/verdict.txt" <<-'EOF'
	import ipaddress, json, re, sys
	mq, retained, ghost = sys.argv[1], sys.argv[2], int(sys.argv[3])
	MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
	NODE_KEYS = {"id", "name", "mac", "is_blocked", "is_excepted", "lastseen", "ips", "domains"}
	NODE_EXT = {"vendor"}  # docs/api.md "Extensions to protocol.md"
	FLOW = ["from", "to", "protocol", "from_port", "to_port", "size", "count"]
	problems, seen = [], set()

	def bad(n, what):
	    problems.append(f"line {n}: {what}")

	def is_int(v):
	    return isinstance(v, int) and not isinstance(v, bool)

	def ip_ok(s):
	    try:
	        return isinstance(s, str) and str(ipaddress.ip_address(s)) == s
	    except ValueError:
	        return False

	published, cleared, pending = {}, {}, {}

	def ref(n, nid, what):
	    if not is_int(nid):
	        return bad(n, f"{what}: {nid!r} is not an integer")
	    if nid not in published:
	        bad(n, f"{what} names node {nid} before its nodeInfo")
	    if nid in cleared:
	        bad(n, f"{what} names node {nid}, cleared at line {cleared[nid]}")

	def node(n, r):
	    if not isinstance(r, dict):
	        return bad(n, f"node {r!r}")
	    if set(r) - NODE_KEYS - NODE_EXT:
	        bad(n, f"node keys {sorted(set(r) - NODE_KEYS - NODE_EXT)}")
	    if not is_int(r.get("id")) or r["id"] < 1 or not is_int(r.get("lastseen")):
	        bad(n, f"node id/lastseen {r.get('id')!r} {r.get('lastseen')!r}")
	    if "mac" in r and not (isinstance(r["mac"], str) and MAC.match(r["mac"])):
	        bad(n, f"mac {r['mac']!r}")
	    if "name" in r and not isinstance(r["name"], str):
	        bad(n, "name is not a string")
	    for k in ("is_blocked", "is_excepted"):
	        if k in r and r[k] is not True:
	            bad(n, f"{k} {r[k]!r}: true or absent")
	    if not isinstance(r.get("ips"), list) or not all(ip_ok(i) for i in r["ips"]):
	        bad(n, f"ips {r.get('ips')!r}")
	    doms = r.get("domains")
	    if not isinstance(doms, list) or not all(isinstance(d, str) and d.endswith(".") for d in doms):
	        bad(n, f"domains {doms!r}")

	def flow(n, f, what):
	    if not isinstance(f, dict) or sorted(f) != sorted(FLOW) or not all(is_int(f[k]) and f[k] >= 0 for k in FLOW):
	        return bad(n, f"{what} flow {f!r}")
	    ref(n, f["from"], f"{what} from")
	    ref(n, f["to"], f"{what} to")

	started, last_ts = False, 0
	for n, line in enumerate(open(mq, encoding="utf-8", errors="replace"), 1):
	    parts = line.rstrip("\n").split(" ", 3)
	    if len(parts) < 3 or not parts[2].startswith("SPIN/"):
	        continue
	    r, q, topic, payload = parts[0], parts[1], parts[2], parts[3] if len(parts) > 3 else ""
	    if not started:  # what the broker kept from before: the ghost
	        if topic == "SPIN/traffic" and payload == '{"command":"serverRestart"}':
	            started = True
	            seen.add("serverRestart")
	        continue
	    if q != "0":
	        bad(n, f"QoS {q} on {topic}")
	    if topic.startswith("SPIN/stat/"):
	        o = json.loads(payload)
	        if list(o) != ["module", "name", "type", "value", "count"] or o["type"] not in (0, 1) \
	                or not all(is_int(o[k]) for k in ("type", "value", "count")) \
	                or topic != f"SPIN/stat/{o['module']}/{o['name']}":
	            bad(n, f"stat {topic} {payload}")
	        seen.add("stat")
	        continue
	    m = re.match(r"^SPIN/traffic/node/(\d+)$", topic)
	    if m:
	        nid = int(m.group(1))
	        if payload == "":
	            cleared[nid] = n
	            pending.pop(nid, None)
	            seen.add("clear" if nid != ghost else "ghost cleared")
	            continue
	        o = json.loads(payload)
	        if set(o) != {"command", "result"} or o["command"] != "nodeInfo" or o["result"].get("id") != nid:
	            bad(n, f"{topic}: {payload[:100]}")
	        node(n, o.get("result"))
	        if nid in cleared:
	            bad(n, f"nodeInfo of {nid} after its topic was cleared")
	        published.setdefault(nid, n)
	        seen.add("nodeInfo")
	        continue
	    o = json.loads(payload)
	    if not isinstance(o, dict) or not isinstance(o.get("command"), str) or set(o) - {"command", "argument", "result"}:
	        bad(n, f"envelope {payload[:100]}")
	        continue
	    cmd, res = o["command"], o.get("result")
	    seen.add(cmd)
	    if topic == "SPIN/traffic/admin":
	        if cmd == "nodeMerged" and isinstance(res, dict) and sorted(res) == ["id", "merged-to"] \
	                and is_int(res["id"]):
	            ref(n, res["merged-to"], "nodeMerged merged-to")
	            pending[res["id"]] = n
	        elif cmd == "nodeDeleted" and isinstance(res, dict) and list(res) == ["id"] and is_int(res["id"]):
	            pending[res["id"]] = n
	        else:
	            bad(n, f"admin: {payload[:100]}")
	    elif topic != "SPIN/traffic" or r != "0":
	        bad(n, f"{cmd} on {topic}, retain {r}")
	    elif cmd in ("block", "allow", "ignore"):
	        if not isinstance(res, list) or not all(ip_ok(i) for i in res):
	            bad(n, f"{cmd} {res!r}")
	    elif cmd == "traffic":
	        if o.get("argument") != "" or not isinstance(res, dict) \
	                or sorted(res) != ["flows", "timestamp", "total_count", "total_size"] or not res["flows"]:
	            bad(n, f"traffic {payload[:100]}")
	            continue
	        for f in res["flows"]:
	            flow(n, f, "traffic")
	        if res["total_size"] != sum(f.get("size", 0) for f in res["flows"]) \
	                or res["total_count"] != sum(f.get("count", 0) for f in res["flows"]):
	            bad(n, "total_size/total_count are not the sums over flows")
	        if not is_int(res["timestamp"]) or res["timestamp"] <= last_ts:
	            bad(n, f"timestamp {res['timestamp']!r} after {last_ts}: at most one a second")
	        last_ts = res["timestamp"]
	    elif cmd == "blocked":
	        flow(n, res, "blocked")
	    elif cmd == "dnsquery":
	        if not isinstance(res, dict) or set(res) != {"from", "queriednode", "query"} \
	                or not (isinstance(res["query"], str) and res["query"].endswith(".")):
	            bad(n, f"dnsquery {res!r}")
	            continue
	        ref(n, res["from"], "dnsquery from")
	        ref(n, res["queriednode"], "dnsquery queriednode")
	    else:
	        bad(n, f"unknown command {cmd!r}")
	for nid, n in pending.items():
	    bad(n, f"node {nid} merged or deleted, its topic never cleared")
	# live messages (retain 0) that arrived while reading are not what the broker keeps
	kept = [l.split()[1] for l in open(retained) if l.startswith("1 ")]
	for topic in kept:
	    m = re.match(r"^SPIN/traffic/node/(\d+)$", topic)
	    if not (topic.startswith("SPIN/stat/") or (m and int(m.group(1)) in published)):
	        problems.append(f"retained on the broker: {topic}")
	if not any(t.startswith("SPIN/traffic/node/") for t in kept):
	    problems.append("the broker keeps no nodeInfo")
	print("SEEN " + " ".join(sorted(seen)))
	for p in problems[:10]:
	    print("PROBLEM " + p)
	print(f"PROBLEMS {len(problems)}")
EOF
seen=$(sed -n 's/^SEEN //p' "$E2E_TMP/verdict.txt")
for what in serverRestart block allow ignore nodeInfo traffic blocked dnsquery nodeMerged nodeDeleted \
	clear "ghost cleared" stat; do
	case " $seen " in *" $what "*) ok "a subscriber saw: $what" ;;
	*) fail "a subscriber saw: $what" "seen: $seen" ;; esac
done
check_eq "every message follows protocol.md section 2 (and the broker keeps only live nodes and stat)" \
	"$(grep '^PROBLEM ' "$E2E_TMP/verdict.txt" | tr '\n' ' ')$(sed -n 's/^PROBLEMS //p' "$E2E_TMP/verdict.txt")" 0
spind_stop
e2e_done
