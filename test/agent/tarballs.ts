// Tarballs for the artifact tests: real ones packed by node-tar from a directory, and hand-made
// ones (ustar headers written here) carrying what node-tar would never pack: `..`, absolute paths,
// links pointing out, device and fifo entries.

import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { create } from 'tar';

export interface RawEntry {
  name: string;
  /** ustar type flag: '0' file, '1' hard link, '2' symlink, '3' char device, '5' dir, '6' fifo. */
  type: '0' | '1' | '2' | '3' | '4' | '5' | '6';
  linkname?: string;
  data?: Buffer;
}

function field(buf: Buffer, offset: number, length: number, value: string): void {
  buf.write(value, offset, length, 'utf8');
}

function octal(value: number, length: number): string {
  return `${value.toString(8).padStart(length - 1, '0')}\0`;
}

function header(e: RawEntry): Buffer {
  const h = Buffer.alloc(512);
  const size = e.type === '0' ? (e.data?.length ?? 0) : 0;
  field(h, 0, 100, e.name);
  field(h, 100, 8, octal(e.type === '5' ? 0o755 : 0o644, 8));
  field(h, 108, 8, octal(0, 8));
  field(h, 116, 8, octal(0, 8));
  field(h, 124, 12, octal(size, 12));
  field(h, 136, 12, octal(1_700_000_000, 12));
  field(h, 148, 8, '        ');
  field(h, 156, 1, e.type);
  field(h, 157, 100, e.linkname ?? '');
  field(h, 257, 6, 'ustar\0');
  field(h, 263, 2, '00');
  let sum = 0;
  for (const b of h) sum += b;
  field(h, 148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  return h;
}

/** A gzip tarball of exactly these entries, in this order. */
export function rawTarball(entries: RawEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    parts.push(header(e));
    const data = e.type === '0' ? (e.data ?? Buffer.alloc(0)) : Buffer.alloc(0);
    parts.push(data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(parts));
}

/** A real gzip tarball of `dir`'s contents, packed by node-tar (what `turnout push` does). */
export async function packDir(dir: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const stream = create({ gzip: true, cwd: dir, portable: true }, ['.']);
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

export const sha256Of = (b: Buffer) => createHash('sha256').update(b).digest('hex');
