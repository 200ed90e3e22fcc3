// The side panel (a device page or a service's details, with their actions), the device
// table and the block/allow/ignore lists.
import { captureStop, captureUrl, rpc } from './api.js';
import { act, notify } from './actions.js';
import { RateChart } from './chart.js';
import { el, clear } from './dom.js';
import { ago, bytes, isDevice, lastSeen, nodeName, serviceName, stripDot } from './format.js';
import { minuteSeries } from './history.js';

const FLOWS_REFRESH_MS = 5000;

function chips(store, n) {
	const c = [];
	if (store.isBlocked(n)) c.push(el('span', { class: 'chip blocked', text: 'blocked' }));
	if (store.isAllowed(n)) c.push(el('span', { class: 'chip allowed', text: 'allowed' }));
	if (store.isIgnored(n)) c.push(el('span', { class: 'chip ignored', text: 'ignored' }));
	return c;
}

function dl(pairs) {
	const d = el('dl');
	for (const [k, v] of pairs) {
		if (v === undefined || v === null || v === '' || (Array.isArray(v) && !v.length)) continue;
		d.append(el('dt', { text: k }), el('dd', { class: k === 'Last seen' ? 'lastseen' : null, text: Array.isArray(v) ? v.join(', ') : v }));
	}
	return d;
}

// The three list toggles, shared by devices and services.
function listButtons(store, n) {
	const name = nodeName(n);
	const toggle = (list, on, addLabel, removeLabel) => {
		const b = el('button', {
			class: on ? 'on' : '',
			'data-action': `${on ? 'un' : ''}${list}`,
			text: on ? removeLabel : addLabel,
		});
		b.onclick = () => act(`${on ? removeLabel : addLabel} ${name}`, on ? 'remove_iplist_node' : 'add_iplist_node', { list, node: n.id }, b);
		return b;
	};
	return el('div', { class: 'actions' },
		toggle('block', store.isBlocked(n), 'Block', 'Unblock'),
		toggle('allow', store.isAllowed(n), 'Allow', 'Remove from allow list'),
		toggle('ignore', store.isIgnored(n), 'Ignore', 'Stop ignoring'));
}

// "Download capture" streams the device's frames to a pcap file (the browser's download) until
// "Stop capture" or a server limit ends it.
function captureButtons(n) {
	const name = nodeName(n);
	let url;
	try {
		url = captureUrl(n.mac);
	} catch {
		return [];
	}
	const stop = el('button', { type: 'button', 'data-action': 'capture-stop', text: 'Stop capture', hidden: true });
	const cap = el('a', { class: 'button', href: url, download: `spin-${n.mac.replace(/:/g, '')}.pcap`, 'data-action': 'capture', text: 'Download capture' });
	cap.onclick = () => {
		stop.hidden = false;
		notify(`Capture of ${name} started: the download runs until you stop it or a limit ends it`, 'info');
	};
	stop.onclick = async () => {
		stop.disabled = true;
		try {
			const ended = await captureStop(n.mac);
			notify(ended ? `Capture of ${name} stopped` : `No capture of ${name} was running`, 'success');
			stop.hidden = true;
		} catch (e) {
			notify(`Stopping the capture of ${name} failed: ${e.message}${e.code ? ` (error ${e.code})` : ''}`, 'error');
		} finally {
			stop.disabled = false;
		}
	};
	return [cap, stop];
}

export class DetailsPanel {
	constructor(root, store, { captureAvailable }) {
		this.root = root;
		this.store = store;
		this.captureAvailable = captureAvailable;
		this.id = null;
		this.chart = null;
		this.flows = null;
		this.flowBlocks = new Set();
		this.timer = null;
		this.history = null; // get_device_history's answer for the open device
		this.chartSeries = null;
	}

	show(id) {
		if (this.timer) clearInterval(this.timer);
		this.timer = null;
		if (this.chart) this.chart.destroy();
		this.chart = null;
		this.id = id;
		this.flows = null;
		this.history = null;
		this.chartSeries = null;
		clear(this.root);
		const n = id === null ? null : this.store.node(id);
		this.device = !!n && isDevice(n);
		if (!n) {
			this.root.append(el('p', { class: 'muted', text: 'Click a device or a service on the map for its details and actions.' }));
			return;
		}
		this.root.append(el('button', { class: 'close-panel', 'aria-label': 'Close', text: '×', onclick: () => this.onClose && this.onClose() }));
		this.header = el('div');
		this.live = el('div');
		this.root.append(this.header);
		if (isDevice(n)) this.buildDevice(n);
		else this.buildRemote(n);
		this.root.append(this.live);
		this.refresh();
		this.timer = setInterval(() => this.loadSlow(), FLOWS_REFRESH_MS);
		this.loadSlow();
		if (isDevice(n)) this.loadHistory(n);
	}

	// Once per opening: spind's last hour of the device; live traffic extends it (refresh).
	async loadHistory(n) {
		const id = n.id;
		let h;
		try {
			h = await rpc('get_device_history', { node: id });
		} catch (e) {
			if (this.id === id && this.chartBox) {
				this.chartBox.dataset.history = 'failed';
				this.chartNote.textContent = `Earlier traffic unavailable (${e.message}): showing what this page saw.`;
			}
			return;
		}
		if (this.id !== id || !h || !Array.isArray(h.bytes)) return;
		this.history = h;
		this.chartBox.dataset.history = 'loaded';
		this.refresh();
	}

	buildDevice(n) {
		const input = el('input', { type: 'text', maxlength: 64, value: n.name || '', placeholder: 'Name this device', 'aria-label': 'Device name', name: 'device-name' });
		const save = el('button', { type: 'submit', 'data-action': 'rename', text: 'Rename' });
		const form = el('form', { class: 'rename' }, input, save);
		form.onsubmit = async (ev) => {
			ev.preventDefault();
			const name = input.value.trim();
			if (!name && !n.name) return notify('Type a name for this device', 'error');
			if (!name) return act('Clear the name', 'set_device_name', { node: n.id, name: '' }, save);
			if (/[<>"'&]/.test(name)) return notify('A device name cannot contain < > " \' or &', 'error');
			await act(`Rename to ${name}`, 'set_device_name', { node: n.id, name }, save);
		};
		const extra = el('div', { class: 'actions' });
		if (this.captureAvailable()) extra.append(...captureButtons(n));
		const chartBox = el('div', { class: 'device-chart' });
		this.chartBox = chartBox;
		this.chartNote = el('p', { class: 'muted' });
		this.root.append(form, extra, el('h3', { text: 'Traffic, last hour (average per minute)' }), chartBox, this.chartNote);
		this.chart = new RateChart(chartBox, { height: 110, color: '#0891b2' });
		this.flowsBox = el('div', { class: 'flows' }, el('p', { class: 'muted', text: 'Loading flows…' }));
		this.dnsBox = el('div');
		this.root.append(el('h3', { text: 'Recent flows' }), this.flowsBox, el('h3', { text: 'DNS names it asked for' }), this.dnsBox);
	}

	buildRemote() {
		this.talkers = el('div');
		this.root.append(el('h3', { text: 'Devices talking to it' }), this.talkers);
	}

	// Cheap, from the store: called on every change.
	refresh() {
		const n = this.id === null ? null : this.store.node(this.id);
		if (!n) {
			if (this.id !== null) this.show(null);
			return;
		}
		// After a reconnect a flow can name a device before its nodeInfo (with the MAC) arrives:
		// keep the device panel until it does.
		if (n.placeholder && this.device) return;
		const device = isDevice(n);
		// The device and service panels differ: a node that changed kind gets the other one.
		if (device !== this.device) {
			this.show(this.id);
			return;
		}
		// Rebuilt only when what it shows changes: a button replaced between mouse down and
		// up loses the click.
		const info = [nodeName(n), n.mac, n.vendor, n.name, n.domains, n.ips,
			this.store.isBlocked(n), this.store.isAllowed(n), this.store.isIgnored(n)];
		if (changed(this.header, info)) {
			clear(this.header).append(
				el('h2', { class: 'node-title', text: nodeName(n) }),
				el('div', { class: 'chips' }, el('span', { class: 'chip', text: device ? 'device' : 'service' }), ...chips(this.store, n)),
				dl([
					['MAC', n.mac],
					['Maker', n.vendor],
					['Name', n.name],
					['Domains', (n.domains || []).map(stripDot)],
					['Addresses', n.ips],
					['Last seen', ago(lastSeen(n))],
				]),
				listButtons(this.store, n));
		}
		const seen = this.header.querySelector('dd.lastseen');
		if (seen) seen.textContent = ago(lastSeen(n));
		if (device) {
			this.chartSeries = minuteSeries(this.history, this.store.deviceHistory.get(n.id), Date.now() / 1000);
			if (this.chart) this.chart.set(this.chartSeries, 60);
			this.renderDns(n);
		} else {
			this.renderTalkers(n);
		}
	}

	// Slow, through the API: flows of a device, flow blocks.
	async loadSlow() {
		const id = this.id;
		const n = this.store.node(id);
		if (!n) return;
		try {
			const blocks = await rpc('get_flow_block');
			this.flowBlocks = new Set((blocks || []).map((b) => `${Math.min(b.node1, b.node2)}-${Math.max(b.node1, b.node2)}`));
			if (isDevice(n)) this.flows = await rpc('list_device_flows', { device: n.mac });
		} catch (e) {
			if (this.id === id && this.flowsBox) delete this.flowsBox.dataset.sig;
			if (this.id === id && this.flowsBox) clear(this.flowsBox).append(el('p', { class: 'bad', text: `Could not load flows: ${e.message}` }));
			return;
		}
		// The panel may show another node by now, or this one as the other kind.
		const now = this.store.node(id);
		if (this.id !== id || !now || isDevice(now) !== this.device) return;
		if (this.device) this.renderFlows(now);
		else this.renderTalkers(now);
	}

	flowBlocked(a, b) {
		return this.flowBlocks.has(`${Math.min(a, b)}-${Math.max(a, b)}`);
	}

	flowBlockButton(device, remote) {
		const blocked = this.flowBlocked(device.id, remote.id);
		const b = el('button', { 'data-action': blocked ? 'unblock-flow' : 'block-flow', class: blocked ? 'on' : '', text: blocked ? 'Unblock' : 'Block' });
		b.title = `${blocked ? 'Unblock' : 'Block'} traffic between ${nodeName(device)} and ${nodeName(remote)}`;
		b.onclick = async () => {
			const ok = await act(`${blocked ? 'Unblock' : 'Block'} ${nodeName(device)} ↔ ${nodeName(remote)}`, 'set_device_flow_block',
				{ device: device.mac, node: remote.id, block: blocked ? 0 : 1 }, b);
			if (ok) this.loadSlow();
		};
		return b;
	}

	renderFlows(device) {
		if (!this.flowsBox) return;
		const rows = (this.flows || []).slice().sort((x, y) => (y.lastseen || 0) - (x.lastseen || 0)).slice(0, 100);
		if (!changed(this.flowsBox, [rows, [...this.flowBlocks]])) return;
		if (!rows.length) {
			clear(this.flowsBox).append(el('p', { class: 'muted', text: 'No flows yet.' }));
			return;
		}
		const tbody = el('tbody');
		for (const f of rows) {
			const remote = this.store.node(f.to) || { id: f.to, ips: [], domains: [] };
			const svc = f.icmp_type && !f.dst_port ? `icmp type ${f.icmp_type}` : f.dst_port ? serviceName(6, f.dst_port) : '-';
			tbody.append(el('tr', { class: f.blocked ? 'blocked' : '' },
				el('td', { text: nodeName(remote) }),
				el('td', { text: svc }),
				el('td', { text: f.blocked ? 'blocked' : bytes(f.bytes) }),
				el('td', { text: f.blocked ? '' : ago(f.lastseen) }),
				el('td', {}, remote.placeholder ? '' : this.flowBlockButton(device, remote))));
		}
		clear(this.flowsBox).append(el('table', { class: 'table compact' },
			el('thead', {}, el('tr', {}, ...['Remote', 'Service', 'Bytes', 'Last', ''].map((h) => el('th', { text: h })))), tbody));
	}

	renderDns(n) {
		const m = this.store.dns.get(n.id);
		const names = m ? [...m.entries()].reverse() : [];
		if (!names.length) {
			clear(this.dnsBox).append(el('p', { class: 'muted', text: 'None since this page opened.' }));
			return;
		}
		clear(this.dnsBox).append(el('ul', { class: 'dns' }, ...names.slice(0, 50).map(([q, t]) => el('li', {}, el('span', { text: stripDot(q) }), el('span', { class: 'muted', text: ` ${ago(t)}` })))));
	}

	renderTalkers(n) {
		const rows = [];
		for (const e of this.store.edgesOf(n.id)) {
			const other = this.store.node(e.a === n.id ? e.b : e.a);
			if (other && isDevice(other)) rows.push({ e, other });
		}
		const text = ({ e }) => ` ${[...e.services.keys()].join(', ')} · ${bytes(e.bytes)} · ${ago(e.active)}`;
		const shape = rows.map(({ other }) => [other.id, nodeName(other), this.flowBlocked(other.id, n.id)]);
		if (!changed(this.talkers, shape)) {
			this.talkers.querySelectorAll('li .muted').forEach((span, i) => rows[i] && (span.textContent = text(rows[i])));
			return;
		}
		clear(this.talkers).append(rows.length
			? el('ul', { class: 'talkers' }, ...rows.map((r) => el('li', {},
				el('span', { class: 'who', text: nodeName(r.other) }),
				el('span', { class: 'muted', text: text(r) }),
				this.flowBlockButton(r.other, n))))
			: el('p', { class: 'muted', text: 'No device traffic seen since this page opened.' }));
	}
}

// Remembers what a container last showed; true when `data` differs (and it must be redrawn).
function changed(container, data) {
	const sig = JSON.stringify(data);
	if (container.dataset.sig === sig) return false;
	container.dataset.sig = sig;
	return true;
}

export function renderDeviceTable(tbody, store, onSelect) {
	const devices = store.devices().sort((a, b) => nodeName(a).localeCompare(nodeName(b)));
	const traffic = (d) => {
		const h = store.deviceHistory.get(d.id);
		return bytes(h ? h.bytes.reduce((s, b) => s + b, 0) : 0);
	};
	const shape = devices.map((d) => [d.id, nodeName(d), d.mac, d.ips, store.isBlocked(d), store.isAllowed(d), store.isIgnored(d)]);
	if (!changed(tbody, shape)) {
		// Only the moving columns; rows stay put so clicks land.
		tbody.querySelectorAll('tr[data-id]').forEach((tr, i) => {
			const d = devices[i];
			if (!d) return;
			tr.cells[3].textContent = ago(lastSeen(d));
			tr.cells[4].textContent = traffic(d);
		});
		return;
	}
	clear(tbody);
	for (const d of devices) {
		const tr = el('tr', { tabindex: 0, 'data-id': d.id },
			el('td', {}, el('strong', { text: nodeName(d) }), ...chips(store, d)),
			el('td', { text: d.mac }),
			el('td', { text: d.ips.join(', ') }),
			el('td', { text: ago(lastSeen(d)) }),
			el('td', { text: traffic(d) }));
		tr.onclick = () => onSelect(d.id);
		tr.onkeydown = (ev) => ev.key === 'Enter' && onSelect(d.id);
		tbody.append(tr);
	}
	if (!devices.length) tbody.append(el('tr', {}, el('td', { colspan: 5, class: 'muted', text: 'No devices seen yet.' })));
}

const LIST_HELP = {
	block: 'Traffic to and from these addresses is dropped.',
	allow: 'These addresses are never blocked.',
	ignore: 'Traffic of these addresses is not shown.',
};

export function renderLists(root, store) {
	const byIp = new Map();
	for (const n of store.nodes.values()) for (const ip of n.ips || []) byIp.set(ip, n);
	// Redrawn only when a list or a listed node's name changes: keeps what is being typed.
	const shape = ['block', 'allow', 'ignore'].map((l) => store.lists[l].map((ip) => [ip, byIp.has(ip) ? nodeName(byIp.get(ip)) : '']));
	if (!changed(root, shape)) return;
	clear(root);
	for (const list of ['block', 'allow', 'ignore']) {
		const items = store.lists[list];
		const ul = el('ul');
		for (const ip of items) {
			const n = byIp.get(ip);
			const b = el('button', { 'data-action': `remove-${list}`, text: 'Remove' });
			b.onclick = () => act(`Remove ${ip} from the ${list} list`, 'remove_iplist_ip', { list, ip }, b);
			ul.append(el('li', {}, el('code', { text: ip }), n ? el('span', { class: 'muted', text: ` ${nodeName(n)}` }) : '', b));
		}
		if (!items.length) ul.append(el('li', { class: 'muted', text: 'empty' }));
		const input = el('input', { type: 'text', placeholder: 'IP address', 'aria-label': `Address to add to the ${list} list`, maxlength: 45 });
		const add = el('button', { type: 'submit', text: 'Add' });
		const form = el('form', { class: 'add-ip' }, input, add);
		form.onsubmit = async (ev) => {
			ev.preventDefault();
			const ip = input.value.trim();
			if (!ip) return;
			if (await act(`Add ${ip} to the ${list} list`, 'add_iplist_ip', { list, ip }, add)) input.value = '';
		};
		const section = el('section', { class: `list list-${list}` }, el('h2', { text: `${list[0].toUpperCase()}${list.slice(1)} list (${items.length})` }),
			el('p', { class: 'muted', text: LIST_HELP[list] }), ul, form);
		if (list === 'ignore') {
			const reset = el('button', { text: 'Reset to the gateway’s own addresses' });
			reset.onclick = () => act('Reset the ignore list', 'reset_iplist_ignore', null, reset);
			section.append(reset);
		}
		root.append(section);
	}
}
