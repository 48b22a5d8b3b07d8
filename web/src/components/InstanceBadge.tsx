// How an instance's state and health read. A stopped instance serves nothing: it reads grey and
// stopped, never a green "healthy" (the trial's Instances page showed stopped old versions as
// healthy). The store now records a stopped instance's health as unknown, but a row stopped before
// that keeps the verdict its last check recorded, so the view does not rely on it.

import '../drive.css';
import type { Instance } from '../api';

/** The health to show: none for a stopped instance (its last check no longer means anything). */
export function shownHealth(i: Pick<Instance, 'state' | 'health'>): string {
  return i.state === 'stopped' ? 'stopped' : i.health;
}

export function HealthBadge({ instance }: { instance: Instance }) {
  const health = shownHealth(instance);
  return (
    <span className={`badge health-${health}`} data-health={health}>
      {instance.state === 'stopped' ? '—' : health}
    </span>
  );
}

/** One instance in a line: id, state and (while it runs) health, coloured by what it does now. */
export function InstanceBadge({ instance: i }: { instance: Instance }) {
  const health = shownHealth(i);
  const text = i.state === 'stopped' ? 'stopped' : `${i.state}/${i.health}`;
  return (
    <span className={`badge health-${health} inst-${i.state}`} data-instance-state={i.state}>
      {i.id} {text}
      {i.state === 'ready' && !i.serving ? ' (not serving)' : ''}
    </span>
  );
}
