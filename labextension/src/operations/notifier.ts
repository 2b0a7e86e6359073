import type { INotificationEvent, INotificationPage } from '../api/operations';

/** Reads the feed: after event `after`, or (undefined) the latest events. */
export type NotificationReader = (after?: number) => Promise<INotificationPage>;

/**
 * Polls `GET /notifications` and tells `notify` of each new failure, once.
 *
 * The first poll only learns where the feed is (its `last`), so that failures
 * from before the app loaded do not flood the user. After that each poll asks
 * for the events after the last one seen. An event is told once even if the
 * feed gives it again (an overlapping poll, a `last` that went back), and when
 * one poll brings several failures of one instance (failed, retried, failed
 * again) only the newest is told.
 */
export class NotificationPoller {
  constructor(
    private _read: NotificationReader,
    private _notify: (event: INotificationEvent) => void,
    options: { maxSeen?: number } = {}
  ) {
    this._maxSeen = options.maxSeen ?? 1000;
  }

  /** The id of the newest event seen, null before the first poll. */
  get last(): number | null {
    return this._last;
  }

  /** One poll; resolves to the events told. Errors are left to the caller. */
  async poll(): Promise<INotificationEvent[]> {
    if (this._pending) {
      return [];
    }
    this._pending = true;
    try {
      if (this._last === null) {
        const page = await this._read();
        page.events.forEach(event => this._remember(event.id));
        this._last = page.last;
        return [];
      }
      const page = await this._read(this._last);
      const told = newestPerInstance(
        page.events.filter(event => !this._seen.has(event.id))
      );
      page.events.forEach(event => this._remember(event.id));
      this._last = Math.max(this._last, page.last);
      for (const event of told) {
        this._notify(event);
      }
      return told;
    } finally {
      this._pending = false;
    }
  }

  private _remember(id: number): void {
    this._seen.add(id);
    if (this._seen.size > this._maxSeen) {
      // forget the oldest (a Set keeps insertion order)
      const oldest = this._seen.values().next().value as number;
      this._seen.delete(oldest);
    }
  }

  private _maxSeen: number;
  private _last: number | null = null;
  private _seen = new Set<number>();
  private _pending = false;
}

/** The newest event of each instance, in feed order. */
export function newestPerInstance(
  events: readonly INotificationEvent[]
): INotificationEvent[] {
  const newest = new Map<number, INotificationEvent>();
  for (const event of events) {
    const known = newest.get(event.instance_id);
    if (!known || event.id > known.id) {
      newest.set(event.instance_id, event);
    }
  }
  return [...newest.values()].sort((a, b) => a.id - b.id);
}

/** The notification's text. */
export function notificationMessage(event: INotificationEvent): string {
  const what = event.timed_out
    ? 'timed out'
    : event.state === 'killed'
      ? 'was killed'
      : 'failed';
  const reason =
    event.reason.length > 160 ? `${event.reason.slice(0, 157)}…` : event.reason;
  return `Instance #${event.instance_id} of ${event.task_name} (${event.business_date}, ${event.kind}) ${what}: ${reason}`;
}
