// Header and navigation around every page: who is signed in, the live stream's state, the
// light/dark toggle.

import type { ReactNode } from 'react';
import { useLiveStatus } from '../live';
import { Link } from '../router';
import { useSession } from '../session';
import { useTheme } from '../theme';

const PAGES = [
  ['/', 'Products'],
  ['/tickets', 'Tickets'],
  ['/traffic', 'Traffic'],
  ['/instances', 'Instances'],
  ['/explain', 'Route explainer'],
  ['/audit', 'Audit log'],
] as const;

function active(path: string, to: string): boolean {
  return to === '/' ? path === '/' || path === '/products' : path.startsWith(to);
}

export function Shell(props: { path: string; children: ReactNode }) {
  const session = useSession();
  const live = useLiveStatus();
  const [theme, toggle] = useTheme();
  return (
    <div className="shell">
      <header>
        <span className="brand">Turnout</span>
        <nav>
          {PAGES.map(([to, label]) => (
            <Link key={to} to={to} className={active(props.path, to) ? 'active' : undefined}>
              {label}
            </Link>
          ))}
        </nav>
        <span className="who" data-testid="whoami">
          <span className={`dot ${live}`} title={`live updates: ${live}`} />
          {session.who.name} · <b>{session.who.role}</b>
          {session.withToken && (
            <button type="button" className="link" onClick={session.signOut}>
              sign out
            </button>
          )}
          <button
            type="button"
            className="icon"
            onClick={toggle}
            title={`switch to ${theme === 'dark' ? 'light' : 'dark'} mode`}
            aria-label="toggle dark mode"
          >
            {theme === 'dark' ? '☀' : '☾'}
          </button>
        </span>
      </header>
      <main>{props.children}</main>
    </div>
  );
}
