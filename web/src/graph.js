// The live map: devices and the remote services they talk to, as a force-directed graph in
// SVG. d3-force lays it out, d3-selection keeps the SVG in step with the model, d3-zoom and
// d3-drag give pan, zoom (mouse and touch) and dragging.
import { forceCollide, forceLink, forceManyBody, forceSimulation, forceX, forceY } from 'd3-force';
import { select } from 'd3-selection';
import { zoom, zoomIdentity, zoomTransform } from 'd3-zoom';
import { drag } from 'd3-drag';
import { clamp, isDevice, nodeName, searchText } from './format.js';
import { placeLabels, textMeasurer } from './labels.js';

const MAX_REMOTES = 200; // beyond this the least active remotes are grouped per device
const STICKY = 1.5; // a drawn remote stays unless another has this much more traffic
const FADE_SECONDS = 300; // activity fades over five minutes
const LABEL_ALL_LINKS_BELOW = 60;
const LABEL_PLACE_MS = 250; // how often moving nodes re-place their labels
// Label order: the selected node and search matches, devices, groups, then traffic.
const PRIORITY = { selected: 4e15, match: 3e15, device: 2e15, group: 1e15 };

function fade(active, t) {
	if (!active) return 0.25;
	return clamp(1 - (t - active) / FADE_SECONDS, 0.25, 1);
}

// From the store to what is drawn: visible nodes (devices, active remotes, one group node per
// device for the rest) and links between them.
// `drawn`: the keys drawn now, so that ranking noise does not swap services in and out.
export function buildModel(store, { windowSec, expanded, selected }, drawn = new Set()) {
	const t = Date.now() / 1000;
	const nodes = new Map();
	const links = [];
	const recent = (e) => windowSec === 0 || e.active >= t - windowSec || e.blockedAt >= t - windowSec;

	for (const d of store.devices()) {
		if (store.isIgnored(d)) continue;
		nodes.set(String(d.id), { key: String(d.id), id: d.id, kind: 'device', node: d });
	}
	// Remote candidates with their activity, most active first.
	const remotes = new Map();
	const traffic = new Map(); // node id -> bytes over its edges
	for (const e of store.edges.values()) {
		traffic.set(e.a, (traffic.get(e.a) || 0) + e.bytes);
		traffic.set(e.b, (traffic.get(e.b) || 0) + e.bytes);
		const na = store.node(e.a);
		const nb = store.node(e.b);
		if (!na || !nb) continue;
		for (const [r, other] of [[nb, na], [na, nb]]) {
			if (isDevice(r) || store.isIgnored(r)) continue;
			let c = remotes.get(r.id);
			if (!c) remotes.set(r.id, (c = { node: r, score: 0, visible: false, devices: new Set() }));
			c.score += e.avg + e.bytes / 3600 + (e.active || 0) / 1e9;
			if (recent(e)) c.visible = true;
			if (isDevice(other)) c.devices.add(other.id);
		}
	}
	for (const c of remotes.values()) if (drawn.has(String(c.node.id))) c.score *= STICKY;
	const ranked = [...remotes.values()].sort((x, y) => y.score - x.score);
	let shown = 0;
	const groups = new Map(); // device id -> count
	for (const c of ranked) {
		const forced = c.node.id === selected || [...c.devices].some((d) => expanded.has(d));
		if (forced || (c.visible && shown < MAX_REMOTES)) {
			nodes.set(String(c.node.id), { key: String(c.node.id), id: c.node.id, kind: 'remote', node: c.node });
			shown++;
		} else {
			for (const d of c.devices) groups.set(d, (groups.get(d) || 0) + 1);
		}
	}
	for (const e of store.edges.values()) {
		const a = nodes.get(String(e.a));
		const b = nodes.get(String(e.b));
		if (!a || !b) continue;
		const services = [...e.services.entries()].sort((x, y) => y[1] - x[1]).map((x) => x[0]);
		links.push({
			key: e.key,
			source: a.key,
			target: b.key,
			rate: e.rate,
			label: services.slice(0, 2).join(', ') + (services.length > 2 ? ', …' : ''),
			opacity: fade(e.active, t),
			blocked: e.blockedAt > 0 && e.blockedAt >= t - FADE_SECONDS,
		});
	}
	for (const [dev, count] of groups) {
		if (!nodes.has(String(dev))) continue;
		const key = `g${dev}`;
		nodes.set(key, { key, id: dev, kind: 'group', count });
		links.push({ key: `${key}-l`, source: String(dev), target: key, rate: 0, label: '', opacity: 0.4, blocked: false });
	}
	for (const n of nodes.values()) {
		if (n.kind === 'group') {
			n.label = `+${n.count} more`;
			n.opacity = 0.8;
			n.r = 9;
			continue;
		}
		n.label = nodeName(n.node);
		n.blocked = store.isBlocked(n.node);
		n.allowed = store.isAllowed(n.node);
		n.opacity = n.kind === 'device' ? 1 : fade(n.node.active, t);
		n.traffic = traffic.get(n.id) || 0;
		n.r = n.kind === 'device' ? 14 : clamp(5 + 2 * Math.log10(n.traffic + 1), 6, 20);
		n.search = searchText(n.node);
	}
	return { nodes: [...nodes.values()], links };
}

export class Graph {
	constructor(svgEl, { onSelect, onExpand }) {
		this.svg = select(svgEl);
		this.onSelect = onSelect;
		this.onExpand = onExpand;
		this.sim = new Map(); // key -> simulation node (keeps positions across updates)
		this.selected = null;
		this.filter = '';
		this.locked = false;
		const family = getComputedStyle(svgEl).fontFamily;
		this.measure = textMeasurer((kind) => (kind === 'device' ? `700 13px ${family}` : `12px ${family}`));
		this.labelsPlacedAt = 0;
		this.viewport = this.svg.append('g').attr('class', 'viewport');
		this.linkLayer = this.viewport.append('g').attr('class', 'links');
		this.labelLayer = this.viewport.append('g').attr('class', 'link-labels');
		this.nodeLayer = this.viewport.append('g').attr('class', 'nodes');
		// Node labels above every circle, so a placed label is never covered.
		this.nodeLabelLayer = this.viewport.append('g').attr('class', 'node-labels');
		this.hovered = null;
		this.zoom = zoom().scaleExtent([0.1, 6]).on('zoom', (ev) => this.viewport.attr('transform', ev.transform));
		this.svg.call(this.zoom).on('dblclick.zoom', null);
		this.simulation = forceSimulation()
			.force('link', forceLink().id((d) => d.key).distance((l) => (l.target.kind === 'device' ? 160 : 70)).strength(0.6))
			.force('charge', forceManyBody().strength((d) => (d.kind === 'device' ? -400 : -90)))
			.force('collide', forceCollide().radius((d) => d.r + 4))
			.force('x', forceX(0).strength(0.04))
			.force('y', forceY(0).strength(0.04))
			.on('tick', () => this.tick())
			.on('end', () => this.placeLabels());
		this.dragging = drag()
			.on('start', (ev, d) => {
				if (!ev.active && !this.locked) this.simulation.alphaTarget(0.2).restart();
				d.fx = d.x;
				d.fy = d.y;
			})
			.on('drag', (ev, d) => {
				d.fx = ev.x;
				d.fy = ev.y;
				if (this.locked) {
					d.x = ev.x;
					d.y = ev.y;
					this.tick();
				}
			})
			.on('end', (ev, d) => {
				if (!ev.active) this.simulation.alphaTarget(0);
				if (!this.locked) {
					d.fx = null;
					d.fy = null;
				}
			});
		this.centre();
		// A window made narrower or wider keeps the middle of the view where it was, instead of
		// leaving nodes under the legend or off the edge until "Fit".
		this.size = this.svg.node().getBoundingClientRect();
		new ResizeObserver(() => this.keepCentre()).observe(svgEl);
	}

	keepCentre() {
		const { width, height } = this.svg.node().getBoundingClientRect();
		const dx = (width - this.size.width) / 2;
		const dy = (height - this.size.height) / 2;
		this.size = { width, height };
		if (!dx && !dy) return;
		const t = zoomTransform(this.svg.node());
		this.svg.call(this.zoom.transform, t.translate(dx / t.k, dy / t.k));
	}

	centre() {
		const { width, height } = this.svg.node().getBoundingClientRect();
		this.svg.call(this.zoom.transform, zoomIdentity.translate(width / 2 || 400, height / 2 || 300));
	}

	update(model) {
		const fresh = new Map();
		let added = false;
		for (const n of model.nodes) {
			let s = this.sim.get(n.key);
			if (!s) {
				added = true;
				s = { key: n.key };
				// A new remote starts next to a device it talks to, so the layout settles fast.
				const anchor = model.links.find((l) => l.target === n.key || l.source === n.key);
				const other = anchor && this.sim.get(anchor.source === n.key ? anchor.target : anchor.source);
				s.x = (other ? other.x : 0) + (Math.random() - 0.5) * 60;
				s.y = (other ? other.y : 0) + (Math.random() - 0.5) * 60;
				if (this.locked) {
					s.fx = s.x;
					s.fy = s.y;
				}
			}
			Object.assign(s, n);
			fresh.set(n.key, s);
		}
		const removed = this.sim.size !== fresh.size || [...this.sim.keys()].some((k) => !fresh.has(k));
		this.sim = fresh;
		const nodes = [...fresh.values()];
		const links = model.links.map((l) => ({ ...l }));
		this.simulation.nodes(nodes);
		this.simulation.force('link').links(links);
		if ((added || removed) && !this.locked) this.simulation.alpha(Math.max(this.simulation.alpha(), 0.4)).restart();
		this.render(nodes, links);
	}

	render(nodes, links) {
		const labelAll = links.length < LABEL_ALL_LINKS_BELOW;
		this.linkSel = this.linkLayer.selectAll('line').data(links, (l) => l.key)
			.join('line')
			.attr('class', (l) => `link${l.blocked ? ' blocked' : ''}`)
			.attr('stroke-width', (l) => clamp(1 + Math.log10(l.rate + 1), 1, 8))
			.attr('stroke-opacity', (l) => l.opacity);
		this.labelSel = this.labelLayer.selectAll('text').data(links.filter((l) => l.label), (l) => l.key)
			.join('text')
			.attr('class', 'link-label')
			.classed('always', labelAll)
			.attr('data-a', (l) => l.source.key)
			.attr('data-b', (l) => l.target.key)
			.text((l) => l.label);
		this.nodeSel = this.nodeLayer.selectAll('g.node').data(nodes, (d) => d.key)
			.join((enter) => {
				const g = enter.append('g').call(this.dragging)
					.on('click', (ev, d) => {
						ev.stopPropagation();
						if (d.kind === 'group') this.onExpand(d.id);
						else this.onSelect(d.id);
					});
				g.on('mouseenter', (ev, d) => this.setHovered(d.key)).on('mouseleave', () => this.setHovered(null));
				g.append('circle');
				g.append('title');
				return g;
			})
			.attr('class', (d) => ['node', d.kind, d.blocked && 'blocked', d.allowed && 'allowed'].filter(Boolean).join(' '))
			.attr('data-id', (d) => d.id)
			.attr('data-key', (d) => d.key)
			.attr('data-label', (d) => d.label)
			.attr('opacity', (d) => d.opacity);
		this.nodeSel.select('circle').attr('r', (d) => d.r);
		this.nodeLabelSel = this.nodeLabelLayer.selectAll('text').data(nodes, (d) => d.key)
			.join('text')
			.attr('class', (d) => ['node-label', d.kind, d.blocked && 'blocked'].filter(Boolean).join(' '))
			.attr('data-key', (d) => d.key)
			.attr('dy', '0.35em')
			.attr('opacity', (d) => d.opacity)
			.text((d) => d.label);
		this.nodeSel.select('title').text((d) => (d.kind === 'group' ? `${d.count} less active services: click to show them` : d.label));
		this.applyHighlight();
		this.tick();
	}

	tick() {
		if (!this.nodeSel) return;
		this.linkSel.attr('x1', (l) => l.source.x).attr('y1', (l) => l.source.y)
			.attr('x2', (l) => l.target.x).attr('y2', (l) => l.target.y);
		this.labelSel.attr('x', (l) => (l.source.x + l.target.x) / 2).attr('y', (l) => (l.source.y + l.target.y) / 2);
		this.nodeSel.attr('transform', (d) => `translate(${d.x},${d.y})`);
		if (performance.now() - this.labelsPlacedAt > LABEL_PLACE_MS) this.placeLabels();
		else this.positionLabels();
	}

	positionLabels() {
		this.nodeLabelSel.attr('x', (d) => d.x + (d.place ? d.place.dx : d.r + 4))
			.attr('y', (d) => d.y + (d.place ? d.place.dy : 0))
			.attr('text-anchor', (d) => (d.place ? d.place.anchor : 'start'));
	}

	labelPriority(d) {
		if (d.key === this.selected) return PRIORITY.selected;
		if (this.filter && (d.search || '').includes(this.filter)) return PRIORITY.match;
		return PRIORITY[d.kind] || d.traffic || 0;
	}

	// Shows the labels that fit (see labels.js); the others show on hover.
	placeLabels() {
		if (!this.nodeSel) return;
		this.labelsPlacedAt = performance.now();
		const nodes = [...this.sim.values()].map((d) => Object.assign(d, { priority: this.labelPriority(d) }));
		const placed = placeLabels(nodes, (d) => ({ w: this.measure(d.label, d.kind), h: d.kind === 'device' ? 16 : 15 }));
		for (const d of nodes) d.place = placed.get(d.key) || null;
		this.nodeSel.classed('label-hidden', (d) => !d.place);
		this.nodeLabelSel.classed('hidden', (d) => !d.place && d.key !== this.hovered);
		this.positionLabels();
	}

	setHovered(key) {
		this.hovered = key;
		if (this.nodeLabelSel) this.nodeLabelSel.classed('hidden', (d) => !d.place && d.key !== key);
	}

	setSelected(id) {
		this.selected = id === null ? null : String(id);
		this.applyHighlight();
	}

	setFilter(text) {
		this.filter = text.trim().toLowerCase();
		this.applyHighlight();
	}

	applyHighlight() {
		if (!this.nodeSel) return;
		const f = this.filter;
		const sel = this.selected;
		this.nodeSel.classed('selected', (d) => d.key === sel)
			.classed('dim', (d) => !!f && !(d.search || '').includes(f))
			.classed('match', (d) => !!f && (d.search || '').includes(f));
		this.nodeLabelSel.classed('dim', (d) => !!f && !(d.search || '').includes(f));
		this.labelSel.classed('focus', (l) => l.source.key === sel || l.target.key === sel);
		this.linkSel.classed('focus', (l) => l.source.key === sel || l.target.key === sel);
		this.placeLabels();
	}

	// Pans to the first drawn node matching the filter (or to the node with that key); returns
	// its id or null.
	focusMatch(key = null) {
		const f = this.filter;
		if (!f && key === null) return null;
		const d = key !== null ? this.sim.get(key) : [...this.sim.values()].find((n) => (n.search || '').includes(f));
		if (!d) return null;
		const { width, height } = this.svg.node().getBoundingClientRect();
		this.svg.call(this.zoom.transform, zoomIdentity.translate(width / 2 - d.x, height / 2 - d.y));
		return d.id;
	}

	setLocked(locked) {
		this.locked = locked;
		for (const d of this.sim.values()) {
			d.fx = locked ? d.x : null;
			d.fy = locked ? d.y : null;
		}
		if (locked) this.simulation.stop();
		else this.simulation.alpha(0.3).restart();
	}

	fit() {
		const nodes = [...this.sim.values()];
		if (!nodes.length) return this.centre();
		const xs = nodes.map((d) => d.x);
		const ys = nodes.map((d) => d.y);
		const [x0, x1, y0, y1] = [Math.min(...xs) - 60, Math.max(...xs) + 160, Math.min(...ys) - 40, Math.max(...ys) + 40];
		const { width, height } = this.svg.node().getBoundingClientRect();
		const k = clamp(Math.min(width / (x1 - x0), height / (y1 - y0)), 0.1, 2);
		this.svg.call(this.zoom.transform, zoomIdentity.translate(width / 2, height / 2).scale(k).translate(-(x0 + x1) / 2, -(y0 + y1) / 2));
	}
}
