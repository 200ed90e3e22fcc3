#!/usr/bin/env bash
# The Debian package, on this machine: 'make deb', its contents, dpkg -i, the service started the
# way systemd would (the unit's ExecStart under exactly its capability bounding set, memlock
# limit, umask and directories) in the lab's gateway namespace, attached and serving the UI; the
# mosquitto drop-in's listeners; an upgrade to a bumped version with spind running (nothing is
# detached, the conffile edits stay, the restarted spind reuses the pins); and purge: no pinned
# maps, no attached or loaded programs, no files left.
# systemd is not PID 1 here, so the unit is checked with 'systemd-analyze verify' and its
# sandbox settings by what spind really does under strace (syscalls, socket families).
set -euo pipefail
# shellcheck disable=SC2034 # read by tests/run
SAN_SKIP=1 # packages the normal build; the sanitizer pass adds nothing here
export SPIN_LAB_PREFIX=${SPIN_LAB_PREFIX:-spkg}
export SPIN_LAB_STATE=${SPIN_LAB_STATE:-/run/spin-lab-$SPIN_LAB_PREFIX}
# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"

PKG=spind
PIN=/sys/fs/bpf/$SPIN_LAB_PREFIX-e2e-pkg-$$
PORT=13326
UNIT=/lib/systemd/system/spind.service
CONF=/etc/spin/spind.conf
MQNS=$SPIN_LAB_PREFIX-mq
# CAP_NET_ADMIN (12), CAP_PERFMON (38), CAP_BPF (39)
WANT_CAPS=000000c000001000
BACKUP=$E2E_TMP/preexisting
INSTALLED=0
MQ_PID=""

skip_all() {
	echo "ok - Debian package skipped: $1"
	pkg_done
}

dpkg_run() { # ARGS...: dpkg, waiting while another dpkg/apt holds the lock
	local out
	for _ in $(seq 60); do
		if out=$(dpkg "$@" 2>&1); then
			printf '%s\n' "$out" >>"$E2E_TMP/dpkg.log"
			return 0
		fi
		printf '%s\n' "$out" >>"$E2E_TMP/dpkg.log"
		grep -q 'lock' <<<"$out" || {
			printf '%s\n' "$out" | tail -5 >&2
			return 1
		}
		sleep 2
	done
	return 1
}

pkg_cleanup() {
	set +e
	[ -n "$SPIND_PID" ] && spind_unit_stop
	[ -n "$MQ_PID" ] && e2e_kill "$MQ_PID"
	ip netns del "$MQNS" 2>/dev/null
	if [ "$INSTALLED" = 1 ]; then
		nsenter --net="/run/netns/$E2E_P-gw" dpkg --purge "$PKG" >>"$E2E_TMP/dpkg.log" 2>&1 ||
			dpkg --purge "$PKG" >>"$E2E_TMP/dpkg.log" 2>&1
	fi
	[ -d "$PIN" ] && rm -rf "$PIN"
	# What was there before the test (e.g. another spind's state dir) comes back.
	for d in /var/lib/spin /etc/spin; do
		if [ -e "$BACKUP$d" ]; then
			rm -rf "$d"
			mkdir -p "$(dirname "$d")"
			mv "$BACKUP$d" "$d"
		fi
	done
}
pkg_done() {
	pkg_cleanup
	e2e_done
}
# shellcheck disable=SC2154 # rc is set inside the trap
trap 'rc=$?; pkg_cleanup; (exit $rc); e2e_on_exit' EXIT

[ "$(id -u)" -eq 0 ] || skip_all "needs root"
command -v dpkg-buildpackage >/dev/null || skip_all "dpkg-buildpackage is not installed (dpkg-dev)"
if ! dpkg-query -W -f='${db:Status-Status}' debhelper 2>/dev/null | grep -q '^installed$'; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debhelper \
		>"$E2E_TMP/apt.log" 2>&1 || skip_all "debhelper is missing and apt-get could not install it"
fi

# --- build
cd "$SPIN_TOP"
if ! make -s deb >"$E2E_TMP/make-deb.log" 2>&1; then
	fail "make deb builds the package" "$(tail -3 "$E2E_TMP/make-deb.log" | tr '\n' ' ')"
	pkg_done
fi
VERSION=$(dpkg-parsechangelog -l tools/debian/changelog -S Version)
ARCH=$(dpkg --print-architecture)
DEB=$SPIN_TOP/build/${PKG}_${VERSION}_$ARCH.deb
check_cmd "make deb leaves $(basename "$DEB") in build/" test -s "$DEB"

contents=$(dpkg-deb -c "$DEB" | awk '{print $6}' | sed 's|^\./|/|')
for f in /usr/sbin/spind /usr/sbin/spinctl /usr/lib/spin/spin.bpf.o /usr/share/spin/web/index.html \
	/usr/share/spin/web/app.js /etc/spin/spind.conf /etc/mosquitto/conf.d/spin.conf "$UNIT" \
	/usr/share/man/man8/spind.8.gz /usr/share/man/man1/spinctl.1.gz; do
	if grep -qx "$f" <<<"$contents"; then ok "package holds $f"; else fail "package holds $f" "missing"; fi
done
conffiles=$(dpkg-deb --ctrl-tarfile "$DEB" | tar -xOf - ./conffiles | sort | tr '\n' ' ')
check_eq "conffiles" "$conffiles" "/etc/mosquitto/conf.d/spin.conf /etc/spin/spind.conf "
check_eq "spind.conf ships readable by root only (pubsub_password goes there)" \
	"$(dpkg-deb -c "$DEB" | awk '$6 == "./etc/spin/spind.conf" { print $1 }')" "-rw-------"

# --- install on this machine
if dpkg-query -W -f='${db:Status-Status}' "$PKG" 2>/dev/null | grep -q installed; then
	dpkg_run --purge "$PKG" # a previous run's leftover
fi
for d in /var/lib/spin /etc/spin; do
	if [ -e "$d" ]; then
		mkdir -p "$(dirname "$BACKUP$d")"
		mv "$d" "$BACKUP$d"
	fi
done
INSTALLED=1
check_cmd "dpkg -i installs $(basename "$DEB")" dpkg_run -i "$DEB"
check_eq "dpkg knows $PKG $VERSION" "$(dpkg-query -W -f='${Status} ${Version}' "$PKG")" \
	"install ok installed $VERSION"
check_cmd "dpkg --verify finds every file intact" test -z "$(dpkg --verify "$PKG")"
check_eq "spind -v" "$(/usr/sbin/spind -v)" "spind ${VERSION%-*}"
check_cmd "spind(8) is a man page" man -w spind
check_cmd "spinctl(1) is a man page" man -w spinctl
check_eq "web_root defaults to the package's UI" \
	"$(/usr/sbin/spind -C | sed -n 's/^web_root = //p')" /usr/share/spin/web
if out=$(systemd-analyze verify "$UNIT" 2>&1); then
	ok "systemd-analyze verify $UNIT"
else
	fail "systemd-analyze verify $UNIT" "$(tr '\n' ' ' <<<"$out")"
fi

# --- the unit's settings, as systemd applies them
unit_value() { sed -n "s/^$1=//p" "$UNIT" | tail -1; }
EXEC=$(unit_value ExecStart)
read -r -a CAPS <<<"$(unit_value CapabilityBoundingSet)"
setpriv_caps=-all
for c in "${CAPS[@]}"; do
	c=${c#CAP_}
	setpriv_caps+=",+${c,,}"
done
check_eq "the unit's capabilities" "${CAPS[*]}" "CAP_BPF CAP_NET_ADMIN CAP_PERFMON"
check_eq "the unit keeps no new privileges" "$(unit_value NoNewPrivileges)" yes
check_eq "the unit raises the memlock limit (kernels before 5.11)" "$(unit_value LimitMEMLOCK)" \
	infinity

# The conffile: the lab's LAN port, a pin dir of this test's own, a free port, no host leases,
# and native XDP forced (auto mode leaves XDP off on veth) so that its attachment is tested too.
cat >>"$CONF" <<-EOF
	interfaces = lan0
	xdp_mode = native
	pin_dir = $PIN
	spinweb_port = $PORT
	dhcp_leases_file =
EOF

# LimitMEMLOCK=infinity; where this machine's own bounding set lacks CAP_SYS_RESOURCE the limit
# cannot be raised, and kernels since 5.11 charge BPF memory to the cgroup instead anyway.
MEMLOCK=(prlimit --memlock=unlimited)
if ! prlimit --memlock=unlimited true 2>/dev/null; then
	echo "# memlock stays at $(ulimit -l) KiB: no CAP_SYS_RESOURCE here"
	MEMLOCK=(env)
fi
STRACE=""
command -v strace >/dev/null && STRACE=$E2E_TMP/strace.txt
spind_unit_start() { # NAME: ExecStart as systemd would run it, in the lab's gateway namespace
	local umask_v dirmode trace=()
	umask_v=$(unit_value UMask)
	dirmode=$(unit_value StateDirectoryMode)
	install -d -m "${dirmode:-0755}" "/var/lib/$(unit_value StateDirectory)"
	install -d -m "$(unit_value RuntimeDirectoryMode)" "/run/$(unit_value RuntimeDirectory)"
	SPIND_LOG=$E2E_TMP/spind-$1.log
	[ -n "$STRACE" ] && [ "$1" = first ] && trace=(strace -f -qq -o "$STRACE")
	# nsenter --net, not ip netns exec: the pins must land in the host's /sys/fs/bpf
	# shellcheck disable=SC2086
	nsenter --net="/run/netns/$E2E_P-gw" "${trace[@]}" "${MEMLOCK[@]}" \
		setpriv --bounding-set "$setpriv_caps" --inh-caps -all --no-new-privs -- \
		sh -c "umask $umask_v && exec $EXEC" >"$SPIND_LOG" 2>&1 </dev/null &
	SPIND_PID=$!
	if wait_for 20 grep -Eq "$SPIND_READY_RE" "$SPIND_LOG"; then
		ok "spind from the package starts ($1)"
	else
		fail "spind from the package starts ($1)" "$(tail -3 "$SPIND_LOG" | tr '\n' ' ')"
		return 1
	fi
}
spind_unit_stop() { # SIGTERM to spind, as 'systemctl stop'; strace exits with spind's status
	local pid=$SPIND_PID st=0
	SPIND_PID=""
	kill -TERM "$(spind_child || echo "$pid")" 2>/dev/null || true
	wait_for 10 bash -c "! kill -0 $pid 2>/dev/null" || kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || st=$?
	check_eq "spind exits with status 0 on SIGTERM" "$st" 0
}

spind_child() { # the spind process under the wrappers
	local p
	for p in $(pgrep -x spind); do
		# "/usr/sbin/spind (deleted)" once an upgrade replaced the file
		[[ $(readlink "/proc/$p/exe") == /usr/sbin/spind* ]] || continue
		[ "$(readlink "/proc/$p/ns/net")" = "$(ip netns exec "$E2E_P-gw" readlink /proc/self/ns/net)" ] &&
			echo "$p" && return 0
	done
	return 1
}

attached() { # -> "tc-ingress tc-egress xdp" program counts of SPIN's on lan0
	local i e x
	i=$(spin_tc_progs lan0 ingress "$PIN")
	e=$(spin_tc_progs lan0 egress "$PIN")
	x=$(gw ip link show lan0 | grep -c 'name spin_xdp' || true)
	echo "$i $e $x"
}

lab_up router --no-traffic
spind_unit_start first || pkg_done
pid=$(spind_child || true)
caps=$(sed -n 's/^CapEff:[[:space:]]*//p' "/proc/$pid/status" 2>/dev/null || echo none)
check_eq "spind runs with exactly the unit's capabilities (CapEff)" "$caps" "$WANT_CAPS"
check_eq "spind attached TC ingress, TC egress and XDP on lan0" "$(attached)" "1 1 1"
XDP_ID_FIRST=$(gw ip link show lan0 | sed -n 's/.*prog\/xdp id \([0-9]*\) .*/\1/p')
# Every map spind pins (user/kernel.c's map_names), no more, no less.
PINNED_WANT=$(grep -o 'SPIN_MAP_[A-Z0-9]*' "$SPIN_TOP/user/kernel.c" | sort -u | wc -l)
check_eq "the maps are pinned in the configured pin dir" \
	"$(find "$PIN" -type f ! -name 'tcx_*' ! -name 'xdp_*' | wc -l)" "$PINNED_WANT"
# With TCX (kernel 6.6+) the links hang there too: one per hook, named by ifindex.
case $(find "$PIN" -type f -name 'tcx_*' | wc -l) in
0 | 2) ok "TCX link pins: none (clsact) or ingress and egress of lan0" ;;
*) fail "TCX link pins: none or two" "$(find "$PIN" -name 'tcx_*' | tr '\n' ' ')" ;;
esac
PROG_IDS=$(gw bpftool -j net show dev lan0 | "$E2E_PY" -c '
import json, sys
ids = set()
def walk(o):
    if isinstance(o, dict):
        if "id" in o and str(o.get("name", "")).startswith("spin_"):
            ids.add(o["id"])
        for v in o.values(): walk(v)
    elif isinstance(o, list):
        for v in o: walk(v)
walk(json.load(sys.stdin))
print(" ".join(str(i) for i in sorted(ids)))')
# bpftool 7.1 does not list TCX links under "net": their programs come from the link pins.
for l in "$PIN"/tcx_*; do
	[ -e "$l" ] || continue
	PROG_IDS+=" $(bpftool link show pinned "$l" | sed -n 's/.*prog \([0-9]*\).*/\1/p')"
done
check_cmd "bpftool names SPIN's programs on lan0" test -n "${PROG_IDS// /}"
if gw curl -s --max-time 5 -o "$E2E_TMP/index.html" "http://127.0.0.1:$PORT/" &&
	cmp -s "$E2E_TMP/index.html" /usr/share/spin/web/index.html; then
	ok "spind serves the packaged UI on :$PORT"
else
	fail "spind serves the packaged UI on :$PORT" "GET / is not /usr/share/spin/web/index.html"
fi
rpc=$(gw curl -s --max-time 5 -H 'Content-Type: application/json' \
	-d '{"jsonrpc":"2.0","id":1,"method":"list_devices","params":{}}' \
	"http://127.0.0.1:$PORT/spin_api/jsonrpc" || true)
case $rpc in *'"result"'*) ok "the web API answers JSON-RPC" ;;
*) fail "the web API answers JSON-RPC" "answer '${rpc:0:120}'" ;; esac

# --- the sandbox: what spind did under strace must be allowed by the unit
if [ -n "$STRACE" ]; then
	# The unit's filter with its @groups expanded (groups nest).
	read -r -a FILTER <<<"$(unit_value SystemCallFilter)"
	allowed=$(systemd-analyze syscall-filter 2>/dev/null | "$E2E_PY" -c '
import sys
groups, cur = {}, None
for line in sys.stdin:
    s = line.strip()
    if not s or s.startswith("#"):
        continue
    if not line.startswith(" "):
        cur = groups.setdefault(s, [])
    elif cur is not None:
        cur.append(s)
def expand(item, seen):
    if not item.startswith("@"):
        return {item}
    if item in seen:
        return set()
    seen.add(item)
    out = set()
    for m in groups.get(item, []):
        out |= expand(m, seen)
    return out
names = set()
for item in sys.argv[1:]:
    names |= expand(item, set())
print("\n".join(sorted(names)))' "${FILTER[@]}")
	# From spind's execve on: what the wrappers did before it is systemd's part.
	used=$(sed -n '\|execve("/usr/sbin/spind"|,$p' "$STRACE" |
		sed -nE 's/^[0-9]+ +([a-z_0-9]+)\(.*/\1/p' | sort -u)
	check_cmd "strace saw spind's bpf() calls" grep -qx bpf <<<"$used"
	bad=$(comm -23 <(echo "$used") <(echo "$allowed" | sort -u) | tr '\n' ' ')
	check_eq "every syscall spind made is in the unit's SystemCallFilter" "$bad" ""
	fams=$(grep -oE 'socket\((AF_[A-Z0-9]+)' "$STRACE" | sed 's/socket(//' | sort -u | tr '\n' ' ')
	restrict=" $(unit_value RestrictAddressFamilies) "
	badf=""
	for f in $fams; do [[ $restrict == *" $f "* ]] || badf+="$f "; done
	check_eq "every socket family spind opened is in RestrictAddressFamilies ($fams)" "$badf" ""
else
	echo "ok - sandbox syscall check skipped: strace is not installed"
fi

# --- the mosquitto drop-in: Debian's mosquitto.conf includes conf.d
ip netns add "$MQNS"
ip -n "$MQNS" link set lo up
echo "include_dir /etc/mosquitto/conf.d" >"$E2E_TMP/mosquitto.conf"
ip netns exec "$MQNS" mosquitto -c "$E2E_TMP/mosquitto.conf" >"$E2E_TMP/mosquitto.log" 2>&1 &
MQ_PID=$!
if wait_for 5 ip netns exec "$MQNS" mosquitto_pub -h 127.0.0.1 -p 1883 -t spin-e2e/x -m x; then
	ok "the drop-in's MQTT listener answers on 127.0.0.1:1883"
else
	fail "the drop-in's MQTT listener answers on 127.0.0.1:1883" "$(tail -2 "$E2E_TMP/mosquitto.log")"
fi
code=$(ip netns exec "$MQNS" curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
	-H 'Connection: Upgrade' -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' \
	-H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' -H 'Sec-WebSocket-Protocol: mqtt' \
	http://127.0.0.1:1884/ || true)
check_eq "the drop-in's WebSocket listener upgrades on 127.0.0.1:1884" "$code" 101
e2e_kill "$MQ_PID"
MQ_PID=""

# --- upgrade with spind running: nothing detached, conffile kept, pins reused after the restart
UP=$E2E_TMP/upgrade
dpkg-deb -R "$DEB" "$UP"
NEWVER=${VERSION%-*}-$((${VERSION##*-} + 1))
sed -i "s/^Version: .*/Version: $NEWVER/" "$UP/DEBIAN/control"
dpkg-deb --root-owner-group -b "$UP" "$E2E_TMP/${PKG}_$NEWVER.deb" >/dev/null
check_cmd "dpkg -i upgrades to $NEWVER" dpkg_run -i "$E2E_TMP/${PKG}_$NEWVER.deb"
check_eq "dpkg knows $PKG $NEWVER" "$(dpkg-query -W -f='${Version}' "$PKG")" "$NEWVER"
check_eq "the upgrade left SPIN attached on lan0" "$(attached)" "1 1 1"
check_cmd "the upgrade kept the conffile's edits" grep -qx "pin_dir = $PIN" "$CONF"
spind_unit_stop
check_eq "SPIN stays attached while spind is stopped" "$(attached)" "1 1 1"
spind_unit_start restart
check_cmd "the restarted spind reuses the pinned maps" grep -q "maps reused in $PIN" "$SPIND_LOG"
check_eq "still one set of programs on lan0" "$(attached)" "1 1 1"
# Without CAP_SYS_ADMIN spind cannot open a program by id: the xdp_<ifindex> pin is how it
# knows the XDP program left attached is its own, and replaces it with the new run's.
xdp_id=$(gw ip link show lan0 | sed -n 's/.*prog\/xdp id \([0-9]*\) .*/\1/p')
check_cmd "the restart did not take its own XDP program for a foreign one" \
	bash -c "! grep -q 'foreign XDP' '$SPIND_LOG'"
check_eq "the XDP program on lan0 is the restarted spind's, pinned by ifindex" \
	"$(bpftool prog show pinned "$PIN/xdp_$(gw cat /sys/class/net/lan0/ifindex)" 2>/dev/null |
		sed -n 's/^\([0-9]*\): xdp .*/\1/p')" "${xdp_id:-no XDP program}"
check_cmd "the XDP program attached before the restart is gone" \
	bash -c "! grep -qw '${XDP_ID_FIRST:-none}' <<<'$xdp_id'"

# --- clsact (kernels before 6.6, or tc_mode=clsact) under the unit's capabilities. 'spind -x'
# with an interface list that no longer names lan0 (renamed, mistyped) must still find the
# programs that use its pins: without CAP_SYS_ADMIN it cannot open a program by id to read its
# maps, so the cls_<hook>_<ifindex> and xdp_<ifindex> pins are how it knows them.
spind_unit_stop
echo "tc_mode = clsact" >>"$CONF"
spind_unit_start clsact
check_eq "tc_mode=clsact: cls_bpf filters and XDP on lan0" "$(attached)" "1 1 1"
check_eq "tc_mode=clsact: no TCX link pins left" "$(find "$PIN" -name 'tcx_*' | wc -l)" 0
spind_unit_stop
# Fewer capabilities than the unit's cannot detach: 'spind -x' must then change nothing and say
# what it needs, for unpinning alone would leave the programs enforcing maps nobody can reach.
for c in -all -all,+bpf; do
	st=0
	out=$(nsenter --net="/run/netns/$E2E_P-gw" setpriv --bounding-set "$c" --inh-caps -all \
		--no-new-privs -- /usr/sbin/spind -c "$CONF" -x 2>&1) || st=$?
	check_cmd "spind -x with capabilities $c fails (status $st)" test "$st" -ne 0
	check_cmd "spind -x with capabilities $c says it needs CAP_NET_ADMIN" \
		grep -q CAP_NET_ADMIN <<<"$out"
	check_eq "spind -x with capabilities $c leaves SPIN attached" "$(attached)" "1 1 1"
	check_cmd "spind -x with capabilities $c keeps the pins" test -e "$PIN/spin_cfg" -a \
		-e "$PIN/xdp_$(gw cat /sys/class/net/lan0/ifindex)"
done
nsenter --net="/run/netns/$E2E_P-gw" "${MEMLOCK[@]}" \
	setpriv --bounding-set "$setpriv_caps" --inh-caps -all --no-new-privs -- \
	/usr/sbin/spind -c "$CONF" -i wan0 -x >"$E2E_TMP/detach.log" 2>&1 || true
check_eq "spind -x under the unit's capabilities detaches lan0, though not listed" \
	"$(attached)" "0 0 0"
check_cmd "spind -x under the unit's capabilities removes the pin dir" test ! -e "$PIN"
gw tc filter del dev lan0 ingress pref 21328 2>/dev/null || true # a failed check's leftovers
gw tc filter del dev lan0 egress pref 21328 2>/dev/null || true
gw ip link set dev lan0 xdp off 2>/dev/null || true

# --- passive mode (-P, libpcap) needs CAP_NET_RAW, which the unit does not give: it must say so
st=0
out=$(nsenter --net="/run/netns/$E2E_P-gw" "${MEMLOCK[@]}" \
	setpriv --bounding-set "$setpriv_caps" --inh-caps -all --no-new-privs -- \
	timeout 20 /usr/sbin/spind -c "$CONF" -i lan0 -P 2>&1) || st=$?
check_cmd "spind -P under the unit's capabilities fails (status $st)" test "$st" -ne 0 -a "$st" -ne 124
check_cmd "spind -P under the unit's capabilities names CAP_NET_RAW" grep -q CAP_NET_RAW <<<"$out"

spind_unit_start after-detach
check_eq "spind attaches again after spind -x" "$(attached)" "1 1 1"

# --- purge: stop (as prerm's 'systemctl stop'), then dpkg --purge in the gateway namespace,
# where prerm's 'spind -x' finds lan0
FILES=$(dpkg -L "$PKG" | while read -r f; do [ -d "$f" ] || echo "$f"; done)
spind_unit_stop
if nsenter --net="/run/netns/$E2E_P-gw" dpkg --purge "$PKG" >>"$E2E_TMP/dpkg.log" 2>&1; then
	INSTALLED=0
	ok "dpkg --purge $PKG"
else
	fail "dpkg --purge $PKG" "$(tail -3 "$E2E_TMP/dpkg.log" | tr '\n' ' ')"
fi
check_eq "purge: nothing attached on lan0" "$(attached)" "0 0 0"
check_cmd "purge: no pinned maps (no $PIN)" test ! -e "$PIN"
left=""
for id in $PROG_IDS; do bpftool prog show id "$id" >/dev/null 2>&1 && left+="$id "; done
check_eq "purge: SPIN's programs are gone from the kernel" "$left" ""
left=$(for f in $FILES /etc/spin /var/lib/spin /run/spin; do [ ! -e "$f" ] || echo "$f"; done | tr '\n' ' ')
check_eq "purge: no files left" "$left" ""
check_cmd "purge: dpkg forgot $PKG" bash -c "! dpkg-query -W -f='\${db:Status-Status}' $PKG 2>/dev/null | grep -qx installed"
pkg_done
