import { ISignal, Signal } from '@lumino/signaling';

import type {
  IBackfill,
  IInstance,
  IInstanceFilters,
  InstanceKind,
  IProductionTask,
  OperationsClient
} from '../api/operations';

export type OperationTab = 'instances' | 'tasks' | 'backfills';

/** The filters the user sets (the page is separate). */
export interface IFilterState {
  taskId: number | null;
  from: string;
  to: string;
  states: string[];
  kind: InstanceKind | '';
  backfillId: number | null;
}

export const EMPTY_FILTERS: IFilterState = {
  taskId: null,
  from: '',
  to: '',
  states: [],
  kind: '',
  backfillId: null
};

export const PAGE_SIZES = [20, 50, 100, 200];

/**
 * The Operation Center's state: the tab, the instance filters and page, the
 * last answers, and the last error. Views re-render on `changed`; `refresh`
 * reloads what the current tab shows (the widget calls it every few seconds
 * while it is visible).
 */
export class OperationCenterModel {
  constructor(readonly client: OperationsClient) {}

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get tab(): OperationTab {
    return this._tab;
  }

  set tab(tab: OperationTab) {
    if (tab !== this._tab) {
      this._tab = tab;
      this._changed.emit();
      void this.refresh();
    }
  }

  get filters(): Readonly<IFilterState> {
    return this._filters;
  }

  get limit(): number {
    return this._limit;
  }

  get offset(): number {
    return this._offset;
  }

  get instances(): readonly IInstance[] {
    return this._instances;
  }

  get total(): number {
    return this._total;
  }

  get tasks(): readonly IProductionTask[] {
    return this._tasks;
  }

  get backfills(): readonly IBackfill[] {
    return this._backfills;
  }

  get error(): string | null {
    return this._error;
  }

  /** When the shown data was last loaded (ms), null before. */
  get loadedAt(): number | null {
    return this._loadedAt;
  }

  /** Change some filters: back to the first page, then reload. */
  setFilters(change: Partial<IFilterState>): Promise<void> {
    this._filters = { ...this._filters, ...change };
    this._offset = 0;
    this._changed.emit();
    return this.refresh();
  }

  /** Show the instances of one task (null: all), every other filter cleared. */
  showTask(taskId: number | null): Promise<void> {
    this._tab = 'instances';
    return this.setFilters({ ...EMPTY_FILTERS, taskId });
  }

  /** Show one backfill's instances. */
  showBackfill(backfillId: number): Promise<void> {
    this._tab = 'instances';
    return this.setFilters({ ...EMPTY_FILTERS, backfillId });
  }

  setPage(offset: number, limit: number = this._limit): Promise<void> {
    this._limit = limit;
    this._offset = Math.max(0, offset);
    this._changed.emit();
    return this.refresh();
  }

  /** The query of `GET /instances` for the filters and page. */
  get query(): IInstanceFilters {
    const f = this._filters;
    return {
      taskId: f.taskId,
      from: f.from,
      to: f.to,
      states: f.states,
      kind: f.kind,
      backfillId: f.backfillId,
      limit: this._limit,
      offset: this._offset
    };
  }

  /**
   * Reload: the production tasks (the filter's choices) always, and the
   * current tab's list. Overlapping calls share one load; an answer to
   * filters changed meanwhile is dropped (the next load brings the right one).
   */
  refresh(): Promise<void> {
    if (this._loading) {
      this._again = true;
      return this._loading;
    }
    this._loading = this._load().finally(() => {
      this._loading = null;
      if (this._again) {
        this._again = false;
        void this.refresh();
      }
    });
    return this._loading;
  }

  private async _load(): Promise<void> {
    const query = this.query;
    const key = JSON.stringify([this._tab, query]);
    try {
      const tab = this._tab;
      const [tasks, page, backfills] = await Promise.all([
        this.client.productionTasks(),
        tab === 'instances' ? this.client.instances(query) : null,
        tab === 'backfills' ? this.client.backfills() : null
      ]);
      this._tasks = tasks;
      if (key !== JSON.stringify([this._tab, this.query])) {
        this._again = true; // the filters moved on while this answer came
      } else {
        if (page) {
          this._instances = page.instances;
          this._total = page.total;
          // a page past the end (fewer matches now): back to the last page
          if (!page.instances.length && page.total && this._offset) {
            this._offset =
              Math.floor((page.total - 1) / this._limit) * this._limit;
            this._again = true;
          }
        }
        if (backfills) {
          this._backfills = backfills;
        }
      }
      this._error = null;
      this._loadedAt = Date.now();
    } catch (error) {
      this._error = (error as Error).message;
    }
    this._changed.emit();
  }

  private _changed = new Signal<this, void>(this);
  private _tab: OperationTab = 'instances';
  private _filters: IFilterState = { ...EMPTY_FILTERS };
  private _limit = 50;
  private _offset = 0;
  private _instances: IInstance[] = [];
  private _total = 0;
  private _tasks: IProductionTask[] = [];
  private _backfills: IBackfill[] = [];
  private _error: string | null = null;
  private _loadedAt: number | null = null;
  private _loading: Promise<void> | null = null;
  private _again = false;
}
