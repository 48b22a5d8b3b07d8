// `turnout request <product> --lane <lane> [-X METHOD] [-H 'k: v']* [-d body] <path>`: "try it" from
// the command line — one request to a product through a lane, sent by the control plane through
// the real edge with a short-lived signed override (POST /v1/products/:p/try), printed with the
// versions that served it along the chain. The work is loaded when it runs.

import type { Command } from 'commander';
import { apiFlags, collect } from './flags.js';
import type { Io } from './io.js';
import type { RequestFlags } from './request-run.js';

export function registerRequestCommand(
  program: Command,
  io: Io,
  setExit: (code: number) => void,
): void {
  apiFlags(
    program
      .command('request')
      .description(
        'send one request to a product through a lane (via the edge, with a signed override); print the answer and which version of each module served it',
      )
      .argument('<product>', 'the product')
      .argument('[path]', 'the request path, query optional', '/')
      .requiredOption('--lane <lane>', 'the lane to go through, e.g. t-12')
      .option('-X, --method <method>', 'GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS', 'GET')
      .option('-H, --header <name: value>', 'a request header (repeat)', collect, [])
      .option('-d, --data <body>', 'the request body (text; @file reads a file)')
      .option(
        '--timeout <duration>',
        'how long the edge may take: 500ms, 10s (at most 30s)',
        '10s',
      ),
  ).action(async (product: string, path: string, flags: RequestFlags) => {
    const { runRequest } = await import('./request-run.js');
    setExit(await runRequest(product, path, flags, io));
  });
}
