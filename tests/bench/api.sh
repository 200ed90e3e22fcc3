#!/usr/bin/env bash
# Web API throughput and latency against the real spind in the lab (router mode):
#   - requests/s of a read method (list_devices) with C concurrent keep-alive clients,
#   - requests/s of block/unblock pairs (add_iplist_ip + remove_iplist_ip) with C clients,
#   - time from a block request to enforcement: the block is in the maps when the answer
#     arrives (tests/e2e/test_api.sh checks that), so this is the request's latency.
# Environment: API_BENCH_SECS (default 5), API_BENCH_CLIENTS (default 8).
set -euo pipefail
export SPIN_LAB_PREFIX=${SPIN_LAB_PREFIX:-h5b}
export SPIN_LAB_STATE=${SPIN_LAB_STATE:-/run/spin-lab-$SPIN_LAB_PREFIX}
# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"
SECS=${API_BENCH_SECS:-5}
CLIENTS=${API_BENCH_CLIENTS:-8}
BPF_MNT=/run/spin-bpf-$SPIN_LAB_PREFIX
# shellcheck disable=SC2154 # rc is assigned inside the trap itself
trap 'rc=$?; umount -l "$BPF_MNT" 2>/dev/null; rmdir "$BPF_MNT" 2>/dev/null; (exit $rc); e2e_on_exit' EXIT

lab_up router --no-traffic
mkdir -p "$BPF_MNT"
mountpoint -q "$BPF_MNT" || mount -t bpf bpf "$BPF_MNT"
spind_start -i "$(lab_ifaces)" -o pubsub_host=127.0.0.1 -o "pin_dir=$BPF_MNT/spin" \
	-o spinweb_port=13026 -o http_max_connections=256 -s "$E2E_TMP/state" || e2e_done

gw "$E2E_PY" - "$SECS" "$CLIENTS" <<'PY'
import http.client, json, sys, threading, time
secs, clients = float(sys.argv[1]), int(sys.argv[2])
HDR = {"Content-Type": "application/json"}

def call(conn, method, params=None):
    body = {"jsonrpc": "2.0", "id": 1, "method": method}
    if params is not None:
        body["params"] = params
    conn.request("POST", "/spin_api/jsonrpc", json.dumps(body), HDR)
    r = conn.getresponse()
    data = r.read()
    if r.status != 200 or b'"error"' in data:
        raise RuntimeError(data[:200])

def run(kind):
    counts, lat = [0] * clients, []
    stop = time.monotonic() + secs
    def worker(i):
        c = http.client.HTTPConnection("127.0.0.1", 13026, timeout=10)
        ip = "198.51.100.%d" % (100 + i)
        while time.monotonic() < stop:
            t = time.perf_counter()
            if kind == "read":
                call(c, "list_devices")
            else:
                call(c, "add_iplist_ip", {"list": "block", "ip": ip})
                lat.append(time.perf_counter() - t)
                call(c, "remove_iplist_ip", {"list": "block", "ip": ip})
            counts[i] += 1
    th = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    t0 = time.monotonic()
    for t in th: t.start()
    for t in th: t.join()
    return sum(counts) / (time.monotonic() - t0), sorted(lat)

rps, _ = run("read")
print("ok - list_devices: %.0f requests/s with %d clients" % (rps, clients))
pps, lat = run("block")
p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000
print("ok - block/unblock pairs: %.0f pairs/s (%.0f requests/s) with %d clients" % (pps, 2 * pps, clients))
print("ok - add_iplist_ip latency (request to enforced answer): p50 %.2f ms, p99 %.2f ms" % (p(0.5), p(0.99)))
PY
spind_stop
umount -l "$BPF_MNT" && rmdir "$BPF_MNT"
e2e_done
