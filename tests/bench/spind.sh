#!/bin/bash
# spind-level benchmarks (issues 4 and 7), run by tests/bench/run or on their own:
#   1. flow sweep time and RSS for 10k / 100k / 1M flows (build/bench/spind_sweep, no lab);
#   2. in the lab (tools/spin-lab, the real spind in the gateway namespace):
#      spind CPU and RSS idle and with 10k / 100k active flows; flow churn (new flows per second,
#      all reported?); DNS answers per second named without loss (2 s bursts at 25k, 50k, 100k/s
#      to a second dnsmasq holding 200k names); time from a block request (JSON-RPC over HTTP)
#      to the first dropped packet.
# Writes the "## spind" section of docs/benchmarks.md (other sections are left alone) when that
# file exists, else build/bench/spind.md, and prints it.
# Environment: BENCH_FULL=1 (make bench-full: 3 rounds, longer CPU windows),
# SPIND_BENCH_ROUNDS (rounds of the lab figures, default 2; full 3),
# SPIND_BENCH_DNS_ROUNDS (DNS bursts per rate, default 2), SPIND_BENCH_SWEEP="10000 100000
# 1000000", SPIND_BENCH_SKIP (words: sweep dns churn cpu latency), BUILD (default build),
# BENCH_NO_DOC=1, SPIN_LAB_PREFIX (default spinb).
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=${BUILD:-$ROOT/build}
case $B in /*) ;; *) B=$ROOT/$B ;; esac
# CPU windows: settle after a restart, idle, flows' warm-up, with flows (the generator runs for
# warm-up + window + 1 s)
if [ "${BENCH_FULL:-0}" = 1 ]; then
	ROUNDS=${SPIND_BENCH_ROUNDS:-3}
	CPU_SETTLE=3 CPU_IDLE=5 CPU_WARM=4 CPU_BUSY=8
else
	ROUNDS=${SPIND_BENCH_ROUNDS:-2}
	CPU_SETTLE=2 CPU_IDLE=3 CPU_WARM=3 CPU_BUSY=5
fi
DNS_ROUNDS=${SPIND_BENCH_DNS_ROUNDS:-2}
SWEEP_SIZES=${SPIND_BENCH_SWEEP:-10000 100000 1000000}
SKIP=" ${SPIND_BENCH_SKIP:-} "
export SPIN_LAB_PREFIX=${SPIN_LAB_PREFIX:-spinb}
export SPIN_LAB_STATE=${SPIN_LAB_STATE:-/run/$SPIN_LAB_PREFIX-lab}
P=$SPIN_LAB_PREFIX
PIN=${SPIND_BENCH_PIN:-/sys/fs/bpf/spin-$P}
LAB=$ROOT/tools/spin-lab
PY=/usr/bin/python3
API_PORT=13129
TMP=$(mktemp -d /tmp/spin-bench-spind.XXXXXX)
DOC=$ROOT/docs/benchmarks.md
RES=$TMP/results.txt # lines: metric round value
DNS_NAMES=200000
DNS_SERVER=198.51.100.53
PIDS=()
SPIND_PID=
LAB_UP=0

die() {
	echo "spind bench: $*" >&2
	exit 1
}

cleanup() {
	local p
	[ -n "$SPIND_PID" ] && kill "$SPIND_PID" 2>/dev/null && wait "$SPIND_PID" 2>/dev/null
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	if [ "$LAB_UP" = 1 ]; then
		nsenter --net="/run/netns/$P-gw" "$B/spind" -x -i lan0 -o "pin_dir=$PIN" >/dev/null 2>&1
		"$LAB" down >/dev/null 2>&1
	fi
	rm -rf "$PIN" "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

skip() { [[ $SKIP == *" $1 "* ]]; }
ns() { # SHORT CMD...: in a lab namespace (nsenter keeps /sys/fs/bpf visible); in the
	# background call nsenter itself, so that $! is the command's PID
	local n=$1
	shift
	nsenter --net="/run/netns/$P-$n" "$@"
}
record() { echo "$1 $2 $3" >>"$RES"; }
api() { ns gw curl -s --max-time 5 "http://127.0.0.1:$API_PORT$1"; }
kstat() { api /spin_api/status | $PY -c "import json,sys; print(json.load(sys.stdin)['kernel']['$1'])"; }

# --- 1. flow sweep (no lab)
run_sweep() {
	echo "spind bench: flow sweep, $SWEEP_SIZES flows" >&2
	# shellcheck disable=SC2086
	"$B/bench/spind_sweep" -r "$ROUNDS" $SWEEP_SIZES >"$TMP/sweep.txt" ||
		echo "spind bench: spind_sweep reported a failure (see below)" >&2
	grep '^not ok' "$TMP/sweep.txt" >&2
	awk '$1 == "sweep" { print "sweep_ms_" $2, $3, $4; print "flush_ms_" $2, $3, $5;
		print "sweep_rss_" $2, $3, $6 / 1024 }' "$TMP/sweep.txt" >>"$RES"
}

# --- the lab and spind
lab_start() {
	echo "spind bench: lab $P up" >&2
	[ -e "$PIN" ] && die "$PIN exists: another run? (rm -rf $PIN)"
	"$LAB" up --mode router --no-traffic >"$TMP/lab.log" 2>&1 || die "spin-lab up failed: $(tail -3 "$TMP/lab.log")"
	LAB_UP=1
	# "The internet" drops the benchmark's UDP quietly, and a second dnsmasq knows 200k names.
	ns inet nft -f - <<-'EOF' || die "nft in $P-inet failed"
		table inet spin_bench {
			chain input {
				type filter hook input priority 0; policy accept;
				udp dport 20000-65535 drop
			}
		}
	EOF
	ns inet ip addr add "$DNS_SERVER/24" dev eth0
	seq 0 $((DNS_NAMES - 1)) | awk '{ printf "2001:db8:b::%x:%x n%d.bench.example\n", int($1 / 65536), $1 % 65536, $1 }' >"$TMP/bench.hosts"
	nsenter --net="/run/netns/$P-inet" dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts \
		--bind-interfaces --listen-address="$DNS_SERVER" --addn-hosts="$TMP/bench.hosts" \
		--local=/bench.example/ --local-ttl=300 --pid-file= --user=root \
		--dns-forward-max=10000 >"$TMP/dnsmasq.log" 2>&1 &
	PIDS+=("$!")
	for _ in $(seq 50); do
		ns thermo "$B/bench/spind_gen" dns "$DNS_SERVER" 20 1 0 20 2>/dev/null |
			grep -q 'answered [1-9]' && return 0
		sleep 0.2
	done
	die "the benchmark dnsmasq does not answer: $(tail -2 "$TMP/dnsmasq.log")"
}

spind_start() {
	mkdir -p "$TMP/state"
	# As on a real gateway, the DHCP server's leases name the lab's devices.
	printf '%s\n' "9999999999 02:00:00:00:00:10 192.0.2.10 thermostat *" \
		"9999999999 02:00:00:00:00:11 192.0.2.11 doorbell-cam *" \
		"9999999999 02:00:00:00:00:13 192.0.2.13 work-laptop *" >"$TMP/leases"
	# nsenter itself, not the ns function: a function in the background is a subshell, and
	# $! would be the subshell's PID rather than spind's.
	nsenter --net="/run/netns/$P-gw" "$B/spind" -i lan0 -s "$TMP/state" -o "pin_dir=$PIN" -o "spinweb_port=$API_PORT" \
		-o pubsub_host=127.0.0.1 -o max_flows=262144 -o "dhcp_leases_file=$TMP/leases" \
		>"$TMP/spind.log" 2>&1 </dev/null &
	SPIND_PID=$!
	for _ in $(seq 100); do
		grep -qs 'spind running on' "$TMP/spind.log" && api /spin_api/status >/dev/null && return 0
		kill -0 "$SPIND_PID" 2>/dev/null || break
		sleep 0.1
	done
	die "spind did not start: $(tail -3 "$TMP/spind.log")"
}

# A fresh spind with fresh maps: the flows of the previous measurement would still be swept for
# two minutes (the idle timeout) and distort the next one.
spind_restart() {
	if [ -n "$SPIND_PID" ]; then
		kill "$SPIND_PID" 2>/dev/null
		wait "$SPIND_PID" 2>/dev/null
		SPIND_PID=
	fi
	nsenter --net="/run/netns/$P-gw" "$B/spind" -x -i lan0 -o "pin_dir=$PIN" >/dev/null 2>&1
	rm -rf "$PIN" "$TMP/state"
	spind_start
}

# CPU time in ns (the scheduler's own account: utime+stime in ticks is 10 ms coarse, about
# 0.1% of a core over a measurement).
cpu_ns() { awk '{ print $1 }' "/proc/$SPIND_PID/schedstat"; }
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$SPIND_PID/status"; }

# CPU of spind (% of one core) over SECONDS, and its RSS (MiB) at the end.
measure_cpu() { # LABEL ROUND SECONDS
	local a b t0 t1
	a=$(cpu_ns)
	t0=$(date +%s%N)
	sleep "$3"
	b=$(cpu_ns)
	t1=$(date +%s%N)
	record "cpu_$1" "$2" "$(awk -v a="$a" -v b="$b" -v t="$((t1 - t0))" 'BEGIN { printf "%.2f", (b - a) * 100 / t }')"
	record "rss_$1" "$2" "$(awk -v k="$(rss_kb)" 'BEGIN { printf "%.1f", k / 1024 }')"
}

# --- 2a. CPU and RSS: idle, 10k and 100k active flows (each flow one packet a second)
SVC6=$(seq -s, 10 20 | sed 's/\([0-9]*\)/2001:db8:203::\1/g')
run_cpu() {
	local r n g
	for r in $(seq 1 "$ROUNDS"); do
		echo "spind bench: CPU and RSS, round $r" >&2
		spind_restart
		sleep "$CPU_SETTLE"
		measure_cpu idle "$r" "$CPU_IDLE"
		for n in 10000 100000; do
			nsenter --net="/run/netns/$P-thermo" "$B/bench/spind_gen" flows "$SVC6" 20000 "$n" \
				$((CPU_WARM + CPU_BUSY + 1)) "$n" >"$TMP/gen.txt" 2>&1 &
			g=$!
			sleep "$CPU_WARM" # every flow exists and is active
			measure_cpu "$n" "$r" "$CPU_BUSY"
			wait "$g"
			record "sent_$n" "$r" "$(awk '{ print $2 / $4 }' "$TMP/gen.txt")"
		done
	done
}

# --- 2b. flow churn: 10,000 new flows per second for 10 s, from another device each round
CHURN_RATE=10000
CHURN_SECS=10
count_flows() { # MQTT-FILE DEVICE-IP PORT0 -> distinct (remote, port) UDP flows from the device
	$PY - "$@" <<-'EOF'
		import json, sys
		path, dev_ip, port0 = sys.argv[1], sys.argv[2], int(sys.argv[3])
		ids, flows = set(), set()
		lines = open(path, encoding="utf-8", errors="replace").read().splitlines()
		for line in lines:
		    topic, _, payload = line.partition(" ")
		    if '"nodeInfo"' in payload[:30]:
		        r = json.loads(payload)["result"]
		        if dev_ip in r.get("ips", []):
		            ids.add(r["id"])
		for line in lines:
		    topic, _, payload = line.partition(" ")
		    if topic != "SPIN/traffic" or '"traffic"' not in payload[:30]:
		        continue
		    for f in json.loads(payload)["result"].get("flows", []):
		        if f["protocol"] == 17 and f["from"] in ids and f["to_port"] >= port0:
		            flows.add((f["to"], f["to_port"]))
		print(len(flows))
	EOF
}

run_churn() {
	local r dev ip mq sub sent reported mf0 mf1 ov0 ov1
	local devs=(camera:11 tv:12 laptop:13 phone:14 thermo:10)
	for r in $(seq 1 "$ROUNDS"); do
		dev=${devs[$(((r - 1) % 5))]}
		ip=2001:db8:1::${dev#*:}
		dev=${dev%:*}
		echo "spind bench: flow churn, round $r ($dev)" >&2
		spind_restart
		mq=$TMP/churn-$r.txt
		nsenter --net="/run/netns/$P-gw" mosquitto_sub -h 127.0.0.1 -v -t 'SPIN/traffic' -t 'SPIN/traffic/node/#' >"$mq" 2>/dev/null &
		sub=$!
		sleep 0.5
		mf0=$(kstat map_full)
		ov0=$(kstat overflow_packets)
		ns "$dev" "$B/bench/spind_gen" flows "$SVC6" 20000 "$CHURN_RATE" "$CHURN_SECS" >"$TMP/gen.txt" 2>&1
		sent=$(awk '{ print $2 }' "$TMP/gen.txt")
		sleep 4 # the last sweeps
		kill "$sub" 2>/dev/null
		wait "$sub" 2>/dev/null
		mf1=$(kstat map_full)
		ov1=$(kstat overflow_packets)
		reported=$(count_flows "$mq" "$ip" 20000)
		record churn_sent "$r" "$sent"
		record churn_rate "$r" "$(awk '{ printf "%.0f", $2 / $4 }' "$TMP/gen.txt")"
		record churn_reported "$r" "$reported"
		record churn_ratio "$r" "$(awk -v a="$reported" -v b="$sent" 'BEGIN { printf "%.4f", b ? a / b : 0 }')"
		record churn_map_full "$r" $((mf1 - mf0))
		record churn_overflow "$r" $((ov1 - ov0))
	done
}

# --- 2c. DNS: answers named per second, 2 s bursts; counts from /spin_api/status, whose
# "stats" are the counters SPIN/stat publishes every 30 s, read when spind is done.
dns_counts() { # -> "answers queries"
	api /spin_api/status |
		$PY -c 'import json,sys; d=json.load(sys.stdin)["stats"]["dns"]; print(d["answers"], d["queries"])'
}
# The counters once spind has worked through a burst: unchanged for a second (20 s at most).
dns_counts_settled() {
	local prev cur
	cur=$(dns_counts)
	for _ in $(seq 20); do
		sleep 1
		prev=$cur
		cur=$(dns_counts)
		[ "$cur" = "$prev" ] && break
	done
	echo "$cur"
}

run_dns() {
	local r rate a0 a1 q0 q1 rb0 rb1 out
	spind_restart
	read -r a1 q1 <<<"$(dns_counts_settled)"
	for r in $(seq 1 "$DNS_ROUNDS"); do
		for rate in 25000 50000 100000; do
			echo "spind bench: DNS burst $rate/s, round $r" >&2
			a0=$a1
			q0=$q1
			rb0=$(kstat ringbuf_full)
			# Names repeat from burst to burst, queries do not: each run of spind_gen has a
			# socket (source port) of its own, and spind keys a query by ports, id and name.
			out=$(ns thermo "$B/bench/spind_gen" dns "$DNS_SERVER" "$rate" 2 0 $((rate * 2)))
			rb1=$(kstat ringbuf_full)
			read -r a1 q1 <<<"$(dns_counts_settled)"
			set -- $out # sent N answered M seconds S
			record "dns_sent_$rate" "$r" "$2"
			record "dns_rate_$rate" "$r" "$(awk -v n="$2" -v s="$6" 'BEGIN { printf "%.0f", n / s }')"
			record "dns_answered_$rate" "$r" "$4"
			record "dns_queries_$rate" "$r" $((q1 - q0))
			record "dns_named_$rate" "$r" $((a1 - a0))
			record "dns_named_ratio_$rate" "$r" "$(awk -v a=$((a1 - a0)) -v b="$4" 'BEGIN { printf "%.4f", b ? a / b : 0 }')"
			record "dns_ringbuf_full_$rate" "$r" $((rb1 - rb0))
		done
	done
}

# --- 2d. block request (JSON-RPC over HTTP) to the first dropped packet
run_latency() {
	local g
	echo "spind bench: block latency" >&2
	spind_restart
	nsenter --net="/run/netns/$P-thermo" "$B/bench/spind_gen" flows 203.0.113.18 30000 20000 $((ROUNDS * 3 + 5)) 1 >/dev/null 2>&1 &
	g=$!
	sleep 1
	for _ in $(seq 1 $((ROUNDS * 3))); do
		ns gw "$PY" - "$API_PORT" >>"$TMP/latency.txt" <<-'EOF' || true
			import http.client, json, select, socket, struct, sys, time
			port = int(sys.argv[1])
			def rpc(method, params):
			    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
			    c.request("POST", "/spin_api/jsonrpc", json.dumps({"jsonrpc": "2.0", "id": 1,
			              "method": method, "params": params}), {"Content-Type": "application/json"})
			    r = c.getresponse().read()
			    c.close()
			    return r
			# ETH_P_ALL: outgoing packets reach only such taps (Python's bind takes host order)
			s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
			s.bind(("wan0", 3))
			s.setsockopt(socket.SOL_SOCKET, 35, 1)  # SO_TIMESTAMPNS: kernel receive time
			def drain(until):
			    last = None
			    while True:
			        left = until - time.time()
			        if left <= 0 or not select.select([s], [], [], left)[0]:
			            return last
			        data, anc, _, _ = s.recvmsg(128, 64)
			        # Ethernet header first: IPv4 protocol at 23, destination at 30
			        if len(data) >= 34 and data[30:34] == bytes([203, 0, 113, 18]) and data[23] == 17:
			            for lvl, typ, val in anc:
			                if typ == 35:
			                    sec, ns = struct.unpack("qq", val[:16])
			                    last = sec + ns / 1e9
			drain(time.time() + 0.2)
			t0 = time.time()
			rpc("add_iplist_ip", {"list": "block", "ip": "203.0.113.18"})
			t1 = time.time()
			last = drain(time.time() + 0.5)
			rpc("remove_iplist_ip", {"list": "block", "ip": "203.0.113.18"})
			if last is not None:
			    print("%.1f %.1f" % ((t1 - t0) * 1e6, max(0.0, last - t0) * 1e6))
		EOF
		sleep 0.3
	done
	wait "$g"
	awk '{ print "block_rpc_us", NR, $1; print "block_drop_us", NR, $2 }' "$TMP/latency.txt" >>"$RES"
}

# --- report
stats() { # METRIC -> "median min max n"
	awk -v m="$1" '$1 == m { v[++n] = $3 } END {
		if (!n) { print "- - - 0"; exit }
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
		med = n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
		print med, v[1], v[n], n }' "$RES"
}
row() { # LABEL METRIC [UNIT]
	local s
	read -r -a s <<<"$(stats "$2")"
	printf '| %s | %s | %s - %s | %s |\n' "$1" "${s[0]}${3:-}" "${s[1]}" "${s[2]}" "${s[3]}"
}

report() {
	local n r
	echo "## spind"
	echo
	echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') by \`tests/bench/spind.sh\` (part of \`make bench\`;" \
		"alone: \`sudo tests/bench/spind.sh\`; SPIND_BENCH_ROUNDS=$ROUNDS, SPIND_BENCH_DNS_ROUNDS=$DNS_ROUNDS," \
		"CPU windows ${CPU_IDLE} s idle, ${CPU_BUSY} s with flows)." \
		"Machine: $(nproc) CPUs, kernel $(uname -r); load average at the end $(cut -d' ' -f1-3 /proc/loadavg)." \
		"Every figure is the median over rounds with min - max; the generators, dnsmasq, the lab's" \
		"forwarding and spind share the same $(nproc) cores."
	echo
	if ! skip sweep; then
		echo "### Flow sweep (build/bench/spind_sweep)"
		echo
		echo "flows_sweep() with traffic_add() and the node cache, then traffic_flush() building the" \
			"traffic message, every flow changed since the last sweep (50 devices, 512 remote addresses)."
		echo
		echo "| flows | sweep ms (median) | min - max | of which traffic_flush ms | RSS MiB |"
		echo "|---:|---:|---:|---:|---:|"
		for n in $SWEEP_SIZES; do
			read -r -a s <<<"$(stats "sweep_ms_$n")"
			read -r -a f <<<"$(stats "flush_ms_$n")"
			read -r -a m <<<"$(stats "sweep_rss_$n")"
			echo "| $n | ${s[0]} | ${s[1]} - ${s[2]} | ${f[0]} | ${m[2]} |"
		done
		echo
	fi
	if ! skip cpu; then
		echo "### spind CPU and RSS (lab, router mode)"
		echo
		echo "Active flows: IPv6 UDP flows from one device, each sending one packet every second" \
			"(build/bench/spind_gen flows ... N seconds N). CPU is spind's CPU time (the scheduler's account, /proc/PID/schedstat) in % of one core."
		echo
		echo "| state | median | min - max | rounds |"
		echo "|---|---:|---:|---:|"
		row "idle: CPU %" cpu_idle
		row "idle: RSS MiB" rss_idle
		row "10k active flows: CPU %" cpu_10000
		row "10k active flows: RSS MiB" rss_10000
		row "10k active flows: packets/s the generator achieved" sent_10000
		row "100k active flows: CPU %" cpu_100000
		row "100k active flows: RSS MiB" rss_100000
		row "100k active flows: packets/s the generator achieved" sent_100000
		echo
	fi
	if ! skip churn; then
		echo "### Flow churn ($CHURN_RATE new flows/s for $CHURN_SECS s, max_flows=262144)"
		echo
		echo "| figure | median | min - max | rounds |"
		echo "|---|---:|---:|---:|"
		row "new flows sent" churn_sent
		row "achieved rate (flows/s)" churn_rate
		row "flows in traffic messages" churn_reported
		row "reported / sent" churn_ratio
		row "kernel map_full during the round" churn_map_full
		row "kernel overflow packets during the round" churn_overflow
		echo
	fi
	if ! skip dns; then
		echo "### DNS answers named (2 s bursts, AAAA queries for distinct names)"
		echo
		echo "Named = calls of spind's DNS answer callback (the counter SPIN/stat/dns/answers publishes," \
			"read from /spin_api/status once it stops moving; one per name and address) for the burst; received = answers the generator got back within 3 s. dnsmasq" \
			"(one thread) answers only part of a burst, so the answers crossing the gateway are fewer" \
			"than the queries; named / received can exceed 1 when answers arrive after the generator" \
			"stopped listening. spind loses an answer only when the kernel cannot queue it" \
			"(ringbuf_full) or the query was forgotten."
		echo
		echo "| rate asked | achieved q/s | answers received | queries seen by spind | answers named | named / received | ringbuf_full |"
		echo "|---:|---:|---:|---:|---:|---:|---:|"
		for r in 25000 50000 100000; do
			local c=()
			for m in dns_rate dns_answered dns_queries dns_named dns_named_ratio dns_ringbuf_full; do
				read -r -a s <<<"$(stats "${m}_$r")"
				c+=("${s[0]} (${s[1]} - ${s[2]})")
			done
			echo "| $r/s | ${c[0]} | ${c[1]} | ${c[2]} | ${c[3]} | ${c[4]} | ${c[5]} |"
		done
		echo
	fi
	if ! skip latency; then
		echo "### Block request to first dropped packet"
		echo
		echo "A 20 kpps UDP flow from a device; in the gateway, a JSON-RPC add_iplist_ip over HTTP;" \
			"the last packet of the flow seen leaving on wan0 (kernel timestamp) marks the first drop."
		echo
		echo "| figure (microseconds) | median | min - max | requests |"
		echo "|---|---:|---:|---:|"
		row "JSON-RPC request answered" block_rpc_us
		row "request sent to the first dropped packet" block_drop_us
		echo
	fi
}

write_doc() { # SECTION-FILE: replaces "## spind" (up to the next "## ") or appends it
	local out=$1 target=$DOC
	[ -f "$DOC" ] || target=$B/bench/spind.md
	if [ ! -f "$DOC" ]; then
		cp "$out" "$target"
	else
		awk -v sec="$out" '
			function emit() { while ((getline l < sec) > 0) print l; done = 1 }
			/^## / { if (skip) skip = 0; if ($0 == "## spind") { emit(); skip = 1; next } }
			!skip { print }
			END { if (!done) { print ""; emit() } }' "$DOC" >"$TMP/doc.md" && cp "$TMP/doc.md" "$DOC"
	fi
	echo "spind bench: results written to ${target#"$ROOT"/}" >&2
}

[ "$(id -u)" = 0 ] || die "needs root (namespaces, BPF)"
for f in spind bench/spind_sweep bench/spind_gen; do
	[ -x "$B/$f" ] || die "$B/$f missing: run make"
done
: >"$RES"
skip sweep || run_sweep
if ! skip cpu || ! skip churn || ! skip dns || ! skip latency; then
	lab_start
	skip cpu || run_cpu
	skip churn || run_churn
	skip latency || run_latency
	skip dns || run_dns
fi
report >"$TMP/section.md"
cat "$TMP/section.md"
[ "${BENCH_NO_DOC:-0}" = 1 ] || write_doc "$TMP/section.md"
