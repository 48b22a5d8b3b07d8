// A modal confirmation that says exactly what an action will do before it is sent.

import type { ReactNode } from 'react';
import { useEffect, useRef } from 'react';

export function ConfirmDialog(props: {
  title: string;
  children: ReactNode;
  confirmLabel: string;
  danger?: boolean;
  busy?: boolean;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (d !== null && !d.open) d.showModal();
  }, []);
  return (
    <dialog
      ref={ref}
      className="confirm"
      aria-label={props.title}
      onCancel={(e) => {
        e.preventDefault();
        props.onCancel();
      }}
    >
      <h2>{props.title}</h2>
      <div className="what">{props.children}</div>
      <div className="buttons">
        <button type="button" onClick={props.onCancel}>
          Cancel
        </button>
        <button
          type="button"
          className={props.danger === true ? 'danger' : 'primary'}
          disabled={props.busy === true}
          onClick={props.onConfirm}
          data-testid="confirm"
        >
          {props.confirmLabel}
        </button>
      </div>
    </dialog>
  );
}
