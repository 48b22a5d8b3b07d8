// `turnout agent`'s bad input: a clear error naming the flag and the reason, exit 2, and nothing
// created (the data dir is checked after the flags).

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { turnout } from '../cli/run.js';
import { tempDir } from '../runtime/support.js';
import { ensureBuilt } from '../support/build.js';

beforeAll(async () => {
  await ensureBuilt();
}, 120_000);

const OK = ['--server', 'http://127.0.0.1:1', '--token', 't', '--advertise', '127.0.0.1'];

describe('turnout agent flags', () => {
  it.each([
    [['--advertise', 'host.example'], '--advertise', /expected an IP address/],
    [['--server', 'cp.example:7070'], '--server', /expected the API's http\(s\):\/\/host:port/],
    [['--token', ''], '--token', /agent token is required/],
    [['--name', 'Bad_Name'], '--name', /lower-case DNS name/],
    [['--labels', 'zone'], '--labels', /expected key=value/],
    [['--max-instances', '0'], '--max-instances', /whole number ≥ 1/],
    [['--ttl', '1000'], '--ttl', /at least 1500 ms/],
    [['--edge', 'nowhere'], '--edge', /expected host:port/],
    [['--artifact-cache-bytes', '10GB'], '--artifact-cache-bytes', /KiB, MiB or GiB/],
    [['--max-unpacked-bytes', '0'], '--max-unpacked-bytes', /whole number of bytes ≥ 1/],
    [['--max-unpacked-files', 'many'], '--max-unpacked-files', /whole number ≥ 1/],
  ])('%j is refused naming %s', async (bad, flag, why) => {
    const data = join(tempDir('agent-cli'), 'data');
    const run = await turnout('agent', ...OK, ...bad, '--data', data, '--json');
    expect(run.code).toBe(2);
    const error = JSON.parse(run.stderr.trim().split('\n').at(-1) ?? '{}').error;
    expect(error).toMatchObject({ code: 'invalid_argument', field: flag });
    expect(error.message).toMatch(why);
    expect(existsSync(data)).toBe(false);
  });
});
