// `turnout load`, once its flags are checked: the bounded load (src/demo/load.ts) on the edge,
// then one summary by lane and by module version (src/demo/load-summary.ts). Ctrl-C ends it early
// with the summary of what was sent. Loaded only when the command runs (load-command.ts).

import { startLoad } from '../demo/load.js';
import { renderSummary, summarize } from '../demo/load-summary.js';
import { TurnoutError } from '../errors.js';
import type { Io } from './io.js';
import { emit } from './io.js';
import type { LoadFlags } from './load-flags.js';
import { parseLoadFlags } from './load-flags.js';

export async function runLoad(flags: LoadFlags, io: Io): Promise<number> {
  const plan = parseLoadFlags(flags);
  const began = Date.now();
  const load = startLoad({
    edge: plan.edge,
    host: plan.host,
    product: plan.host,
    path: plan.path,
    users: plan.users,
    userPrefix: plan.userPrefix,
    rate: plan.rate,
    concurrency: plan.concurrency,
    maxMs: plan.durationMs,
    maxRequests: plan.maxRequests,
    headers: { ...plan.headers },
  });
  const interrupted = () => void load.stop();
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  let served: Awaited<typeof load.done>;
  try {
    served = await load.done;
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
  }
  const summary = summarize(served, Date.now() - began);
  if (summary.requests > 0 && summary.statuses['0'] === summary.requests) {
    // Not one answer: the edge is not there (a wrong --edge, or the demo is not running).
    throw new TurnoutError(
      'upstream_unavailable',
      `--edge ${plan.edge}: no request was answered (${summary.errors[0]?.reason ?? 'no answer'})`,
      'edge',
    );
  }
  const target = `${plan.host}${plan.path === '/' ? '' : plan.path} at ${plan.edge}`;
  emit(
    io,
    flags.json === true,
    { edge: plan.edge, host: plan.host, path: plan.path, ...summary },
    () => renderSummary(summary, target),
  );
  return 0;
}
