// Reads a PEM file named by a flag (--ca, --tls-cert, --tls-key) with an error that names the flag
// and the reason, before anything starts or connects.

import { readFileSync } from 'node:fs';
import { TurnoutError } from '../errors.js';

export function readPemFile(path: string, field: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as { code?: string }).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EACCES'
          ? 'permission denied'
          : code === 'EISDIR'
            ? 'a directory, not a file'
            : (error as Error).message;
    throw new TurnoutError('invalid_argument', `${field}: cannot read ${path}: ${why}`, field);
  }
  if (!text.includes('-----BEGIN '))
    throw new TurnoutError('invalid_argument', `${field}: ${path} holds no PEM block`, field);
  return text;
}

/**
 * The CA to trust for an https server: the PEM file `--ca` names, else TURNOUT_CA's; undefined
 * when neither is set. Errors name whichever was used.
 */
export function readCa(flag: string | undefined): string | undefined {
  const file = flag ?? process.env.TURNOUT_CA;
  if (file === undefined || file === '') return undefined;
  return readPemFile(file, flag === undefined ? 'TURNOUT_CA' : '--ca');
}
