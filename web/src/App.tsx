// The app shell: signs in (a token, or none when the API lets anyone in), then the navigation
// and the page for the current path.

import { useCallback, useEffect, useState } from 'react';
import type { ApiError, Whoami } from './api';
import { api, getToken, setToken } from './api';
import { Shell } from './components/Shell';
import { connect, disconnect } from './live';
import { Audit } from './pages/Audit';
import { Explain } from './pages/Explain';
import { Instances } from './pages/Instances';
import { NewTicket } from './pages/NewTicket';
import { Products } from './pages/Products';
import { SignIn } from './pages/SignIn';
import { TicketDetail } from './pages/TicketDetail';
import { Tickets } from './pages/Tickets';
import { Traffic } from './pages/Traffic';
import { TryLane } from './pages/TryLane';
import { useLocation } from './router';
import type { Session } from './session';
import { SessionContext } from './session';

type Auth =
  | { state: 'checking' }
  | { state: 'signed-out'; reason: string | null }
  | { state: 'signed-in'; who: Whoami; withToken: boolean };

function Page({ path }: { path: string }) {
  const ticket = /^\/tickets\/(\d+)$/.exec(path);
  if (ticket) return <TicketDetail id={Number(ticket[1])} />;
  if (path === '/tickets') return <Tickets />;
  if (path === '/tickets/new') return <NewTicket />;
  if (path === '/traffic') return <Traffic />;
  if (path === '/instances') return <Instances />;
  if (path === '/explain') return <Explain />;
  if (path === '/audit') return <Audit />;
  if (path === '/try') return <TryLane />;
  return <Products />;
}

export function App() {
  const [auth, setAuth] = useState<Auth>({ state: 'checking' });
  const { path } = useLocation();

  const check = useCallback(async (token: string | null) => {
    try {
      const who = await api<Whoami>('/whoami', { token });
      setToken(token);
      setAuth({ state: 'signed-in', who, withToken: token !== null });
    } catch (e) {
      const err = e as ApiError;
      if (token !== null) setToken(null);
      setAuth({
        state: 'signed-out',
        reason: token === null && err.code === 'unauthorized' ? null : err.message,
      });
    }
  }, []);

  useEffect(() => {
    void check(getToken());
  }, [check]);

  useEffect(() => {
    if (auth.state !== 'signed-in') return;
    connect();
    return disconnect;
  }, [auth]);

  if (auth.state === 'checking') return <p className="loading">Connecting…</p>;
  if (auth.state === 'signed-out')
    return <SignIn reason={auth.reason} onToken={(t) => void check(t)} />;
  const session: Session = {
    who: auth.who,
    withToken: auth.withToken,
    signOut: () => {
      setToken(null);
      setAuth({ state: 'signed-out', reason: null });
    },
  };
  return (
    <SessionContext.Provider value={session}>
      <Shell path={path}>
        <Page path={path} />
      </Shell>
    </SessionContext.Provider>
  );
}
