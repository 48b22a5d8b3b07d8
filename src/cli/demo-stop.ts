// When `turnout demo` stops: SIGINT, SIGTERM or SIGHUP (a closed terminal) — and, when npm started
// it (`npx turnout demo`, `npm start`), when that npm goes away. npm passes a signal on to the
// shell it ran the command in (`sh -c …`), and on SIGTERM that shell dies without passing it on:
// the demo, reparented, would run on with its proxy and instances, which are detached on purpose
// (they outlive a control plane killed with SIGKILL). So under npm, a new parent means npm was
// stopped: stop too. (`npm start` execs the demo, so there npm signals it directly; a SIGINT sent
// to `npx` alone is held by that shell until its child ends — Ctrl-C reaches the demo itself.)

/** How often the demo looks at its parent under npm (a cheap getppid). */
const PARENT_CHECK_MS = 500;

/** Calls `stop` once, with why, on the first stop request; the returned function unsubscribes. */
export function onStopRequest(stop: (why: string) => void): () => void {
  let asked = false;
  const ask = (why: string) => {
    if (asked) return;
    asked = true;
    stop(why);
  };
  const handlers = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((signal) => {
    const handler = () => ask(signal);
    process.on(signal, handler);
    return [signal, handler] as const;
  });
  const parent = process.ppid;
  const underNpm =
    process.env.npm_command !== undefined || process.env.npm_lifecycle_event !== undefined;
  const watch = underNpm
    ? setInterval(() => {
        if (process.ppid !== parent) ask('npm, which started it, has ended');
      }, PARENT_CHECK_MS).unref()
    : null;
  return () => {
    for (const [signal, handler] of handlers) process.off(signal, handler);
    if (watch !== null) clearInterval(watch);
  };
}
