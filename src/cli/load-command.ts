// `turnout load`: a bounded load on a product through the edge, as simulated users (each its own
// `x-user-id`, so a canary's share and stickiness apply), optionally in a lane (`--header` with
// the pre-release header); prints what served it by lane and by module version. What the demo's
// background traffic and its tour use (src/demo/load.ts). The work is loaded when it runs.

import type { Command } from 'commander';
import { collect } from './flags.js';
import type { Io } from './io.js';
import type { LoadFlags } from './load-flags.js';

export function registerLoadCommand(
  program: Command,
  io: Io,
  setExit: (code: number) => void,
): void {
  program
    .command('load')
    .description(
      'send a bounded load to a product through the edge as simulated users (x-user-id); print what served it by lane and version',
    )
    .option('--edge <url>', 'the proxy edge listener', 'http://127.0.0.1:8080')
    .option('--host <host>', "the product's host (the Host header)", 'shop.localhost')
    .option('--path <path>', 'the request path', '/')
    .option('--users <n>', 'simulated users, each sending its own x-user-id', '100')
    .option('--rate <n>', 'requests per second, over all users', '10')
    .option('--duration <duration>', 'how long: 500ms, 30s, 5m (at most 1h)', '10s')
    .option('--max-requests <n>', 'stop after this many requests (default: rate × duration)')
    .option('--concurrency <n>', 'requests in flight at most', '4')
    .option('--user-prefix <text>', 'x-user-id is this followed by the user number', 'u')
    .option(
      '--header <name: value>',
      "a header on every request (repeat), e.g. the lane's 'x-prerelease: …' from release prerelease",
      collect,
      [],
    )
    .option('--json', 'print the summary as JSON')
    .action(async (flags: LoadFlags) => {
      const { runLoad } = await import('./load-run.js');
      setExit(await runLoad(flags, io));
    });
}
