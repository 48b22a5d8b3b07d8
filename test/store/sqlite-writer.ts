// A second process writing to a SQLite store, for the cross-process concurrency test:
//   tsx test/store/sqlite-writer.ts FILE PREFIX COUNT
// creates orgs PREFIX-0 … PREFIX-(COUNT-1), one transaction each, then prints "done".

import { openSqliteStore } from '../../src/store/sqlite.js';

const [file, prefix, count] = process.argv.slice(2);
if (file === undefined || prefix === undefined || count === undefined) {
  throw new Error('usage: sqlite-writer.ts FILE PREFIX COUNT');
}
const store = await openSqliteStore(file);
try {
  for (let i = 0; i < Number(count); i++) {
    await store.createOrg({ name: `${prefix}-${i}` }, `process-${prefix}`);
  }
} finally {
  await store.close();
}
console.log('done');
