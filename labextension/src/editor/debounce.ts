/**
 * Call a function once things have been quiet for `wait` ms: each `invoke`
 * restarts the wait. `flush` calls it at once if a call is pending, `cancel`
 * drops the pending call.
 */
export class Debouncer {
  constructor(
    private readonly fn: () => void,
    readonly wait = 500
  ) {}

  /** Whether a call is waiting. */
  get pending(): boolean {
    return this._timer !== null;
  }

  invoke(): void {
    if (this._disposed) {
      return;
    }
    this.cancel();
    this._timer = setTimeout(() => {
      this._timer = null;
      this.fn();
    }, this.wait);
  }

  cancel(): void {
    if (this._timer !== null) {
      clearTimeout(this._timer);
      this._timer = null;
    }
  }

  flush(): void {
    if (this._timer !== null) {
      this.cancel();
      this.fn();
    }
  }

  dispose(): void {
    this.cancel();
    this._disposed = true;
  }

  private _timer: ReturnType<typeof setTimeout> | null = null;
  private _disposed = false;
}
