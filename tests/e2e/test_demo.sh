#!/usr/bin/env bash
# tools/spin-demo as a user runs it ('sudo make demo'): it says where the UI is, the UI answers
# on the host, the lab's devices have names (from the demo's own leases file, not the host's:
# without one the map showed five bare MACs), and Ctrl-C (SIGINT to the whole foreground
# process group, spind included) or a SIGTERM to the demo ends it cleanly: exit status 0, no
# "spind exited on its own", no namespace, pin or process left. Router mode for Ctrl-C, bridge
# mode for SIGTERM.
set -euo pipefail
# Read by tests/run: the demo runs the plain build; the daemon is covered under SAN elsewhere.
# shellcheck disable=SC2034
SAN_SKIP=1

export SPIN_LAB_PREFIX=${SPIN_LAB_PREFIX:-dm}
export SPIN_LAB_STATE=${SPIN_LAB_STATE:-/run/spin-lab-$SPIN_LAB_PREFIX}
# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"

PORT=${DEMO_PORT:-13828}
DEMO_PIN=/sys/fs/bpf/spin-demo-$SPIN_LAB_PREFIX
URL=http://127.0.0.1:$PORT
DEMO_PID=""

rpc() { # METHOD -> the answer
	curl -s --max-time 3 -H 'Content-Type: application/json' \
		-d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$1\"}" "$URL/spin_api/jsonrpc"
}

named() { # NAME: list_devices has a device of that name
	grep -q "\"name\":\"$1\"" <<<"$(rpc list_devices)"
}

lab_left() { # what the lab or the demo left behind: namespaces, pin dir
	ip netns list | awk '{print $1}' | grep -E "^$SPIN_LAB_PREFIX-(inet|gw|sw|thermo|camera|tv|laptop|phone)\$" || true
	[ -e "$DEMO_PIN" ] && echo "$DEMO_PIN"
	return 0
}

# The demo as a terminal runs it: a process group of its own (the foreground job Ctrl-C goes
# to) with SIGINT not ignored. Job control (set -m) gives both; a plain '&' in a script would
# start it with SIGINT ignored, which no trap can undo.
demo_start() { # MODE
	local out=$E2E_TMP/demo-$1.out
	set -m
	SPIN_DEMO_MODE=$1 SPIN_DEMO_PORT=$PORT SPIN_DEMO_TRAFFIC=0 \
		SPIN_DEMO_LOG=$E2E_TMP/demo-$1-spind.log SPIN_OUT=$E2E_OUT \
		"$SPIN_TOP/tools/spin-demo" >"$out" 2>&1 </dev/null &
	DEMO_PID=$!
	set +m
	E2E_PIDS+=("$DEMO_PID")
	if wait_for 90 grep -q '^SPIN is running: open http://127.0.0.1:'"$PORT"'/' "$out"; then
		ok "$1: the demo says where the UI is"
	else
		fail "$1: the demo says where the UI is" "$(tail -3 "$out" | tr '\n' ' ')"
	fi
}

demo_end() { # MODE HOW: HOW is int-group (Ctrl-C) or term (kill PID); checks a clean end
	local mode=$1 how=$2 out=$E2E_TMP/demo-$1.out st=0
	if [ "$how" = int-group ]; then kill -INT -- "-$DEMO_PID"; else kill -TERM "$DEMO_PID"; fi
	for _ in $(seq 300); do
		e2e_alive "$DEMO_PID" || break
		sleep 0.1
	done
	if e2e_alive "$DEMO_PID"; then
		fail "$mode: the demo ends within 30 s of $how" "still running: $(tail -1 "$out")"
		e2e_kill "$DEMO_PID" 15
	fi
	wait "$DEMO_PID" 2>/dev/null || st=$?
	check_eq "$mode: the demo ends with status 0 on $how" "$st" 0
	if grep -q 'exited on its own' "$out"; then
		fail "$mode: $how is not taken for a crash of spind" "$(grep 'exited on its own' "$out")"
	else
		ok "$mode: $how is not taken for a crash of spind"
	fi
	check_eq "$mode: nothing of the lab or the demo left after $how" "$(lab_left | tr '\n' ' ')" ""
	check_eq "$mode: no process of the demo left (spind included)" \
		"$({ pgrep -g "$DEMO_PID"; pgrep -f "pin_dir=$DEMO_PIN( |\$)"; } | tr '\n' ' ' || true)" ""
}

check_eq "no lab of prefix $SPIN_LAB_PREFIX before the test" "$(lab_left | tr '\n' ' ')" ""

demo_start router
check_cmd "router: the UI answers on the host's 127.0.0.1:$PORT" curl -sf --max-time 3 -o /dev/null "$URL/"
in_ns thermo ping -c 2 -W 1 -q 192.0.2.1 >/dev/null 2>&1 || true
in_ns phone ping -c 2 -W 1 -q 192.0.2.1 >/dev/null 2>&1 || true
for n in thermostat phone; do
	if wait_for 15 named "$n"; then
		ok "router: device \"$n\" is named from the demo's leases"
	else
		fail "router: device \"$n\" is named from the demo's leases" "list_devices: $(rpc list_devices | head -c 300)"
	fi
done
demo_end router int-group

demo_start bridge
in_ns laptop ping -c 2 -W 1 -q 192.0.2.1 >/dev/null 2>&1 || true
if wait_for 15 named work-laptop; then
	ok "bridge: device \"work-laptop\" is named from the demo's leases"
else
	fail "bridge: device \"work-laptop\" is named from the demo's leases" "list_devices: $(rpc list_devices | head -c 300)"
fi
demo_end bridge term

e2e_done
