// Builds the web app and the embeddable API into one directory:
//
//   node web/build.mjs --out DIR [--dev] [--worker FILE]
//
// DIR gets index.html, app.js + app.css, worker.js (the engine's worker),
// oxvm.js + oxvm.d.ts (the embeddable API), sw.js (the service worker that
// makes static hosts cross-origin isolated) and config.json (the default
// configuration), and any other src/engine/*worker*.js (workers the engine
// starts). oxvm.wasm is not built here: `cargo xtask` puts it beside
// these files. --dev skips minification and writes source maps; --worker
// builds another worker (the tests use a stub engine).
import { access, copyFile, mkdir, readFile, readdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));

let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  console.error(`build.mjs: esbuild is missing: run \`npm ci\` in ${here} first`);
  process.exit(1);
}
const src = join(here, 'src');

const { values: opts } = parseArgs({
  options: {
    out: { type: 'string' },
    dev: { type: 'boolean', default: false },
    worker: { type: 'string' },
  },
});
if (!opts.out) {
  console.error('usage: node build.mjs --out DIR [--dev] [--worker FILE]');
  process.exit(2);
}
const out = resolve(opts.out);

async function exists(p) {
  try { await access(p); return true; } catch { return false; }
}

const worker = opts.worker ? resolve(opts.worker) : join(src, 'engine', 'worker.js');
if (!(await exists(worker))) {
  console.error(`build.mjs: ${worker} is missing`);
  process.exit(1);
}
// Workers that the engine's worker starts itself (an I/O worker, say, with
// `new Worker(new URL('./io-worker.js', import.meta.url), {type: 'module'})`):
// every other src/engine/*worker*.js is bundled to a file of the same name
// beside worker.js, where that URL points.
const nestedWorkers = (await readdir(join(src, 'engine')))
  .filter((f) => /worker.*\.js$/.test(f) && f !== 'worker.js')
  .sort();

// `import css from 'oxvm:xterm-css'` gives xterm.js's stylesheet as a string
// (the API injects it when a page calls setConsole without loading it).
const xtermCssPlugin = {
  name: 'oxvm-xterm-css',
  setup(build) {
    build.onResolve({ filter: /^oxvm:xterm-css$/ }, () => ({
      path: join(here, 'node_modules', '@xterm', 'xterm', 'css', 'xterm.css'),
      namespace: 'oxvm-text',
    }));
    build.onLoad({ filter: /.*/, namespace: 'oxvm-text' }, async (args) => ({
      contents: await readFile(args.path, 'utf8'),
      loader: 'text',
    }));
  },
};

const common = {
  bundle: true,
  format: 'esm',
  target: ['es2022', 'chrome109', 'firefox115', 'safari16'],
  minify: !opts.dev,
  sourcemap: opts.dev ? 'linked' : false,
  legalComments: 'eof',
  logLevel: 'warning',
  absWorkingDir: here,
  plugins: [xtermCssPlugin],
};

await mkdir(out, { recursive: true });
await Promise.all([
  esbuild.build({ ...common, entryPoints: { app: join(src, 'app', 'app.js') }, outdir: out }),
  esbuild.build({ ...common, entryPoints: { oxvm: join(src, 'api', 'linux.js') }, outdir: out }),
  esbuild.build({ ...common, entryPoints: { worker }, outfile: join(out, 'worker.js'), plugins: [] }),
  ...nestedWorkers.map((f) => esbuild.build({ ...common, entryPoints: [join(src, 'engine', f)], outfile: join(out, f), plugins: [] })),
  // A service worker is a classic script: the widest support.
  esbuild.build({ ...common, format: 'iife', entryPoints: [join(src, 'app', 'sw.js')], outfile: join(out, 'sw.js'), plugins: [] }),
  copyFile(join(src, 'app', 'index.html'), join(out, 'index.html')),
  copyFile(join(src, 'app', 'config.json'), join(out, 'config.json')),
  copyFile(join(src, 'api', 'linux.d.ts'), join(out, 'oxvm.d.ts')),
]);
console.log(`build.mjs: web app in ${out}`);
