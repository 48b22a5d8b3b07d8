import type { ApiError } from '../api';

/** An API error as the API words it, with its code. */
export function ErrorNote({ error }: { error: ApiError | null }) {
  if (error === null) return null;
  return (
    <p className="error" role="alert">
      {error.message} <span className="muted">({error.code})</span>
    </p>
  );
}
