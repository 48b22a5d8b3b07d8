// Options every command that talks to the API shares, declared once so they read the same in every
// `--help`: --server (TURNOUT_SERVER), --token (TURNOUT_TOKEN), --ca (TURNOUT_CA), --json.

import type { Command } from 'commander';

export interface ApiFlags {
  server?: string;
  token?: string;
  ca?: string;
  json?: boolean;
}

export function apiFlags(command: Command): Command {
  return command
    .option('--server <url>', 'the Turnout API (env TURNOUT_SERVER, default http://127.0.0.1:7070)')
    .option('--token <token>', 'API bearer token (env TURNOUT_TOKEN)')
    .option('--ca <file>', 'PEM CA certificate(s) to trust for an https API (env TURNOUT_CA)')
    .option('--json', 'print JSON');
}

/** For repeatable options: `--rule a --rule b` → ['a', 'b']. */
export function collect(value: string, previous: readonly string[]): string[] {
  return [...previous, value];
}
