// A self-signed certificate for TLS tests, made by openssl (Debian's, installed by .ci/run):
// an EC P-256 key and a certificate for one IP address, written into `dir`.

import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/** Paths of `cert.pem` and `key.pem` in `dir`, for `ip` (subjectAltName), valid for `days`. */
export function selfSignedCert(
  dir: string,
  opts: { ip?: string; cn?: string; days?: number; name?: string } = {},
): { cert: string; key: string } {
  const { ip = '127.0.0.1', days = 2, name = '' } = opts;
  const cn = opts.cn ?? ip;
  const cert = join(dir, `${name}cert.pem`);
  const key = join(dir, `${name}key.pem`);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      String(days),
      '-subj',
      `/CN=${cn}`,
      '-addext',
      `subjectAltName=IP:${ip}`,
    ],
    { stdio: 'ignore' },
  );
  return { cert, key };
}
