// The `turnout proxy` command line the proxy benches measure: the outbound listener only, config
// from a snapshot file, one Node process (bench/proxy-workers.ts runs more). Shared by
// bench/proxy.ts and bench/proxy/alloc.ts so both measure the same proxy.

/** Arguments after the bin: `proxy --config FILE --outbound 127.0.0.1:PORT …`. */
export function turnoutProxyArgs(config: string, port: number, dataDir: string): string[] {
  return [
    'proxy',
    '--config',
    config,
    '--outbound',
    `127.0.0.1:${port}`,
    '--edge',
    'off',
    '--admin',
    'off',
    '--data',
    dataDir,
    '--drain-timeout',
    '1000',
    '--workers',
    '1',
  ];
}
