#!/usr/bin/env bash
# Packet capture of one device through the web API, produced in the kernel (router mode): a
# download of thermo's capture while thermo and camera both send traffic holds thermo's frames
# (both directions, IPv4 and IPv6, right addresses and MACs) and none of camera's; capture_stop
# ends it and the MAC leaves spin_capmac; the byte and time limits end a capture on their own;
# bad device parameters are 400, an unknown device 404, other methods 405, a cross-site request
# 403.
set -euo pipefail
export SPIN_LAB_PREFIX=${SPIN_LAB_PREFIX:-h12}
export SPIN_LAB_STATE=${SPIN_LAB_STATE:-/run/spin-lab-$SPIN_LAB_PREFIX}
# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"
E2E_PIN=/sys/fs/bpf/spin-h12 # spind_start's default pin_dir; removed at exit

API=http://127.0.0.1:13026
THERMO_MAC=02:00:00:00:00:10
CAMERA_MAC=02:00:00:00:00:11
THERMO4=192.0.2.10
THERMO6=2001:db8:1::10
CAMERA4=192.0.2.11
REMOTE4=203.0.113.10
REMOTE6=2001:db8:203::10

http_code() { # URL [curl options] -> the status code
	local url=$1
	shift
	gw curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@" "$url"
}

status_field() { # PYTHON-EXPR over the status document s
	gw curl -s --max-time 5 "$API/spin_api/status" |
		"$E2E_PY" -c "import json, sys; s = json.load(sys.stdin); print($1)"
}

capmac_entries() { # entries in the pinned spin_capmac
	bpftool -j map dump pinned "$E2E_PIN/spin_capmac" | "$E2E_PY" -c 'import json, sys; print(len(json.load(sys.stdin)))'
}

streams_are() { [ "$(status_field 's["capture"]["streams"]')" = "$1" ]; }

capture_bg() { # NAME MAC: curl -N downloading the capture into $E2E_TMP/NAME.pcap; PID in CAP_PID
	e2e_bg "$1" gw curl -s -N -D "$E2E_TMP/$1.headers" -o "$E2E_TMP/$1.pcap" \
		"$API/spin_api/capture_start?device=$2"
	CAP_PID=$E2E_BG_PID
	wait_for 5 streams_are "${3:-1}" || fail "$1: capture running" "status shows no stream"
}

ended() { ! e2e_alive "$1"; }

traffic() { # DEVICE REMOTE4 REMOTE6: 3 pings each way over IPv4 and IPv6, one HTTP fetch
	in_ns "$1" ping -c3 -i0.2 -W1 -q "$2" >/dev/null || true
	in_ns "$1" ping -6 -c3 -i0.2 -W1 -q "$3" >/dev/null || true
	in_ns "$1" curl -s -o /dev/null --max-time 3 "http://$2/small.json" || true
}

pcount() { # FILE FILTER...: packets tcpdump reads from FILE that match FILTER
	tcpdump -nn -r "$1" "${@:2}" 2>/dev/null | wc -l
}

lab_up router --no-traffic
spind_start -i "$(lab_ifaces)" -o pubsub_host=127.0.0.1 -o spinweb_interfaces=127.0.0.1 \
	-o spinweb_port=13026 -o capture_max_seconds=60 -s "$E2E_TMP/state" || e2e_done
wait_for 10 gw curl -s -o /dev/null "$API/spin_api/status" ||
	fail "web API answers" "no answer on $API inside the gateway"
check_eq "status advertises capture" "$(status_field 's["capture"]["available"]')" True

# The devices become known nodes (MACs learned from their traffic) before we name them.
traffic thermo $REMOTE4 $REMOTE6
traffic camera 203.0.113.11 2001:db8:203::11
wait_for 10 sh -c "[ \"\$(ip netns exec $E2E_P-gw curl -s -o /dev/null -w '%{http_code}' \
	'$API/spin_api/capture_stop?device=$THERMO_MAC')\" = 200 ]" ||
	fail "thermo is a known device" "capture_stop of its MAC never answered 200"

# --- bad requests change nothing
for bad in '' 'zz' '02:00:00:00:00:1' '02:00:00:00:00:100' '02-00-00-00-00-10' \
	'02:00:00:00:00:10;id' '02:00:00:00:00:10%0a' '%24(reboot)' '..%2F..%2Fetc%2Fpasswd' \
	"%27%3B%20DROP%20TABLE%20x%3B--" '02:00:00:00:00:10%00' '<script>' \
	'02:00:00:00:00:10&device=02:00:00:00:00:11'; do
	check_eq "capture_start device='$bad' is 400" \
		"$(http_code "$API/spin_api/capture_start?device=$bad")" 400
done
check_eq "capture_start without device is 400" "$(http_code "$API/spin_api/capture_start")" 400
check_eq "capture_stop device=x is 400" "$(http_code "$API/spin_api/capture_stop?device=x")" 400
check_eq "capture_start of an unknown device is 404" \
	"$(http_code "$API/spin_api/capture_start?device=02:00:00:00:00:99")" 404
check_eq "POST capture_start is 405" \
	"$(http_code "$API/spin_api/capture_start?device=$THERMO_MAC" -X POST)" 405
check_eq "cross-site capture_start is 403" \
	"$(http_code "$API/spin_api/capture_start?device=$THERMO_MAC" -H 'Sec-Fetch-Site: cross-site')" 403
check_eq "foreign Origin capture_stop is 403" \
	"$(http_code "$API/spin_api/capture_stop?device=$THERMO_MAC" -H 'Origin: http://evil.example')" 403
check_eq "no capture left running by bad requests" "$(status_field 's["capture"]["streams"]')" 0
check_eq "spin_capmac empty" "$(capmac_entries)" 0

# --- thermo's capture while thermo and camera talk
capture_bg thermo $THERMO_MAC
check_eq "spin_capmac holds thermo's MAC" "$(capmac_entries)" 1
traffic thermo $REMOTE4 $REMOTE6
traffic camera 203.0.113.11 2001:db8:203::11
stop=$(gw curl -s --max-time 5 "$API/spin_api/capture_stop?device=$THERMO_MAC")
check_eq "capture_stop answers" "$stop" "{\"result\":{\"device\":\"$THERMO_MAC\",\"stopped\":1}}"
wait_for 5 ended "$CAP_PID" && ok "the download ends after capture_stop" ||
	fail "the download ends after capture_stop" "curl still running"
check_eq "spin_capmac empty after the stop" "$(capmac_entries)" 0
hdr=$E2E_TMP/thermo.headers
grep -qi '^content-type: application/vnd.tcpdump.pcap' "$hdr" && ok "Content-Type is pcap" ||
	fail "Content-Type is pcap" "$(grep -i content-type "$hdr")"
grep -qi '^content-disposition: attachment; filename="spin-020000000010.pcap"' "$hdr" &&
	ok "Content-Disposition names the file" ||
	fail "Content-Disposition names the file" "$(grep -i content-disposition "$hdr")"

f=$E2E_TMP/thermo.pcap
check_cmd "tcpdump reads the capture" tcpdump -nn -r "$f"
check_eq "link type Ethernet" "$(tcpdump -r "$f" 2>&1 >/dev/null | grep -c 'link-type EN10MB')" 1
check_eq "IPv4 echo requests from thermo" \
	"$(pcount "$f" icmp and src $THERMO4 and dst $REMOTE4 and 'icmp[icmptype] == icmp-echo')" 3
check_eq "IPv4 echo replies to thermo" \
	"$(pcount "$f" icmp and src $REMOTE4 and dst $THERMO4 and 'icmp[icmptype] == icmp-echoreply')" 3
check_eq "IPv6 echo requests from thermo" \
	"$(pcount "$f" icmp6 and src $THERMO6 and dst $REMOTE6 and 'ip6[40] == 128')" 3
check_eq "IPv6 echo replies to thermo" \
	"$(pcount "$f" icmp6 and src $REMOTE6 and dst $THERMO6 and 'ip6[40] == 129')" 3
tcp=$(pcount "$f" tcp and host $THERMO4 and port 80)
[ "$tcp" -ge 6 ] && ok "thermo's HTTP exchange is in it ($tcp segments)" ||
	fail "thermo's HTTP exchange is in it" "$tcp TCP segments"
check_eq "every frame is to or from thermo's MAC" \
	"$(pcount "$f" not ether host $THERMO_MAC)" 0
check_eq "no camera frame" "$(pcount "$f" ether host $CAMERA_MAC or host $CAMERA4)" 0
captured=$(status_field 's["kernel"]["captured"]')
[ "$captured" -ge 12 ] && ok "kernel counted captured frames ($captured)" ||
	fail "kernel counted captured frames" "$captured"
check_eq "no capture losses" "$(status_field 's["kernel"]["capture_lost"]')" 0

# --- the client leaving ends the capture and empties the map
capture_bg leave $THERMO_MAC
check_eq "capture running again" "$(capmac_entries)" 1
e2e_kill "$CAP_PID"
traffic thermo $REMOTE4 $REMOTE6 # a write to the gone client notices it
wait_for 5 streams_are 0 && ok "a client leaving ends its capture" ||
	fail "a client leaving ends its capture" "streams $(status_field 's["capture"]["streams"]')"
check_eq "spin_capmac empty after the client left" "$(capmac_entries)" 0
spind_stop

# --- limits: 20000 bytes, 3 seconds
spind_start -i "$(lab_ifaces)" -o pubsub_host=127.0.0.1 -o spinweb_interfaces=127.0.0.1 \
	-o spinweb_port=13026 -o capture_max_seconds=3 -o capture_max_bytes=20000 \
	-s "$E2E_TMP/state" || e2e_done
wait_for 10 gw curl -s -o /dev/null "$API/spin_api/status" || true
traffic thermo $REMOTE4 $REMOTE6
traffic camera 203.0.113.11 2001:db8:203::11
wait_for 10 sh -c "[ \"\$(ip netns exec $E2E_P-gw curl -s -o /dev/null -w '%{http_code}' \
	'$API/spin_api/capture_stop?device=$CAMERA_MAC')\" = 200 ]" || true

start=$SECONDS
capture_bg quiet $CAMERA_MAC
wait_for 10 ended "$CAP_PID" && ok "time limit ends a quiet capture" ||
	fail "time limit ends a quiet capture" "curl still running after 10 s"
el=$((SECONDS - start))
[ "$el" -ge 2 ] && [ "$el" -le 6 ] && ok "time limit: after about 3 s ($el s)" ||
	fail "time limit: after about 3 s" "$el s"
check_cmd "time limit: tcpdump reads the file" tcpdump -nn -r "$E2E_TMP/quiet.pcap"
grep -q 'ended (capture_max_seconds)' "$SPIND_LOG" && ok "time limit: logged" ||
	fail "time limit: logged" "no 'ended (capture_max_seconds)' in spind's log"

capture_bg big $THERMO_MAC
in_ns thermo curl -s -o /dev/null --max-time 5 "http://$REMOTE4/1M.bin" || true
wait_for 5 ended "$CAP_PID" && ok "byte limit ends the capture" ||
	fail "byte limit ends the capture" "curl still running"
size=$(stat -c %s "$E2E_TMP/big.pcap")
[ "$size" -le 20000 ] && [ "$size" -ge 15000 ] && ok "byte limit: file of $size bytes" ||
	fail "byte limit: file size" "$size bytes, expected 15000-20000"
check_cmd "byte limit: tcpdump reads the file" tcpdump -nn -r "$E2E_TMP/big.pcap"
grep -q 'ended (capture_max_bytes)' "$SPIND_LOG" && ok "byte limit: logged" ||
	fail "byte limit: logged" "no 'ended (capture_max_bytes)' in spind's log"
check_eq "spin_capmac empty after the limits" "$(capmac_entries)" 0
spind_stop
e2e_done
