// `turnout apply -f FILE [-f FILE…] [--dry-run]`: sends the files' YAML documents to POST /v1/apply,
// which creates or updates them in one transaction, and prints what changed (or would change).

import type { Command } from 'commander';
import { createApiClient } from '../client/api-client.js';
import { TurnoutError } from '../errors.js';
import type { SourceDocument } from './apply-sources.js';
import { type ApiFlags, apiFlags, collect } from './flags.js';
import type { Io } from './io.js';
import { emit } from './io.js';

interface Change {
  field: string;
  before?: unknown;
  after?: unknown;
}

interface Action {
  index: number;
  kind: string;
  name: string;
  action: 'create' | 'update' | 'unchanged';
  changes: Change[];
}

interface ApplyAnswer {
  dryRun: boolean;
  changed: boolean;
  counts: { create: number; update: number; unchanged: number };
  actions: Action[];
}

interface ApplyFlags extends ApiFlags {
  file: string[];
  dryRun?: boolean;
}

const PAST = { create: 'created', update: 'updated', unchanged: 'unchanged' } as const;

const shown = (v: unknown) => (v === undefined ? '(unset)' : JSON.stringify(v));

/** One line per document, with each changed field under an update; then the totals. */
export function formatApply(answer: ApplyAnswer): string {
  const verb = (a: Action['action']) => (answer.dryRun ? a : PAST[a]);
  const width = Math.max(...answer.actions.map((a) => verb(a.action).length), 0);
  const lines = answer.actions.flatMap((a) => [
    `${verb(a.action).padEnd(width)}  ${a.kind.toLowerCase()}/${a.name}`,
    ...a.changes.map(
      (c) => `${' '.repeat(width + 4)}${c.field}: ${shown(c.before)} → ${shown(c.after)}`,
    ),
  ]);
  const { create, update, unchanged } = answer.counts;
  if (answer.dryRun) {
    lines.push(
      `dry run: ${create} to create, ${update} to update, ${unchanged} unchanged; nothing was changed`,
    );
  } else if (!answer.changed) {
    lines.push(`no changes: ${unchanged} unchanged`);
  } else {
    lines.push(`applied: ${create} created, ${update} updated, ${unchanged} unchanged`);
  }
  return lines.join('\n');
}

/** The answer for scripts: each action says the file and document it came from. */
function withSources(answer: ApplyAnswer, sources: readonly SourceDocument[]) {
  return {
    ...answer,
    actions: answer.actions.map(({ index, ...a }) => ({
      ...a,
      file: sources[index]?.file,
      document: sources[index]?.position,
    })),
  };
}

export function registerApplyCommand(
  program: Command,
  io: Io,
  setExit: (code: number) => void,
): void {
  apiFlags(
    program
      .command('apply')
      .description(
        'create or update orgs, modules, versions, products and lanes from YAML (all or nothing)',
      )
      .option(
        '-f, --file <file>',
        'YAML file, several documents separated by --- (repeatable; - for stdin)',
        collect,
        [],
      )
      .option(
        '--dry-run',
        'show what would change (create / update with fields / unchanged); change nothing',
      ),
  ).action(async (flags: ApplyFlags) => {
    // The YAML parser loads when apply runs, not at every start-up.
    const { locateError, readDocuments } = await import('./apply-sources.js');
    if (flags.file.length === 0) {
      throw new TurnoutError('invalid_argument', 'apply needs at least one -f FILE', 'file');
    }
    const sources = readDocuments(flags.file);
    const client = createApiClient({ server: flags.server, token: flags.token, caFile: flags.ca });
    let answer: ApplyAnswer;
    try {
      answer = (await client.post(
        '/v1/apply',
        { documents: sources.map((s) => s.value), dryRun: flags.dryRun === true },
        { timeoutMs: 120_000 },
      )) as ApplyAnswer;
    } catch (error) {
      throw locateError(error, sources);
    }
    emit(io, flags.json === true, withSources(answer, sources), () => formatApply(answer));
    setExit(0);
  });
}
