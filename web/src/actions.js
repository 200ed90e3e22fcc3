// Every action goes through here: it calls the API and tells the user how it went, success or
// the server's error message, in the notice area.
import { rpc } from './api.js';
import { el } from './dom.js';

const NOTICE_MS = 6000;

export function notify(text, kind = 'info') {
	const box = document.getElementById('notices');
	const n = el('div', { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status', text });
	n.append(el('button', { class: 'close', 'aria-label': 'Dismiss', text: '×', onclick: () => n.remove() }));
	box.append(n);
	if (kind !== 'error') setTimeout(() => n.remove(), NOTICE_MS);
	else setTimeout(() => n.remove(), NOTICE_MS * 3);
}

// Runs one JSON-RPC call for a user action named `what`; resolves to true on success.
export async function act(what, method, params, button) {
	if (button) button.disabled = true;
	try {
		await rpc(method, params);
		notify(`${what}: done`, 'success');
		return true;
	} catch (e) {
		notify(`${what} failed: ${e.message}${e.code ? ` (error ${e.code})` : ''}`, 'error');
		return false;
	} finally {
		if (button) button.disabled = false;
	}
}
