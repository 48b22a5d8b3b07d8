import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importsOf, sourceFiles } from './source-imports.js';

// Layers of src/, lowest first: a file may import its own layer or a lower one, never a higher
// one, so no two folders import each other and each layer can be read (and tested) knowing only
// what lies below it. The root files (errors.ts, safe-text.ts) are the bottom layer. The order is
// the design's: the composition root (server/) wires the API, the control loops and the engine
// together; the CLI starts the server and talks to it through the client. One step differs from
// the design's list (which puts the demo above the CLI): the demo is a library the CLI runs
// (`turnout demo`, src/cli/demo-command.ts imports it), and it needs nothing of the CLI — it talks
// to the API through the client and writes through an `Io` the CLI hands it — so demo sits below
// cli. The other way would need the command dispatcher (cli/main.ts) to import upward.
const LAYERS = [
  '(root)',
  'routing',
  'config',
  'store',
  // The artifact store (issue 14): the store's tables and types below it; the API serves it.
  'artifacts',
  'runtime',
  'proxy',
  'release',
  'control',
  'api',
  'client',
  'server',
  'demo',
  // The host agent (issue 13): runtime, control's health verdicts and the client below it; the
  // CLI above it hands it the proxy supervisor (src/cli/up-proxy.ts) rather than it importing up.
  'agent',
  'cli',
];

const SRC = resolve(__dirname, '../../src');

function layerOf(file: string): string {
  const parts = relative(SRC, file).split(sep);
  return parts.length === 1 ? '(root)' : (parts[0] ?? '(root)');
}

interface Edge {
  file: string;
  specifier: string;
  from: string;
  to: string;
}

function upwardEdges(): Edge[] {
  const edges: Edge[] = [];
  for (const file of sourceFiles(SRC)) {
    const from = layerOf(file);
    for (const specifier of importsOf(readFileSync(file, 'utf8'))) {
      if (!specifier.startsWith('.')) continue;
      const target = resolve(dirname(file), specifier);
      if (!target.startsWith(SRC + sep)) continue;
      const to = layerOf(target);
      if (LAYERS.indexOf(to) > LAYERS.indexOf(from)) {
        edges.push({ file: relative(SRC, file), specifier, from, to });
      }
    }
  }
  return edges;
}

describe('src/ layers import downward only', () => {
  it('knows every top-level folder of src/', () => {
    const folders = readdirSync(SRC).filter((name) => statSync(join(SRC, name)).isDirectory());
    expect(folders.filter((folder) => !LAYERS.includes(folder))).toEqual([]);
  });

  it('finds the imports it checks', () => {
    // Guards the parser: if it stopped matching, the check below would pass vacuously.
    const text =
      "import { a } from './a';\nexport type {\n  B,\n} from '../b';\nawait import('./c');";
    expect(importsOf(text)).toEqual(['./a', '../b', './c']);
  });

  it('has no upward import between top-level folders', () => {
    const report = upwardEdges().map(
      (e) => `src/${e.file} imports '${e.specifier}': ${e.from} → ${e.to} (upward)`,
    );
    expect(report).toEqual([]);
  });
});
