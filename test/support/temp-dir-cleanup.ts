// A setup file of every test file (vitest.config.ts): the temp directories its tests made with
// madeTempDir are removed once they are done (test/support/temp-dir.ts).

import { afterAll } from 'vitest';
import { removeTempDirs } from './temp-dir.js';

afterAll(removeTempDirs);
