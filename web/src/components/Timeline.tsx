// A ticket's step timeline from its events: deploy levels, instance starts, pre-release, canary
// steps with analysis verdicts, promote/abort/revert, and every operator command with who gave it.

import type { TicketEvent, Verdict } from '../api';
import { VerdictList } from './VerdictList';

const str = (v: unknown) => (typeof v === 'string' || typeof v === 'number' ? String(v) : '');
const items = (v: unknown) =>
  Array.isArray(v)
    ? (v as { module: string; version: string }[]).map((i) => `${i.module}@${i.version}`).join(', ')
    : '';

/** What an event says, in words. */
export function describeEvent(e: TicketEvent): { title: string; detail: string; kind: string } {
  const d = e.data ?? {};
  if (e.type.startsWith('command.')) {
    const name = e.type.slice('command.'.length);
    let detail = '';
    if (name === 'canary') {
      const c = (d.canary ?? d) as { steps?: number[]; pauseMs?: number | null };
      detail = `steps ${(c.steps ?? []).join(' → ')} %, ${c.pauseMs == null ? 'each step waits for approve' : `each held ${Math.round(c.pauseMs / 1000)} s`}`;
    } else if (name === 'revert') detail = `by ticket ${str(d.ticket)}: ${items(d.items)}`;
    else if (name === 'amend') detail = items(d.items);
    return { title: `${e.actor} asked to ${name}`, detail, kind: 'command' };
  }
  switch (e.type) {
    case 'created':
      return {
        title: `created by ${e.actor}`,
        detail: `${items(d.items)}${d.revertOf != null ? ` (reverts ticket ${str(d.revertOf)})` : ''}`,
        kind: 'command',
      };
    case 'deploy.level':
      return {
        title: `deploying level ${str(d.level)}`,
        detail: (d.modules as string[] | undefined)?.join(', ') ?? '',
        kind: 'deploy',
      };
    case 'instance.start':
      return {
        title: `instance ${str(d.id)} started`,
        detail: `${str(d.module)}@${str(d.version)}${d.recovered === true ? ' (recovered after a restart)' : ''}`,
        kind: 'deploy',
      };
    case 'deployed':
      return {
        title: 'deployed',
        detail: 'every new version has its ready instances',
        kind: 'deploy',
      };
    case 'deploy.failed':
      return {
        title: `deploy failed at level ${str(d.level)}`,
        detail: str(d.message),
        kind: 'bad',
      };
    case 'prerelease':
      return {
        title: `pre-release live in lane ${str(d.lane)}`,
        detail: `requests with the header ${str(d.header).includes(':') ? str(d.header) : `${str(d.header)}: ${str(d.lane)}`} reach the new versions`,
        kind: 'lane',
      };
    case 'canary.step':
      return {
        title: `canary step ${Number(d.step) + 1}: ${str(d.percent)} % of users`,
        detail: '',
        kind: 'lane',
      };
    case 'canary.done':
      return {
        title: `canary done at ${str(d.percent)} %`,
        detail: 'analysis passed: ready to promote',
        kind: 'good',
      };
    case 'analysis.failed':
      return { title: 'analysis failed', detail: str(d.message), kind: 'bad' };
    case 'aborted':
      return { title: 'aborted', detail: str(d.message) || 'lane traffic went to 0', kind: 'bad' };
    case 'promoted':
      return { title: 'promoted', detail: `stable now serves ${items(d.items)}`, kind: 'good' };
    default:
      return {
        title: e.type,
        detail: Object.keys(d).length === 0 ? '' : JSON.stringify(d),
        kind: 'other',
      };
  }
}

export function Timeline({ events }: { events: TicketEvent[] }) {
  return (
    <ol className="timeline" data-testid="timeline">
      {events.map((e) => {
        const { title, detail, kind } = describeEvent(e);
        const analysis = (e.data as { analysis?: Verdict[] } | undefined)?.analysis;
        return (
          <li key={e.seq} className={`ev ev-${kind}`} data-type={e.type}>
            <time dateTime={e.at} title={e.at}>
              {new Date(e.at).toLocaleTimeString([], { hour12: false })}
            </time>
            <div>
              <b>{title}</b>
              {e.actor !== 'engine' || e.type.startsWith('command.') ? null : (
                <span className="muted"> · engine</span>
              )}
              {detail !== '' && <div className="muted">{detail}</div>}
              {analysis !== undefined && analysis.length > 0 && <VerdictList verdicts={analysis} />}
            </div>
          </li>
        );
      })}
    </ol>
  );
}
