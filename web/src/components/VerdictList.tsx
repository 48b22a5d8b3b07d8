// Canary analysis figures: each new version's lane against stable, with the verdict, each metric's
// significance test and its decision (the full reason in words on hover).

import type { MetricTest, Verdict } from '../api';

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

function TestLine({ t }: { t: MetricTest }) {
  const decided = t.decision === 'not judged' ? 'wait' : t.decision;
  return (
    <div title={t.reason}>
      {t.metric}: {t.decision === 'not judged' ? '' : `${TEST_NAMES[t.test]} p=${p(t.pValue)} → `}
      <span className={`badge verdict-${decided}`}>{t.decision}</span>
    </div>
  );
}

export function VerdictList({ verdicts }: { verdicts: Verdict[] }) {
  return (
    <table className="verdicts">
      <thead>
        <tr>
          <th>version</th>
          <th>verdict</th>
          <th>lane req / err / p99</th>
          <th>stable req / err / p99</th>
          <th>tests</th>
        </tr>
      </thead>
      <tbody>
        {verdicts.map((v) => (
          <tr key={`${v.module}@${v.version}`} title={v.reason}>
            <td className="mono">
              {v.module}@{v.version}
            </td>
            <td>
              <span className={`badge verdict-${v.verdict}`}>{v.verdict}</span>
            </td>
            <td>
              {v.lane.requests} / {pct(v.lane.errorRate)} / {ms(v.lane.p99Ms)}
            </td>
            <td>
              {v.stable.requests} / {pct(v.stable.errorRate)} / {ms(v.stable.p99Ms)}
            </td>
            <td>
              {(v.tests ?? []).map((t) => (
                <TestLine key={t.metric} t={t} />
              ))}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
