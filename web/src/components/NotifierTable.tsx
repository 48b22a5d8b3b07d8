// A product's notification channels and how each one's last delivery went (GET /v1/notifiers):
// shown on its Products card, so a failing alert channel is as visible as the product itself.

export interface NotifierView {
  name: string;
  format: string;
  url: string;
  events: string[];
  lastDelivery: {
    state: string;
    attempts: number;
    lastAttemptAt: string | null;
    lastError: string | null;
    notification: { event: string; ticket: number };
  } | null;
}

export function NotifierTable({ notifiers }: { notifiers: NotifierView[] }) {
  if (notifiers.length === 0) return null;
  return (
    <div className="scroll-x">
      <table className="list notifiers">
        <thead>
          <tr>
            <th>notifier</th>
            <th>format</th>
            <th>events</th>
            <th>last delivery</th>
            <th>at</th>
            <th>error</th>
          </tr>
        </thead>
        <tbody>
          {notifiers.map((n) => {
            const d = n.lastDelivery;
            return (
              <tr key={n.name} data-notifier={n.name}>
                <td className="mono">{n.name}</td>
                <td>{n.format}</td>
                <td>{n.events.join(', ')}</td>
                <td>
                  {d === null
                    ? '—'
                    : `${d.state} (${d.notification.event} #${d.notification.ticket}, ${d.attempts} attempt${d.attempts === 1 ? '' : 's'})`}
                </td>
                <td className="mono">{d?.lastAttemptAt ?? '—'}</td>
                <td>{d?.lastError ?? '—'}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
