// Browser checks of SPIN's web UI, one phase per run, against a chromium that test_ui.sh keeps
// running between phases (so the page lives through a daemon restart). Prints "ok - ..." /
// "not ok - ...: why" lines and exits non-zero when a check failed.
//
//   node tests/ui/ui.mjs PHASE [ARGS...]    environment: UI_URL, UI_CDP, UI_SHOTS
//   phases: open DEVICE-NAMES REMOTE-NAMES | block REMOTE | unblock REMOTE |
//           rename DEVICE NEW-NAME | history DEVICE | down | restart DEVICE-NAMES | views |
//           phone | escaping
import { createRequire } from 'node:module';
import { join } from 'node:path';

const require = createRequire(join(process.cwd(), 'web/package.json'));
const { chromium } = require('playwright-core');

const URL_ = process.env.UI_URL;
const CDP = process.env.UI_CDP;
const SHOTS = process.env.UI_SHOTS;
const WAIT_MS = Number(process.env.UI_WAIT_MS || 30000);
let failed = 0;

function ok(name) {
	console.log(`ok - ${name}`);
}
function fail(name, why) {
	console.log(`not ok - ${name}: ${String(why).split('\n')[0]}`);
	failed++;
}
async function check(name, fn) {
	try {
		const r = await fn();
		ok(r ? `${name} (${r})` : name);
		return true;
	} catch (e) {
		fail(name, e.message);
		return false;
	}
}
const list = (s) => (s || '').split(',').filter(Boolean);
const nodeSel = (label, kind = '') => `#graph g.node${kind ? `.${kind}` : ''}[data-label="${label.replace(/"/g, '\\"')}"]`;

async function shot(page, name) {
	if (!SHOTS) return;
	await check(`screenshot ${name}.png`, async () => {
		await page.screenshot({ path: join(SHOTS, `${name}.png`) });
	});
}

// Clicks a graph node by its circle (the label may lie under a neighbour).
async function clickNode(page, label, kind) {
	const g = page.locator(nodeSel(label, kind)).first();
	await g.waitFor({ timeout: WAIT_MS });
	await g.locator('circle').click();
	await page.locator('#panel .node-title').filter({ hasText: label }).waitFor({ timeout: WAIT_MS });
}

async function notice(page, re) {
	const n = page.locator('#notices .notice').filter({ hasText: re }).last();
	await n.waitFor({ timeout: WAIT_MS });
	return n.textContent();
}

const phases = {
	async open(page, devices, remotes) {
		await check(`page loads from ${URL_}`, async () => {
			const res = await page.goto(URL_, { waitUntil: 'load' });
			if (!res || res.status() !== 200) throw new Error(`HTTP ${res && res.status()}`);
		});
		await check('event stream connects (badge says Live)', () =>
			page.locator('#conn[data-state="connected"]').waitFor({ timeout: WAIT_MS }));
		for (const d of list(devices))
			await check(`graph shows device "${d}" by name`, () => page.locator(nodeSel(d, 'device')).waitFor({ timeout: WAIT_MS }));
		for (const r of list(remotes)) {
			await check(`graph shows remote "${r}" by name`, async () => {
				const alts = r.split('|');
				await page.locator(alts.map((a) => nodeSel(a, 'remote')).join(', ')).first().waitFor({ timeout: WAIT_MS });
			});
		}
		await check('graph draws edges between devices and remotes', async () => {
			const n = await page.locator('#graph line.link').count();
			if (n < list(remotes).length) throw new Error(`actual ${n} edges, expected at least ${list(remotes).length}`);
			return `${n} edges`;
		});
		await check('totals chart has data', async () => {
			await page.waitForFunction(() => window.spin.store.totals.t.length > 2, null, { timeout: WAIT_MS });
		});
		await check('status bar shows the broker connected', () =>
			page.locator('#status .good', { hasText: 'broker connected' }).waitFor({ timeout: WAIT_MS }));
		await page.waitForTimeout(1500);
		await page.click('#fit');
		await page.waitForTimeout(800);
		await shot(page, 'map');
	},

	async block(page, remote) {
		await clickNode(page, remote, 'remote');
		await check(`panel of "${remote}" offers Block`, () => page.locator('#panel [data-action="block"]').waitFor({ timeout: WAIT_MS }));
		await page.click('#panel [data-action="block"]');
		await check('block action reports success', () => notice(page, /Block .*: done/));
		await check(`"${remote}" is drawn as blocked`, () =>
			page.locator(`${nodeSel(remote, 'remote')}.blocked`).waitFor({ timeout: WAIT_MS }));
		await check('block list view lists its address', async () => {
			await page.waitForFunction(() => window.spin.store.lists.block.length > 0, null, { timeout: WAIT_MS });
		});
		await page.waitForTimeout(500);
		await shot(page, 'service');
	},

	async unblock(page, remote) {
		await clickNode(page, remote, 'remote');
		await page.click('#panel [data-action="unblock"]');
		await check('unblock action reports success', () => notice(page, /Unblock .*: done/));
		await check(`"${remote}" is no longer drawn as blocked`, () =>
			page.waitForFunction((sel) => { const n = document.querySelector(sel); return n && !n.classList.contains('blocked'); },
				nodeSel(remote, 'remote'), { timeout: WAIT_MS }));
	},

	async rename(page, device, name) {
		await clickNode(page, device, 'device');
		await page.fill('#panel input[name="device-name"]', name);
		await page.click('#panel [data-action="rename"]');
		await check('rename action reports success', () => notice(page, /Rename to .*: done/));
		await check(`graph shows the new name "${name}"`, () => page.locator(nodeSel(name, 'device')).waitFor({ timeout: WAIT_MS }));
		await check('device page shows recent flows from list_device_flows', () =>
			page.locator('#panel .flows table tbody tr').first().waitFor({ timeout: WAIT_MS }));
		await check('device page has a traffic chart', () => page.locator('#panel .device-chart canvas').waitFor({ timeout: WAIT_MS }));
		await check('device page lists the DNS names it asked for', () => page.locator('#panel ul.dns li').first().waitFor({ timeout: WAIT_MS }));
		await page.waitForTimeout(500);
		await shot(page, 'device');
		await check('an action error is shown with the server message', async () => {
			await page.click('[data-view="lists"]');
			const input = page.locator('.list-block input');
			await input.fill('not-an-address');
			await page.click('.list-block button[type="submit"]');
			const text = await notice(page, /failed/);
			if (!/not-an-address/.test(text) || !/error -?\d+/.test(text)) throw new Error(`notice '${text}'`);
			await page.click('[data-view="map"]');
			return text.replace(/×$/, '');
		});
	},

	// A fresh page: the device page's chart must have spind's history (get_device_history) at
	// once, including minutes before the page existed; names fall back to maker, then MAC.
	async history(page, device) {
		const p = await page.context().newPage();
		await p.setViewportSize({ width: 1400, height: 900 });
		const errors = [];
		p.on('pageerror', (e) => errors.push(e.message));
		const opened = Date.now() / 1000;
		await p.goto(URL_);
		await p.locator('#conn[data-state="connected"]').waitFor({ timeout: WAIT_MS });
		await clickNode(p, device, 'device');
		const clicked = Date.now();
		await check(`device page of "${device}" loads get_device_history right after opening`, async () => {
			await p.waitForFunction(() => document.querySelector('#panel .device-chart')?.dataset.history === 'loaded', null, { timeout: 5000 });
			return `${Date.now() - clicked} ms`;
		});
		await check('the chart has the hour\'s 60 minutes, with traffic from before the page opened', async () => {
			const r = await p.evaluate((openedAt) => {
				const s = window.spin.panel.chartSeries;
				const before = Math.floor(openedAt / 60) * 60;
				let early = 0;
				for (let i = 0; s && i < s.t.length; i++) if (s.t[i] < before) early += s.bytes[i];
				return { n: s ? s.t.length : 0, early, fromServer: s ? s.fromServer : 0 };
			}, opened);
			if (r.n !== 60) throw new Error(`actual ${r.n} points, expected 60`);
			// What spind held when the page opened is the history from before it; the minute
			// buckets alone miss it when all of that traffic fell in the opening minute.
			if (!(r.early > 0 || r.fromServer > 0)) throw new Error(`no traffic from before the page opened (${JSON.stringify(r)})`);
			return `${Math.round(r.fromServer)} bytes from spind`;
		});
		await check('the chart keeps growing with live data', async () => {
			const before = await p.evaluate(() => window.spin.panel.chartSeries.bytes.reduce((a, b) => a + b, 0));
			await p.waitForFunction((b) => window.spin.panel.chartSeries.bytes.reduce((a, x) => a + x, 0) !== b, before, { timeout: WAIT_MS });
		});
		await check('get_device_history answers over the API: 60 minutes, a lab MAC has no vendor', async () => {
			const r = await p.evaluate(async (name) => {
				const call = async (method, params) => (await (await fetch('spin_api/jsonrpc', { method: 'POST', headers: { 'Content-Type': 'application/json' },
					body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) })).json());
				const dev = (await call('list_devices')).result.find((d) => d.name === name);
				const h = (await call('get_device_history', { node: dev.id })).result;
				const bad = await call('get_device_history', { node: 'x' });
				return { vendor: dev.vendor, n: h.bytes.length, p: h.packets.length, sum: h.bytes.reduce((a, b) => a + b, 0), interval: h.interval, end: h.end, bad: bad.error && bad.error.code };
			}, device);
			if (r.n !== 60 || r.p !== 60 || r.interval !== 60 || !(r.sum > 0) || r.end % 60) throw new Error(JSON.stringify(r));
			if (r.vendor !== undefined) throw new Error(`locally administered MAC has vendor ${r.vendor}`);
			if (r.bad !== -32602) throw new Error(`a string node id: error ${r.bad}, expected -32602`);
			return `${r.sum} bytes in the hour`;
		});
		await check('a device without a name shows its maker and MAC tail, else its MAC', async () => {
			await p.evaluate(() => {
				const dev = (id, mac, vendor) => window.spin.store.apply({ topic: `SPIN/traffic/node/${id}`, retain: true,
					payload: { command: 'nodeInfo', result: { id, mac, vendor, lastseen: 1, ips: [], domains: [] } } });
				dev(999997, '00:00:0c:12:34:56', 'Cisco Systems, Inc');
				dev(999998, '02:00:00:12:34:57');
			});
			await p.click('[data-view="devices"]');
			const want = ['Cisco Systems, Inc 12:34:56', '02:00:00:12:34:57'];
			for (const w of want) await p.locator('#device-table td strong', { hasText: w }).first().waitFor({ timeout: 5000 });
			await p.evaluate(() => [999997, 999998].forEach((id) => window.spin.store.apply({ topic: `SPIN/traffic/node/${id}`, retain: true, payload: null })));
			return want.join(' / ');
		});
		if (errors.length) fail('history page: no JavaScript errors', errors[0]);
		else ok('history page: no JavaScript errors');
		await p.close();
	},

	async down(page) {
		await check('page notices the daemon is gone (badge says Reconnecting)', () =>
			page.locator('#conn[data-state="reconnecting"], #conn[data-state="connecting"]').waitFor({ timeout: WAIT_MS }));
		// The page may be back before the next phase looks: remember how many opens it had.
		await page.evaluate(() => (window.spinTestOpensWhenDown = Number(document.body.dataset.connections || 0)));
	},

	async restart(page, devices) {
		const before = Number(await page.evaluate(() => window.spinTestOpensWhenDown));
		await check('page reconnects after the restart (badge says Live again)', async () => {
			await page.waitForFunction((b) => Number(document.body.dataset.connections || 0) > b &&
				document.querySelector('#conn').dataset.state === 'connected', before, { timeout: 60000 });
		});
		for (const d of list(devices))
			await check(`after the restart the graph shows device "${d}"`, () => page.locator(nodeSel(d, 'device')).waitFor({ timeout: WAIT_MS }));
		await check('after the restart the page holds only the new daemon\'s nodes', async () => {
			const ids = await page.evaluate(() => [...window.spin.store.nodes.keys()]);
			const res = await page.evaluate(async () => (await fetch('spin_api/jsonrpc', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"jsonrpc":"2.0","id":1,"method":"list_devices"}' })).json());
			const devs = res.result.map((n) => n.id);
			const missing = devs.filter((id) => !ids.includes(id));
			if (missing.length) throw new Error(`devices ${missing} of the new daemon missing in the page`);
			return `${ids.length} nodes`;
		});
	},

	async views(page) {
		await page.click('[data-view="devices"]');
		await check('device list shows the devices', async () => {
			await page.locator('#device-table tbody tr[data-id]').nth(1).waitFor({ timeout: WAIT_MS });
			return `${await page.locator('#device-table tbody tr[data-id]').count()} rows`;
		});
		await shot(page, 'devices');
		await page.click('[data-view="lists"]');
		await check('lists view shows block, allow and ignore lists', () => page.locator('#lists .list-ignore').waitFor({ timeout: WAIT_MS }));
		await shot(page, 'lists');
		await page.click('[data-view="map"]');
	},

	async phone(page) {
		const ctx = page.context();
		const p = await ctx.newPage();
		await p.setViewportSize({ width: 390, height: 844 });
		await p.goto(URL_);
		await check('phone width: map shows devices', () => p.locator('#graph g.node.device').first().waitFor({ timeout: WAIT_MS }));
		await check('phone width: no horizontal scrolling', async () => {
			const w = await p.evaluate(() => document.documentElement.scrollWidth);
			if (w > 400) throw new Error(`page is ${w} px wide at a 390 px viewport`);
		});
		await p.waitForTimeout(2500);
		await p.click('#fit');
		await p.waitForTimeout(500);
		await shot(p, 'phone');
		await p.close();
	},

	async escaping(page) {
		// A name as a hostile device could announce it (DHCP) or a DNS server could send it.
		const evil = '<img src=x id=spin-xss onerror="window.spinXss=1">&amp;';
		await page.evaluate((name) => window.spin.store.apply({ topic: 'SPIN/traffic/node/999999', retain: true,
			payload: { command: 'nodeInfo', result: { id: 999999, name, mac: '02:00:00:00:99:99', lastseen: 1, ips: [], domains: [] } } }), evil);
		await page.click('[data-view="devices"]');
		await page.waitForTimeout(1200);
		await check('markup in a node name is shown as text, never parsed', async () => {
			const r = await page.evaluate(() => ({
				img: !!document.getElementById('spin-xss'),
				xss: !!window.spinXss,
				text: [...document.querySelectorAll('#graph g.node text.label, #device-table td strong')].some((t) => t.textContent.includes('<img')),
			}));
			if (r.img || r.xss || !r.text) throw new Error(JSON.stringify(r));
		});
		await page.evaluate(() => window.spin.store.apply({ topic: 'SPIN/traffic/node/999999', retain: true, payload: null }));
		await page.click('[data-view="map"]');
	},
};

const [phase, ...args] = process.argv.slice(2);
if (!phases[phase] || !URL_ || !CDP) {
	console.error('usage: UI_URL=... UI_CDP=http://127.0.0.1:PORT node tests/ui/ui.mjs PHASE [ARGS...]');
	process.exit(2);
}
let browser;
try {
	browser = await chromium.connectOverCDP(CDP);
} catch (e) {
	fail(`${phase}: connect to chromium at ${CDP}`, e.message);
	process.exit(1);
}
const ctx = browser.contexts()[0] || (await browser.newContext());
const page = ctx.pages().find((p) => p.url().startsWith(URL_)) || ctx.pages()[0] || (await ctx.newPage());
if (page.viewportSize() === null || page.viewportSize().width !== 1400) await page.setViewportSize({ width: 1400, height: 900 });
const errors = [];
page.on('pageerror', (e) => errors.push(e.message));
try {
	await phases[phase](page, ...args);
} catch (e) {
	fail(`${phase} aborted`, e.message);
}
if (failed && process.env.UI_FAIL_DIR) {
	// What the page looked like when a check failed, for the log.
	await page.screenshot({ path: join(process.env.UI_FAIL_DIR, `failed-${phase}.png`) }).catch(() => {});
	const notices = await page.locator('#notices').textContent().catch(() => '');
	console.log(`# ${phase}: notices on the page: ${notices}`);
}
if (errors.length) fail(`${phase}: no JavaScript errors in the page`, errors[0]);
else ok(`${phase}: no JavaScript errors in the page`);
// Leave the browser running for the next phase: only drop this connection.
await browser.close().catch(() => {});
process.exit(failed ? 1 : 0);
