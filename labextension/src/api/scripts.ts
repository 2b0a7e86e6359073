import { URLExt } from '@jupyterlab/coreutils';
import type { JSONSchema7 } from 'json-schema';

import { BoundAPI, json, segment } from '../request';
import type { IDatasource, ITaskDetail } from '../types';

/**
 * The REST calls of the script document (SPEC section 9): the draft script,
 * the script's schema, live validation, versions and their diff, run now.
 */

/** One problem of a script, as the server (and `jupyter pipeline validate --json`) reports it. */
export interface IServerDiagnostic {
  severity: 'error' | 'warning' | 'info';
  message: string;
  /** JSON pointer of the value concerned. */
  pointer: string;
  /** 1-based. */
  line: number;
  /** 1-based, in characters (code points) of the line. */
  column: number;
  /** The check that found it: syntax, schema, script, parameters, catalog... */
  source: string;
}

/** A custom parameter of a task's schedule configuration. */
export interface ITaskParameter {
  name: string;
  value?: string;
}

export interface ICheck {
  name: string;
  status: 'pass' | 'warning' | 'fail' | 'skipped';
  messages: string[];
  diagnostics: IServerDiagnostic[];
}

/** A submitted version (`Version` in the OpenAPI document). */
export interface IVersion {
  number: number;
  change: 'create' | 'update' | 'delete';
  remarks: string;
  author: string;
  created_at: string;
  published_by: string | null;
  published_at: string | null;
  task_id?: number;
  script?: string;
  schedule?: Record<string, unknown>;
  checks?: ICheck[];
}

/** What `POST /tasks/{id}/run` answers (`Instance`), the fields the editor uses. */
export interface IRunInstance {
  id: number;
  task_id: number;
  task_name: string;
  business_date: string;
  state: string;
  kind: string;
  [key: string]: unknown;
}

/** The calls, bound to one server's settings. */
export class ScriptsAPI extends BoundAPI {
  /** `GET /schemas/script`: the script's JSON Schema (draft 2020-12). */
  scriptSchema(): Promise<JSONSchema7> {
    return this.call('schemas/script');
  }

  /** `GET /datasources`: the data sources the user sees. */
  datasources(): Promise<IDatasource[]> {
    return this.call('datasources');
  }

  /** `GET /tasks/{id}`: the task with its draft script and schedule configuration. */
  task(taskId: number): Promise<ITaskDetail> {
    return this.call(`tasks/${segment(taskId)}`);
  }

  /** `PUT /tasks/{id}/script`: save the draft script. */
  saveScript(taskId: number, script: string): Promise<ITaskDetail> {
    return this.call(
      `tasks/${segment(taskId)}/script`,
      json('PUT', { script })
    );
  }

  /** `PATCH /tasks/{id}`: rename the task. */
  renameTask(taskId: number, name: string): Promise<ITaskDetail> {
    return this.call(`tasks/${segment(taskId)}`, json('PATCH', { name }));
  }

  /**
   * `POST /validate`: every diagnostic of the text, the catalog's included.
   *
   * @param parameters the task's custom parameters (name to value): with
   *   them, an undefined `${name}` is an error; without, references are not checked.
   */
  async validate(
    script: string,
    parameters?: Record<string, string>,
    signal?: AbortSignal
  ): Promise<IServerDiagnostic[]> {
    const body: Record<string, unknown> = { script };
    if (parameters) {
      body.parameters = parameters;
    }
    const answer = await this.call<{ diagnostics: IServerDiagnostic[] }>(
      'validate',
      { ...json('POST', body), signal }
    );
    return answer.diagnostics;
  }

  /** `GET /tasks/{id}/versions`: newest first. */
  versions(taskId: number): Promise<IVersion[]> {
    return this.call(`tasks/${segment(taskId)}/versions`);
  }

  /** `GET /tasks/{id}/diff?from=&to=`: a unified diff, the script then the schedule. */
  async diff(taskId: number, from: number, to: number): Promise<string> {
    const query = URLExt.objectToQueryString({ from, to });
    const answer = await this.call<{ diff: string }>(
      `tasks/${segment(taskId)}/diff${query}`
    );
    return answer.diff;
  }

  /**
   * `POST /tasks/{id}/run`: a manual instance of the production version.
   * A task not yet in production answers 409.
   */
  run(
    taskId: number,
    bizdate: string,
    params: Record<string, string>
  ): Promise<IRunInstance> {
    return this.call(
      `tasks/${segment(taskId)}/run`,
      json('POST', { bizdate, params })
    );
  }
}

/** The custom parameters of a task's schedule configuration, as name to value. */
export function taskParameters(
  task: Pick<ITaskDetail, 'schedule'> | null | undefined
): Record<string, string> {
  const list = (task?.schedule as { parameters?: ITaskParameter[] } | undefined)
    ?.parameters;
  const parameters: Record<string, string> = {};
  if (Array.isArray(list)) {
    for (const { name, value } of list) {
      if (typeof name === 'string' && name) {
        parameters[name] = typeof value === 'string' ? value : '';
      }
    }
  }
  return parameters;
}
