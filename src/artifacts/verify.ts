// What both back-ends do to an upload on its way in: count it against the cap and hash it, then
// check the hash it was promised. Pure of storage, so each back-end only decides where bytes go.

import { createHash, type Hash } from 'node:crypto';
import { TurnoutError } from '../errors.js';

export const SHA256_PATTERN = /^[0-9a-f]{64}$/;

/** Refuses a malformed sha256 before anything is read or written. */
export function checkSha256(sha256: string, field = 'sha256'): void {
  if (!SHA256_PATTERN.test(sha256)) {
    throw new TurnoutError(
      'invalid_argument',
      `${field}: a sha256 is 64 lower-case hex digits`,
      field,
    );
  }
}

export function sizeText(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}

export function tooLarge(maxBytes: number): TurnoutError {
  return new TurnoutError(
    'payload_too_large',
    `the artifact is larger than the limit of ${maxBytes} bytes (${sizeText(maxBytes)}; the server's --max-artifact-bytes)`,
  );
}

/** Counts and hashes chunks as they pass; `finish` checks the whole against `expected`. */
export class UploadCheck {
  readonly #hash: Hash = createHash('sha256');
  #size = 0;

  constructor(
    readonly expected: string,
    readonly maxBytes: number,
  ) {}

  get size(): number {
    return this.#size;
  }

  /** Throws payload_too_large as soon as the cap is passed, before the chunk is stored. */
  add(chunk: Buffer): void {
    this.#size += chunk.length;
    if (this.#size > this.maxBytes) throw tooLarge(this.maxBytes);
    this.#hash.update(chunk);
  }

  /** The size, once the hash is the expected one. */
  finish(): number {
    const actual = this.#hash.digest('hex');
    if (actual !== this.expected) {
      throw new TurnoutError(
        'bad_request',
        `sha256: the body's sha256 is ${actual}, not the expected ${this.expected} (${this.#size} bytes received)`,
        'sha256',
      );
    }
    return this.#size;
  }
}
