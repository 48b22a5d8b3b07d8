// The concrete syntax of paths, prefixes, name trees, dentries and dtabs (reference §1–4.2):
// a character-for-character port of Finagle's NameTreeParsers, including its error messages.

import type { Dentry, Dtab, Prefix } from './dtab.js';
import { WILDCARD } from './dtab.js';
import type { Path } from './path.js';
import { EMPTY_PATH, isShowable } from './path.js';
import { DtabSyntaxError } from './syntax-error.js';
import type { NameTree, Weighted } from './tree.js';
import { DEFAULT_WEIGHT, EMPTY, FAIL, NEG } from './tree.js';

const EOI = -1;

/**
 * How deeply parentheses may nest in a name tree. Finagle has no explicit bound (deep input
 * overflows its stack); Turnout reports deeper input as a syntax error instead, so every parse
 * failure is a DtabSyntaxError and no tree is deep enough to overflow show, simplify or bind.
 */
export const MAX_PAREN_NESTING = 100;

/** Java's Character.isWhitespace, which Finagle uses between tokens. */
function isJavaWhitespace(c: number): boolean {
  if ((c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20)) return true;
  if (c < 0x1680) return false;
  if (c === 0x00a0 || c === 0x2007 || c === 0x202f) return false; // non-breaking spaces are not
  return (
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x205f ||
    c === 0x3000
  );
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

function isLabelChar(c: number): boolean {
  return c === 92 /* \ */ || (c >= 0 && isShowable(c));
}

function isNumberChar(c: number): boolean {
  return (c >= 48 && c <= 57) || c === 46;
}

class Parser {
  private idx = 0;
  private nesting = 0;

  constructor(private readonly str: string) {}

  private get atEnd(): boolean {
    return this.idx >= this.str.length;
  }

  private peek(): number {
    return this.atEnd ? EOI : this.str.charCodeAt(this.idx);
  }

  private charText(c: number): string {
    return c === EOI ? 'end of input' : `'${String.fromCharCode(c)}'`;
  }

  private illegal(expected: string, found: number): never {
    const s = this.str;
    const display = this.atEnd
      ? `${s}[]`
      : `${s.slice(0, this.idx)}[${s[this.idx]}]${s.slice(this.idx + 1)}`;
    throw new DtabSyntaxError(
      `${expected} expected but ${this.charText(found)} found at '${display}'`,
      this.idx,
    );
  }

  private maybeEat(c: number): boolean {
    if (this.peek() !== c) return false;
    this.idx++;
    return true;
  }

  private eat(c: number): void {
    if (!this.maybeEat(c)) this.illegal(this.charText(c), this.peek());
  }

  private eatWhitespace(): void {
    while (!this.atEnd) {
      const c = this.str.charCodeAt(this.idx);
      if (c === 35 /* # */) this.eatLine();
      else if (isJavaWhitespace(c)) this.idx++;
      else return;
    }
  }

  private eatLine(): void {
    const nl = this.str.indexOf('\n', this.idx);
    this.idx = nl === -1 ? this.str.length : nl + 1;
  }

  ensureEnd(): void {
    this.eatWhitespace();
    if (!this.atEnd) this.illegal('end of input', this.peek());
  }

  private parseHexDigit(): number {
    const c = this.peek();
    if (!isHex(c)) this.illegal('hex char', c);
    this.idx++;
    return Number.parseInt(String.fromCharCode(c), 16);
  }

  private parseLabel(): string {
    let label = '';
    do {
      const c = this.peek();
      if (c >= 0 && isShowable(c)) {
        this.idx++;
        label += String.fromCharCode(c);
      } else if (c === 92) {
        this.idx++;
        this.eat(120 /* x */);
        const hi = this.parseHexDigit();
        const lo = this.parseHexDigit();
        label += String.fromCharCode((hi << 4) | lo);
      } else {
        this.illegal('label char', c);
      }
    } while (isLabelChar(this.peek()));
    return label;
  }

  parsePath(): Path {
    this.eatWhitespace();
    this.eat(47 /* / */);
    if (!isLabelChar(this.peek())) return EMPTY_PATH;
    const labels: string[] = [];
    do labels.push(this.parseLabel());
    while (this.maybeEat(47));
    return labels;
  }

  parsePrefix(): Prefix {
    this.eatWhitespace();
    this.eat(47);
    const c = this.peek();
    if (!isLabelChar(c) && c !== 42 /* * */) return EMPTY_PATH;
    const elems: string[] = [];
    do {
      if (this.peek() === 42) {
        this.idx++;
        elems.push(WILDCARD);
      } else {
        elems.push(this.parseLabel());
      }
    } while (this.maybeEat(47));
    return elems;
  }

  private parseNumber(): number {
    const start = this.idx;
    let seenDot = false;
    while (isNumberChar(this.peek())) {
      if (this.peek() === 46) {
        if (seenDot) this.illegal('number char', 46);
        seenDot = true;
      }
      this.idx++;
    }
    const text = this.str.slice(start, this.idx);
    // Finagle reports a lone dot with the cursor already past it, so the display brackets the
    // character after the dot; kept as is for identical messages.
    if (text === '.') this.illegal('weight', 46);
    return Number(text);
  }

  parseTree(): NameTree<Path> {
    const trees: NameTree<Path>[] = [];
    do {
      trees.push(this.parseTree1());
      this.eatWhitespace();
    } while (this.maybeEat(124 /* | */));
    return trees.length > 1 ? { kind: 'alt', trees } : trees[0]!;
  }

  private parseTree1(): NameTree<Path> {
    const branches: Weighted<Path>[] = [];
    do {
      branches.push(this.parseWeighted());
      this.eatWhitespace();
    } while (this.maybeEat(38 /* & */));
    // A single weighted term is returned bare: its weight is discarded (reference §4.2).
    return branches.length > 1 ? { kind: 'union', branches } : branches[0]!.tree;
  }

  private parseWeighted(): Weighted<Path> {
    this.eatWhitespace();
    let weight = DEFAULT_WEIGHT;
    if (isNumberChar(this.peek())) {
      weight = this.parseNumber();
      this.eatWhitespace();
      this.eat(42 /* * */);
      this.eatWhitespace();
    }
    return { weight, tree: this.parseSimple() };
  }

  private parseSimple(): NameTree<Path> {
    this.eatWhitespace();
    const c = this.peek();
    switch (c) {
      case 40 /* ( */:
        {
          if (this.nesting >= MAX_PAREN_NESTING) {
            this.illegal(`at most ${MAX_PAREN_NESTING} nested '('`, c);
          }
          this.idx++;
          this.nesting++;
          const tree = this.parseTree();
          this.eatWhitespace();
          this.eat(41 /* ) */);
          this.nesting--;
          return tree;
        }
      case 47 /* / */:
        return { kind: 'leaf', value: this.parsePath() };
      case 33 /* ! */:
        this.idx++;
        return FAIL;
      case 126 /* ~ */:
        this.idx++;
        return NEG;
      case 36 /* $ */:
        this.idx++;
        return EMPTY;
      default:
        return this.illegal('simple', c);
    }
  }

  parseDentry(): Dentry {
    const prefix = this.parsePrefix();
    this.eatWhitespace();
    this.eat(61 /* = */);
    this.eat(62 /* > */);
    return { prefix, dst: this.parseTree() };
  }

  parseDtab(): Dtab {
    const dentries: Dentry[] = [];
    do {
      this.eatWhitespace();
      if (!this.atEnd) {
        dentries.push(this.parseDentry());
        this.eatWhitespace();
      }
    } while (this.maybeEat(59 /* ; */));
    return dentries;
  }
}

function parseAll<T>(text: string, parse: (p: Parser) => T): T {
  const parser = new Parser(text);
  const value = parse(parser);
  parser.ensureEnd();
  return value;
}

export function parsePath(text: string): Path {
  return parseAll(text, (p) => p.parsePath());
}
export function parsePrefix(text: string): Prefix {
  return parseAll(text, (p) => p.parsePrefix());
}
export function parseNameTree(text: string): NameTree<Path> {
  return parseAll(text, (p) => p.parseTree());
}
export function parseDentry(text: string): Dentry {
  return parseAll(text, (p) => p.parseDentry());
}
export function parseDtab(text: string): Dtab {
  return parseAll(text, (p) => p.parseDtab());
}
