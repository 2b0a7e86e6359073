/** The Backfill dialog's own checks, pure (the server checks again). */

export const MAX_PARALLELISM = 32;

export const DATE = /^[0-9]{4}-[0-9]{2}-[0-9]{2}$/;

/** The backfill form as the user fills it. */
export interface IBackfillForm {
  taskId: number | null;
  downstream: number[];
  from: string;
  to: string;
  parallelism: string;
}

/** The form's problems, by field (the server checks again). */
export function backfillIssues(form: IBackfillForm): Record<string, string> {
  const issues: Record<string, string> = {};
  if (form.taskId === null) {
    issues.task_id = 'choose a recurring task in production';
  }
  if (!DATE.test(form.from)) {
    issues.from = 'the first business date is required (YYYY-MM-DD)';
  }
  if (!DATE.test(form.to)) {
    issues.to = 'the last business date is required (YYYY-MM-DD)';
  }
  if (!issues.from && !issues.to && form.from > form.to) {
    issues.from = `${form.from} is after the last date (${form.to})`;
  }
  const parallelism = Number(form.parallelism);
  if (
    !/^[0-9]+$/.test(form.parallelism.trim()) ||
    parallelism < 1 ||
    parallelism > MAX_PARALLELISM
  ) {
    issues.parallelism = `a whole number from 1 to ${MAX_PARALLELISM}`;
  }
  return issues;
}
