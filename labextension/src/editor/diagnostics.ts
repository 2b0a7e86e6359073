import type { IServerDiagnostic } from '../api/scripts';

/**
 * The pure logic of the script editor's problems: positions between the
 * server's line/column and the editor's offsets, the merge of the editor's own
 * schema diagnostics with the server's, and the character limit.
 */

/** The most characters a script may have (SPEC section 4). */
export const SCRIPT_LIMIT = 500000;

export type Severity = 'error' | 'warning' | 'info';

/** One problem as the editor and the problems panel show it. */
export interface IProblem {
  /** Offsets in the text (UTF-16 units, as CodeMirror counts). */
  from: number;
  to: number;
  severity: Severity;
  message: string;
  /** 1-based line and column (in characters) of `from`. */
  line: number;
  column: number;
  /** The check that found it: `syntax`, `schema`, `catalog`... */
  source: string;
  /** JSON pointer, when known. */
  pointer: string;
  /** Who found it: the server, or the editor itself (schema, limit). */
  origin: 'server' | 'editor';
}

/** Where each line starts (offsets), lines split on `\n` as the server splits them. */
export function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) {
    starts.push(i + 1);
  }
  return starts;
}

/**
 * The offset of a 1-based line and column (the column counted in characters,
 * that is code points, as the Python server counts them). Out-of-range
 * positions are clamped to the text, a column past its line's end to that end.
 */
export function offsetAt(
  text: string,
  line: number,
  column: number,
  starts: number[] = lineStarts(text)
): number {
  const index = Math.min(Math.max(1, Math.floor(line) || 1), starts.length) - 1;
  const start = starts[index];
  const end = index + 1 < starts.length ? starts[index + 1] - 1 : text.length;
  let offset = start;
  for (let left = Math.max(1, Math.floor(column) || 1) - 1; left > 0; left--) {
    if (offset >= end) {
      break;
    }
    offset += isHighSurrogate(text, offset) ? 2 : 1;
  }
  return Math.min(offset, end);
}

/** The 1-based line and column (in code points) of an offset. */
export function positionAt(
  text: string,
  offset: number,
  starts: number[] = lineStarts(text)
): { line: number; column: number } {
  const at = Math.min(Math.max(0, offset), text.length);
  let low = 0;
  let high = starts.length - 1;
  while (low < high) {
    const middle = (low + high + 1) >> 1;
    if (starts[middle] <= at) {
      low = middle;
    } else {
      high = middle - 1;
    }
  }
  let column = 1;
  for (let i = starts[low]; i < at; i++) {
    if (!isHighSurrogate(text, i)) {
      column++;
    }
  }
  return { line: low + 1, column };
}

function isHighSurrogate(text: string, offset: number): boolean {
  const code = text.charCodeAt(offset);
  const next = text.charCodeAt(offset + 1);
  return code >= 0xd800 && code <= 0xdbff && next >= 0xdc00 && next <= 0xdfff;
}

/**
 * Where the JSON token starting at `from` ends, so that a squiggle covers it:
 * a whole string (on its line), a literal (number, true...), or one character
 * of punctuation. At the end of a line or of the text: `from` (a point).
 */
export function tokenEnd(text: string, from: number): number {
  const first = text[from];
  if (first === undefined || first === '\n' || first === '\r') {
    return from;
  }
  if (first === '"') {
    for (let i = from + 1; i < text.length; i++) {
      const c = text[i];
      if (c === '\\') {
        i++;
      } else if (c === '"') {
        return i + 1;
      } else if (c === '\n') {
        return i;
      }
    }
    return text.length;
  }
  const literal = /^[^\s{}[\]:,"]+/.exec(text.slice(from, from + 200));
  return literal ? from + literal[0].length : from + 1;
}

/** The server's diagnostics placed in the text. */
export function fromServer(
  text: string,
  diagnostics: readonly IServerDiagnostic[]
): IProblem[] {
  const starts = lineStarts(text);
  return diagnostics.map(d => {
    const from = offsetAt(text, d.line, d.column, starts);
    return {
      from,
      to: tokenEnd(text, from),
      severity: normalSeverity(d.severity),
      message: d.message,
      line: d.line,
      column: d.column,
      source: d.source || 'server',
      pointer: d.pointer ?? '',
      origin: 'server'
    };
  });
}

/** A diagnostic of the editor (CodeMirror's `{from, to, severity, message}`) as a problem. */
export function fromEditor(
  text: string,
  diagnostics: ReadonlyArray<{
    from: number;
    to: number;
    severity: string;
    message: string;
  }>,
  source = 'schema'
): IProblem[] {
  const starts = lineStarts(text);
  return diagnostics.map(d => ({
    from: d.from,
    to: d.to,
    severity: normalSeverity(d.severity),
    message: d.message,
    ...positionAt(text, d.from, starts),
    source,
    pointer: '',
    origin: 'editor'
  }));
}

function normalSeverity(severity: string): Severity {
  return severity === 'warning' || severity === 'info' ? severity : 'error';
}

const RANK: Record<Severity, number> = { error: 0, warning: 1, info: 2 };

/**
 * One list of every problem, in text order (errors first at one place).
 *
 * The server checks the schema too, so an editor diagnostic starting where a
 * server diagnostic starts says the same thing in other words: the server's
 * (with its pointer and the catalog's knowledge) is kept. Exact duplicates
 * are dropped.
 */
export function mergeDiagnostics(
  editor: readonly IProblem[],
  server: readonly IProblem[]
): IProblem[] {
  const serverStarts = new Set(server.map(p => p.from));
  const seen = new Set<string>();
  const merged: IProblem[] = [];
  for (const problem of [
    ...server,
    ...editor.filter(p => !serverStarts.has(p.from))
  ]) {
    const key = `${problem.from}:${problem.severity}:${problem.message}`;
    if (!seen.has(key)) {
      seen.add(key);
      merged.push(problem);
    }
  }
  return merged.sort(
    (a, b) =>
      a.from - b.from ||
      RANK[a.severity] - RANK[b.severity] ||
      a.message.localeCompare(b.message)
  );
}

/** Counts of a list of problems by severity. */
export function countBySeverity(
  problems: readonly Pick<IProblem, 'severity'>[]
): Record<Severity, number> {
  const counts: Record<Severity, number> = { error: 0, warning: 0, info: 0 };
  for (const { severity } of problems) {
    counts[severity]++;
  }
  return counts;
}

/** "2 errors, 1 warning" ("No problems" for none). */
export function summary(
  problems: readonly Pick<IProblem, 'severity'>[]
): string {
  const counts = countBySeverity(problems);
  const parts = (
    [
      ['error', 'errors'],
      ['warning', 'warnings'],
      ['info', 'infos']
    ] as const
  )
    .filter(([severity]) => counts[severity])
    .map(
      ([severity, plural]) =>
        `${counts[severity]} ${counts[severity] === 1 ? severity : plural}`
    );
  return parts.length ? parts.join(', ') : 'No problems';
}

/** The message of a text over the limit, or null. */
export function limitMessage(
  length: number,
  limit: number = SCRIPT_LIMIT
): string | null {
  return length > limit
    ? `The script has ${length} characters: at most ${limit} are allowed. Remove ${length - limit} to save and validate it.`
    : null;
}

/** The problem of a text over the limit, at the first character past it; or null. */
export function limitProblem(
  text: string,
  limit: number = SCRIPT_LIMIT
): IProblem | null {
  const message = limitMessage(text.length, limit);
  if (!message) {
    return null;
  }
  return {
    from: limit,
    to: text.length,
    severity: 'error',
    message,
    ...positionAt(text, limit),
    source: 'limit',
    pointer: '',
    origin: 'editor'
  };
}

/**
 * Whether a change taking the text from `before` to `after` characters must be
 * refused: it goes over the limit and grows the text (deleting from a text
 * already over the limit stays possible).
 */
export function refuseGrowth(
  before: number,
  after: number,
  limit: number = SCRIPT_LIMIT
): boolean {
  return after > limit && after > before;
}
