import { URLExt } from '@jupyterlab/coreutils';

import { BoundAPI, json } from '../request';

/**
 * The Operation Center's REST calls (SPEC section 8; `server/openapi.py`,
 * tag "operations"): production tasks, instances, logs, code, run now, rerun,
 * kill, backfills and the notification feed.
 */

export const INSTANCE_STATES = [
  'waiting_time',
  'waiting_upstream',
  'waiting_resources',
  'running',
  'success',
  'failed',
  'not_run',
  'dry_run',
  'killed'
] as const;

export type InstanceState = (typeof INSTANCE_STATES)[number];

export const INSTANCE_KINDS = ['recurring', 'manual', 'backfill'] as const;

export type InstanceKind = (typeof INSTANCE_KINDS)[number];

/** States an instance does not leave by itself. */
export const FINISHED_STATES: ReadonlySet<string> = new Set([
  'success',
  'failed',
  'not_run',
  'dry_run',
  'killed'
]);

/** What a rerun accepts (the server's RERUNNABLE). */
export const RERUNNABLE_STATES: ReadonlySet<string> = new Set([
  'success',
  'failed',
  'not_run',
  'killed'
]);

/** What a kill accepts: waiting or running. */
export const KILLABLE_STATES: ReadonlySet<string> = new Set([
  'waiting_time',
  'waiting_upstream',
  'waiting_resources',
  'running'
]);

/** One channel's counters of a run. */
export interface IChannelStats {
  channel: number;
  records_read: number;
  records_written: number;
  dirty_records: number;
  bytes: number;
  tasks: number;
}

/** The engine's summary of a run (`RunSummary.to_dict`). */
export interface IRunStats {
  status?: string;
  start?: string;
  end?: string;
  seconds?: number;
  records_read?: number;
  records_written?: number;
  dirty_records?: number;
  bytes?: number;
  records_per_second?: number;
  bytes_per_second?: number;
  channels?: IChannelStats[];
  dirty_samples?: unknown[];
  error?: string;
}

export interface IInstance {
  id: number;
  task_id: number;
  task_name: string;
  project: string;
  owner: string;
  version: number;
  kind: InstanceKind;
  business_date: string;
  scheduled_time: string;
  state: InstanceState;
  priority: string;
  attempt: number;
  max_attempts: number;
  params: Record<string, string>;
  backfill_id: number | null;
  triggered_by: string;
  started_at: string | null;
  finished_at: string | null;
  duration_seconds: number | null;
  stats: IRunStats | null;
  error: string | null;
  log_available: boolean;
}

export interface IInstanceEvent {
  at: string;
  from: string | null;
  to: string;
  reason: string;
}

/** Per upstream task, its instances of the same business date (and kind). */
export interface IWaitsFor {
  task_id: number;
  task_name: string;
  ok: boolean;
  instances: Array<{
    id: number;
    state: InstanceState;
    scheduled_time: string;
  }>;
}

export interface IInstanceDetail extends IInstance {
  events: IInstanceEvent[];
  upstream: IWaitsFor[];
}

export interface IInstancePage {
  instances: IInstance[];
  total: number;
}

/** A log chunk: `offset` is where the next read starts. */
export interface ILogChunk {
  text: string;
  offset: number;
  size: number;
  /** The instance has finished (the log grows no more unless it is rerun). */
  finished: boolean;
}

export interface IInstanceCode {
  task_id: number;
  version: number;
  script: string;
  resolved_script: string | null;
}

export interface INamedTask {
  id: number;
  name: string | null;
}

export interface IProductionTask {
  id: number;
  name: string;
  project: string;
  owner: string;
  operation_owner: string;
  schedule_type: 'recurring' | 'manual';
  version: number;
  state: 'normal' | 'dry_run' | 'paused';
  cycle: string | null;
  timezone: string;
  priority: string;
  next_run_time: string | null;
  next_business_date: string | null;
  upstream: INamedTask[];
  downstream: INamedTask[];
}

export interface IBackfill {
  id: number;
  task_id: number;
  task_name: string | null;
  tasks: INamedTask[];
  from: string;
  to: string;
  parallelism: number;
  state: 'running' | 'cancelled' | 'finished';
  created_by: string;
  created_at: string;
  total: number;
  counts: Record<string, number>;
  dates_total: number;
  dates_done: number;
}

export interface INewBackfill {
  task_id: number;
  from: string;
  to: string;
  /** true: every downstream task; or the ids of some of them. */
  downstream: boolean | number[];
  parallelism: number;
}

export interface INotificationEvent {
  id: number;
  instance_id: number;
  task_id: number;
  task_name: string;
  business_date: string;
  kind: InstanceKind;
  state: 'failed' | 'killed';
  reason: string;
  at: string;
  timed_out: boolean;
}

export interface INotificationPage {
  events: INotificationEvent[];
  last: number;
}

/** The instance list's filters, as the Operation Center holds them. */
export interface IInstanceFilters {
  taskId?: number | null;
  /** Business dates, YYYY-MM-DD, both ends included. */
  from?: string;
  to?: string;
  states?: readonly string[];
  kind?: InstanceKind | '' | null;
  owner?: string;
  backfillId?: number | null;
  limit?: number;
  offset?: number;
}

/**
 * The query string of `GET /instances` for `filters`: only the filters set,
 * states comma-separated in the server's order, `limit` and `offset` kept.
 */
export function instancesQuery(filters: IInstanceFilters): string {
  const query: Record<string, string> = {};
  if (typeof filters.taskId === 'number') {
    query.task_id = String(filters.taskId);
  }
  const states = INSTANCE_STATES.filter(s => filters.states?.includes(s));
  if (states.length) {
    query.state = states.join(',');
  }
  if (filters.kind) {
    query.kind = filters.kind;
  }
  if (filters.owner?.trim()) {
    query.owner = filters.owner.trim();
  }
  if (filters.from) {
    query.from = filters.from;
  }
  if (filters.to) {
    query.to = filters.to;
  }
  if (typeof filters.backfillId === 'number') {
    query.backfill_id = String(filters.backfillId);
  }
  if (filters.limit !== undefined) {
    query.limit = String(filters.limit);
  }
  if (filters.offset) {
    query.offset = String(filters.offset);
  }
  return URLExt.objectToQueryString(query);
}

/** One method per Operation Center endpoint; errors are `PipelineError`s. */
export class OperationsClient extends BoundAPI {
  /** What production runs (published versions), by project and name. */
  productionTasks(
    options: { projectId?: number; search?: string } = {}
  ): Promise<IProductionTask[]> {
    const query: Record<string, string> = {};
    if (options.projectId !== undefined) {
      query.project_id = String(options.projectId);
    }
    if (options.search) {
      query.search = options.search;
    }
    return this.call(`operations/tasks${URLExt.objectToQueryString(query)}`);
  }

  /** A page of instances, newest scheduled first, and how many match. */
  instances(filters: IInstanceFilters = {}): Promise<IInstancePage> {
    return this.call(`instances${instancesQuery(filters)}`);
  }

  instance(id: number): Promise<IInstanceDetail> {
    return this.call(`instances/${id}`);
  }

  /** The log's last `tail` lines, or its text from byte `offset`. */
  log(
    id: number,
    from: { tail: number } | { offset: number }
  ): Promise<ILogChunk> {
    const query =
      'tail' in from ? { tail: from.tail } : { offset: from.offset };
    return this.call(`instances/${id}/log${URLExt.objectToQueryString(query)}`);
  }

  /** The address of the whole log as a download (`download=1`). */
  logDownloadUrl(id: number): string {
    return URLExt.join(
      this.settings.baseUrl,
      'pipeline/api',
      `instances/${id}/log?download=1`
    );
  }

  /** The version's script and the script as it ran (parameters resolved). */
  code(id: number): Promise<IInstanceCode> {
    return this.call(`instances/${id}/code`);
  }

  /** Run now: a manual instance of the production version. */
  runNow(
    taskId: number,
    options: { bizdate?: string; params?: Record<string, string> } = {}
  ): Promise<IInstance> {
    const body: Record<string, unknown> = {};
    if (options.bizdate) {
      body.bizdate = options.bizdate;
    }
    if (options.params && Object.keys(options.params).length) {
      body.params = options.params;
    }
    return this.call(`tasks/${taskId}/run`, json('POST', body));
  }

  /** `force` skips the upstream check; `downstream` reruns the date's downstream too. */
  rerun(
    id: number,
    options: { force?: boolean; downstream?: boolean } = {}
  ): Promise<IInstance[]> {
    return this.call(
      `instances/${id}/rerun`,
      json('POST', {
        force: options.force ?? false,
        downstream: options.downstream ?? false
      })
    );
  }

  kill(id: number): Promise<IInstance> {
    return this.call(`instances/${id}/kill`, { method: 'POST' });
  }

  backfills(taskId?: number): Promise<IBackfill[]> {
    const query =
      taskId === undefined
        ? ''
        : URLExt.objectToQueryString({ task_id: String(taskId) });
    return this.call(`backfills${query}`);
  }

  createBackfill(backfill: INewBackfill): Promise<IBackfill> {
    return this.call('backfills', json('POST', backfill));
  }

  cancelBackfill(id: number): Promise<IBackfill> {
    return this.call(`backfills/${id}/cancel`, { method: 'POST' });
  }

  /** Failed and killed instances after event `after`, or the latest ones. */
  notifications(after?: number): Promise<INotificationPage> {
    const query =
      after === undefined
        ? ''
        : URLExt.objectToQueryString({ after: String(after) });
    return this.call(`notifications${query}`);
  }
}
