// The value a ticket's testers send in the pre-release header. Ticket ids are sequential, so a
// value derived from one (`t-42`) can be guessed; this one is 128 random bits, base64url, and
// only those who may read the ticket see it.

import { randomBytes } from 'node:crypto';

/** 16 bytes = 128 bits of entropy; base64url needs no quoting in a header or a shell. */
const SECRET_BYTES = 16;

export function newPrereleaseSecret(): string {
  return randomBytes(SECRET_BYTES).toString('base64url');
}
