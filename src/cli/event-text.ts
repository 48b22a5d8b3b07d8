// A ticket event as a sentence (`started instance orders-2.0.0-0`), not its type and a JSON blob:
// what `release status` and `describe ticket` print. Pure; an event type this table does not know
// (a newer engine) still reads as words: its type and its scalar fields.

type Data = Record<string, unknown>;
type Item = { module: string; version: string };

const items = (v: unknown) =>
  Array.isArray(v) ? (v as Item[]).map((i) => `${i.module}@${i.version}`).join(', ') : '';
const str = (v: unknown) => (v === undefined || v === null ? '' : String(v));
/** A canary step as people count it: the engine stores steps from 0. */
const stepNo = (v: unknown) => (typeof v === 'number' ? v + 1 : str(v));

const COMMANDS: Readonly<Record<string, (d: Data) => string>> = {
  deploy: () => 'asked to deploy',
  prerelease: () => 'asked for a pre-release',
  canary: (d) => {
    const c = d.canary as { steps?: number[]; pauseMs?: number | null } | undefined;
    const steps = c?.steps?.map((s) => `${s} %`).join(' → ') ?? '';
    const hold =
      c?.pauseMs === null || c?.pauseMs === undefined
        ? ', each step waiting for approval'
        : `, holding each step ${c.pauseMs / 1000} s`;
    return `asked for a canary${steps === '' ? '' : ` at ${steps}`}${c === undefined ? '' : hold}`;
  },
  approve: (d) => `approved canary step ${stepNo(d.step)}`,
  promote: () => 'asked to promote',
  abort: () => 'asked to abort',
  amend: (d) => `amended the items to ${items(d.items)}`,
  revert: (d) => `reverted by ticket ${str(d.ticket)} (restores ${items(d.items)})`,
};

const EVENTS: Readonly<Record<string, (d: Data) => string>> = {
  created: (d) => {
    const what = items(d.items) === '' ? '' : ` with ${items(d.items)}`;
    return d.revertOf === undefined || d.revertOf === null
      ? `created${what}`
      : `created to revert ticket ${str(d.revertOf)}${what}`;
  },
  'deploy.level': (d) => {
    const modules = Array.isArray(d.modules) ? d.modules.join(', ') : '';
    return `deploying level ${str(d.level)}${modules === '' ? '' : `: ${modules}`}`;
  },
  'instance.start': (d) =>
    d.recovered === true
      ? `found instance ${str(d.id)} still running`
      : `started instance ${str(d.id)}`,
  deployed: () => 'deployed: every instance ready',
  'deploy.failed': (d) => str(d.message) || 'deploy failed',
  prerelease: (d) => `pre-release lane ${str(d.lane)} is live`,
  'prerelease.rotated': () => 'gave the pre-release header a new value',
  'canary.step': (d) => `canary step ${stepNo(d.step)}: ${str(d.percent)} % of traffic`,
  'canary.done': (d) => `canary complete at ${str(d.percent)} %: ready to promote`,
  'analysis.failed': (d) => str(d.message) || 'analysis failed',
  aborted: (d) => (d.message === undefined ? 'aborted' : `aborted: ${str(d.message)}`),
  promoted: (d) => `promoted ${items(d.items)}`,
};

/** What happened, in words (without who or when). */
export function eventSentence(type: string, data: unknown): string {
  const d = (typeof data === 'object' && data !== null ? data : {}) as Data;
  if (type.startsWith('command.')) {
    const say = COMMANDS[type.slice('command.'.length)];
    if (say !== undefined) return say(d);
  }
  const say = EVENTS[type];
  if (say !== undefined) return say(d);
  const fields = Object.entries(d)
    .filter(([, v]) => v === null || typeof v !== 'object')
    .map(([k, v]) => `${k} ${str(v)}`);
  return [type.replace(/[._]/g, ' '), ...fields].join(', ');
}
