// How a module's versions run: a process (command, args, cwd, env) or a Kubernetes image, exactly
// one of the two; a version may override parts of its module's spec (for Kubernetes, the image is
// what makes a version). zod's union errors would list every branch, so this is one strict object
// with an exactly-one check, typed as the union it is.

import { z } from 'zod';

const envSchema = z.record(
  z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name is [A-Za-z_][A-Za-z0-9_]*'),
  z.string(),
);

export const processRunSchema = z.strictObject({
  command: z.string().min(1, 'command is empty'),
  args: z.array(z.string()).default([]),
  /** null: the runtime's own working directory. */
  cwd: z.string().min(1).nullable().default(null),
  env: envSchema.default({}),
});

export const kubernetesRunSchema = z.strictObject({ image: z.string().min(1).max(512) });

/** How a module's versions run: exactly one runtime. */
export type RunSpec =
  | { process: z.output<typeof processRunSchema> }
  | { kubernetes: z.output<typeof kubernetesRunSchema> };

type RunSpecInput =
  | { process: z.input<typeof processRunSchema> }
  | { kubernetes: z.input<typeof kubernetesRunSchema> };

/** A strict {process?, kubernetes?} that must have exactly one; typed below as the union it is. */
function exactlyOne<P extends z.ZodType, K extends z.ZodType>(process: P, kubernetes: K) {
  return z
    .strictObject({ process, kubernetes })
    .partial()
    .superRefine((run, ctx) => {
      if ((run.process === undefined) === (run.kubernetes === undefined)) {
        ctx.addIssue({ code: 'custom', message: 'run has exactly one of process or kubernetes' });
      }
    });
}

export const runSchema = exactlyOne(processRunSchema, kubernetesRunSchema) as unknown as z.ZodType<
  RunSpec,
  RunSpecInput
>;

/** A version overrides parts of its module's run spec; for Kubernetes the image is the version. */
export const processOverrideSchema = z
  .strictObject({
    command: z.string().min(1, 'command is empty'),
    args: z.array(z.string()),
    cwd: z.string().min(1).nullable(),
    env: envSchema,
  })
  .partial(); // no defaults here: an absent field means "as the module says"

export type RunOverride =
  | { process: z.output<typeof processOverrideSchema> }
  | { kubernetes: z.output<typeof kubernetesRunSchema> };
type RunOverrideInput =
  | { process: z.input<typeof processOverrideSchema> }
  | { kubernetes: z.input<typeof kubernetesRunSchema> };
export const runOverrideSchema = exactlyOne(
  processOverrideSchema,
  kubernetesRunSchema,
) as unknown as z.ZodType<RunOverride, RunOverrideInput>;

/** A version's process spec: its module's, with the version's overrides (env merged by name). */
export function processRunOf(
  moduleRun: RunSpec,
  versionRun: RunOverride | null,
): z.output<typeof processRunSchema> | null {
  if (!('process' in moduleRun)) return null;
  const base = moduleRun.process;
  const over = versionRun !== null && 'process' in versionRun ? versionRun.process : {};
  return {
    command: over.command ?? base.command,
    args: over.args ?? base.args,
    cwd: over.cwd !== undefined ? over.cwd : base.cwd,
    env: { ...base.env, ...over.env },
  };
}
