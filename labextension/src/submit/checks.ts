/**
 * The submit checks as the dialog shows them: in the order the server runs
 * them (SPEC section 7), revealed one by one from the server's single answer.
 */
import type {
  CheckStatus,
  ICheckResult,
  IDiagnostic,
  ISubmitAnswer
} from '../api/schedule';

/** The five checks, in the order they run. */
export const CHECKS = [
  {
    name: 'configuration',
    title: 'Configuration check',
    description: 'The script validates and its parameters resolve'
  },
  {
    name: 'permission',
    title: 'Permission check',
    description: 'You may read the source and write the target data source'
  },
  {
    name: 'schema',
    title: 'Schema check',
    description:
      'The source and target tables and columns exist and the column counts match'
  },
  {
    name: 'table_duplication',
    title: 'Table duplication check',
    description: 'No other submitted task writes the same target table'
  },
  {
    name: 'dependency',
    title: 'Dependency check',
    description: 'The upstream dependencies make no cycle'
  }
] as const;

/** The remarks' limit (the server's `MAX_REMARKS`). */
export const REMARKS_MAX = 128;

/** A row of the checks list: waiting, running, or the check's answer. */
export type RowState = 'waiting' | 'running' | CheckStatus;

export interface ICheckRow {
  name: string;
  title: string;
  description: string;
  state: RowState;
  messages: string[];
  diagnostics: IDiagnostic[];
}

/** The server's checks in run order; a check this list does not know comes last. */
export function orderChecks(checks: readonly ICheckResult[]): ICheckResult[] {
  const rank = (name: string) => {
    const index = CHECKS.findIndex(c => c.name === name);
    return index === -1 ? CHECKS.length : index;
  };
  return checks
    .map((check, index) => ({ check, index }))
    .sort(
      (a, b) => rank(a.check.name) - rank(b.check.name) || a.index - b.index
    )
    .map(({ check }) => check);
}

function describe(name: string): { title: string; description: string } {
  const known = CHECKS.find(c => c.name === name);
  return known
    ? { title: known.title, description: known.description }
    : { title: name.replace(/_/g, ' '), description: '' };
}

/**
 * The rows to show: `checks` null while the request runs (the first check
 * running), else the first `revealed` checks with their answers, the next one
 * running and the rest waiting.
 */
export function checkRows(
  checks: readonly ICheckResult[] | null,
  revealed: number
): ICheckRow[] {
  const ordered = checks ? orderChecks(checks) : [];
  const names = [
    ...CHECKS.map(c => c.name as string),
    ...ordered.map(c => c.name).filter(n => !CHECKS.some(c => c.name === n))
  ];
  return names.map((name, index) => {
    const result = ordered.find(c => c.name === name);
    let state: RowState;
    if (checks === null) {
      state = index === 0 ? 'running' : 'waiting';
    } else if (index < revealed) {
      state = result?.status ?? 'skipped';
    } else {
      state = index === revealed ? 'running' : 'waiting';
    }
    const shown = index < revealed && checks !== null;
    return {
      name,
      ...describe(name),
      state,
      messages: shown ? (result?.messages ?? []) : [],
      diagnostics: shown ? (result?.diagnostics ?? []) : []
    };
  });
}

/** How many rows there are to reveal. */
export function rowCount(checks: readonly ICheckResult[]): number {
  return checkRows(checks, 0).length;
}

/** How long a check "runs" on screen before its answer shows: a skipped one at once. */
export function revealDelay(check: ICheckResult | undefined): number {
  if (!check || check.status === 'skipped') {
    return 120;
  }
  return check.status === 'pass' ? 350 : 500;
}

/** The delays between reveals, in row order. */
export function revealDelays(checks: readonly ICheckResult[]): number[] {
  return checkRows(checks, 0).map(row =>
    revealDelay(orderChecks(checks).find(c => c.name === row.name))
  );
}

export type Outcome =
  | { kind: 'success'; text: string }
  | { kind: 'confirm'; text: string }
  | { kind: 'failed'; text: string };

/** What the answer means for the user. */
export function outcome(answer: ISubmitAnswer): Outcome {
  const version =
    answer.version !== null ? ` as version ${answer.version}` : '';
  switch (answer.status) {
    case 'published':
      return {
        kind: 'success',
        text: `Submitted${version} and published: production schedules it now.`
      };
    case 'submitted':
      return {
        kind: 'success',
        text: `Submitted${version}. It waits in the to-publish list until someone publishes it.`
      };
    case 'needs_confirmation': {
      const warned = orderChecks(answer.checks).find(
        c => c.status === 'warning'
      );
      return {
        kind: 'confirm',
        text: `The ${describe(warned?.name ?? 'check').title.toLowerCase()} warns. Confirm to submit anyway.`
      };
    }
    default: {
      const failed = orderChecks(answer.checks).find(c => c.status === 'fail');
      return {
        kind: 'failed',
        text: failed
          ? `Not submitted: the ${describe(failed.name).title.toLowerCase()} failed.`
          : 'Not submitted.'
      };
    }
  }
}

/** The remarks' problem, or null. */
export function remarksProblem(remarks: string): string | null {
  const trimmed = remarks.trim();
  if (!trimmed) {
    return 'Remarks are required: say what this version changes';
  }
  if (trimmed.length > REMARKS_MAX) {
    return `At most ${REMARKS_MAX} characters (it has ${trimmed.length})`;
  }
  return null;
}
