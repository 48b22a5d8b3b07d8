// The example service (examples/services/service.mjs), started only once the file GATE_FILE
// exists: until then the process runs but listens nowhere, so its health probes are refused and
// its instance stays `starting` for as long as a test needs (test/release/durability.test.ts).
// The wait is for the file itself, checked every 20 ms.

import { existsSync } from 'node:fs';

const gate = process.env.GATE_FILE;
if (!gate) {
  process.stderr.write('gated-service: GATE_FILE is not set\n');
  process.exit(2);
}
const timer = setInterval(() => {
  if (!existsSync(gate)) return;
  clearInterval(timer);
  void import('../../examples/services/service.mjs');
}, 20);
