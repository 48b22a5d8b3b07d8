// The error every parser in the routing core throws, with Finagle's message text.

import { TurnoutError } from '../errors.js';

export class DtabSyntaxError extends TurnoutError {
  /** Index in the input (UTF-16 units) where parsing stopped. */
  readonly index: number;

  constructor(message: string, index: number) {
    super('dtab_syntax', message);
    this.name = 'DtabSyntaxError';
    this.index = index;
  }
}
