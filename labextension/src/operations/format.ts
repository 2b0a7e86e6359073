import type { IProductionTask } from '../api/operations';

/** Pure helpers of the Operation Center views. */

export const STATE_LABELS: Record<string, string> = {
  waiting_time: 'Waiting for time',
  waiting_upstream: 'Waiting for upstream',
  waiting_resources: 'Waiting for resources',
  running: 'Running',
  success: 'Success',
  failed: 'Failed',
  not_run: 'Not run',
  dry_run: 'Dry run',
  killed: 'Killed'
};

export const KIND_LABELS: Record<string, string> = {
  recurring: 'Recurring',
  manual: 'Manual',
  backfill: 'Backfill'
};

export const TASK_STATE_LABELS: Record<string, string> = {
  normal: 'Normal',
  dry_run: 'Dry run',
  paused: 'Paused'
};

/** A duration in seconds: "0.4s", "12s", "3m 05s", "2h 01m". */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !isFinite(seconds)) {
    return '';
  }
  if (seconds < 10) {
    return `${seconds.toFixed(1)}s`;
  }
  const total = Math.round(seconds);
  if (total < 60) {
    return `${total}s`;
  }
  const minutes = Math.floor(total / 60);
  if (minutes < 60) {
    return `${minutes}m ${String(total % 60).padStart(2, '0')}s`;
  }
  const hours = Math.floor(minutes / 60);
  return `${hours}h ${String(minutes % 60).padStart(2, '0')}m`;
}

/** Bytes as "512 B", "1.5 KB", "3.2 MB". */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !isFinite(bytes)) {
    return '';
  }
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0
    ? `${Math.round(value)} B`
    : `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}

/** A count with thousands separators; empty for none. */
export function formatCount(n: number | null | undefined): string {
  return n === null || n === undefined ? '' : n.toLocaleString('en-US');
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** An ISO time in the browser's time zone: "2024-01-02 03:04:05". */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) {
    return '';
  }
  const d = new Date(iso);
  if (isNaN(d.getTime())) {
    return iso;
  }
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
  );
}

/** A date as YYYY-MM-DD in the browser's time zone. */
export function isoDate(d: Date): string {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** Yesterday, the usual business date of a run today. */
export function yesterday(now: Date = new Date()): string {
  const d = new Date(now);
  d.setDate(d.getDate() - 1);
  return isoDate(d);
}

/**
 * Every task downstream of `taskId`, nearest first, from the production
 * tasks' direct `downstream` lists (a backfill may take any of them).
 */
export function downstreamClosure(
  tasks: readonly IProductionTask[],
  taskId: number
): IProductionTask[] {
  const byId = new Map(tasks.map(t => [t.id, t]));
  const found: IProductionTask[] = [];
  const seen = new Set<number>([taskId]);
  let frontier = [taskId];
  while (frontier.length) {
    const next: number[] = [];
    for (const id of frontier) {
      for (const below of byId.get(id)?.downstream ?? []) {
        const task = byId.get(below.id);
        if (!seen.has(below.id) && task) {
          seen.add(below.id);
          found.push(task);
          next.push(below.id);
        }
      }
    }
    frontier = next;
  }
  return found;
}

/** "1–50 of 123" for a page. */
export function pageLabel(
  offset: number,
  count: number,
  total: number
): string {
  if (!total || !count) {
    return `0 of ${total}`;
  }
  return `${offset + 1}–${offset + count} of ${total}`;
}
