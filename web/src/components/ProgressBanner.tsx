// The engine's progress message over a ticket. A failed ticket's banner is an error (red, read out
// as an alert) that says what is left to do: nothing moves a failed ticket until a person retries
// or aborts it.

import '../drive.css';
import type { Ticket } from '../api';

export function ProgressBanner({ ticket: t }: { ticket: Ticket }) {
  const failed = t.state === 'failed';
  if (!failed && t.progress.message === undefined) return null;
  return (
    <p
      className={failed ? 'progress failed' : 'progress'}
      role={failed ? 'alert' : undefined}
      data-testid="progress-message"
    >
      {failed && <b>Ticket {t.id} failed. </b>}
      {t.progress.message}
      {failed &&
        ' Nothing moves it until it is retried (deploy, pre-release or canary again) or aborted.'}
    </p>
  );
}
