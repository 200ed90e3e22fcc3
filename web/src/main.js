// Wires the modules together: the event stream feeds the store, the store's changes redraw
// the views (at most a few times a second), user actions go through the API.
import { connectEvents, probe } from './api.js';
import { RateChart } from './chart.js';
import { $ } from './dom.js';
import { Graph, buildModel } from './graph.js';
import { DetailsPanel, renderDeviceTable, renderLists } from './panels.js';
import { StatusBar } from './status.js';
import { Store } from './store.js';

const REDRAW_MS = 400;
const FADE_REDRAW_MS = 5000;
const RESELECT_MS = 60000;

const store = new Store();
const status = new StatusBar($('#status'));
let captureProbed = false;
let captureFound = false;
let reselect = null; // {node, at}: the panel open when the event stream restarted, and when
const state = { view: 'map', selected: null, expanded: new Set(), windowSec: 600 };

const graph = new Graph($('#graph'), {
	onSelect: (id) => select(id),
	onExpand: (deviceId) => {
		state.expanded.add(deviceId);
		redraw();
	},
});
const totals = new RateChart($('#totals-chart'), { height: 110 });
const panel = new DetailsPanel($('#panel'), store, {
	captureAvailable: () => status.captureAvailable || captureFound,
});
panel.onClose = () => select(null);

function select(id) {
	reselect = null;
	state.selected = id;
	graph.setSelected(id);
	panel.show(id);
	document.body.classList.toggle('has-selection', id !== null);
	redraw();
}

function setView(view) {
	state.view = view;
	for (const b of document.querySelectorAll('[data-view]')) b.setAttribute('aria-selected', String(b.dataset.view === view));
	for (const v of ['map', 'devices', 'lists']) $(`#view-${v}`).hidden = v !== view;
	redraw();
}

// Reopens the panel that a reconnect closed, once its node is back: at a redraw, not on every
// message of the replay (each search walks every node). A node still missing after
// RESELECT_MS is taken as gone, so its panel does not pop up later on its own.
function followReselect() {
	if (!reselect) return;
	if (Date.now() - reselect.at > RESELECT_MS) {
		reselect = null;
		return;
	}
	const n = store.findSame(reselect.node);
	if (n) select(n.id);
}

function drawNow() {
	followReselect();
	const model = buildModel(store, state, new Set(graph.sim.keys()));
	graph.update(model);
	const remotes = model.nodes.filter((n) => n.kind === 'remote').length;
	const devices = model.nodes.filter((n) => n.kind === 'device').length;
	$('#map-summary').textContent = `${devices} devices, ${remotes} services shown, ${store.nodes.size} nodes known`;
	totals.set(store.totals);
	if (state.view === 'devices') renderDeviceTable($('#device-table tbody'), store, select);
	if (state.view === 'lists') renderLists($('#lists'), store);
	panel.refresh();
}

let pending = null;
function redraw() {
	if (pending) return;
	pending = setTimeout(() => {
		pending = null;
		drawNow();
	}, REDRAW_MS);
}

store.addEventListener('change', redraw);
setInterval(redraw, FADE_REDRAW_MS);

connectEvents({
	onMessage: (msg) => store.apply(msg),
	onReset: () => {
		// A fresh connection replays the full state: start from nothing so that nodes the
		// daemon forgot (it may have restarted) disappear. A restarted daemon numbers its
		// nodes anew: the open panel follows its node by MAC or address, not by id.
		const open = state.selected !== null && store.node(state.selected);
		if (state.selected !== null) select(null);
		reselect = open && !open.placeholder ? { node: open, at: Date.now() } : null;
		store.reset();
		document.body.dataset.connections = String(Number(document.body.dataset.connections || 0) + 1);
	},
	onState: (s) => {
		const badge = $('#conn');
		badge.dataset.state = s;
		badge.textContent = { connecting: 'Connecting…', connected: 'Live', reconnecting: 'Reconnecting…' }[s] || s;
		status.setConnection(s);
		if (s === 'connected' && !captureProbed) {
			captureProbed = true;
			// only a server whose status does not say (the first SPIN's) is probed: a HEAD
			// request answered 405 shows as an error in the browser's console
			status.poll().then(() => {
				if (!status.captureKnown) probe('spin_api/capture_stop?device=00:00:00:00:00:00').then((ok) => (captureFound = ok));
			});
		}
	},
});

for (const b of document.querySelectorAll('[data-view]')) b.addEventListener('click', () => setView(b.dataset.view));
$('#search').addEventListener('input', (ev) => graph.setFilter(ev.target.value));
$('#search').addEventListener('keydown', (ev) => {
	if (ev.key !== 'Enter') return;
	const id = graph.focusMatch();
	if (id !== null) return select(id);
	// Not drawn (grouped away, or outside the time window): selecting it draws it.
	const n = graph.filter && store.find(graph.filter);
	if (!n) return;
	select(n.id);
	drawNow();
	graph.focusMatch(String(n.id));
});
$('#lock').addEventListener('click', (ev) => {
	const locked = ev.currentTarget.getAttribute('aria-pressed') !== 'true';
	ev.currentTarget.setAttribute('aria-pressed', String(locked));
	ev.currentTarget.textContent = locked ? 'Unlock layout' : 'Lock layout';
	graph.setLocked(locked);
});
$('#fit').addEventListener('click', () => graph.fit());
$('#window').addEventListener('change', (ev) => {
	state.windowSec = Number(ev.target.value);
	state.expanded.clear();
	redraw();
});
$('#graph').addEventListener('click', () => state.selected !== null && select(null));

// For tests and debugging: read-only access to what the page believes.
window.spin = { store, graph, state, panel, drawNow };
