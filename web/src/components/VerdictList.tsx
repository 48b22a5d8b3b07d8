// Canary analysis figures: each new version's lane against stable, with the verdict and reason.

import type { Verdict } from '../api';

const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
const ms = (x: number | null) => (x === null ? '—' : `${x.toFixed(0)} ms`);

export function VerdictList({ verdicts }: { verdicts: Verdict[] }) {
  return (
    <table className="verdicts">
      <thead>
        <tr>
          <th>version</th>
          <th>verdict</th>
          <th>lane req / err / p99</th>
          <th>stable req / err / p99</th>
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
          </tr>
        ))}
      </tbody>
    </table>
  );
}
