// Contract: every validation error names its field and reason, and leaves the store untouched.

import { describe, expect, it } from 'vitest';
import { ACTOR, expectError, fingerprint, seed } from './fixtures.js';
import type { ContractEnv } from './store-contract.js';
import { mod, REFERENCE_CASES } from './validation-references.js';
import { SHAPE_CASES } from './validation-shapes.js';

export function validationTests(env: ContractEnv): void {
  describe('validation', () => {
    it.each([...REFERENCE_CASES, ...SHAPE_CASES])(
      '$name: $code on $field, store untouched',
      async (c) => {
        const s = env.store();
        await s.transaction((tx) => seed(tx));
        const before = await fingerprint(s);
        await expectError(c.run(s), c.code, c.field, c.message);
        expect(await fingerprint(s)).toEqual(before);
      },
    );

    it('names the dependency cycle, starting at the module being changed', async () => {
      const s = env.store();
      await s.transaction((tx) => seed(tx));
      const before = await fingerprint(s);
      await expectError(
        s.updateModule(mod('account', ['orders']), ACTOR),
        'invalid_config',
        'calls',
        /dependency cycle account → orders → account$/,
      );
      await expectError(
        s.updateModule(mod('payments', ['web']), ACTOR),
        'invalid_config',
        'calls',
        /dependency cycle payments → web → orders → payments$/,
      );
      expect(await fingerprint(s)).toEqual(before);
    });

    it('versions are immutable: identical re-creation is a no-op, different content an error', async () => {
      const s = env.store();
      await s.createOrg({ name: 'acme' }, ACTOR);
      await s.createModule(mod('orders'), ACTOR);
      const run = { process: { args: ['--port', '8080'], env: { A: '1', B: '2' } } };
      const v = await s.createVersion({ module: 'orders', version: '2.3.0', run }, ACTOR);
      const before = await fingerprint(s);
      const reordered = { process: { env: { B: '2', A: '1' }, args: ['--port', '8080'] } };
      expect(
        await s.createVersion({ module: 'orders', version: '2.3.0', run: reordered }, ACTOR),
      ).toEqual(v);
      expect(await fingerprint(s)).toEqual(before); // no write, no audit, no counter bump
      const changed = { process: { args: ['--port', '9090'] } };
      await expectError(
        s.createVersion({ module: 'orders', version: '2.3.0', run: changed }, ACTOR),
        'invalid_argument',
        'run',
        /orders@2.3.0 already exists with a different run; versions are immutable/,
      );
      await expectError(
        s.createVersion({ module: 'orders', version: '2.3.0' }, ACTOR),
        'invalid_argument',
        'run',
      );
      expect(await fingerprint(s)).toEqual(before);
    });

    it('a module cannot change runtime while versions override the old one', async () => {
      const s = env.store();
      await s.createOrg({ name: 'acme' }, ACTOR);
      await s.createModule(mod('orders'), ACTOR);
      await s.createVersion(
        { module: 'orders', version: '1', run: { process: { cwd: '/a' } } },
        ACTOR,
      );
      await expectError(
        s.updateModule({ ...mod('orders'), run: { kubernetes: { image: 'img' } } }, ACTOR),
        'invalid_argument',
        'run',
        /versions 1 override the old runtime/,
      );
    });
  });
}
