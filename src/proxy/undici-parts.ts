// The undici classes the proxy process uses, from undici's own files instead of its index. The
// index loads everything undici has (fetch, WebSocket, EventSource, cache stores, mock agents…):
// measured on this machine, `require('undici')` costs ~19.5 MB RSS over a bare node, the pool's
// file alone ~10.7 MB; a fresh `turnout proxy` went from 68.2 to 59.2 MB (issue 15: RSS with
// 1,000 idle connections within node-floor's + 10 MB). Figures: docs/proxy-performance.md.
//
// The risk: these are internal paths, which an undici upgrade may move. They are checked twice:
// test/proxy/undici-parts.test.ts (each class is the one undici's index exports) and
// test/proxy/proxy-load.test.ts (the real `turnout proxy` never loads the index).
// The same for `headerNameToString` (undici's public `util.headerNameToString`), from the core
// util file the pool loads anyway.
// Without the index, a dispatcher has only its raw API (dispatch, close, destroy): `request`,
// `stream` and the like are added to Dispatcher.prototype by the index. The proxy uses dispatch.
// Types come from 'undici' as everywhere else (`import type` costs nothing at run time).

import undiciUtil from 'undici/lib/core/util.js';
import Agent from 'undici/lib/dispatcher/agent.js';
import Pool from 'undici/lib/dispatcher/pool.js';

export { Agent, Pool };

/**
 * A raw header name (a Buffer from undici's parser) as its lower-case string: undici's own
 * `util.headerNameToString`, which finds well-known names in a tree without making a string.
 */
export const headerNameToString: (name: Buffer | string) => string = undiciUtil.headerNameToString;
