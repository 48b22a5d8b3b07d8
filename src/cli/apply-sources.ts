// The YAML side of `turnout apply`: files → documents, each remembering where it came from (file,
// position in the file, its parsed YAML for line numbers), and API errors about `documents[i]`
// mapped back to `shop.yaml:12: document 3 (module orders): calls[0]: …`.

import { closeSync, openSync, readSync } from 'node:fs';
import type { Document, YAMLError } from 'yaml';
import { LineCounter, parseAllDocuments } from 'yaml';
import { ApiError } from '../client/api-client.js';
import { TurnoutError } from '../errors.js';
import { escapeControl } from '../safe-text.js';

export interface SourceDocument {
  file: string;
  /** Position in its file, from 1, counting empty documents too (so it matches what you count). */
  position: number;
  value: unknown;
  yaml: Document.Parsed;
  lines: LineCounter;
}

/** An apply error located in a file; `--json` reports the location as fields too. */
export class DocumentError extends TurnoutError {
  constructor(
    error: TurnoutError,
    message: string,
    field: string | undefined,
    readonly file: string,
    readonly document: number,
    readonly line: number | undefined,
  ) {
    super(error.code, message, field);
  }

  override toJSON() {
    const located = { file: this.file, document: this.document };
    return {
      ...super.toJSON(),
      ...located,
      ...(this.line === undefined ? {} : { line: this.line }),
    };
  }
}

/** The largest file (or standard input) apply reads: far above any catalog, far below harm. */
export const MAX_SOURCE_BYTES = 4 * 1024 * 1024;

/**
 * Alias expansions a document may make (the yaml library's own default, stated here because it is
 * what keeps a "billion laughs" document, a few lines that expand to gigabytes, from running away).
 */
export const MAX_ALIAS_COUNT = 100;

/** Reads `fd` up to one byte past `max`, so a larger input (an endless pipe too) is refused. */
function readBounded(fd: number, max: number): Buffer {
  const chunks: Buffer[] = [];
  let total = 0;
  const chunk = Buffer.alloc(64 * 1024);
  for (;;) {
    const n = readSync(fd, chunk, 0, chunk.length, null);
    if (n === 0) return Buffer.concat(chunks, total);
    chunks.push(Buffer.from(chunk.subarray(0, n)));
    total += n;
    if (total > max) return Buffer.concat(chunks, total);
  }
}

/** `-` reads standard input. */
function readSource(file: string): string {
  let bytes: Buffer;
  try {
    const fd = file === '-' ? 0 : openSync(file, 'r');
    try {
      bytes = readBounded(fd, MAX_SOURCE_BYTES);
    } finally {
      if (fd !== 0) closeSync(fd);
    }
  } catch (error) {
    const why = (error as { code?: string }).code ?? (error as Error).message;
    throw new TurnoutError('invalid_argument', `cannot read ${file}: ${why}`, 'file');
  }
  if (bytes.length > MAX_SOURCE_BYTES) {
    throw new TurnoutError(
      'invalid_argument',
      `${file} is larger than ${MAX_SOURCE_BYTES} bytes (4 MiB), the most apply reads`,
      'file',
    );
  }
  return bytes.toString('utf8');
}

/** The document as plain values; an alias bomb is bad input, not an internal error. */
function plainValue(yaml: Document.Parsed, file: string, position: number): unknown {
  try {
    return yaml.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    if (!(error instanceof ReferenceError)) throw error;
    throw new TurnoutError(
      'invalid_argument',
      `${file}: document ${position}: its aliases expand too far (more than ${MAX_ALIAS_COUNT} alias expansions: an alias bomb?)`,
      'file',
    );
  }
}

/**
 * A YAML syntax error as `file:line:col: invalid YAML: what`, then the line and a caret under the
 * column. The line is the user's file, so its control characters are escaped (the caret's indent
 * counts the escaped prefix, so it stays under the column).
 */
function yamlError(file: string, text: string, problem: YAMLError): TurnoutError {
  const what = (problem.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
  const at = problem.linePos?.[0];
  if (at === undefined) return new TurnoutError('invalid_config', `${file}: invalid YAML: ${what}`);
  const line = text.split('\n')[at.line - 1]?.replace(/\r$/, '') ?? '';
  const indent = ' '.repeat(escapeControl(line.slice(0, at.col - 1)).length);
  return new TurnoutError(
    'invalid_config',
    `${file}:${at.line}:${at.col}: invalid YAML: ${what}\n  ${escapeControl(line)}\n  ${indent}^`,
  );
}

/** Every non-empty document of every file, in order; a YAML syntax error names file and line. */
export function readDocuments(files: readonly string[]): SourceDocument[] {
  const out: SourceDocument[] = [];
  for (const file of files) {
    const lines = new LineCounter();
    const text = readSource(file);
    const docs = parseAllDocuments(text, { lineCounter: lines });
    docs.forEach((yaml, i) => {
      const problem = yaml.errors[0];
      if (problem !== undefined) throw yamlError(file, text, problem);
      // An empty or comment-only document (a trailing ---) is nothing to apply.
      const value = plainValue(yaml, file, i + 1);
      if (value === null || value === undefined) return;
      out.push({ file, position: i + 1, value, yaml, lines });
    });
  }
  return out;
}

/** `module orders`, `version orders@2.0.0`, `lane shop/dev`, as far as the document says. */
export function labelOf(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.kind !== 'string') return undefined;
  const s = (x: unknown) => (typeof x === 'string' || typeof x === 'number' ? String(x) : '?');
  const key =
    v.kind === 'Version'
      ? `${s(v.module)}@${s(v.version)}`
      : v.kind === 'Lane'
        ? `${s(v.product)}/${s(v.name)}`
        : s(v.name);
  return `${v.kind.toLowerCase()} ${key}`;
}

/** `run.process.env.X` / `calls[0]` → ['run','process','env','X'] / ['calls', 0]. */
export function pathOf(field: string): (string | number)[] {
  const path: (string | number)[] = [];
  for (const m of field.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) {
    path.push(m[2] === undefined ? (m[1] as string) : Number(m[2]));
  }
  return path;
}

/** The line of the deepest node on `path` that exists (a missing field: its parent's line). */
function lineOf(source: SourceDocument, path: readonly (string | number)[]): number | undefined {
  for (let n = path.length; n >= 0; n--) {
    const node = source.yaml.getIn(path.slice(0, n), true) as { range?: [number, number, number] };
    const start = node?.range?.[0];
    if (start !== undefined) return source.lines.linePos(start).line;
  }
  return undefined;
}

/** An API error about `documents[i].field`, told in terms of the file it came from. */
export function locateError(error: unknown, sources: readonly SourceDocument[]): unknown {
  if (!(error instanceof ApiError) || error.field === undefined) return error;
  const m = /^documents\[(\d+)\](?:\.?(.*))?$/.exec(error.field);
  const source = m === null ? undefined : sources[Number(m[1])];
  if (m === null || source === undefined) return error;
  const rest = m[2] ?? '';
  const reason = error.reason.startsWith(`${error.field}: `)
    ? error.reason.slice(error.field.length + 2)
    : error.reason;
  const line = lineOf(source, pathOf(rest));
  const label = labelOf(source.value);
  const where = `${source.file}${line === undefined ? '' : `:${line}`}`;
  const what = `document ${source.position}${label === undefined ? '' : ` (${label})`}`;
  const message = `${where}: ${what}: ${rest === '' ? '' : `${rest}: `}${reason}`;
  return new DocumentError(error, message, rest || undefined, source.file, source.position, line);
}
