import { UseSignal } from '@jupyterlab/apputils';
import { ISignal, Signal } from '@lumino/signaling';
import * as React from 'react';

import type { IToPublish, ScheduleAPI } from '../api/schedule';

/** A `dev_prod` project's to-publish list, with the versions chosen for Publish. */
export class PublishModel {
  constructor(
    readonly api: ScheduleAPI,
    readonly projectId: number,
    selected: readonly number[] = [],
    /** Called after a publish, e.g. to refresh the sidebar's badges. */
    readonly onPublished?: (published: IToPublish[]) => void
  ) {
    this._selected = new Set(selected);
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get entries(): readonly IToPublish[] | null {
    return this._entries;
  }

  get selected(): ReadonlySet<number> {
    return this._selected;
  }

  get busy(): boolean {
    return this._busy;
  }

  get error(): string | null {
    return this._error;
  }

  /** The versions the last Publish published. */
  get published(): readonly IToPublish[] {
    return this._published;
  }

  async load(): Promise<void> {
    try {
      this._entries = await this.api.toPublish(this.projectId);
      const waiting = new Set(this._entries.map(e => e.task_id));
      this._selected = new Set(
        [...this._selected].filter(id => waiting.has(id))
      );
      this._error = null;
    } catch (error) {
      this._entries = this._entries ?? [];
      this._error = (error as Error).message;
    }
    this._changed.emit();
  }

  toggle(taskId: number, on: boolean): void {
    if (on) {
      this._selected.add(taskId);
    } else {
      this._selected.delete(taskId);
    }
    this._changed.emit();
  }

  /** Publish the chosen versions (all or none), then show the list again. */
  async publish(): Promise<boolean> {
    if (this._busy || this._selected.size === 0) {
      return false;
    }
    this._busy = true;
    this._error = null;
    this._changed.emit();
    try {
      this._published = await this.api.publish(this.projectId, [
        ...this._selected
      ]);
      this._selected.clear();
      this.onPublished?.(this._published);
      await this.load();
      return true;
    } catch (error) {
      this._error = (error as Error).message;
      return false;
    } finally {
      this._busy = false;
      this._changed.emit();
    }
  }

  private _changed = new Signal<this, void>(this);
  private _entries: IToPublish[] | null = null;
  private _selected: Set<number>;
  private _busy = false;
  private _error: string | null = null;
  private _published: IToPublish[] = [];
}

function when(iso: string): string {
  return iso.replace('T', ' ').slice(0, 16);
}

const CHANGES: Record<string, string> = {
  create: 'New',
  update: 'Update',
  delete: 'Deletion'
};

/** The to-publish list: one row per waiting version, and Publish. */
export function PublishList(props: { model: PublishModel }): JSX.Element {
  const { model } = props;
  return (
    <UseSignal signal={model.changed}>
      {() => (
        <section className="jp-pipeline-Publish" aria-label="To publish">
          <h3 className="jp-pipeline-Submit-sectionTitle">To publish</h3>
          {model.published.length > 0 && (
            <div className="jp-pipeline-Publish-done" role="status">
              Published:{' '}
              {model.published
                .map(p => `${p.task_name} (version ${p.number})`)
                .join(', ')}
            </div>
          )}
          {model.entries === null ? (
            <div className="jp-pipeline-Schedule-none">Loading…</div>
          ) : model.entries.length === 0 ? (
            <div className="jp-pipeline-Schedule-none">
              Nothing waits to be published in this project.
            </div>
          ) : (
            <table className="jp-pipeline-Publish-table">
              <thead>
                <tr>
                  <th aria-label="Chosen" />
                  <th>Task</th>
                  <th>Version</th>
                  <th>Change</th>
                  <th>Remarks</th>
                  <th>Submitted</th>
                </tr>
              </thead>
              <tbody>
                {model.entries.map(entry => (
                  <tr
                    key={entry.task_id}
                    className="jp-pipeline-Publish-row"
                    data-task-id={entry.task_id}
                  >
                    <td>
                      <input
                        type="checkbox"
                        aria-label={`Publish ${entry.task_name}`}
                        checked={model.selected.has(entry.task_id)}
                        disabled={model.busy}
                        onChange={event =>
                          model.toggle(entry.task_id, event.target.checked)
                        }
                      />
                    </td>
                    <td>{entry.task_name}</td>
                    <td>{entry.number}</td>
                    <td>{CHANGES[entry.change] ?? entry.change}</td>
                    <td className="jp-pipeline-Publish-remarks">
                      {entry.remarks}
                    </td>
                    <td>
                      {entry.author}, {when(entry.created_at)}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {model.error && (
            <div className="jp-pipeline-error" role="alert">
              {model.error}
            </div>
          )}
          <div className="jp-pipeline-Publish-actions">
            <button
              type="button"
              className="jp-mod-styled jp-mod-accept jp-pipeline-Publish-button"
              disabled={model.busy || model.selected.size === 0}
              onClick={() => void model.publish()}
            >
              {model.busy
                ? 'Publishing…'
                : `Publish${model.selected.size ? ` (${model.selected.size})` : ''}`}
            </button>
          </div>
        </section>
      )}
    </UseSignal>
  );
}
