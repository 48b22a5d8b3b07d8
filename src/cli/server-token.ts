// `turnout server token <admin|join>`: a generated token from the server's data dir, made (mode
// 0600, in a 0700 dir) when the server has not made it yet, so agents' join tokens can be handed
// out before the first start.

import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { GeneratedToken } from '../server/tokens.js';
import { dataDirToken, GENERATED_TOKENS } from '../server/tokens.js';

export function printToken(
  data: string,
  which: GeneratedToken,
): { name: string; role: string; token: string; file: string } {
  const dir = resolve(data);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const t = dataDirToken(dir, which);
  const { name, role } = GENERATED_TOKENS[which];
  return { name, role, token: t.token, file: t.path };
}
