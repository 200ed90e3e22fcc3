// Which node labels the map can show without two of them overlapping. With 50 devices and a
// few hundred services every label drawn is every label unreadable, so labels are placed
// greedily by importance (devices, the selected node and search matches first, then the
// services with the most traffic) and a label that would cover one already placed, or another
// node's circle, is hidden;
// its node keeps its circle, its tooltip, and shows the label on hover or selection.

const CELL = 64; // grid cell (graph units) of the spatial index: a label touches few cells

// Text widths from a canvas in the page's own font, cached per font and string: exact enough
// for overlap tests and without a DOM layout per label.
export function textMeasurer(fontFor) {
	const ctx = document.createElement('canvas').getContext('2d');
	const cache = new Map();
	return (text, kind) => {
		const font = fontFor(kind);
		const key = `${font}\n${text}`;
		let w = cache.get(key);
		if (w === undefined) {
			ctx.font = font;
			w = ctx.measureText(text).width;
			if (cache.size > 5000) cache.clear();
			cache.set(key, w);
		}
		return w;
	};
}

// Where a label may go, in order of preference: right of its circle, left, below, above,
// then the four corners (in a crowd of devices the sides are often taken, a corner not).
// dx/dy: the text's anchor point from the node's centre.
function candidates(d, w, h) {
	const gap = d.r + 4;
	const v = d.r + h / 2 + 1;
	const side = (dx, dy, anchor) => {
		const x0 = anchor === 'start' ? d.x + dx : anchor === 'end' ? d.x + dx - w : d.x + dx - w / 2;
		return { dx, dy, anchor, x0, x1: x0 + w, y0: d.y + dy - h / 2, y1: d.y + dy + h / 2 };
	};
	const corner = d.r * 0.7 + 2; // just off the circle's diagonal
	return [
		side(gap, 0, 'start'),
		side(-gap, 0, 'end'),
		side(0, v, 'middle'),
		side(0, -v, 'middle'),
		side(corner, corner + h / 2, 'start'),
		side(corner, -corner - h / 2, 'start'),
		side(-corner, corner + h / 2, 'end'),
		side(-corner, -corner - h / 2, 'end'),
	];
}

function overlaps(a, b) {
	return a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;
}

function cells(b) {
	const out = [];
	for (let cx = Math.floor(b.x0 / CELL); cx <= Math.floor(b.x1 / CELL); cx++)
		for (let cy = Math.floor(b.y0 / CELL); cy <= Math.floor(b.y1 / CELL); cy++) out.push(`${cx},${cy}`);
	return out;
}

function add(grid, b) {
	for (const k of cells(b)) {
		if (!grid.has(k)) grid.set(k, []);
		grid.get(k).push(b);
	}
}

// nodes: [{key, x, y, r, label, priority, kind}]; size(d) -> {w, h} of its label in graph
// units. Returns key -> {dx, dy, anchor} for the labels shown, placed most important first.
// A label covers neither another label nor another node's circle (text over a circle reads as
// that node's); a device's label, when every place is over some circle, may take a place that
// is only free of labels: devices are what the map is about.
export function placeLabels(nodes, size) {
	const grid = new Map();
	const placed = new Map();
	const drawn = nodes.filter((d) => Number.isFinite(d.x) && Number.isFinite(d.y));
	const order = drawn.filter((d) => d.label).sort((a, b) => b.priority - a.priority);
	for (const d of drawn)
		add(grid, { x0: d.x - d.r, x1: d.x + d.r, y0: d.y - d.r, y1: d.y + d.r, circle: d.key });
	const free = (b, owner, circles) => cells(b).every((k) =>
		!(grid.get(k) || []).some((o) => o.circle !== owner && (circles || !o.circle) && overlaps(b, o)));
	for (const d of order) {
		const { w, h } = size(d);
		const c = candidates(d, w + 2, h);
		const b = c.find((x) => free(x, d.key, true)) || (d.kind === 'device' && c.find((x) => free(x, d.key, false)));
		if (!b) continue;
		add(grid, b);
		placed.set(d.key, { dx: b.dx, dy: b.dy, anchor: b.anchor });
	}
	return placed;
}
