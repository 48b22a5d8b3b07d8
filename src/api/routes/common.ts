// Helpers the resource plugins share.

import { TurnoutError } from '../../errors.js';
import type { Store } from '../../store/store.js';

export interface ResourceOptions {
  store: Store;
}

/** The record, or a not_found error naming what was asked for. */
export function found<T>(record: T | null, what: string, key: string | number): T {
  if (record === null) throw new TurnoutError('not_found', `${what} ${key} does not exist`);
  return record;
}
