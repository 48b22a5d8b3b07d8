// `--max-concurrent-downloads` (server and up): K for the artifact download throttle
// (src/api/routes/permits.ts). Checked before anything starts.

import { parsePositiveInt } from './proxy-command.js';

export function downloadsOf(flag: string | undefined): { maxConcurrent?: number } {
  return flag === undefined
    ? {}
    : { maxConcurrent: parsePositiveInt(flag, '--max-concurrent-downloads') };
}
