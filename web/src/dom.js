// DOM helpers. Every string that came from the network goes in as text (textContent or an
// attribute value), never as markup: names and domains are chosen by devices and DNS servers.

const SVG_NS = 'http://www.w3.org/2000/svg';

function fill(node, attrs, children) {
	for (const [k, v] of Object.entries(attrs || {})) {
		if (v === undefined || v === null || v === false) continue;
		if (k === 'text') node.textContent = String(v);
		else if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
		else node.setAttribute(k, v === true ? '' : String(v));
	}
	for (const c of children.flat()) {
		if (c === undefined || c === null || c === false) continue;
		node.append(c instanceof Node ? c : document.createTextNode(String(c)));
	}
	return node;
}

// el('button', {class: 'x', onclick: fn, text: 'Block'}, child...)
export function el(tag, attrs, ...children) {
	return fill(document.createElement(tag), attrs, children);
}

export function svg(tag, attrs, ...children) {
	return fill(document.createElementNS(SVG_NS, tag), attrs, children);
}

export function clear(node) {
	node.replaceChildren();
	return node;
}

export const $ = (sel, root = document) => root.querySelector(sel);
