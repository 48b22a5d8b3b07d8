// Flags `turnout server` and `turnout up` share: the store and TLS options, the artifact limits
// they pass to the API, and the store named by --store or TURNOUT_STORE. Commander only, so loading it costs no start-up.

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

/** --store, --tls-cert and --tls-key, in that order: where the control plane keeps its state, how it serves. */
export function storeAndTlsOptions(command: Command): Command {
  return command
    .option(
      '--store <url>',
      'postgres://user@host:port/db (replicas share it) or sqlite:<path> (env TURNOUT_STORE; default <data>/turnout.db)',
    )
    .option('--tls-cert <file>', 'PEM certificate chain: the API speaks HTTPS (with --tls-key)')
    .option('--tls-key <file>', 'PEM private key of --tls-cert');
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
