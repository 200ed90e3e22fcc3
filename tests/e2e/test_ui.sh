#!/usr/bin/env bash
# The browser UI against the real spind in the lab, driven in Debian's chromium by
# playwright-core (tests/ui/ui.mjs): the map shows the lab's devices by name and the services
# they talk to; blocking a service in the page stops the device's traffic (checked with curl
# from the device's namespace), unblocking restores it; a rename shows up; the page lives
# through a daemon restart; a freshly opened device page charts spind's last hour at once
# (get_device_history) and nameless devices fall back to maker, then MAC; with 50 devices and
# 500 services (a passive spind replaying tests/ui/home_pcap.py's capture) the map stays
# readable. Screenshots of the main views go to build/test-logs/ui-shots/ (a test run leaves the
# source tree alone); UI_SHOTS=$PWD/docs/images refreshes the documentation's.
set -euo pipefail
# Read by tests/run: browser-driven; the daemon paths are covered by the other e2e tests under SAN.
# shellcheck disable=SC2034
SAN_SKIP=1

export SPIN_LAB_PREFIX=${SPIN_LAB_PREFIX:-h8}
export SPIN_LAB_STATE=${SPIN_LAB_STATE:-/run/spin-lab-$SPIN_LAB_PREFIX}
# One run at a time per prefix: a second run would tear down the first one's lab.
exec 8>"$SPIN_LAB_STATE.test_ui.lock"
flock -w 600 8 || {
	echo "not ok - test_ui: another run holds $SPIN_LAB_STATE.test_ui.lock"
	exit 1
}
# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"

UI_PORT=${UI_PORT:-13826}
CDP_PORT=${UI_CDP_PORT:-19226}
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
WEB=$E2E_OUT/web
PIN_DIR=/sys/fs/bpf/spin-$SPIN_LAB_PREFIX
SHOTS=${UI_SHOTS:-$E2E_OUT/test-logs/ui-shots}
mkdir -p "$SHOTS"
export UI_URL=http://127.0.0.1:$UI_PORT/ UI_CDP=http://127.0.0.1:$CDP_PORT UI_SHOTS=$SHOTS UI_FAIL_DIR=$E2E_TMP

# name -> lab device: the names arrive the way a home router learns them, from DHCP leases.
declare -A NAMES=([thermo]=thermostat [camera]=doorbell-cam [tv]=living-room-tv [laptop]=work-laptop [phone]=phone)
DEVICE_NAMES=thermostat,doorbell-cam,living-room-tv,work-laptop,phone
# Services the devices' habits reach (spin-lab): the camera's alias chain may name it either way.
REMOTE_NAMES='api.thermo.example,tv.stream.example,cam-upload.example|upload.cdn.example,ipv6only.example'
BLOCK_REMOTE=api.thermo.example
NEW_NAME=hall-thermostat

ui() { # PHASE ARGS...: one browser phase; its ok/not ok lines count as ours
	local out st=0
	out=$(cd "$SPIN_TOP" && timeout 180 node tests/ui/ui.mjs "$@" 2>&1) || st=$?
	printf '%s\n' "$out" | grep -E '^((not )?ok - |# )' || true
	E2E_PASSED=$((E2E_PASSED + $(printf '%s\n' "$out" | grep -c '^ok - ' || true)))
	E2E_FAILED=$((E2E_FAILED + $(printf '%s\n' "$out" | grep -c '^not ok - ' || true)))
	if [ "$st" -ne 0 ] && ! printf '%s\n' "$out" | grep -q '^not ok - '; then
		fail "ui phase $1" "exited with status $st: $(printf '%s\n' "$out" | tail -1)"
	fi
}

fetch_from() { # DEVICE URL: 0 if the device gets the page within 4 s
	in_ns "$1" curl -4 -s -o /dev/null --max-time 4 -f "$2"
}

rpc() { # JSON body -> answer
	curl -s --max-time 5 -H 'Content-Type: application/json' -d "$1" "${UI_URL}spin_api/jsonrpc" || true
}

start_spind() {
	spind_start -i "$(lab_ifaces)" -o pubsub_host=127.0.0.1 -o spinweb_interfaces=127.0.0.1 \
		-o "spinweb_port=$UI_PORT" -o "web_root=$WEB" -o "pin_dir=$PIN_DIR" \
		-o "dhcp_leases_file=$E2E_TMP/leases" -s "$E2E_TMP/spind-state"
}

# --- prerequisites
for f in "$CHROMIUM" "$SPIN_TOP/web/node_modules/playwright-core/package.json" "$WEB/index.html" "$WEB/app.js"; do
	if [ ! -e "$f" ]; then
		fail "prerequisite $f" "missing (make builds the UI; tools/install-deps installs chromium)"
		e2e_done
	fi
done
ok "prerequisites: chromium, playwright-core and the built UI in $WEB"
mkdir -p "$SHOTS" "$E2E_TMP/spind-state"
rm -rf "$PIN_DIR" # maps pinned by an earlier run that died

lab_up router
: >"$E2E_TMP/leases"
for d in "${!NAMES[@]}"; do
	ip4=$(in_ns "$d" ip -4 -br addr show dev eth0 | awk '{print $3}' | cut -d/ -f1)
	mac=$(in_ns "$d" cat /sys/class/net/eth0/address)
	echo "$(($(date +%s) + 86400)) $mac $ip4 ${NAMES[$d]} 01:$mac" >>"$E2E_TMP/leases"
done

start_spind || e2e_done
SPIND_STARTED=$(date +%s)
"$SPIN_LAB" expose "$UI_PORT" >/dev/null
if ! wait_for 10 curl -sf -o /dev/null "$UI_URL"; then
	fail "web UI reachable on $UI_URL" "no answer through spin-lab expose"
	e2e_done
fi
ok "web UI reachable on $UI_URL"

e2e_bg chromium "$CHROMIUM" --headless --no-sandbox --disable-background-networking \
	--disable-component-update --disable-sync --disable-gpu --no-first-run \
	--user-data-dir="$E2E_TMP/chromium-profile" --remote-debugging-address=127.0.0.1 \
	--remote-debugging-port="$CDP_PORT" --window-size=1400,900 about:blank
if ! wait_for 20 curl -sf -o /dev/null "$UI_CDP/json/version"; then
	fail "chromium starts" "no DevTools endpoint on $UI_CDP: $(tail -2 "$E2E_TMP/chromium.log")"
	e2e_done
fi
ok "chromium starts ($(curl -s "$UI_CDP/json/version" | sed -n 's/.*"Browser": *"\([^"]*\)".*/\1/p'))"

# --- the map
ui open "$DEVICE_NAMES" "$REMOTE_NAMES"

# --- block a service in the page; the device's traffic to it must stop in the lab
URL=http://$BLOCK_REMOTE/small.json
check_cmd "before the block, thermo fetches $URL" fetch_from thermo "$URL"
ui block "$BLOCK_REMOTE"
# A block drops packets silently: the fetch must time out (curl status 28), not fail otherwise.
blocked_fetch() { # DEVICE URL
	local st=0
	in_ns "$1" curl -4 -s -o /dev/null --max-time 2 -f "$2" || st=$?
	[ "$st" -eq 28 ]
}
if wait_for 5 blocked_fetch thermo "$URL"; then
	ok "after the block in the page, thermo's fetch of $URL times out"
else
	st=0
	in_ns thermo curl -4 -s -o /dev/null --max-time 2 -f "$URL" || st=$?
	fail "after the block in the page, thermo's fetch of $URL times out" "curl status $st, expected 28"
fi
if fetch_from laptop "http://news.example/index.html"; then
	ok "the block is specific: laptop still fetches news.example"
else
	fail "the block is specific: laptop still fetches news.example" "laptop's fetch failed too"
fi
ui unblock "$BLOCK_REMOTE"
if wait_for 8 fetch_from thermo "$URL"; then
	ok "after the unblock in the page, thermo fetches $URL again"
else
	fail "after the unblock in the page, thermo fetches $URL again" "the fetch still fails"
fi

# --- rename
ui rename thermostat "$NEW_NAME"
answer=$(rpc '{"jsonrpc":"2.0","id":1,"method":"list_devices"}')
if [[ $answer == *"\"name\":\"$NEW_NAME\""* ]]; then
	ok "the rename reached spind (list_devices has $NEW_NAME)"
else
	fail "the rename reached spind (list_devices has $NEW_NAME)" "answer: ${answer:0:200}"
fi

ui views "$NEW_NAME"

# --- the device page's last hour comes from spind: the thermostat's habit (a fetch every 5 s)
# must have a minute before the history page opens, so that minute can only come from spind.
now=$(date +%s)
if [ $((now / 60)) -eq $((SPIND_STARTED / 60)) ]; then
	sleep $((60 - now % 60 + 1))
fi
ui history "$NEW_NAME"

# --- daemon restart: the page must notice, reconnect and redraw
spind_stop
ui down
# The pin dir's lock has been seen to outlive spind's exit by a moment: wait for it.
wait_for 10 flock -n "$PIN_DIR" true ||
	fail "pin dir lock released after spind stopped" "$PIN_DIR still locked after 10 s"
start_spind || e2e_done
ui restart "$NEW_NAME,doorbell-cam,living-room-tv"

ui phone
ui escaping

# Pinned maps outlive spind on purpose (enforcement without the daemon); this test's go.
spind_stop
rm -rf "$PIN_DIR"

# --- a busy home: 50 devices and 500 services, as live traffic replayed by a passive spind
# (the same node cache, messages and web API as on the lab's gateway; the lab has 5 devices)
BUSY=$E2E_TMP/busy-home.pcap
if "$E2E_PY" "$SPIN_TOP/tests/ui/home_pcap.py" "$BUSY" "$E2E_TMP/busy-leases" --devices 50 \
	--remotes 500 --seconds 90 --start $(($(date +%s) + 2)) >"$E2E_TMP/busy-home.log" 2>&1; then
	ok "busy home capture: $(cat "$E2E_TMP/busy-home.log")"
	mkdir -p "$E2E_TMP/busy-state"
	if spind_start -r "$BUSY" -o pubsub_host=127.0.0.1 -o spinweb_interfaces=127.0.0.1 \
		-o "spinweb_port=$UI_PORT" -o "web_root=$WEB" -o "dhcp_leases_file=$E2E_TMP/busy-leases" \
		-s "$E2E_TMP/busy-state"; then
		ui scale 50 500
		spind_stop
	fi
else
	fail "busy home capture" "$(tail -1 "$E2E_TMP/busy-home.log")"
fi
e2e_done
