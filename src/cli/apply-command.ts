// `turnout apply -f FILE [-f FILE…] [--dry-run] [--prune]`: sends the files' YAML documents to
// POST /v1/apply, which creates or updates them in one transaction (kubectl's apply: a document is
// the whole object) and with --prune deletes what an earlier apply wrote that the files no longer
// name; prints what changed (or would change).

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
  /** Absent for a pruned object: no document names it. */
  index?: number;
  kind: string;
  name: string;
  action: 'create' | 'update' | 'unchanged' | 'prune';
  changes: Change[];
}

interface ApplyAnswer {
  dryRun: boolean;
  prune?: boolean;
  changed: boolean;
  counts: { create: number; update: number; unchanged: number; prune?: number };
  actions: Action[];
}

interface ApplyFlags extends ApiFlags {
  file: string[];
  dryRun?: boolean;
  prune?: boolean;
}

const PAST = {
  create: 'created',
  update: 'updated',
  unchanged: 'unchanged',
  prune: 'pruned',
} as const;

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
  const { create, update, unchanged, prune = 0 } = answer.counts;
  // The prune count only with --prune, so an apply without it reads as before.
  const pruning = answer.prune === true;
  if (answer.dryRun) {
    const pruned = pruning ? `, ${prune} to prune` : '';
    lines.push(
      `dry run: ${create} to create, ${update} to update, ${unchanged} unchanged${pruned}; nothing was changed`,
    );
  } else if (!answer.changed) {
    lines.push(`no changes: ${unchanged} unchanged${pruning ? ', 0 pruned' : ''}`);
  } else {
    const pruned = pruning ? `, ${prune} pruned` : '';
    lines.push(`applied: ${create} created, ${update} updated, ${unchanged} unchanged${pruned}`);
  }
  return lines.join('\n');
}

/** The answer for scripts: each action says the file and document it came from (none: pruned). */
function withSources(answer: ApplyAnswer, sources: readonly SourceDocument[]) {
  return {
    ...answer,
    actions: answer.actions.map(({ index, ...a }) =>
      index === undefined
        ? a
        : { ...a, file: sources[index]?.file, document: sources[index]?.position },
    ),
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
        'create or update orgs, modules, versions, products, lanes and notifiers from YAML, each document the whole object (all or nothing)',
      )
      .option(
        '-f, --file <file>',
        'YAML file, several documents separated by --- (repeatable; - for stdin)',
        collect,
        [],
      )
      .option(
        '--dry-run',
        'show what would change (create / update with fields / unchanged / prune); change nothing',
      )
      .option(
        '--prune',
        'also delete what an earlier apply wrote that the files no longer name (in the orgs the files belong to)',
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
        {
          documents: sources.map((s) => s.value),
          dryRun: flags.dryRun === true,
          prune: flags.prune === true,
        },
        { timeoutMs: 120_000 },
      )) as ApplyAnswer;
    } catch (error) {
      throw locateError(error, sources);
    }
    emit(io, flags.json === true, withSources(answer, sources), () => formatApply(answer));
    setExit(0);
  });
}
