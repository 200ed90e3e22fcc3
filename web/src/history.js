// A device's traffic over the last hour, one point per minute: what spind counted before the
// page asked (get_device_history), extended with the live traffic messages that came after.
// Times are the gateway's clock (the messages' timestamps), never the browser's.
const MINUTE = 60;
const MINUTES = 60;

// server: get_device_history's result or null; live: the store's {t: [], bytes: []} or
// undefined; nowSec: the browser's time, used only when nothing else tells the time.
// Returns {t: [minute starts], bytes: [average bytes/s in that minute]} for the 60 minutes up
// to the newest one, plus fromServer: the bytes that came from the server's buckets.
export function minuteSeries(server, live, nowSec) {
	const buckets = new Map();
	let newest = -Infinity;
	let latest = -Infinity; // the newest gateway time known
	let updated = -Infinity;
	let fromServer = 0;
	const add = (start, b) => buckets.set(start, (buckets.get(start) || 0) + b);
	if (server && Array.isArray(server.bytes) && Number.isFinite(server.end)) {
		const step = Number(server.interval) || MINUTE;
		const n = Math.min(server.bytes.length, MINUTES);
		for (let i = 0; i < n; i++) {
			const b = Number(server.bytes[server.bytes.length - n + i]) || 0;
			if (b > 0) add(Math.floor((server.end - (n - i) * step) / MINUTE) * MINUTE, b);
			fromServer += b > 0 ? b : 0;
		}
		newest = Math.floor((server.end - step) / MINUTE) * MINUTE;
		updated = Number(server.updated) || -Infinity;
		latest = updated;
	}
	if (live && Array.isArray(live.t)) {
		for (let i = 0; i < live.t.length; i++) {
			const ts = live.t[i];
			if (!(ts > updated)) continue; // already in the server's buckets
			const start = Math.floor(ts / MINUTE) * MINUTE;
			add(start, Number(live.bytes[i]) || 0);
			newest = Math.max(newest, start);
			latest = Math.max(latest, ts);
		}
	}
	if (!Number.isFinite(newest)) newest = Math.floor(nowSec / MINUTE) * MINUTE;
	const t = [];
	const bytes = [];
	for (let start = newest - (MINUTES - 1) * MINUTE; start <= newest; start += MINUTE) {
		// The current minute is still filling: its average is over the seconds it has had.
		const secs = start === newest && Number.isFinite(latest) ? Math.min(MINUTE, Math.max(5, latest - start + 1)) : MINUTE;
		t.push(start);
		bytes.push((buckets.get(start) || 0) / secs);
	}
	return { t, bytes, fromServer };
}
