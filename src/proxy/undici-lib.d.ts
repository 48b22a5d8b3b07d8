// undici's dispatcher classes at their own files (CommonJS: module.exports is the class), typed as
// the classes undici's index exports. Used by undici-parts.ts only; why there.
// test/proxy/undici-parts.test.ts checks that these are the very classes of undici's index.

declare module 'undici/lib/dispatcher/pool.js' {
  import { Pool } from 'undici';
  export = Pool;
}

declare module 'undici/lib/dispatcher/agent.js' {
  import { Agent } from 'undici';
  export = Agent;
}

declare module 'undici/lib/core/util.js' {
  import type { util } from 'undici';

  const coreUtil: typeof util;
  export = coreUtil;
}
