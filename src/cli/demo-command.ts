// `turnout demo`: the whole system on a laptop in one command. Starts what `turnout up` starts (on
// the loopback, no token: the embedded demo is the one place the API needs none), applies the
// example org (examples/shop.yaml: shop and admin sharing account), releases v1 of everything
// and says what to try next, under a gentle background load of simulated users (--no-load: none;
// src/demo/background.ts), so a canary it suggests has traffic to be judged on. A second run in
// the same folder resumes that state; --fresh starts over. --tour then runs the whole release
// story unattended and exits 0 only if every check held. SIGINT, SIGTERM, SIGHUP, or the end of
// the npm that started it (demo-stop.ts) stop everything it started, at any point.

import { rmSync } from 'node:fs';
import type { Command } from 'commander';
import type { ApiClient } from '../client/api-client.js';
import { createApiClient } from '../client/api-client.js';
import type { Background } from '../demo/background.js';
import { Narrator } from '../demo/narrator.js';
import { onStopRequest } from './demo-stop.js';
import type { Io } from './io.js';
import type { LocalOptions, LocalStack } from './local-stack.js';
import { localOptions } from './up-command.js';

// The stack, the demo's setup and the dashboard check are loaded by the action (loadDemo), not at
// start-up: `turnout --version` must not pay for fastify, SQLite and undici.
let dashboardBuilt: typeof import('../api/web.js').dashboardBuilt;
let ensureDemoState: typeof import('../demo/setup.js').ensureDemoState;
let PACKAGE_ROOT: string;
let waitForEdge: typeof import('../demo/setup.js').waitForEdge;
let runTour: typeof import('../demo/tour.js').runTour;
let startLocal: typeof import('./local-stack.js').startLocal;
let describeBackground: typeof import('../demo/background.js').describeBackground;
let startBackgroundLoad: typeof import('../demo/background.js').startBackgroundLoad;

async function loadDemo(): Promise<void> {
  ({ dashboardBuilt } = await import('../api/web.js'));
  ({ ensureDemoState, PACKAGE_ROOT, waitForEdge } = await import('../demo/setup.js'));
  ({ runTour } = await import('../demo/tour.js'));
  ({ startLocal } = await import('./local-stack.js'));
  ({ describeBackground, startBackgroundLoad } = await import('../demo/background.js'));
}

interface DemoFlags extends LocalOptions {
  fresh?: boolean;
  tour?: boolean;
  pause?: string;
  json?: boolean;
  /** false with --no-load. */
  load?: boolean;
}

export function registerDemoCommand(
  program: Command,
  io: Io,
  setExit: (code: number) => void,
): void {
  localOptions(
    program
      .command('demo')
      .description(
        'the whole system on this machine: control plane, proxy and example services for two products, released at v1',
      ),
  )
    .option('--fresh', 'stop what an earlier demo in --data left and start over')
    .option(
      '--tour',
      'run the release story unattended, narrated, with a check at every step; exit 0 only if all held',
    )
    .option(
      '--no-load',
      'no background traffic (by default a few requests/s of simulated users to shop and admin)',
    )
    .option('--json', 'one JSON object per line')
    .action(async (flags: DemoFlags) => {
      await loadDemo();
      setExit(await runDemo(flags, io));
    });
}

async function runDemo(flags: DemoFlags, io: Io): Promise<number> {
  const n = new Narrator(io, flags.json === true);
  // Listening from the start: a stop asked while the demo starts up still ends what it started.
  let unsubscribe = () => {};
  const stopAsked = new Promise<string>((resolve) => {
    unsubscribe = onStopRequest(resolve);
  });
  try {
    return await runStack(flags, io, n, stopAsked);
  } finally {
    unsubscribe();
  }
}

async function runStack(
  flags: DemoFlags,
  io: Io,
  n: Narrator,
  stopAsked: Promise<string>,
): Promise<number> {
  const options: LocalOptions = { ...flags, insecureLocal: true, baseDir: PACKAGE_ROOT };
  if (flags.fresh === true) {
    n.say(`starting over: stopping what an earlier run left in ${flags.data} and removing it`);
    const old = await startLocal(options);
    await old.stop();
    rmSync(old.dataDir, { recursive: true, force: true });
  }
  n.section('Starting Turnout');
  const stack = await startLocal(options);
  let background: Background | null = null;
  const stopping = (why: string) => io.err(`turnout demo: ${why}; stopping everything it started`);
  try {
    for (const line of stack.lines) n.say(line);
    const client = createApiClient({ server: stack.apiUrl, token: '' });
    const ready = (async () => {
      await ensureDemoState(client, (text) => n.say(text));
      if (stack.edgeUrl !== null)
        await waitForEdge(stack.edgeUrl, ['shop.localhost', 'admin.localhost']);
    })();
    ready.catch(() => {}); // when a stop wins the race, the stack's end fails it: nothing to say
    const early = await Promise.race([ready.then(() => null), stopAsked]);
    if (early !== null) {
      stopping(early);
      return flags.tour === true ? 1 : 0;
    }
    if (flags.tour === true) return await tour(n, stack, client, stopAsked, stopping);
    if (flags.load !== false && stack.edgeUrl !== null)
      background = startBackgroundLoad(stack.edgeUrl);
    nextSteps(n, stack, background !== null);
    stopping(await stopAsked);
    return 0;
  } finally {
    await background?.stop();
    await stack.stop();
  }
}

async function tour(
  n: Narrator,
  stack: LocalStack,
  client: ApiClient,
  stopAsked: Promise<string>,
  stopping: (why: string) => void,
): Promise<number> {
  if (stack.edgeUrl === null) {
    n.check('the tour needs the edge listener', false, '--edge is off');
    return 1;
  }
  const abort = new AbortController();
  const run = runTour({ client, edge: stack.edgeUrl, narrator: n, signal: abort.signal });
  run.catch(() => {}); // a stopped tour fails on the stack going away: the stop is the news
  const early = await Promise.race([run.then(() => null), stopAsked]);
  if (early !== null) {
    stopping(early);
    abort.abort();
    return 1;
  }
  const bad = n.failed;
  n.section(
    bad.length === 0
      ? `Tour complete: all ${n.checks.length} checks held`
      : `Tour FAILED: ${bad.length} of ${n.checks.length} checks did not hold`,
  );
  for (const c of bad)
    n.say(`✗ ${c.step}: ${c.what}${c.detail === undefined ? '' : ` — ${c.detail}`}`);
  n.say('stopping everything the demo started');
  return bad.length === 0 ? 0 : 1;
}

function nextSteps(n: Narrator, stack: LocalStack, load: boolean): void {
  const edge = stack.edgeUrl ?? '(edge off)';
  n.section('Ready. Try:');
  n.say(
    `curl -H 'Host: shop.localhost' ${edge}/      # web → orders → account, catalog: who served it`,
  );
  n.say(`curl -H 'Host: admin.localhost' ${edge}/     # console → account (shared with shop)`);
  n.say(
    `in a browser: ${edge.replace('127.0.0.1', 'shop.localhost')}/  (*.localhost is the loopback)`,
  );
  n.say(`dashboard: ${stack.apiUrl}/${dashboardBuilt() ? '' : '  (not built yet: npm run build)'}`);
  n.say(
    load ? describeBackground() : 'background load: off (--no-load); a canary waits for traffic:',
  );
  if (!load)
    n.command(
      `npx turnout load --edge ${edge} --host shop.localhost --rate 10 --users 1000 --duration 5m`,
    );
  n.say('a release, in another terminal:');
  n.command(`export TURNOUT_SERVER=${stack.apiUrl}`);
  n.command('npx turnout release create shop --set orders=2.0.0 --set account=2.0.0');
  n.command('npx turnout release prerelease <ticket> --wait      # prints the header testers send');
  n.command(
    `npx turnout load --edge ${edge} --header '<the header prerelease printed>'   # by lane and version`,
  );
  n.command(
    'npx turnout release canary <ticket> --steps 10,50 --pause 30s --wait   # judged on the load',
  );
  n.command(
    'npx turnout release promote <ticket> --wait  &&  npx turnout release revert <ticket> --wait',
  );
  n.say('or the whole story, narrated: npx turnout demo --tour');
  n.say('Ctrl-C stops everything the demo started');
}
