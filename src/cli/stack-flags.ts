// Flags `turnout server` and `turnout up` share: the artifact limits they pass to the API, and
// the store named by --store or TURNOUT_STORE. Commander only, so loading it costs no start-up.

import type { Command } from 'commander';

/** --max-concurrent-downloads and --max-artifact-bytes, in that order (the help lists them so). */
export function artifactOptions(command: Command): Command {
  return command
    .option(
      '--max-concurrent-downloads <n>',
      'at most this many hosts download artifacts at once; the others wait their turn',
      '3',
    )
    .option(
      '--max-artifact-bytes <n>',
      'the largest artifact `turnout push` may upload, in bytes or KiB/MiB/GiB (default 512MiB)',
    );
}

/** The store to open: the flag wins over the environment; errors name whichever was used. */
export function storeFrom(flags: { store?: string | undefined }): {
  store: string | undefined;
  storeField: '--store' | 'TURNOUT_STORE';
} {
  const fromEnv = flags.store === undefined && process.env.TURNOUT_STORE !== undefined;
  return {
    store: flags.store ?? process.env.TURNOUT_STORE,
    storeField: fromEnv ? 'TURNOUT_STORE' : '--store',
  };
}
