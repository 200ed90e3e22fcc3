#!/usr/bin/env bash
# The passive-only build (make PASSIVE_ONLY=1): spind without libbpf and without the kernel
# data path. It must not link libbpf, must refuse a kernel start with a clear message, and must
# replay a capture to MQTT like the full build.
# shellcheck disable=SC2034 # read by tests/run
SAN_SKIP=1
set -euo pipefail
# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"

OUT=$SPIN_TOP/build-passive
PCAP=$SPIN_TOP/tests/fuzz/corpus/pcap/eth-dns.pcap
PORT=18831

if make -C "$SPIN_TOP" -s PASSIVE_ONLY=1 build-passive/spind >"$E2E_TMP/make.log" 2>&1; then
	ok "make PASSIVE_ONLY=1 builds spind"
else
	fail "make PASSIVE_ONLY=1 builds spind" "$(tail -3 "$E2E_TMP/make.log" | tr '\n' ' ')"
	e2e_done
fi
if grep -q libbpf <<<"$(ldd "$OUT/spind")"; then
	fail "the passive-only spind does not link libbpf" "$(ldd "$OUT/spind" | grep libbpf)"
else
	ok "the passive-only spind does not link libbpf"
fi

set +e
"$OUT/spind" -i lo -s "$E2E_TMP/state" -o pubsub_port=1 -o spinweb_port=13991 \
	>"$E2E_TMP/kernel.log" 2>&1 </dev/null &
pid=$!
E2E_PIDS+=("$pid")
wait_for 10 bash -c "! kill -0 $pid 2>/dev/null"
wait "$pid"
rc=$?
set -e
check_eq "a kernel start fails" "$rc" 1
if grep -q "built without the kernel data path" "$E2E_TMP/kernel.log"; then
	ok "and says why"
else
	fail "and says why" "$(tail -2 "$E2E_TMP/kernel.log" | tr '\n' ' ')"
fi

printf 'listener %s 127.0.0.1\nallow_anonymous true\n' "$PORT" >"$E2E_TMP/mosquitto.conf"
e2e_bg broker mosquitto -c "$E2E_TMP/mosquitto.conf"
wait_for 5 mosquitto_pub -h 127.0.0.1 -p "$PORT" -t probe -m x
e2e_bg sub mosquitto_sub -h 127.0.0.1 -p "$PORT" -v -t 'SPIN/#'
sleep 0.5
e2e_bg spind "$OUT/spind" -r "$PCAP" -F -s "$E2E_TMP/state2" -o "pubsub_port=$PORT" \
	-o spinweb_port=13992
if wait_for 10 grep -q '"command":"traffic"' "$E2E_TMP/sub.log"; then
	ok "a replay publishes traffic on MQTT"
else
	fail "a replay publishes traffic on MQTT" "$(head -c 300 "$E2E_TMP/sub.log")"
fi
if grep -q '"command":"dnsquery"' "$E2E_TMP/sub.log"; then
	ok "a replay publishes the capture's DNS queries"
else
	fail "a replay publishes the capture's DNS queries" "no dnsquery"
fi
e2e_done
