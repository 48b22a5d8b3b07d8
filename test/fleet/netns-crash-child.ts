// Run by netns.test.ts and killed with -9 mid-way: it builds a fleet network, starts a process
// inside one host and says so on stdout, then waits to be killed, leaving everything behind for
// the next run's sweep to remove.
import { createFleetNet } from '../support/netns.js';

const prefix = process.argv[2] ?? 'tncrash';
const net = createFleetNet({ prefix, hosts: 2 });
const sleeper = net.spawn(1, 'sleep', ['1000'], { stdio: 'ignore' });
sleeper.on('spawn', () => {
  process.stdout.write(`${JSON.stringify({ ready: true, pid: sleeper.pid })}\n`);
});
setInterval(() => undefined, 60_000);
