// Runs the `turnout` CLI from src/ through tsx, for `npm run bench:proxy` when dist/ is stale and
// cannot be rebuilt (the bench says so in its output). Same argv shape as bin/turnout.js.

import { main } from '../../src/cli/main.js';

process.exitCode = await main(process.argv);
