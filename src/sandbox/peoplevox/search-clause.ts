// Peoplevox SearchClause, as the simulator understands it. Two dialects share one grammar:
//   GetData (template field names):   SalesOrderNumber.Equals("X") AND Status != "Cancelled"
//                                     Customer.StartsWith("Jane") OR !Email.Contains("@x")
//                                     CreatedDate >= DateTime(2025,03,01,08,00,00)
//   GetReportData (bracketed columns): ([Salesorder number].Equals("X")) AND [Despatch date] > '2025-03-01 08:00'
// A tokenizer plus a recursive-descent parser; the result is a predicate over a row of strings.
// Field names are matched case-insensitively (one of the contract notes' inferences).

export type Row = Record<string, string>;
export type Predicate = (row: Row) => boolean;

export class SearchClauseError extends Error {}

type Tok =
  | { t: 'ident'; v: string }
  | { t: 'field'; v: string }
  | { t: 'str'; v: string }
  | { t: 'num'; v: string }
  | { t: 'op'; v: string }
  | { t: 'punct'; v: '(' | ')' | '.' | ',' }
  | { t: 'eof' };

function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '[') {
      const end = src.indexOf(']', i);
      if (end < 0) throw new SearchClauseError(`unterminated [ at ${i}`);
      out.push({ t: 'field', v: src.slice(i + 1, end).trim() });
      i = end + 1;
      continue;
    }
    if (c === '"' || c === "'") {
      let j = i + 1;
      let v = '';
      for (;;) {
        if (j >= src.length) break;
        if (src[j] === c) {
          if (src[j + 1] === c) {
            v += c; // a doubled quote is a literal quote
            j += 2;
            continue;
          }
          break;
        }
        if (src[j] === '\\' && j + 1 < src.length) j++;
        v += src[j];
        j++;
      }
      if (j >= src.length) throw new SearchClauseError(`unterminated string at ${i}`);
      out.push({ t: 'str', v });
      i = j + 1;
      continue;
    }
    const two = src.slice(i, i + 2);
    if (['==', '!=', '<>', '>=', '<=', '&&', '||'].includes(two)) {
      out.push({ t: 'op', v: two });
      i += 2;
      continue;
    }
    if ('=<>!'.includes(c)) {
      out.push({ t: 'op', v: c === '=' ? '==' : c });
      i++;
      continue;
    }
    if ('().,'.includes(c)) {
      out.push({ t: 'punct', v: c as '(' | ')' | '.' | ',' });
      i++;
      continue;
    }
    const num = /^-?\d+(\.\d+)?/.exec(src.slice(i));
    if (num && (c !== '-' || out.at(-1)?.t === 'op' || out.length === 0)) {
      out.push({ t: 'num', v: num[0] });
      i += num[0].length;
      continue;
    }
    const id = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i));
    if (id) {
      out.push({ t: 'ident', v: id[0] });
      i += id[0].length;
      continue;
    }
    throw new SearchClauseError(`unexpected character ${JSON.stringify(c)} at ${i}`);
  }
  out.push({ t: 'eof' });
  return out;
}

type Operand = { kind: 'field'; name: string } | { kind: 'lit'; value: string; date?: number };

const METHODS = new Set(['equals', 'contains', 'startswith', 'endswith']);

/** Parses report / GetData dates: dd/MM/yyyy[ HH:mm[:ss]], yyyy-MM-dd[ HH:mm[:ss]], ISO 8601 (UTC unless a zone is given). */
export function parseLooseDate(s: string): number | undefined {
  // Report fields carry their dates in single quotes ('03/07/2017 06:03').
  const v = s
    .trim()
    .replace(/^'(.*)'$/, '$1')
    .trim();
  let m = /^(\d{2})\/(\d{2})\/(\d{4})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(v);
  if (m) return Date.UTC(+m[3]!, +m[2]! - 1, +m[1]!, +(m[4] ?? 0), +(m[5] ?? 0), +(m[6] ?? 0));
  m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?$/.exec(v);
  if (m) return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +(m[4] ?? 0), +(m[5] ?? 0), +(m[6] ?? 0));
  if (/^\d{4}-\d{2}-\d{2}T.*(Z|[+-]\d{2}:?\d{2})$/.test(v)) {
    const t = Date.parse(v);
    return Number.isNaN(t) ? undefined : t;
  }
  return undefined;
}

class Parser {
  private pos = 0;
  constructor(
    private readonly toks: Tok[],
    private readonly fields: readonly string[],
  ) {}

  private peek(): Tok {
    return this.toks[this.pos]!;
  }
  private next(): Tok {
    return this.toks[this.pos++]!;
  }
  private isKeyword(tok: Tok, word: string): boolean {
    return tok.t === 'ident' && tok.v.toUpperCase() === word;
  }
  private expectPunct(v: string) {
    const tok = this.next();
    if (tok.t !== 'punct' || tok.v !== v) throw new SearchClauseError(`expected '${v}'`);
  }

  parseAll(): Predicate {
    const p = this.parseOr();
    if (this.peek().t !== 'eof') throw new SearchClauseError(`unexpected ${JSON.stringify(this.peek())}`);
    return p;
  }

  private parseOr(): Predicate {
    let left = this.parseAnd();
    for (;;) {
      const tok = this.peek();
      if (this.isKeyword(tok, 'OR') || (tok.t === 'op' && tok.v === '||')) {
        this.next();
        const l = left;
        const r = this.parseAnd();
        left = (row) => l(row) || r(row);
      } else return left;
    }
  }

  private parseAnd(): Predicate {
    let left = this.parseUnary();
    for (;;) {
      const tok = this.peek();
      if (this.isKeyword(tok, 'AND') || (tok.t === 'op' && tok.v === '&&')) {
        this.next();
        const l = left;
        const r = this.parseUnary();
        left = (row) => l(row) && r(row);
      } else return left;
    }
  }

  private parseUnary(): Predicate {
    const tok = this.peek();
    if ((tok.t === 'op' && tok.v === '!') || this.isKeyword(tok, 'NOT')) {
      this.next();
      const inner = this.parseUnary();
      return (row) => !inner(row);
    }
    return this.parsePrimary();
  }

  private parsePrimary(): Predicate {
    const tok = this.peek();
    if (tok.t === 'punct' && tok.v === '(') {
      this.next();
      const inner = this.parseOr();
      this.expectPunct(')');
      return inner;
    }
    const left = this.parseOperand();
    const after = this.peek();
    if (after.t === 'punct' && after.v === '.') {
      this.next();
      const m = this.next();
      if (m.t !== 'ident' || !METHODS.has(m.v.toLowerCase())) throw new SearchClauseError('expected a method name');
      this.expectPunct('(');
      const arg = this.parseOperand();
      this.expectPunct(')');
      const method = m.v.toLowerCase();
      return (row) => {
        const a = this.value(left, row);
        const b = this.value(arg, row);
        if (method === 'equals') return a === b;
        if (method === 'contains') return a.toLowerCase().includes(b.toLowerCase());
        if (method === 'startswith') return a.toLowerCase().startsWith(b.toLowerCase());
        return a.toLowerCase().endsWith(b.toLowerCase());
      };
    }
    if (after.t === 'op' && ['==', '!=', '<>', '>', '>=', '<', '<='].includes(after.v)) {
      this.next();
      const right = this.parseOperand();
      const op = after.v;
      return (row) => {
        const c = compare(this.value(left, row), this.value(right, row), left, right);
        switch (op) {
          case '==':
            return c === 0;
          case '!=':
          case '<>':
            return c !== 0;
          case '>':
            return c > 0;
          case '>=':
            return c >= 0;
          case '<':
            return c < 0;
          default:
            return c <= 0;
        }
      };
    }
    if (left.kind === 'lit' && ['true', 'false'].includes(left.value.toLowerCase())) {
      const v = left.value.toLowerCase() === 'true';
      return () => v;
    }
    throw new SearchClauseError('expected a comparison or a method call');
  }

  private parseOperand(): Operand {
    const tok = this.next();
    if (tok.t === 'str') return { kind: 'lit', value: tok.v, date: parseLooseDate(tok.v) };
    if (tok.t === 'num') return { kind: 'lit', value: tok.v };
    if (tok.t === 'field') return { kind: 'field', name: this.resolveField(tok.v) };
    if (tok.t === 'ident') {
      const nxt = this.peek();
      if (tok.v.toLowerCase() === 'datetime' && nxt.t === 'punct' && nxt.v === '(') {
        this.next();
        const parts: number[] = [];
        for (;;) {
          const n = this.next();
          if (n.t !== 'num') throw new SearchClauseError('DateTime(...) takes numbers');
          parts.push(Number(n.v));
          const sep = this.next();
          if (sep.t === 'punct' && sep.v === ')') break;
          if (!(sep.t === 'punct' && sep.v === ',')) throw new SearchClauseError('expected , or ) in DateTime');
        }
        const [y = 1970, mo = 1, d = 1, h = 0, mi = 0, s = 0] = parts;
        const t = Date.UTC(y, mo - 1, d, h, mi, s);
        return { kind: 'lit', value: new Date(t).toISOString(), date: t };
      }
      if (['true', 'false', 'null'].includes(tok.v.toLowerCase()))
        return { kind: 'lit', value: tok.v.toLowerCase() === 'null' ? '' : tok.v };
      // Dotted names (a.b) that are not a method call are one field name.
      let name = tok.v;
      while (true) {
        const dot = this.peek();
        const seg = this.toks[this.pos + 1];
        const afterSeg = this.toks[this.pos + 2];
        if (
          dot.t === 'punct' &&
          dot.v === '.' &&
          seg?.t === 'ident' &&
          !(afterSeg?.t === 'punct' && afterSeg.v === '(' && METHODS.has(seg.v.toLowerCase()))
        ) {
          this.pos += 2;
          name += `.${seg.v}`;
        } else break;
      }
      return { kind: 'field', name: this.resolveField(name) };
    }
    throw new SearchClauseError(`unexpected ${tok.t === 'eof' ? 'end of clause' : JSON.stringify(tok)}`);
  }

  private resolveField(name: string): string {
    const found = this.fields.find((f) => f.toLowerCase() === name.toLowerCase());
    if (!found) throw new SearchClauseError(`unknown field '${name}'`);
    return found;
  }

  private value(o: Operand, row: Row): string {
    return o.kind === 'lit' ? o.value : (row[o.name] ?? '');
  }
}

function compare(a: string, b: string, left: Operand, right: Operand): number {
  const da = left.kind === 'lit' && left.date !== undefined ? left.date : parseLooseDate(a);
  const db = right.kind === 'lit' && right.date !== undefined ? right.date : parseLooseDate(b);
  if (da !== undefined && db !== undefined) return Math.sign(da - db);
  const na = Number(a);
  const nb = Number(b);
  if (a.trim() !== '' && b.trim() !== '' && !Number.isNaN(na) && !Number.isNaN(nb)) return Math.sign(na - nb);
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Compiles a clause against the columns a row has. An empty clause matches everything. */
export function compileSearchClause(clause: string | undefined, fields: readonly string[]): Predicate {
  if (!clause || clause.trim() === '') return () => true;
  return new Parser(tokenize(clause), fields).parseAll();
}
