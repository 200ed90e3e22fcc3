// Presentation of the protocol's values: node names, sizes, times and services.

const SERVICES = {
	20: 'ftp-data', 21: 'ftp', 22: 'ssh', 23: 'telnet', 25: 'smtp', 53: 'dns', 67: 'dhcp',
	68: 'dhcp', 80: 'http', 110: 'pop3', 123: 'ntp', 143: 'imap', 443: 'https', 465: 'smtps',
	514: 'syslog', 587: 'submission', 853: 'dns-tls', 993: 'imaps', 995: 'pop3s',
	1883: 'mqtt', 1900: 'ssdp', 3478: 'stun', 5201: 'iperf', 5353: 'mdns', 5683: 'coap',
	8080: 'http-alt', 8443: 'https-alt', 8883: 'mqtts',
};
const PROTOCOLS = { 1: 'icmp', 2: 'igmp', 6: 'tcp', 17: 'udp', 47: 'gre', 50: 'esp', 58: 'icmpv6', 132: 'sctp' };

export function stripDot(name) {
	return name.length > 1 && name.endsWith('.') ? name.slice(0, -1) : name;
}

export function isDevice(node) {
	return typeof node.mac === 'string' && node.mac.length > 0;
}

// What a person calls the node: its given name; for a device its maker and the MAC's last
// three bytes (the maker alone does not tell two phones apart), else a domain, else the MAC;
// for a remote a domain, else an address.
export function nodeName(node) {
	if (!node) return '?';
	if (node.name) return node.name;
	if (isDevice(node) && node.vendor) return `${node.vendor} ${node.mac.slice(-8)}`;
	if (node.domains && node.domains.length) return stripDot(node.domains[0]);
	if (isDevice(node)) return node.mac;
	if (node.ips && node.ips.length) return node.ips[0];
	return `node ${node.id}`;
}

// Everything a search may match: names, MAC, addresses, domains (lower case).
export function searchText(node) {
	return [nodeName(node), node.name, node.mac, node.vendor, ...(node.ips || []), ...(node.domains || [])]
		.filter(Boolean).join(' ').toLowerCase();
}

// The service of a flow seen from its remote end: port name, else protocol/port.
export function serviceName(protocol, port) {
	if (protocol === 1 || protocol === 58) return PROTOCOLS[protocol];
	if ((protocol === 6 || protocol === 17) && port) return SERVICES[port] || `${PROTOCOLS[protocol]}/${port}`;
	return PROTOCOLS[protocol] || `proto ${protocol}`;
}

export function bytes(n) {
	if (!Number.isFinite(n)) return '-';
	const units = ['B', 'kB', 'MB', 'GB', 'TB'];
	let i = 0;
	while (n >= 1000 && i < units.length - 1) {
		n /= 1000;
		i++;
	}
	return `${n >= 100 || i === 0 ? Math.round(n) : n.toFixed(1)} ${units[i]}`;
}

// When a node was last seen: spind's lastseen, republished at most once a minute while only
// it moves, or the latest traffic of the node this page saw, whichever is newer.
export function lastSeen(n) {
	return Math.max(Number(n && n.lastseen) || 0, Number(n && n.active) || 0);
}

export function ago(unixSeconds, now = Date.now() / 1000) {
	if (!unixSeconds) return 'never';
	const d = Math.max(0, Math.round(now - unixSeconds));
	if (d < 5) return 'just now';
	if (d < 60) return `${d} s ago`;
	if (d < 3600) return `${Math.round(d / 60)} min ago`;
	if (d < 86400) return `${Math.round(d / 3600)} h ago`;
	return new Date(unixSeconds * 1000).toLocaleString();
}

export function clamp(v, lo, hi) {
	return Math.min(hi, Math.max(lo, v));
}
