// The page's modules as a graph: every import resolves, there is no cycle,
// the pure modules stay pure, and index.html preloads every module.

import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const assets = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'web', 'assets');
const dir = join(assets, 'js');
const modules = readdirSync(dir).filter((f) => f.endsWith('.js')).sort();
const source = (name) => readFileSync(join(dir, name), 'utf8');

// Modules that touch neither the DOM nor the page's state: unit-tested here.
const PURE = ['api.js', 'format.js', 'health.js', 'live.js', 'paging.js', 'query.js', 'settings-errors.js', 'state.js'];

function imports(name) {
  return Array.from(source(name).matchAll(/^(?:import|export)\s[^;]*?from\s+'\.\/([\w-]+\.js)';/gms), (m) => m[1]);
}

const graph = new Map(modules.map((m) => [m, imports(m)]));

test('every import names a module of the page', () => {
  assert.ok(modules.length > 10, modules.join(' '));
  for (const [name, deps] of graph) {
    for (const dep of deps) assert.ok(graph.has(dep), `${name} imports missing ${dep}`);
  }
  assert.ok(graph.get('main.js').includes('status.js'));
});

test('no module imports itself, directly or through others', () => {
  const done = new Set();
  const path = [];
  const visit = (name) => {
    const at = path.indexOf(name);
    assert.equal(at, -1, 'import cycle: ' + path.slice(at).concat(name).join(' → '));
    if (done.has(name)) return;
    path.push(name);
    graph.get(name).forEach(visit);
    path.pop();
    done.add(name);
  };
  modules.forEach(visit);
  assert.equal(done.size, modules.length);
});

test('every module is reached from main.js', () => {
  const reached = new Set();
  const walk = (name) => {
    if (reached.has(name)) return;
    reached.add(name);
    graph.get(name).forEach(walk);
  };
  walk('main.js');
  assert.deepEqual([...reached].sort(), modules);
});

test('pure modules use no DOM and import only pure modules', () => {
  for (const name of PURE) {
    const code = source(name).replace(/^\s*\/\/.*$/gm, '');
    assert.doesNotMatch(code, /\b(document|window|localStorage|requestAnimationFrame)\b/, name);
    for (const dep of graph.get(name)) assert.ok(PURE.includes(dep), `${name} imports ${dep}`);
  }
});

test('index.html starts main.js as a module and preloads every module', () => {
  const page = readFileSync(join(assets, 'index.html'), 'utf8');
  const scripts = Array.from(page.matchAll(/<script\b[^>]*>/g), (m) => m[0]);
  assert.deepEqual(scripts, ['<script type="module" src="/js/main.js">']);
  const preloaded = Array.from(page.matchAll(/<link rel="modulepreload" href="\/js\/([\w-]+\.js)">/g), (m) => m[1]);
  assert.deepEqual(preloaded.sort(), modules);
});
