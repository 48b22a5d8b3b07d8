// `turnout up`: the control plane (SQLite store, API, health checker, lease sweeper, stats scraper;
// src/control/control-plane.ts) in this process and the proxy as its own child process
// (`turnout proxy --config http://<api>/v1/stream`), so control-plane work never stalls traffic.
// The scraper reads the proxy's admin /stats. SIGINT/SIGTERM stops the stats scraper, then the proxy
// (and waits for it), then the rest of the control plane and the store.

import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { pino } from 'pino';
import type { ApiAuth } from '../api/auth.js';
import type { ControlPlane } from '../control/control-plane.js';
import { startControlPlane } from '../control/control-plane.js';
import { TurnoutError } from '../errors.js';
import { openProcessRuntime } from '../runtime/process-runtime.js';
import { openSqliteStore } from '../store/sqlite.js';
import type { Io } from './io.js';
import { parseListen } from './proxy-command.js';

const BIN = fileURLToPath(new URL('../../bin/turnout.js', import.meta.url));

interface UpFlags {
  data: string;
  api: string;
  outbound: string;
  edge: string;
  admin: string;
  insecureLocal?: boolean;
  keepInstances?: boolean;
  json?: boolean;
}

/** Reuses `<data>/admin-token` when present; otherwise creates it (mode 0600). */
function adminToken(dataDir: string): { token: string; created: boolean } {
  const path = join(dataDir, 'admin-token');
  try {
    const token = readFileSync(path, 'utf8').trim();
    if (token !== '') return { token, created: false };
  } catch (error) {
    if ((error as { code?: string }).code !== 'ENOENT') throw error;
  }
  const token = randomBytes(32).toString('base64url');
  writeFileSync(path, `${token}\n`, { mode: 0o600, flag: 'w' });
  return { token, created: true };
}

function hostForUrl(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<void> {
  return new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null) return done();
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      done();
    });
  });
}

export function registerUpCommand(program: Command, io: Io, setExit: (code: number) => void): void {
  program
    .command('up')
    .description('run the control plane (store + API) and a proxy on local defaults')
    .option('--data <dir>', 'data directory (store, admin token, proxy state)', '.turnout')
    .option('--api <addr>', 'API listener', '127.0.0.1:7070')
    .option(
      '--outbound <addr>',
      'proxy outbound (explicit proxy) listener, or off',
      '127.0.0.1:4140',
    )
    .option('--edge <addr>', 'proxy edge (ingress) listener, or off', '127.0.0.1:8080')
    .option('--admin <addr>', 'proxy admin listener, or off', '127.0.0.1:9990')
    .option('--insecure-local', 'no API authentication (loopback only)')
    .option(
      '--keep-instances',
      'on stop, leave module instances running for the next `turnout up` to adopt',
    )
    .option('--json', 'print what runs where as JSON')
    .action(async (flags: UpFlags) => {
      const api = parseListen(flags.api, '--api');
      if (api === null) throw new TurnoutError('invalid_argument', '--api cannot be off', '--api');
      // Validate the proxy listeners here, so a typo fails before anything starts.
      parseListen(flags.outbound, '--outbound');
      parseListen(flags.edge, '--edge');
      parseListen(flags.admin, '--admin');
      const dataDir = resolve(flags.data);
      mkdirSync(dataDir, { recursive: true });
      const insecure = flags.insecureLocal === true;
      const token = insecure ? null : adminToken(dataDir);
      const auth: ApiAuth = insecure
        ? { insecureLocal: true }
        : { tokens: [{ token: token?.token ?? '', role: 'admin', name: 'admin' }] };

      const logger = pino({ name: 'turnout-api', level: 'warn' }, pino.destination(2));
      const store = await openSqliteStore(join(dataDir, 'turnout.db'));
      const proxyAdmin = parseListen(flags.admin, '--admin');
      const adminUrls =
        proxyAdmin === null ? [] : [`http://${hostForUrl(proxyAdmin.host)}:${proxyAdmin.port}`];
      const outbound = parseListen(flags.outbound, '--outbound');
      // Instances run from the current directory (relative commands and cwd resolve here), and
      // reach other modules through this proxy's outbound listener.
      const runtime = await openProcessRuntime({
        dataDir,
        baseDir: process.cwd(),
        proxyUrl: outbound === null ? null : `http://${hostForUrl(outbound.host)}:${outbound.port}`,
      });
      const adopted = await runtime.adopt();
      let cp: ControlPlane;
      try {
        cp = await startControlPlane({
          store,
          auth,
          listen: api,
          proxyAdminUrls: () => adminUrls,
          logger,
          release: { runtime },
        });
      } catch (error) {
        await runtime.close().catch(() => {});
        await store.close().catch(() => {});
        throw error;
      }
      const app = cp.app;
      const address = app.server.address();
      const port = typeof address === 'object' && address !== null ? address.port : api.port;
      const apiUrl = `http://${hostForUrl(api.host)}:${port}`;
      const streamUrl = `${apiUrl}/v1/stream`;

      const env: NodeJS.ProcessEnv = { ...process.env };
      if (token === null) delete env.TURNOUT_TOKEN;
      else env.TURNOUT_TOKEN = token.token;
      const child = spawn(
        process.execPath,
        [
          BIN,
          'proxy',
          '--config',
          streamUrl,
          '--data',
          dataDir,
          '--outbound',
          flags.outbound,
          '--edge',
          flags.edge,
          '--admin',
          flags.admin,
        ],
        // The proxy logs JSON on its stdout: send it to our stderr so our stdout stays readable.
        { env, stdio: ['ignore', 2, 2] },
      );

      const summary = {
        data: dataDir,
        store: join(dataDir, 'turnout.db'),
        api: apiUrl,
        auth: insecure ? 'insecure-local' : 'token',
        ...(token === null
          ? {}
          : {
              adminToken: token.token,
              adminTokenFile: join(dataDir, 'admin-token'),
              adminTokenCreated: token.created,
            }),
        instances: { adopted: adopted.adopted.length, dead: adopted.dead.length },
        proxy: {
          pid: child.pid ?? null,
          config: streamUrl,
          outbound: flags.outbound,
          edge: flags.edge,
          admin: flags.admin,
        },
      };
      if (flags.json === true) {
        io.out(JSON.stringify(summary));
      } else {
        const lines = [
          `turnout up: data ${dataDir}`,
          `  api      ${apiUrl} (${insecure ? 'insecure local: no authentication, loopback only' : 'bearer token'})`,
          `  proxy    pid ${child.pid ?? '?'}, config ${streamUrl}`,
          `  outbound ${flags.outbound}`,
          `  edge     ${flags.edge}`,
          `  admin    ${flags.admin}`,
          `  runtime  local processes (${adopted.adopted.length} adopted from an earlier run)`,
        ];
        if (token !== null) {
          lines.push(
            `  token    ${token.token} (${token.created ? 'new, ' : ''}saved in ${join(dataDir, 'admin-token')})`,
            `export TURNOUT_SERVER=${apiUrl} TURNOUT_TOKEN=${token.token}`,
          );
        }
        lines.push('press Ctrl-C to stop');
        io.out(lines.join('\n'));
      }

      const code = await new Promise<number>((done) => {
        let stopping = false;
        const stop = async (why: string, exit: number) => {
          if (stopping) return;
          stopping = true;
          io.err(`turnout up: ${why}; stopping`);
          // The scraper first, so the proxy going away is not logged as a proxy that is down.
          await cp.statsScraper.stop().catch(() => {});
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
          await waitForExit(child, 15_000);
          // The engine stops before instances do, so it does not restart what is being stopped.
          await cp.stop().catch(() => {});
          if (flags.keepInstances !== true) {
            await Promise.all(runtime.list().map((i) => runtime.stop(i.id).catch(() => {})));
          }
          await runtime.close().catch(() => {});
          await store.close().catch(() => {});
          done(exit);
        };
        process.once('SIGTERM', () => void stop('SIGTERM', 0));
        process.once('SIGINT', () => void stop('SIGINT', 0));
        child.once('exit', (exitCode, signal) => {
          void stop(`the proxy exited (${signal ?? `code ${exitCode}`})`, 1);
        });
        child.once('error', (error) => {
          void stop(`the proxy failed to start: ${error.message}`, 1);
        });
      });
      setExit(code);
    });
}
