import type { ApiError } from '../api';

/** An API error as the API words it (the field and the reason), with its code. */
export function ErrorNote({ error }: { error: ApiError | null }) {
  if (error === null) return null;
  // The API's messages start with the field they are about; say it when one does not.
  const named = error.field === undefined || error.message.includes(error.field);
  return (
    <p className="error" role="alert" data-code={error.code} data-field={error.field}>
      {!named && <span className="field">{error.field}: </span>}
      {error.message} <span className="muted">({error.code})</span>
    </p>
  );
}
