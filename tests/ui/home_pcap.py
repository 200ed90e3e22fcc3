#!/usr/bin/env python3
"""A busy home network as a capture file, for spind's passive replay (spind -r FILE).

    home_pcap.py OUT.pcap LEASES [--devices 50] [--remotes 500] [--seconds 60] [--start EPOCH]

DEVICES hosts on 192.0.2.0/24 (and 2001:db8:1::/64) behind the gateway 02:00:00:00:00:01
resolve REMOTES names through the gateway's resolver (192.0.2.1) and then talk to them, every
few seconds, for SECONDS: each remote is reached by at least one device, a few popular ones by
all of them, and the byte counts are skewed as in a real home (a handful of heavy services, a
long tail of small ones). The first fifth of the remotes are IPv6 (AAAA answers). LEASES gets a
dnsmasq lease line per device, so spind names them as a home router would.
Timestamps start at START (default: now), so a paced replay is live traffic.
"""
import argparse
import socket
import struct
import time

GW_MAC = bytes.fromhex("020000000001")
GW4 = "192.0.2.1"
ROOMS = ["kitchen", "hall", "garage", "attic", "bedroom", "office", "garden", "porch", "den", "loft"]
KINDS = ["speaker", "camera", "plug", "bulb", "tv"]


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ip4(src, dst, proto, payload):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0, 0x4000, 64, proto, 0,
                    socket.inet_aton(src), socket.inet_aton(dst))
    return h[:10] + struct.pack("!H", csum(h)) + h[12:] + payload


def ip6(src, dst, proto, payload):
    return struct.pack("!IHBB", 0x60000000, len(payload), proto, 64) + \
        socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst) + payload


def udp(sport, dport, data):
    return struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data


def tcp(sport, dport, flags, data):
    return struct.pack("!HHIIBBHHH", sport, dport, 1, 1, 5 << 4, flags, 65535, 0, 0) + data


def dns_name(name):
    return b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"


def dns(qid, name, v6, answer=None):
    qtype = 28 if v6 else 1
    q = dns_name(name) + struct.pack("!HH", qtype, 1)
    if answer is None:
        return struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + q
    rdata = socket.inet_pton(socket.AF_INET6 if v6 else socket.AF_INET, answer)
    rr = b"\xc0\x0c" + struct.pack("!HHIH", qtype, 1, 3600, len(rdata)) + rdata
    return struct.pack("!HHHHHH", qid, 0x8180, 1, 1, 0, 0) + q + rr


class Home:
    def __init__(self, n_devices, n_remotes):
        self.devices = []
        for d in range(n_devices):
            self.devices.append({
                "mac": bytes([0x02, 0x5A, 0, 0, 0, d + 1]),
                "ip4": f"192.0.2.{10 + d}",
                "ip6": f"2001:db8:1::{0x100 + d:x}",
                "name": f"{ROOMS[d % len(ROOMS)]}-{KINDS[(d // len(ROOMS)) % len(KINDS)]}"
                        + (f"-{d // (len(ROOMS) * len(KINDS)) + 1}" if d >= len(ROOMS) * len(KINDS) else ""),
            })
        self.remotes = []
        n6 = n_remotes // 5
        for r in range(n_remotes):
            v6 = r < n6
            if v6:
                addr = f"2001:db8:ff::{r + 1:x}"
            elif r - n6 < 250:
                addr = f"198.51.100.{r - n6 + 1}"
            else:
                addr = f"203.0.113.{r - n6 - 250 + 1}"
            self.remotes.append({"name": f"svc-{r:03d}.example", "addr": addr, "v6": v6,
                                 "weight": 40000 if r % 97 == 0 else 1200 if r % 7 == 0 else 150})
        # Every remote has a device; the first five are reached by every device.
        self.talks = {d: sorted({(d * 10 + k) % n_remotes for k in range(10)} | set(range(5)))
                      for d in range(n_devices)}

    def frame(self, dev, out, payload, v6):
        src, dst = (dev["mac"], GW_MAC) if out else (GW_MAC, dev["mac"])
        return dst + src + struct.pack("!H", 0x86DD if v6 else 0x0800) + payload

    def packet(self, dev, rem, out, proto, sport, dport, data):
        v6 = rem["v6"]
        me, them = (dev["ip6"], rem["addr"]) if v6 else (dev["ip4"], rem["addr"])
        s, d = (me, them) if out else (them, me)
        l4 = udp(sport, dport, data) if proto == 17 else tcp(sport, dport, 0x18, data)
        return self.frame(dev, out, (ip6 if v6 else ip4)(s, d, proto, l4), v6)

    def dns_pair(self, dev, rem, qid):
        v6 = rem["v6"]
        q = ip4(dev["ip4"], GW4, 17, udp(30000 + qid % 20000, 53, dns(qid, rem["name"], v6)))
        a = ip4(GW4, dev["ip4"], 17, udp(53, 30000 + qid % 20000, dns(qid, rem["name"], v6, rem["addr"])))
        return self.frame(dev, True, q, False), self.frame(dev, False, a, False)


def write(path, packets):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for ts, frame in sorted(packets, key=lambda p: p[0]):
            sec, usec = int(ts), int((ts - int(ts)) * 1e6)
            f.write(struct.pack("<IIII", sec, usec, len(frame), len(frame)) + frame)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("leases")
    ap.add_argument("--devices", type=int, default=50)
    ap.add_argument("--remotes", type=int, default=500)
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--start", type=float, default=None)
    a = ap.parse_args()
    if not 0 < a.devices <= 200 or not 0 < a.remotes <= 600:
        ap.error("--devices 1..200, --remotes 1..600 (the documentation ranges hold no more)")
    start = time.time() if a.start is None else a.start
    home = Home(a.devices, a.remotes)
    packets = []
    resolved = set()
    qid = 1
    for d, dev in enumerate(home.devices):
        for i, r in enumerate(home.talks[d]):
            rem = home.remotes[r]
            # Names first (within the first 2 s), then the flow, every 3 s with some jitter.
            t = start + 0.02 * d + 0.001 * i
            if r not in resolved or d % 3 == 0:
                resolved.add(r)
                q, ans = home.dns_pair(dev, rem, qid)
                packets += [(t, q), (t + 0.0005, ans)]
                qid += 1
            proto, dport = (6, 443) if r % 4 else (17, 123 if r % 8 == 0 else 8883)
            sport = 40000 + (d * 37 + i) % 20000
            size = min(1400, 60 + rem["weight"] // (1 + d % 5) % 1340)
            step = 3.0
            tt = t + 0.5 + (d * 13 + i) % 10 * 0.1
            while tt < start + a.seconds:
                packets.append((tt, home.packet(dev, rem, True, proto, sport, dport, b"q" * 40)))
                for k in range(1 + rem["weight"] // 10000):
                    packets.append((tt + 0.002 * (k + 1),
                                    home.packet(dev, rem, False, proto, dport, sport, b"r" * size)))
                tt += step
    write(a.out, packets)
    with open(a.leases, "w") as f:
        for dev in home.devices:
            mac = ":".join(f"{b:02x}" for b in dev["mac"])
            f.write(f"{int(start) + 86400} {mac} {dev['ip4']} {dev['name']} 01:{mac}\n")
    print(f"{len(packets)} packets, {a.devices} devices, {a.remotes} remotes, {a.seconds} s")


if __name__ == "__main__":
    main()
