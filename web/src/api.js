// The web API, same origin as the page: JSON-RPC for actions and questions, Server-Sent
// Events for the live MQTT messages, and a status document for the status bar.

const RPC_URL = 'spin_api/jsonrpc';
const EVENTS_URL = 'spin_api/events';
const STATUS_URL = 'spin_api/status';
const RPC_TIMEOUT_MS = 10000;

export class RpcError extends Error {
	constructor(code, message) {
		super(message);
		this.code = code;
	}
}

let nextId = 1;

// Resolves with the result (null for methods without one); rejects with an RpcError that
// carries the server's code and message, or code 0 for transport failures.
export async function rpc(method, params) {
	const body = { jsonrpc: '2.0', id: nextId++, method };
	if (params) body.params = params;
	const ctl = new AbortController();
	const timer = setTimeout(() => ctl.abort(), RPC_TIMEOUT_MS);
	let res;
	try {
		res = await fetch(RPC_URL, {
			method: 'POST',
			headers: { 'Content-Type': 'application/json' },
			body: JSON.stringify(body),
			signal: ctl.signal,
		});
	} catch (e) {
		throw new RpcError(0, e.name === 'AbortError' ? 'no answer from the gateway' : 'the gateway is unreachable');
	} finally {
		clearTimeout(timer);
	}
	let answer;
	try {
		answer = await res.json();
	} catch {
		throw new RpcError(0, `HTTP ${res.status} without a JSON answer`);
	}
	if (answer && typeof answer === 'object' && answer.error) {
		const err = answer.error;
		throw new RpcError(Number(err.code) || 0, String(err.message || 'unknown error'));
	}
	if (!res.ok) throw new RpcError(0, `HTTP ${res.status}`);
	return answer ? answer.result ?? null : null;
}

export async function fetchStatus() {
	const res = await fetch(STATUS_URL, { cache: 'no-store' });
	if (!res.ok) throw new Error(`HTTP ${res.status}`);
	return res.json();
}

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

// The download URL of a device's packet capture (the browser streams it to a file).
export function captureUrl(mac) {
	if (!MAC_RE.test(String(mac))) throw new RpcError(0, 'not a MAC address');
	return `spin_api/capture_start?device=${encodeURIComponent(mac)}`;
}

// Ends every capture of a device; resolves to the number of downloads it ended.
export async function captureStop(mac) {
	if (!MAC_RE.test(String(mac))) throw new RpcError(0, 'not a MAC address');
	let res;
	try {
		res = await fetch(`spin_api/capture_stop?device=${encodeURIComponent(mac)}`, { cache: 'no-store' });
	} catch {
		throw new RpcError(0, 'the gateway is unreachable');
	}
	let answer;
	try {
		answer = await res.json();
	} catch {
		throw new RpcError(0, `HTTP ${res.status} without a JSON answer`);
	}
	if (answer && answer.error) throw new RpcError(Number(answer.error.code) || res.status, String(answer.error.message || 'unknown error'));
	if (!res.ok) throw new RpcError(res.status, `HTTP ${res.status}`);
	return Number(answer && answer.result && answer.result.stopped) || 0;
}

// Does the server offer a GET endpoint? (capture download is optional.) 404 and 501 mean no;
// anything else, 405 to the HEAD request included, means the path exists.
export async function probe(url) {
	try {
		const res = await fetch(url, { method: 'HEAD', cache: 'no-store' });
		return res.status !== 404 && res.status !== 501;
	} catch {
		return false;
	}
}

// The live stream. The server replays the whole state on every (re)connect, so each open
// starts from scratch: onReset, then the replay arrives as ordinary messages.
//   onMessage({topic, retain, payload}), onState('connecting'|'connected'|'reconnecting'),
//   onReset()
export function connectEvents({ onMessage, onState, onReset }) {
	let source = null;
	let retryMs = 1000;
	let retryTimer = null;

	function open() {
		retryTimer = null;
		onState('connecting');
		source = new EventSource(EVENTS_URL);
		source.onopen = () => {
			retryMs = 1000;
			onReset();
			onState('connected');
		};
		source.onmessage = (ev) => {
			let msg;
			try {
				msg = JSON.parse(ev.data);
			} catch {
				console.warn('spin: event is not JSON, ignored');
				return;
			}
			if (!msg || typeof msg.topic !== 'string') return;
			onMessage(msg);
		};
		source.onerror = () => {
			onState('reconnecting');
			// EventSource retries by itself unless the server answered with an error status;
			// then it closes for good and we retry with a growing delay.
			if (source.readyState === EventSource.CLOSED && !retryTimer) {
				retryTimer = setTimeout(open, retryMs);
				retryMs = Math.min(retryMs * 2, 15000);
			}
		};
	}
	open();
	return {
		close() {
			if (retryTimer) clearTimeout(retryTimer);
			if (source) source.close();
		},
	};
}
