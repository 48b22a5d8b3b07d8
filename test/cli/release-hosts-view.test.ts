// `release status`'s per-host steps (src/cli/release-hosts-view.ts): queued with a place in line,
// bytes of a total, verified, running in routing; a failure says the step, host, exit code, the
// reason naming hashes, and the last log lines.

import { describe, expect, it } from 'vitest';
import type { AssignmentData } from '../../src/cli/release-hosts-view.js';
import { hostStepLines } from '../../src/cli/release-hosts-view.js';
import { renderTicket } from '../../src/cli/release-view.js';

const status = (over: Partial<AssignmentData['status']>): AssignmentData['status'] => ({
  phase: 'pending',
  step: null,
  download: null,
  error: null,
  lastExit: null,
  logTail: [],
  ...over,
});

const a = (id: string, host: string, s: AssignmentData['status']): AssignmentData => ({
  id,
  host,
  module: 'orders',
  version: '2.0.0',
  desired: 'run',
  status: s,
});

const ITEMS = [{ module: 'orders', version: '2.0.0' }];

describe('per-host steps', () => {
  it('an instance the engine drains or has stopped reads so, not routing, while its host still runs it', () => {
    const running = status({ phase: 'running', step: 'routing' });
    const lines = hostStepLines(
      ITEMS,
      [a('o-1', 'h1', running), a('o-2', 'h2', running), a('o-3', 'h3', running)],
      [
        { id: 'o-1', state: 'draining' },
        { id: 'o-2', state: 'stopped' },
        { id: 'o-3', state: 'ready' },
      ],
    );
    expect(lines).toEqual([
      '  hosts',
      `    h1             ${'orders@2.0.0'.padEnd(24)} running  draining`,
      `    h2             ${'orders@2.0.0'.padEnd(24)} running  stopping`,
      `    h3             ${'orders@2.0.0'.padEnd(24)} running  routing`,
    ]);
  });

  it('shows each host: queued, bytes of a total, verified, routing, and a failure', () => {
    const lines = hostStepLines(ITEMS, [
      a(
        'o-3',
        'h3',
        status({
          step: 'download',
          download: { state: 'queued', bytes: 0, total: 3 * 1024 * 1024, position: 2 },
        }),
      ),
      a(
        'o-1',
        'h1',
        status({
          step: 'download',
          download: {
            state: 'downloading',
            bytes: 1024 * 1024,
            total: 3 * 1024 * 1024,
            position: null,
          },
        }),
      ),
      a('o-2', 'h2', status({ phase: 'running', step: 'routing' })),
      a(
        'o-4',
        'h4',
        status({
          phase: 'failed',
          step: 'download',
          error: 'artifact abc on host h4: sha256 mismatch, expected abc, got def',
          logTail: ['l1', 'l2'],
        }),
      ),
      a(
        'o-5',
        'h5',
        status({
          phase: 'failed',
          step: 'health',
          lastExit: { code: 3, signal: null },
          error: 'exited',
        }),
      ),
      { ...a('x', 'h6', status({})), module: 'other' },
    ]);
    expect(lines).toEqual([
      '  hosts',
      '    h1             orders@2.0.0             pending  download 1.0 MiB of 3.0 MiB',
      '    h2             orders@2.0.0             running  routing',
      '    h3             orders@2.0.0             pending  download queued (#2 in line)',
      '    h4             orders@2.0.0             failed at download: artifact abc on host h4: sha256 mismatch, expected abc, got def',
      '      | l1',
      '      | l2',
      '    h5             orders@2.0.0             failed at health, exit 3: exited',
    ]);
  });

  it('shows a crash loop (exited short of routing, restarting) like a failure, with its log lines', () => {
    const lines = hostStepLines(ITEMS, [
      a(
        'o-1',
        'h1',
        status({
          phase: 'running',
          step: 'health',
          lastExit: { code: 3, signal: null },
          logTail: ['starting', 'boom: no DATABASE_URL'],
          restarts: 1,
        }),
      ),
      // An exit once in routing is a restart the host's health reports, not the start's trouble.
      a(
        'o-2',
        'h2',
        status({ phase: 'running', step: 'routing', lastExit: { code: 1, signal: null } }),
      ),
    ]);
    expect(lines).toEqual([
      '  hosts',
      `    ${'h1'.padEnd(14)} ${'orders@2.0.0'.padEnd(24)} exited at health, exit 3; restarting (1 restart so far)`,
      '      | starting',
      '      | boom: no DATABASE_URL',
      `    ${'h2'.padEnd(14)} ${'orders@2.0.0'.padEnd(24)} ${'running'.padEnd(8)} routing`,
    ]);
  });

  it('renderTicket puts them under the items; none without assignments', () => {
    const ticket = {
      id: 7,
      product: 'shop',
      state: 'deploying',
      goal: 'deployed',
      items: ITEMS,
      revertOf: null,
      plan: {},
      progress: {},
    };
    const with_ = renderTicket(ticket, [], [], null, [a('o-1', 'h1', status({ step: 'unpack' }))]);
    expect(with_).toContain('    h1             orders@2.0.0             pending  unpack');
    expect(renderTicket(ticket, [], []).join('\n')).not.toContain('hosts');
  });
});
