// `turnout push <module> <version> <dir|file.tgz>`: ships a build. The directory is packed as a
// gzip tarball (or the .tgz taken as it is), uploaded to the control plane's artifact store and
// named by a new version (docs/artifacts.md). The work is in push-run.ts, loaded when it runs.

import type { Command } from 'commander';
import { type ApiFlags, apiFlags, collect } from './flags.js';
import type { Io } from './io.js';
import { emit } from './io.js';

interface PushFlags extends ApiFlags {
  command?: string;
  arg: string[];
}

/** `\r`-rewritten progress on a terminal; nothing when stderr is a file or a pipe. */
function progressLine(): ((sent: number, total: number) => void) | undefined {
  if (process.stderr.isTTY !== true) return undefined;
  let shown = -1;
  return (sent, total) => {
    const pct = total === 0 ? 100 : Math.floor((sent * 100) / total);
    if (pct === shown) return;
    shown = pct;
    process.stderr.write(`\ruploading ${pct}% of ${total} bytes${sent >= total ? '\n' : ''}`);
  };
}

export function registerPushCommand(
  program: Command,
  io: Io,
  setExit: (code: number) => void,
): void {
  apiFlags(
    program
      .command('push')
      .description(
        'upload a build (a directory, packed as a gzip tarball, or a .tgz) and create the version that runs it; see docs/artifacts.md',
      )
      .argument('<module>', 'the module (it must exist)')
      .argument('<version>', 'the new version')
      .argument('<path>', 'a directory (packed) or a .tgz file')
      .option('--command <command>', "the version's command, run inside the unpacked build")
      .option('--arg <arg>', 'an argument of the command (repeat for each)', collect, []),
  ).action(async (module: string, version: string, path: string, flags: PushFlags) => {
    const { push, pushText } = await import('./push-run.js');
    const progress = flags.json === true ? undefined : progressLine();
    const result = await push({
      module,
      version,
      path,
      ...(flags.command === undefined ? {} : { command: flags.command }),
      args: flags.arg,
      api: { server: flags.server, token: flags.token, caFile: flags.ca },
      ...(progress === undefined ? {} : { progress }),
    });
    emit(io, flags.json === true, result, () => pushText(result));
    setExit(0);
  });
}
