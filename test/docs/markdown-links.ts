// Links and heading anchors of a Markdown file, as GitHub renders them: pure, no file access,
// so the rules can be tested on small strings and the docs test only reads files.

/** A link target found in the text, with the line it is on (from 1). */
export interface Link {
  target: string;
  line: number;
}

const FENCE = /^\s{0,3}(`{3,}|~{3,})/;

/** The lines that are prose: those inside fenced code blocks become empty (line numbers kept). */
function proseLines(markdown: string): string[] {
  let fence: string | null = null;
  return markdown.split('\n').map((line) => {
    const open = FENCE.exec(line)?.[1];
    if (fence === null && open !== undefined) {
      fence = open;
      return '';
    }
    if (fence !== null) {
      if (open !== undefined && open[0] === fence[0] && open.length >= fence.length) fence = null;
      return '';
    }
    return line;
  });
}

/** A line without its inline code spans (`…`), which GitHub never turns into links. */
function withoutCode(line: string): string {
  return line.replace(/(`+)[\s\S]*?\1/g, '');
}

// [text](target "title"), ![alt](target), <a href="target">, <img src="target">, [ref]: target
const INLINE = /!?\[[^\]]*\]\(\s*<?([^\s)>]+)>?(?:\s+"[^"]*")?\s*\)/g;
const HTML = /<(?:a|img)\s[^>]*?(?:href|src)="([^"]+)"/gi;
const DEFINITION = /^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/;
const AUTOLINK = /<([a-z][a-z0-9+.-]*:[^\s>]+)>/gi;

/** Every link target in the prose of a Markdown file (code blocks and code spans left out). */
export function linksOf(markdown: string): Link[] {
  const links: Link[] = [];
  proseLines(markdown).forEach((raw, index) => {
    const line = withoutCode(raw);
    const add = (target: string | undefined) => {
      if (target !== undefined) links.push({ target, line: index + 1 });
    };
    for (const match of line.matchAll(INLINE)) add(match[1]);
    for (const match of line.matchAll(HTML)) add(match[1]);
    for (const match of line.matchAll(AUTOLINK)) add(match[1]);
    add(DEFINITION.exec(line)?.[1]);
  });
  return links;
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
export function slug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // a link counts by its text
    .replace(/<[^>]+>/g, '') // inline HTML tags
    .trim()
    .toLowerCase();
  return text.replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '').replace(/ /g, '-');
}

const HEADING = /^\s{0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/;

/** Every anchor a file's headings make; a repeated slug gets -1, -2 … as on GitHub. */
export function anchorsOf(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const line of proseLines(markdown)) {
    const heading = HEADING.exec(line)?.[1];
    if (heading === undefined) continue;
    const base = slug(heading);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  }
  return anchors;
}

/** Whether a target names something outside the repository by scheme (https:, mailto:, //host). */
export function isExternal(target: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//');
}

/** A target split into its path (empty: this file) and its anchor (without '#', decoded). */
export function splitTarget(target: string): { path: string; anchor: string | null } {
  const hash = target.indexOf('#');
  const path = decodeURI(hash < 0 ? target : target.slice(0, hash));
  const anchor = hash < 0 ? null : decodeURIComponent(target.slice(hash + 1));
  return { path: path.split('?')[0] ?? '', anchor };
}
