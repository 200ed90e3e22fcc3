// The page's picture of the network, built only from the event stream: nodes, the three
// lists, device-remote edges with recent activity, traffic history and DNS questions.
import { isDevice, searchText, serviceName } from './format.js';

const HISTORY_SECONDS = 3600; // charts cover the last hour
const MAX_DNS_PER_DEVICE = 200;
const MAX_NODES = 20000; // a runaway stream must not eat the browser
const MAX_VENDOR = 200; // spind cuts makers' names to 80 bytes
const RATE_SMOOTHING = 0.1; // weight of the newest second in an edge's average rate

const now = () => Date.now() / 1000;

export class Store extends EventTarget {
	constructor() {
		super();
		this.reset();
	}

	reset() {
		this.nodes = new Map(); // id -> node object as published (+ seen: local time)
		this.lists = { block: [], allow: [], ignore: [] };
		this.edges = new Map(); // "a-b" (a < b) -> edge
		this.totals = { t: [], bytes: [], packets: [] };
		this.deviceHistory = new Map(); // device id -> {t: [], bytes: []}
		this.dns = new Map(); // device id -> Map(name -> last time)
		this.restarts = 0;
		this.changed('reset');
	}

	changed(what) {
		this.dispatchEvent(new CustomEvent('change', { detail: what }));
	}

	node(id) {
		return this.nodes.get(id);
	}

	// A flow may name a node whose nodeInfo has not arrived: keep a placeholder.
	ensure(id) {
		let n = this.nodes.get(id);
		if (!n && Number.isInteger(id) && id > 0 && this.nodes.size < MAX_NODES) {
			n = { id, ips: [], domains: [], placeholder: true };
			this.nodes.set(id, n);
		}
		return n;
	}

	onList(name, ip) {
		return this.lists[name].includes(ip);
	}

	isBlocked(n) {
		return !!n && (n.is_blocked === true || (n.ips || []).some((ip) => this.onList('block', ip)));
	}

	isAllowed(n) {
		return !!n && (n.is_excepted === true || (n.ips || []).some((ip) => this.onList('allow', ip)));
	}

	isIgnored(n) {
		return !!n && (n.ips || []).some((ip) => this.onList('ignore', ip));
	}

	devices() {
		return [...this.nodes.values()].filter(isDevice);
	}

	// The first known node whose names or addresses contain TEXT (lower case), drawn or not:
	// a search must also find the services the map groups away.
	find(text) {
		for (const n of this.nodes.values())
			if (!n.placeholder && !this.isIgnored(n) && searchText(n).includes(text)) return n;
		return null;
	}

	// The node that stands for N (a node of an earlier connection, whose ids a restarted daemon
	// hands out anew): a device by its MAC, a service by a shared address or name.
	findSame(n) {
		for (const m of this.nodes.values()) {
			if (m.placeholder) continue;
			if (isDevice(n) ? m.mac === n.mac : !isDevice(m) && sharesAny(m, n)) return m;
		}
		return null;
	}

	edgesOf(id) {
		return [...this.edges.values()].filter((e) => e.a === id || e.b === id);
	}

	apply(msg) {
		const { topic, payload } = msg;
		const nodeTopic = /\/node\/(\d+)$/.exec(topic);
		if (payload === null || payload === undefined) {
			if (nodeTopic) this.remove(Number(nodeTopic[1]));
			return;
		}
		if (typeof payload !== 'object') return;
		const res = payload.result;
		switch (payload.command) {
		case 'serverRestart':
			this.restarts++;
			this.reset();
			break;
		case 'nodeInfo':
			this.upsert(res);
			break;
		case 'traffic':
			this.traffic(res);
			break;
		case 'blocked':
			this.blocked(res);
			break;
		case 'dnsquery':
			this.dnsquery(res);
			break;
		case 'block':
		case 'allow':
		case 'ignore':
			if (Array.isArray(res)) {
				this.lists[payload.command] = res.filter((x) => typeof x === 'string');
				this.changed('lists');
			}
			break;
		case 'nodeMerged':
			if (res && Number.isInteger(res.id) && Number.isInteger(res['merged-to']))
				this.merge(res.id, res['merged-to']);
			break;
		case 'nodeDeleted':
			if (res && Number.isInteger(res.id)) this.remove(res.id);
			break;
		default:
			break;
		}
	}

	upsert(n) {
		if (!n || !Number.isInteger(n.id) || n.id < 1) return;
		const old = this.nodes.get(n.id);
		if (!old && this.nodes.size >= MAX_NODES) return;
		const node = {
			id: n.id,
			name: typeof n.name === 'string' ? n.name : undefined,
			mac: typeof n.mac === 'string' ? n.mac : undefined,
			vendor: typeof n.vendor === 'string' && n.vendor.length <= MAX_VENDOR ? n.vendor : undefined,
			is_blocked: n.is_blocked === true,
			is_excepted: n.is_excepted === true,
			lastseen: Number(n.lastseen) || 0,
			ips: Array.isArray(n.ips) ? n.ips.filter((x) => typeof x === 'string') : [],
			domains: Array.isArray(n.domains) ? n.domains.filter((x) => typeof x === 'string') : [],
			active: old ? old.active : 0,
		};
		this.nodes.set(n.id, node);
		this.changed(old ? 'node' : 'nodes');
	}

	remove(id) {
		if (!this.nodes.delete(id)) return;
		for (const [k, e] of this.edges) if (e.a === id || e.b === id) this.edges.delete(k);
		this.deviceHistory.delete(id);
		this.dns.delete(id);
		this.changed('nodes');
	}

	merge(from, to) {
		const target = this.ensure(to);
		if (!target) return;
		for (const [k, e] of [...this.edges]) {
			if (e.a !== from && e.b !== from) continue;
			this.edges.delete(k);
			const other = e.a === from ? e.b : e.a;
			if (other === to) continue;
			const merged = this.edge(to, other);
			merged.bytes += e.bytes;
			merged.packets += e.packets;
			merged.active = Math.max(merged.active, e.active);
			merged.blockedAt = Math.max(merged.blockedAt, e.blockedAt);
			for (const [s, b] of e.services) merged.services.set(s, (merged.services.get(s) || 0) + b);
		}
		this.nodes.delete(from);
		this.changed('nodes');
	}

	edge(x, y) {
		const a = Math.min(x, y);
		const b = Math.max(x, y);
		const key = `${a}-${b}`;
		let e = this.edges.get(key);
		if (!e) {
			e = { key, a, b, bytes: 0, packets: 0, rate: 0, avg: 0, active: 0, blockedAt: 0, services: new Map() };
			this.edges.set(key, e);
		}
		return e;
	}

	traffic(res) {
		if (!res || !Array.isArray(res.flows)) return;
		const t = now();
		const perDevice = new Map();
		for (const e of this.edges.values()) e.rate = 0;
		for (const f of res.flows) {
			if (!Number.isInteger(f.from) || !Number.isInteger(f.to)) continue;
			const from = this.ensure(f.from);
			const to = this.ensure(f.to);
			if (!from || !to) continue;
			const size = Number(f.size) || 0;
			const e = this.edge(f.from, f.to);
			e.bytes += size;
			e.packets += Number(f.count) || 0;
			e.rate += size;
			e.active = t;
			// The service is the port of the end that is not the device (the initiator's
			// destination port when both or neither are devices).
			const port = isDevice(from) || !isDevice(to) ? f.to_port : f.from_port;
			const svc = serviceName(f.protocol, port);
			e.services.set(svc, (e.services.get(svc) || 0) + size);
			from.active = t;
			to.active = t;
			for (const d of [from, to]) if (isDevice(d)) perDevice.set(d.id, (perDevice.get(d.id) || 0) + size);
		}
		// The map ranks services by a smoothed rate: one second's bytes would reshuffle it.
		for (const e of this.edges.values()) e.avg += (e.rate - e.avg) * RATE_SMOOTHING;
		const ts = Number(res.timestamp) || Math.round(t);
		push(this.totals, ts, { bytes: Number(res.total_size) || 0, packets: Number(res.total_count) || 0 });
		for (const [id, b] of perDevice) {
			let h = this.deviceHistory.get(id);
			if (!h) this.deviceHistory.set(id, (h = { t: [], bytes: [] }));
			push(h, ts, { bytes: b });
		}
		this.changed('traffic');
	}

	blocked(res) {
		if (!res || !Number.isInteger(res.from) || !Number.isInteger(res.to)) return;
		if (!this.ensure(res.from) || !this.ensure(res.to)) return;
		const e = this.edge(res.from, res.to);
		e.blockedAt = now();
		e.blockedPackets = (e.blockedPackets || 0) + (Number(res.count) || 0);
		this.changed('blocked');
	}

	dnsquery(res) {
		if (!res || !Number.isInteger(res.from) || typeof res.query !== 'string') return;
		let m = this.dns.get(res.from);
		if (!m) this.dns.set(res.from, (m = new Map()));
		m.delete(res.query);
		m.set(res.query, now());
		if (m.size > MAX_DNS_PER_DEVICE) m.delete(m.keys().next().value);
		this.changed('dns');
	}
}

// Appends one sample per timestamp (adding to the last one if the second repeats) and drops
// what is older than the history window.
function push(series, ts, values) {
	const last = series.t.length - 1;
	if (last >= 0 && series.t[last] === ts) {
		for (const k of Object.keys(values)) series[k][last] += values[k];
	} else {
		series.t.push(ts);
		for (const k of Object.keys(values)) series[k].push(values[k]);
	}
	let drop = 0;
	while (drop < series.t.length && series.t[drop] < ts - HISTORY_SECONDS) drop++;
	if (drop) for (const k of Object.keys(series)) series[k].splice(0, drop);
}

function sharesAny(a, b) {
	return a.ips.some((ip) => b.ips.includes(ip)) || a.domains.some((d) => b.domains.includes(d));
}
