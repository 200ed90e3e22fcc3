// The status bar: connection to the gateway, the daemon's broker connection and the kernel's
// drop counters from GET /spin_api/status. Unknown fields are left out, not guessed.
import { fetchStatus } from './api.js';
import { el, clear } from './dom.js';

const POLL_MS = 5000;

function find(obj, names) {
	if (!obj || typeof obj !== 'object') return undefined;
	for (const n of names) if (n in obj) return obj[n];
	return undefined;
}

// Lost data: events the kernel could not record (full flow map, full ring buffer). Packets
// dropped on purpose (blocks) are counted apart.
const LOSS = ['map_full', 'ringbuf_full', 'overflow_packets'];
const BLOCKS = ['drop_xdp', 'drop_tc'];

function sum(obj, names) {
	if (!obj || typeof obj !== 'object') return undefined;
	let total;
	for (const n of names) if (typeof obj[n] === 'number') total = (total || 0) + obj[n];
	return total;
}

export class StatusBar {
	constructor(root) {
		this.root = root;
		this.conn = 'connecting';
		this.status = null;
		this.error = null;
		this.poll();
		setInterval(() => this.poll(), POLL_MS);
	}

	setConnection(state) {
		this.conn = state;
		this.render();
	}

	async poll() {
		try {
			this.status = await fetchStatus();
			this.error = null;
		} catch (e) {
			this.error = e.message;
		}
		this.render();
	}

	// Does the server's status say whether captures exist (spind's does)? Then no probing.
	get captureKnown() {
		return find(this.status, ['capture', 'capture_available']) !== undefined;
	}

	get captureAvailable() {
		const s = this.status;
		const c = find(s, ['capture', 'capture_available']);
		return c === true || (c && typeof c === 'object' && c.available === true);
	}

	render() {
		const s = this.status || {};
		const items = [el('span', { class: `dot ${this.conn}`, text: this.conn === 'connected' ? 'Live' : this.conn })];
		const version = find(s, ['version']);
		if (version) items.push(el('span', { text: `spind ${version}` }));
		const broker = find(s, ['broker', 'mqtt', 'pubsub']);
		const up = typeof broker === 'object' && broker ? find(broker, ['connected', 'up']) : broker;
		if (up !== undefined) items.push(el('span', { class: up ? 'good' : 'bad', text: `broker ${up ? 'connected' : 'disconnected'}` }));
		const ifs = find(s, ['interfaces']);
		if (Array.isArray(ifs) && ifs.length)
			items.push(el('span', { text: `on ${ifs.map((i) => (typeof i === 'string' ? i : i && i.name) || '?').join(', ')}` }));
		const kernel = find(s, ['kernel']);
		const lost = sum(kernel, LOSS);
		if (lost !== undefined) items.push(el('span', { class: lost ? 'bad' : 'good', text: `kernel drops ${lost}`, title: LOSS.join(', ') }));
		const blocked = sum(kernel, BLOCKS);
		if (blocked !== undefined) items.push(el('span', { text: `packets blocked ${blocked}` }));
		// spind's node cache also holds nodes no message named yet (a name from DNS, never in a
		// flow), so it can count more than the page knows; and it is read every 5 s.
		if (typeof s.nodes === 'number')
			items.push(el('span', { text: `${s.nodes} nodes in spind`, title: "nodes in spind's cache (read every 5 s), including names not yet seen in traffic" }));
		if (this.error) items.push(el('span', { class: 'bad', text: `status: ${this.error}` }));
		clear(this.root).append(...items);
	}
}
