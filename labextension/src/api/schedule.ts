import { URLExt } from '@jupyterlab/coreutils';
import type { JSONSchema7 } from 'json-schema';

import { BoundAPI, json, segment } from '../request';
import type { ITask } from '../types';

/** The schedule configuration of a task (`ScheduleConfig`, `/schemas/schedule`). */
export type ScheduleConfig = Record<string, any>;

/** One run of a schedule preview, in the schedule's time zone. */
export interface IPreviewRun {
  /** ISO 8601 with the zone's offset, e.g. `2026-11-28T02:00:00+08:00`. */
  scheduled_time: string;
  /** `YYYY-MM-DD`: the day before the scheduled day. */
  business_date: string;
}

export type CheckStatus = 'pass' | 'warning' | 'fail' | 'skipped';

/** A script diagnostic (SPEC section 9), lines and columns from 1. */
export interface IDiagnostic {
  severity: 'error' | 'warning' | 'info';
  message: string;
  pointer?: string;
  line?: number;
  column?: number;
  source?: string;
}

/** One of the five submit checks (SPEC section 7). */
export interface ICheckResult {
  name: string;
  status: CheckStatus;
  messages: string[];
  diagnostics: IDiagnostic[];
}

export interface ISubmitAnswer {
  status:
    'submitted' | 'published' | 'failed' | 'needs_confirmation' | 'deleted';
  version: number | null;
  checks: ICheckResult[];
}

export interface ILineageNode {
  id: string;
  kind: 'table' | 'column';
  datasource: string;
  table: string;
  /** Column nodes only. */
  column?: string;
  /** Column nodes: the id of their table node. */
  parent?: string;
}

export interface ILineageEdge {
  source: string;
  target: string;
  kind: 'table' | 'column';
  task_id: number;
}

/** The lineage endpoints' drawing: table and column nodes, table and column edges. */
export interface ILineageGraph {
  nodes: ILineageNode[];
  edges: ILineageEdge[];
}

/** A task version waiting in its project's to-publish list. */
export interface IToPublish {
  task_id: number;
  task_name: string;
  number: number;
  change: 'create' | 'update' | 'delete';
  remarks: string;
  author: string;
  created_at: string;
  published_by: string | null;
  published_at: string | null;
}

/** The REST calls of the schedule panel and the submit and publish dialogs. */
export class ScheduleAPI extends BoundAPI {
  /** The JSON Schema of `ScheduleConfig` (fixed while the server runs: cached). */
  scheduleSchema(): Promise<JSONSchema7> {
    this._schema ??= this.call<JSONSchema7>('schemas/schedule').catch(error => {
      this._schema = null;
      throw error;
    });
    return this._schema;
  }

  /** Store the draft configuration; a 400 carries one issue per dotted field path. */
  saveSchedule(taskId: number, config: ScheduleConfig): Promise<ITask> {
    return this.call(`tasks/${segment(taskId)}/schedule`, json('PUT', config));
  }

  /** The next `count` runs of a configuration that need not be saved. */
  async preview(config: ScheduleConfig, count = 10): Promise<IPreviewRun[]> {
    const answer = await this.call<{ runs: IPreviewRun[] }>(
      'schedule/preview',
      json('POST', { ...config, count })
    );
    return answer.runs;
  }

  /** Run the five checks; the answer says whatever they found (`status`). */
  submit(
    taskId: number,
    remarks: string,
    confirmWarnings = false
  ): Promise<ISubmitAnswer> {
    return this.call(
      `tasks/${segment(taskId)}/submit`,
      json('POST', { remarks, confirm_warnings: confirmWarnings })
    );
  }

  /** A task's lineage; `depth` 0: its own edges only. */
  taskLineage(
    taskId: number,
    options: { direction?: 'up' | 'down' | 'both'; depth?: number } = {}
  ): Promise<ILineageGraph> {
    return this.call(`tasks/${segment(taskId)}/lineage${query(options)}`);
  }

  /** The lineage around a table (`direction` up: what writes it). */
  tableLineage(
    datasource: string,
    table: string,
    options: { direction?: 'up' | 'down' | 'both'; depth?: number } = {}
  ): Promise<ILineageGraph> {
    return this.call(`lineage${query({ datasource, table, ...options })}`);
  }

  toPublish(projectId: number): Promise<IToPublish[]> {
    return this.call(`projects/${segment(projectId)}/to-publish`);
  }

  /** All or none: the published versions. */
  publish(projectId: number, taskIds: number[]): Promise<IToPublish[]> {
    return this.call(
      `projects/${segment(projectId)}/publish`,
      json('POST', { task_ids: taskIds })
    );
  }

  private _schema: Promise<JSONSchema7> | null = null;
}

function query(values: Record<string, string | number | undefined>): string {
  const defined: Record<string, string> = {};
  for (const [key, value] of Object.entries(values)) {
    if (value !== undefined) {
      defined[key] = String(value);
    }
  }
  return Object.keys(defined).length ? URLExt.objectToQueryString(defined) : '';
}
