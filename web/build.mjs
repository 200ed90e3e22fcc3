// Bundles the browser app into one folder that spind serves as its web_root:
//   node build.mjs OUTDIR   -> OUTDIR/index.html, app.js, app.css, assets/
// Everything the page loads comes from that folder: no CDN, works offline on the gateway.
import { build } from 'esbuild';
import { cpSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = process.argv[2];
if (!out) {
	console.error('usage: node build.mjs OUTDIR');
	process.exit(2);
}
mkdirSync(out, { recursive: true });

try {
	await build({
		entryPoints: { app: join(here, 'src/main.js') },
		bundle: true,
		minify: true,
		sourcemap: false,
		format: 'esm',
		target: ['chrome100', 'firefox100', 'safari15'],
		outdir: out,
		logLevel: 'warning',
	});
	await build({
		entryPoints: { app: join(here, 'src/style.css') },
		bundle: true,
		minify: true,
		outdir: out,
		logLevel: 'warning',
	});
	cpSync(join(here, 'index.html'), join(out, 'index.html'));
	cpSync(join(here, 'assets'), join(out, 'assets'), { recursive: true });
} catch (e) {
	console.error(`web build failed: ${e.message}`);
	process.exit(1);
}
