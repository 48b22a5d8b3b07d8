// Canary analysis figures: each new version's lane against stable, with the verdict, each metric's
// significance test and its decision (the full reason in words on hover).
//
// The engine records the analysis in the ticket only when a verdict changes and at step
// boundaries (a store write per tick would be too many), so while a step runs the recorded
// figures stand still as traffic moves on. Then the figures shown are live: the same filters the
// analysis uses (the lane's version against the module's stable traffic since the step started,
// at most the stats window's minute) read from /v1/traffic on every traffic event.

import type { Item, MetricTest, Ticket, Traffic, Verdict } from '../api';
import { api } from '../api';
import { useResource } from '../useResource';

const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
const ms = (x: number | null) => (x === null ? '—' : `${x.toFixed(0)} ms`);
const p = (x: number) =>
  x !== 0 && x < 0.0001 ? x.toExponential(1) : String(Number(x.toFixed(4)));

const TEST_NAMES: Record<MetricTest['test'], string> = {
  'fisher-exact': "Fisher's exact",
  'two-proportion-z': 'two-proportion z',
  binomial: 'binomial',
  'mann-whitney-u': 'Mann–Whitney U',
};

type Figures = Verdict['lane'];
interface LiveRow {
  lane: Figures;
  stable: Figures;
}

/** The stats window keeps a minute: live figures cover the step so far, up to that. */
const WINDOW_MS = 60_000;

/** Whether a step is under way, so the recorded figures lag the traffic. */
export function stepRunning(t: Ticket): boolean {
  return (
    t.state === 'canary' && t.progress.canaryDone !== true && t.progress.stepStartedAt !== undefined
  );
}

/** The span the analysis of the running step covers now (ms, at least a second). */
export function liveSpan(stepStartedAt: number, nowMs: number): number {
  return Math.min(WINDOW_MS, Math.max(1000, Math.round(nowMs - stepStartedAt)));
}

async function liveFigures(t: Ticket): Promise<Map<string, LiveRow>> {
  const windowMs = liveSpan(t.progress.stepStartedAt ?? Date.now(), Date.now());
  const figures = async (query: Record<string, string>): Promise<Figures> => {
    const { total } = await api<Traffic>('/traffic', {
      query: { product: t.product, windowMs, ...query },
    });
    return { requests: total.requests, errorRate: total.errorRate, p99Ms: total.p99Ms };
  };
  const rows = await Promise.all(
    t.items.map(async (i: Item): Promise<[string, LiveRow]> => {
      const [lane, stable] = await Promise.all([
        figures({ lane: `t-${t.id}`, module: i.module, version: i.version }),
        figures({ lane: 'stable', module: i.module }),
      ]);
      return [`${i.module}@${i.version}`, { lane, stable }];
    }),
  );
  return new Map(rows);
}

function TestLine({ t }: { t: MetricTest }) {
  const decided = t.decision === 'not judged' ? 'wait' : t.decision;
  return (
    <div title={t.reason}>
      {t.metric}: {t.decision === 'not judged' ? '' : `${TEST_NAMES[t.test]} p=${p(t.pValue)} → `}
      <span className={`badge verdict-${decided}`}>{t.decision}</span>
    </div>
  );
}

const figures = (f: Figures) => `${f.requests} / ${pct(f.errorRate)} / ${ms(f.p99Ms)}`;

/**
 * The recorded verdicts; with `ticket` whose step is running, the figures live (a row per item
 * even before the first verdict is recorded).
 */
export function VerdictList({ verdicts, ticket }: { verdicts: Verdict[]; ticket?: Ticket }) {
  const live = ticket !== undefined && stepRunning(ticket);
  const { data } = useResource(
    () => (live && ticket !== undefined ? liveFigures(ticket) : Promise.resolve(null)),
    [live, ticket?.id, ticket?.progress.stepStartedAt],
    ['traffic'],
  );
  const recorded = new Map(verdicts.map((v) => [`${v.module}@${v.version}`, v]));
  const keys = live
    ? (ticket?.items ?? []).map((i) => `${i.module}@${i.version}`)
    : [...recorded.keys()];
  const now = live ? data : null;
  return (
    <table className="verdicts" data-live={now !== null ? 'yes' : 'no'}>
      <thead>
        <tr>
          <th>version</th>
          <th>verdict</th>
          <th>lane req / err / p99{now !== null ? ' (live, this step)' : ''}</th>
          <th>stable req / err / p99{now !== null ? ' (live)' : ''}</th>
          <th>tests</th>
        </tr>
      </thead>
      <tbody>
        {keys.map((key) => {
          const v = recorded.get(key);
          const row = now?.get(key);
          return (
            <tr key={key} title={v?.reason} data-item={key}>
              <td className="mono">{key}</td>
              <td>
                {v === undefined ? (
                  <span className="muted">not yet</span>
                ) : (
                  <span className={`badge verdict-${v.verdict}`}>{v.verdict}</span>
                )}
              </td>
              <td data-testid="lane-figures">
                {row !== undefined ? figures(row.lane) : v === undefined ? '—' : figures(v.lane)}
              </td>
              <td data-testid="stable-figures">
                {row !== undefined
                  ? figures(row.stable)
                  : v === undefined
                    ? '—'
                    : figures(v.stable)}
              </td>
              <td>
                {(v?.tests ?? []).map((t) => (
                  <TestLine key={t.metric} t={t} />
                ))}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
