/** The pure rules of the Run dialog. */

/** The day before `now` (local time) as `YYYY-MM-DD`: the default business date. */
export function yesterday(now: Date = new Date()): string {
  const day = new Date(now.getFullYear(), now.getMonth(), now.getDate() - 1);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${day.getFullYear()}-${pad(day.getMonth() + 1)}-${pad(day.getDate())}`;
}

/** A business date as the server takes it: `YYYYMMDD` or `YYYY-MM-DD`, a real day. */
export function bizdateProblem(value: string): string | null {
  const match = /^(\d{4})-?(\d{2})-?(\d{2})$/.exec(value.trim());
  if (!match) {
    return 'must be a date: YYYY-MM-DD or YYYYMMDD';
  }
  const [year, month, day] = match.slice(1).map(Number);
  const date = new Date(Date.UTC(year, month - 1, day));
  if (
    date.getUTCFullYear() !== year ||
    date.getUTCMonth() !== month - 1 ||
    date.getUTCDate() !== day
  ) {
    return 'is not a day of the calendar';
  }
  return null;
}

/** The values to send: those that differ from the parameters' defaults. */
export function changedParameters(
  defaults: Record<string, string>,
  values: Record<string, string>
): Record<string, string> {
  const changed: Record<string, string> = {};
  for (const [name, value] of Object.entries(values)) {
    if (!(name in defaults) || defaults[name] !== value) {
      changed[name] = value;
    }
  }
  return changed;
}
