// A ticket id as typed: a positive whole number the API can hold, refused here with the same words
// by every command that takes one (the API's own refusal read "id: Invalid input: expected number,
// received NaN", and for 99999999999999999999 "Too big: expected int to be <=9007199254740991").

import { TurnoutError } from '../errors.js';

export function ticketId(text: string): number {
  const n = /^\d{1,15}$/.test(text.trim()) ? Number(text) : Number.NaN;
  if (!(n >= 1))
    throw new TurnoutError(
      'invalid_argument',
      `ticket ${text}: a ticket id is a positive integer`,
      'ticket',
    );
  return n;
}
