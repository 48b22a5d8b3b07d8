// The pre-release header testers set (e.g. with ModHeader or curl -H), with a copy button. Its
// value is the ticket's secret: share it with testers only (`turnout release rotate-header`
// replaces it).

import { useState } from 'react';

export function CopyHeader({ header }: { header: string }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(header);
    } catch {
      // No clipboard permission (plain http on another host): select the text instead.
      const range = document.createRange();
      const el = document.querySelector('[data-testid="prerelease-header"]');
      if (el !== null) {
        range.selectNodeContents(el);
        getSelection()?.removeAllRanges();
        getSelection()?.addRange(range);
      }
    }
    setCopied(true);
    setTimeout(() => setCopied(false), 1500);
  };
  return (
    <div className="copy-header">
      <span className="muted" title="a secret: share it with testers only">
        pre-release header
      </span>{' '}
      <code data-testid="prerelease-header">{header}</code>{' '}
      <button type="button" onClick={() => void copy()}>
        {copied ? 'copied' : 'copy'}
      </button>
    </div>
  );
}
