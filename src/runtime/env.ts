// An instance's environment: a few safe variables of the control plane's own, then the module's,
// then the runtime's (which win: the port and identity are the runtime's to decide).

/**
 * Passed through from the control plane. Deliberately not NODE_OPTIONS (the control plane's flags,
 * such as an inspector or a test loader, are no business of a service), nor secrets such as
 * TURNOUT_TOKEN: a module that needs a variable declares it in its run spec.
 */
export const INHERITED_ENV: readonly string[] = [
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'SHELL',
  'LANG',
  'LANGUAGE',
  'LC_ALL',
  'LC_CTYPE',
  'TZ',
  'TMPDIR',
];

export interface InstanceIdentity {
  readonly id: string;
  readonly module: string;
  readonly version: string;
  readonly port: number;
  /** The address the instance is to listen on (env HOST); absent: HOST is not set. */
  readonly host?: string;
  /** The Turnout outbound proxy, e.g. http://127.0.0.1:4140; null: none. */
  readonly proxyUrl: string | null;
}

export function buildEnv(
  parent: Readonly<Record<string, string | undefined>>,
  specEnv: Readonly<Record<string, string>>,
  instance: InstanceIdentity,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of INHERITED_ENV) {
    const value = parent[name];
    if (value !== undefined) env[name] = value;
  }
  Object.assign(env, specEnv);
  env.PORT = String(instance.port);
  if (instance.host !== undefined) env.HOST = instance.host;
  env.TURNOUT_INSTANCE_ID = instance.id;
  env.TURNOUT_MODULE = instance.module;
  env.TURNOUT_VERSION = instance.version;
  if (instance.proxyUrl !== null) {
    // Clients disagree on the case they read; both name the same proxy.
    env.http_proxy = instance.proxyUrl;
    env.HTTP_PROXY = instance.proxyUrl;
  }
  return env;
}
