// Preloaded into a proxy under test by bench/proxy/alloc.ts (`node --require`): measures what
// load on a shared machine does not skew. From ALLOC_PROBE_AT="START_MS,WINDOW_MS" after the
// first request the proxy's server sees, for WINDOW_MS, it runs V8's sampling heap profiler (not
// with ALLOC_PROBE_INTERVAL=0: then it only counts) with
// objects collected by either GC included (so the total is what was allocated, not what stayed)
// and counts the requests; every GC (perf_hooks 'gc' entries, on the wall-clock timeline the
// load generator's dump can be matched against) is kept from start to exit. At the window's end
// it writes one JSON file to ALLOC_PROBE_OUT: bytes, requests, the top allocating functions, GCs.
// CommonJS so that `--require` loads it before the proxy's ES modules.

const { writeFileSync } = require('node:fs');
const http = require('node:http');
const inspector = require('node:inspector');
const { PerformanceObserver, constants, performance } = require('node:perf_hooks');

const [startMs, windowMs] = (process.env.ALLOC_PROBE_AT ?? '6000,3000').split(',').map(Number);
const out = process.env.ALLOC_PROBE_OUT;
const INTERVAL = Number(process.env.ALLOC_PROBE_INTERVAL ?? 256);

let requests = 0;
let armed = false;
const gcs = [];

const KIND = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'scavenge',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'mark-compact',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};

new PerformanceObserver((list) => {
  for (const e of list.getEntries())
    gcs.push([performance.timeOrigin + e.startTime, e.duration, KIND[e.detail.kind] ?? 'other']);
}).observe({ entryTypes: ['gc'] });

// Counting requests without allocating per request: a wrapper with fixed arity on the prototype.
const emit = http.Server.prototype.emit;
http.Server.prototype.emit = function countingEmit(event, a, b) {
  if (event === 'request') {
    requests++;
    if (!armed) arm();
  }
  // biome-ignore lint/complexity/noArguments: a rest parameter would allocate per request
  return arguments.length === 3 ? emit.call(this, event, a, b) : emit.apply(this, arguments);
};

function arm() {
  armed = true;
  setTimeout(begin, startMs).unref();
}

const session = new inspector.Session();

function begin() {
  if (INTERVAL === 0) {
    // Counting only: the profiler's own cost (a stack per sample) would lengthen the tail.
    const from = requests;
    const t0 = performance.timeOrigin + performance.now();
    const none = { head: { callFrame: FRAME, selfSize: 0, children: [] } };
    setTimeout(() => report(requests - from, t0, none), windowMs);
    return;
  }
  session.connect();
  const params = {
    samplingInterval: INTERVAL,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  };
  session.post('HeapProfiler.startSampling', params, (error) => {
    if (error) throw error;
    const from = requests;
    const t0 = performance.timeOrigin + performance.now();
    setTimeout(() => end(from, t0), windowMs);
  });
}

const FRAME = { functionName: '', url: '', lineNumber: 0 };

function end(from, t0) {
  const counted = requests - from;
  session.post('HeapProfiler.stopSampling', (error, result) => {
    if (error) throw error;
    report(counted, t0, result.profile);
    session.disconnect();
  });
}

function report(counted, t0, profile) {
  const t1 = performance.timeOrigin + performance.now();
  const byFn = new Map();
  let bytes = 0;
  const walk = (node) => {
    const f = node.callFrame;
    const file = f.url.replace(/^.*\/(src|dist|node_modules|bench)\//, '$1/');
    const key = `${f.functionName || '(anonymous)'} ${file}:${f.lineNumber + 1}`;
    byFn.set(key, (byFn.get(key) ?? 0) + node.selfSize);
    bytes += node.selfSize;
    for (const c of node.children) walk(c);
  };
  walk(profile.head);
  const top = [...byFn].sort((x, y) => y[1] - x[1]).slice(0, 60);
  const window = { fromEpochMs: t0, toEpochMs: t1 };
  const result = { bytes, requests: counted, window, top, gcs, totalRequests: requests };
  writeFileSync(out, JSON.stringify(result));
}
