// Traffic charts (uPlot: small, fast, canvas): bytes per second over the last hour.
import uPlot from 'uplot';
import { bytes } from './format.js';

export class RateChart {
	constructor(container, { height = 120, label = 'bytes/s', color = '#2563eb' } = {}) {
		this.container = container;
		this.height = height;
		this.plot = new uPlot({
			width: this.width(),
			height,
			legend: { show: false },
			cursor: { y: false },
			scales: { x: { time: true, range: (u, min, max) => [Math.min(min, max - 300), max] }, y: { range: (u, min, max) => [0, Math.max(max * 1.1, 1000)] } },
			axes: [
				{ stroke: '#64748b', grid: { stroke: '#e2e8f0' } },
				{ stroke: '#64748b', grid: { stroke: '#e2e8f0' }, size: 80, values: (u, vals) => vals.map((v) => `${bytes(v)}/s`) },
			],
			series: [{}, { label, stroke: color, width: 1.5, fill: `${color}22`, points: { show: false } }],
		}, [[], []], container);
		this.resizeObserver = new ResizeObserver(() => this.plot.setSize({ width: this.width(), height }));
		this.resizeObserver.observe(container);
	}

	width() {
		return Math.max(200, this.container.clientWidth || 600);
	}

	// series: {t: [unix s], bytes: [n]}, one sample per `step` seconds at most; gaps (steps
	// without traffic) are drawn as zero.
	set(series, step = 1) {
		const t = [];
		const v = [];
		for (let i = 0; i < series.t.length; i++) {
			if (i > 0 && series.t[i] - series.t[i - 1] > step) {
				t.push(series.t[i - 1] + step, series.t[i] - step);
				v.push(0, 0);
			}
			t.push(series.t[i]);
			v.push(series.bytes[i]);
		}
		this.plot.setData([t, v]);
	}

	destroy() {
		this.resizeObserver.disconnect();
		this.plot.destroy();
	}
}
