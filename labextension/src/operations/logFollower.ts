import type { ILogChunk } from '../api/operations';

/** How a follower reads the log: the last lines, or on from a byte offset. */
export type LogReader = (
  from: { tail: number } | { offset: number }
) => Promise<ILogChunk>;

export interface ILogFollowerOptions {
  /** The lines read first. */
  tail?: number;
  /** The text kept at most (characters): older text is dropped from the start. */
  maxChars?: number;
}

/**
 * Follows an instance's log: first its last `tail` lines, then, each `poll`,
 * the text written since, from the byte offset the last answer ended at.
 * It reads on at once while the server has more than one answer holds
 * (`offset < size`), and is `done` once the instance has finished and the
 * whole log is read. A log that shrank (replaced) is read again from its tail.
 */
export class LogFollower {
  constructor(
    private _read: LogReader,
    options: ILogFollowerOptions = {}
  ) {
    this._tail = options.tail ?? 200;
    this._maxChars = options.maxChars ?? 2_000_000;
  }

  /** The text read so far (its start dropped past `maxChars`). */
  get text(): string {
    return this._text;
  }

  /** The byte offset the next read starts at (null before the first read). */
  get offset(): number | null {
    return this._offset;
  }

  /** Whether the log's beginning is not in `text` (tail, or dropped). */
  get truncated(): boolean {
    return this._truncated;
  }

  /** The instance finished and everything is read: no need to poll again. */
  get done(): boolean {
    return this._done;
  }

  /** Start again from the tail (after a rerun, say). */
  reset(): void {
    this._text = '';
    this._offset = null;
    this._truncated = false;
    this._done = false;
  }

  /**
   * Read what is new. Resolves to whether the text changed. Polls do not
   * overlap: a call while one runs waits for it and adds nothing.
   */
  async poll(): Promise<boolean> {
    if (this._pending) {
      await this._pending;
      return false;
    }
    this._pending = this._poll();
    try {
      return await this._pending;
    } finally {
      this._pending = null;
    }
  }

  private async _poll(): Promise<boolean> {
    let changed = false;
    // a few reads at most per poll, when the log has more than an answer holds
    for (let reads = 0; reads < 4; reads++) {
      const first = this._offset === null;
      let chunk: ILogChunk;
      try {
        chunk = await this._read(
          first ? { tail: this._tail } : { offset: this._offset as number }
        );
      } catch (error) {
        if (first || !pastTheEnd(error)) {
          throw error;
        }
        // the server refuses an offset past the end: the file was replaced
        this.reset();
        changed = true;
        continue;
      }
      if (!first && chunk.size < (this._offset as number)) {
        // the file was replaced by a shorter one: start over from its tail
        this.reset();
        changed = true;
        continue;
      }
      if (first) {
        this._text = chunk.text;
        // a tail that does not start at byte 0 leaves the beginning out
        this._truncated =
          chunk.size > 0 && chunk.offset - byteLength(chunk.text) > 0;
      } else {
        this._text += chunk.text;
      }
      changed = changed || chunk.text.length > 0 || first;
      this._offset = chunk.offset;
      if (this._text.length > this._maxChars) {
        this._text = this._text.slice(this._text.length - this._maxChars);
        this._truncated = true;
      }
      const more = chunk.offset < chunk.size;
      if (!more) {
        this._done = chunk.finished;
        break;
      }
    }
    return changed;
  }

  private _tail: number;
  private _maxChars: number;
  private _text = '';
  private _offset: number | null = null;
  private _truncated = false;
  private _done = false;
  private _pending: Promise<boolean> | null = null;
}

/** The server's 400 for an `offset` past the log's end. */
function pastTheEnd(error: unknown): boolean {
  const { status, issues } = (error ?? {}) as {
    status?: number;
    issues?: Array<{ field: string }>;
  };
  return status === 400 && !!issues?.some(issue => issue.field === 'offset');
}

/** The UTF-8 length of `text` in bytes (offsets are bytes, text is characters). */
export function byteLength(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) {
      bytes += 1;
    } else if (code < 0x800) {
      bytes += 2;
    } else if (code >= 0xd800 && code <= 0xdbff) {
      bytes += 4; // a surrogate pair: one 4-byte character
      i++;
    } else {
      bytes += 3;
    }
  }
  return bytes;
}
