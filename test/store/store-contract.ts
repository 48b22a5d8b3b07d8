// The one behavioural contract every store back-end must meet. Each back-end's test file calls
// describeStore with a factory for fresh, empty databases; every test gets its own.

import { afterEach, beforeEach, describe } from 'vitest';
import type { Store } from '../../src/store/store.js';
import { appliedTests } from './contract-applied.js';
import { assignmentTests } from './contract-assignments.js';
import { crudTests } from './contract-crud.js';
import { hostTests } from './contract-hosts.js';
import { integrityTests } from './contract-integrity.js';
import { notifierTests } from './contract-notifiers.js';
import { transactionTests } from './contract-tx.js';
import { validationTests } from './contract-validation.js';
import type { StoreTarget, TargetFactory } from './fixtures.js';

export type { StoreTarget, TargetFactory } from './fixtures.js';

export interface ContractEnv {
  /** A fresh store (migrated, empty) for the current test. */
  store(): Store;
  target(): StoreTarget;
  /** Another store on the same database, closed after the test. */
  openAnother(): Promise<Store>;
  factory: TargetFactory;
}

export function describeStore(name: string, factory: TargetFactory): void {
  describe(`store contract (${name})`, () => {
    let target: StoreTarget | undefined;
    let store: Store | undefined;
    let others: Store[] = [];

    beforeEach(async () => {
      target = await factory();
      store = await target.open();
    });

    afterEach(async () => {
      for (const s of [store, ...others]) await s?.close();
      others = [];
      store = undefined;
      await target?.dispose();
      target = undefined;
    });

    const env: ContractEnv = {
      store: () => store ?? fail('no store'),
      target: () => target ?? fail('no target'),
      async openAnother() {
        const s = await env.target().open();
        others.push(s);
        return s;
      },
      factory,
    };

    crudTests(env);
    validationTests(env);
    integrityTests(env);
    transactionTests(env);
    notifierTests(env);
    hostTests(env);
    assignmentTests(env);
    appliedTests(env);
  });
}

function fail(what: string): never {
  throw new Error(what);
}
