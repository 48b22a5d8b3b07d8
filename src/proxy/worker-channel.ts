// The primary's side of a worker's IPC channel, where a worker that is exiting must not take the
// primary with it. A worker's end of the channel closes when it exits, before this process has
// seen the exit: `isConnected()` is still true, the write fails with EPIPE, and node reports that
// as an 'error' event on the worker when send() has no callback — with no listener, an uncaught
// exception that ends the primary and every worker still serving. (Seen as a start that failed with
// "internal error" instead of naming the flag: the primary sent `drain` to a worker exiting after
// its failed bind.) And the worker's 'exit' can be seen before the last messages it wrote (the
// 'failed' saying why): they are read from the channel, which is drained only by its close.

/** What the primary needs of a cluster Worker (or a forked ChildProcess: the same calls). */
export interface WorkerChannel {
  isConnected(): boolean;
  send(
    message: unknown,
    handle: undefined,
    options: Record<string, never>,
    callback: (error: Error | null) => void,
  ): boolean;
}

/**
 * Sends `message` if the channel is open; a failure (the worker exiting) goes to `onError`, never
 * to an 'error' event. Its exit is handled where exits are (the worker is replaced or awaited).
 */
export function sendToWorker(
  worker: WorkerChannel,
  message: unknown,
  onError: (error: Error) => void,
): void {
  if (!worker.isConnected()) return;
  worker.send(message, undefined, {}, (error) => {
    if (error !== null && error !== undefined) onError(error);
  });
}

/** Anything with the events of a child process: 'exit', then 'close' once its channel is drained. */
interface Closable {
  once(event: 'close', listener: () => void): unknown;
}

/**
 * Resolves once the process has exited AND every message it sent has been read and emitted: node
 * emits a child's 'close' after its exit and the end of its stdio and IPC channel (the 'exit'
 * event alone can come first). Call it as the child starts: a 'close' already past is not seen.
 */
export function closed(child: Closable): Promise<void> {
  return new Promise<void>((resolve) => child.once('close', () => resolve()));
}
