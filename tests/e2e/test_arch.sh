#!/usr/bin/env bash
# Raspberry Pi and other ARM gateways: the BPF object built with the arm64 and 32-bit arm target
# defines (-D__TARGET_ARCH_arm64 / _arm) is the same bytecode as this machine's, carries no CO-RE
# relocations (the packet path reads only the UAPI context and packet bytes, so it needs neither
# vmlinux.h nor kernel BTF), loads here, and decides test_run packets as the data path should:
# pass and count an allowed flow, drop a blocked one at XDP and at TC.
# (bpftool -d would show libbpf's CO-RE work, but also makes the verifier log every instruction
# of every path: minutes; the .BTF.ext records are the same evidence.)
# Every object is loaded by bpftool inside a private mount namespace with a bpffs of its own,
# so nothing is pinned on the host and everything is freed when the namespace ends.
set -uo pipefail
# shellcheck disable=SC2034 # read by tests/run
SAN_SKIP=1 # no spind here
TOP=${SPIN_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
PY=/usr/bin/python3
failed=0

ok() { echo "ok - $1"; }
fail() {
	echo "not ok - $1: $2"
	failed=1
}
check_eq() { if [ "$2" = "$3" ]; then ok "$1"; else fail "$1" "actual '$2', expected '$3'"; fi; }

# --- inside the private mount namespace: load OBJ, run packets, print result lines
inner() { # OBJ LABEL DIR
	local obj=$1 arch=$2 dir=$3 bpf=/sys/fs/bpf log rv
	mount -t bpf bpf "$bpf" || {
		fail "$arch: private bpffs" "mount failed"
		return 1
	}
	log=$dir/load-$arch.log
	if bpftool prog loadall "$obj" "$bpf/p" >"$log" 2>&1; then
		ok "$arch: bpftool loads every program of $(basename "$obj")"
	else
		fail "$arch: bpftool loads the object" "$(tail -2 "$log" | tr '\n' ' ')"
		return 1
	fi

	run() { # PROG PACKET -> the program's return value
		bpftool prog run pinned "$bpf/p/$1" data_in "$dir/$2.bin" repeat 1 2>&1 |
			sed -n 's/^Return value: \([0-9]*\).*/\1/p'
	}
	check_eq "$arch: XDP passes an allowed packet" "$(run spin_xdp allowed)" 2
	# TC_ACT_UNSPEC (-1, as an unsigned 32-bit return value): on to the next program
	check_eq "$arch: TC ingress passes an allowed packet (TC_ACT_UNSPEC)" \
		"$(run spin_tc_ingress allowed)" 4294967295
	check_eq "$arch: TC ingress counted the allowed flow" \
		"$(bpftool -j map dump pinned "$bpf/spin_flows4" | "$PY" -c \
			'import json,sys; print(len(json.load(sys.stdin)))')" 1

	# Block 203.0.113.10 (IPv4-mapped) and tell the fast path policy exists (spin_cfg: 40
	# bytes, layout_version, policy_gen, clock_sec, n_addr_block = 1, the other counts 0).
	# shellcheck disable=SC2046
	bpftool map update pinned "$bpf/spin_addrpol" key hex 00 00 00 00 00 00 00 00 00 00 ff ff \
		cb 00 71 0a value hex 01 00 00 00 &&
		bpftool map update pinned "$bpf/spin_cfg" key hex 00 00 00 00 value hex \
			01 00 00 00 02 00 00 00 00 00 00 00 01 00 00 00 $(printf '00 %.0s' $(seq 24)) ||
		fail "$arch: policy maps updated" "bpftool map update failed"
	check_eq "$arch: XDP drops a blocked packet" "$(run spin_xdp blocked)" 1
	check_eq "$arch: TC ingress drops a blocked packet (TC_ACT_SHOT)" \
		"$(run spin_tc_ingress blocked)" 2
	check_eq "$arch: XDP still passes the allowed packet" "$(run spin_xdp allowed)" 2
	# spin_stats: index 9 is SPIN_STAT_DROP_XDP, 10 SPIN_STAT_DROP_TC (per-CPU sums)
	rv=$(bpftool -j map dump pinned "$bpf/spin_stats" | "$PY" -c '
import json, sys
tot = {}
for e in json.load(sys.stdin):
    k = e.get("key")
    k = int(k[0], 16) if isinstance(k, list) else int(k)
    vals = e.get("values") or e.get("formatted", {}).get("values", [])
    tot[k] = sum(int(v["value"]) if not isinstance(v["value"], list) else
                 int.from_bytes(bytes(int(b, 16) for b in v["value"]), "little") for v in vals)
print(tot.get(9, 0), tot.get(10, 0))')
	check_eq "$arch: the drops are counted in spin_stats (xdp tc)" "$rv" "1 1"
}

if [ "${1:-}" = --inner ]; then
	inner "$2" "$3" "$4"
	exit $failed
fi

[ "$(id -u)" -eq 0 ] || {
	echo "ok - arch test skipped: needs root"
	exit 0
}
DIR=$(mktemp -d /tmp/spin-e2e-arch.XXXXXX)
trap 'rm -rf "$DIR"' EXIT
cd "$TOP" || exit 1

# Ethernet + IPv4 + UDP, 192.0.2.10:40000 -> DST:443, 32 bytes of payload.
"$PY" - "$DIR" <<-'EOF'
	import socket, struct, sys
	def pkt(dst):
	    payload = bytes(32)
	    udp = struct.pack("!HHHH", 40000, 443, 8 + len(payload), 0) + payload
	    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
	                     socket.inet_aton("192.0.2.10"), socket.inet_aton(dst))
	    s = sum(struct.unpack("!10H", ip))
	    s = (s & 0xFFFF) + (s >> 16)
	    ip = ip[:10] + struct.pack("!H", ~s & 0xFFFF) + ip[12:]
	    eth = bytes.fromhex("020000000001" "020000000010") + struct.pack("!H", 0x0800)
	    return eth + ip + udp
	open(sys.argv[1] + "/allowed.bin", "wb").write(pkt("203.0.113.11"))
	open(sys.argv[1] + "/blocked.bin", "wb").write(pkt("203.0.113.10"))
EOF

code() { llvm-objdump -d --no-show-raw-insn "$1" | tail -n +3; }
core_relo_len() { # OBJ -> bytes of CO-RE relocation records in .BTF.ext (0 if none)
	llvm-objcopy --dump-section ".BTF.ext=$DIR/btfext" "$1" /dev/null 2>/dev/null || {
		echo 0
		return
	}
	"$PY" -c '
import struct, sys
d = open(sys.argv[1], "rb").read()
hdr_len = struct.unpack_from("<I", d, 4)[0]
print(struct.unpack_from("<I", d, 28)[0] if hdr_len >= 32 else 0)' "$DIR/btfext"
}

make -s build/bpf/spin.bpf.o || fail "host BPF object builds" "make failed"
for arch in arm64 arm; do
	obj=build/arch-$arch/bpf/spin.bpf.o
	# The same Makefile rule with the target's defines: what a cross or native ARM build makes.
	if ! make -s OUT="build/arch-$arch" ARCH="$arch" "$obj" >"$DIR/make-$arch.log" 2>&1; then
		fail "$arch: BPF object builds with -D__TARGET_ARCH_$arch" "$(tail -2 "$DIR/make-$arch.log")"
		continue
	fi
	ok "$arch: BPF object builds with -D__TARGET_ARCH_$arch"
	if cmp -s <(code build/bpf/spin.bpf.o) <(code "$obj"); then
		ok "$arch: its bytecode is identical to this machine's"
	else
		fail "$arch: its bytecode is identical to this machine's" "llvm-objdump -d differs"
	fi
	check_eq "$arch: .BTF.ext holds no CO-RE relocation records" "$(core_relo_len "$obj")" 0
	unshare -m "$0" --inner "$TOP/$obj" "$arch" "$DIR" || failed=1
done
exit $failed
