// Sign-in: paste an API token (kept in sessionStorage for this tab only). Shown when the API
// answers /v1/whoami without a token with 401; an API that lets anyone in skips this page.

import type { FormEvent } from 'react';
import { useState } from 'react';

export function SignIn(props: { reason: string | null; onToken: (token: string) => void }) {
  const [token, setToken] = useState('');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (token.trim() !== '') props.onToken(token.trim());
  };
  return (
    <main className="signin">
      <h1>Turnout</h1>
      <form onSubmit={submit} className="card">
        <label htmlFor="token">API token</label>
        <input
          id="token"
          type="password"
          autoComplete="off"
          value={token}
          onChange={(e) => setToken(e.target.value)}
          placeholder="paste a token from the control plane's token file"
        />
        <button type="submit" className="primary" disabled={token.trim() === ''}>
          Sign in
        </button>
        {props.reason !== null && <p className="error">{props.reason}</p>}
        <p className="muted">
          The token stays in this browser tab (sessionStorage) and is sent only in the Authorization
          header.
        </p>
      </form>
    </main>
  );
}
