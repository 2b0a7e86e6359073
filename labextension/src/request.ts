import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import type { JSONSchema7 } from 'json-schema';

import type {
  DatasourceTypes,
  IDatasource,
  IDirectoryEntry,
  IFolder,
  IFolderNode,
  IIssue,
  INewDatasource,
  INewTask,
  IPermissionRequest,
  IProject,
  ISubmitResult,
  ITask,
  ITaskDetail,
  Permission
} from './types';

/** The server extension's REST namespace (SPEC section 9). */
const API = 'pipeline/api';

/**
 * An error answer of the server: its `message` and, for a request that broke
 * field rules, one issue per field, so that forms can show each under its field.
 */
export class PipelineError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly issues: IIssue[] = []
  ) {
    super(message);
    this.name = 'PipelineError';
  }

  /** The first message of each field. */
  get fieldMessages(): Record<string, string> {
    const messages: Record<string, string> = {};
    for (const { field, message } of this.issues) {
      messages[field] ??= message;
    }
    return messages;
  }
}

/**
 * Call the server extension.
 *
 * @returns the answer's JSON, `undefined` for 204
 * @throws PipelineError for an error answer, NetworkError when there is none
 */
export async function requestAPI<T>(
  endPoint: string,
  settings: ServerConnection.ISettings,
  init: RequestInit = {}
): Promise<T> {
  const url = URLExt.join(settings.baseUrl, API, endPoint);
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new ServerConnection.NetworkError(error as TypeError);
  }
  const text = await response.text();
  let body: any = undefined;
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = { message: text };
    }
  }
  if (!response.ok) {
    throw new PipelineError(
      response.status,
      body?.message ?? response.statusText,
      Array.isArray(body?.issues) ? body.issues : []
    );
  }
  return body as T;
}

/** A request's init with a JSON body. */
export function json(method: string, body: unknown): RequestInit {
  return { method, body: JSON.stringify(body) };
}

/** A value as one path segment of an endpoint. */
export function segment(value: string | number): string {
  return encodeURIComponent(String(value));
}

/** The base of the REST clients: `call` bound to one server's settings. */
export abstract class BoundAPI {
  constructor(
    readonly settings: ServerConnection.ISettings = ServerConnection.makeSettings()
  ) {}

  protected call<T>(endPoint: string, init?: RequestInit): Promise<T> {
    return requestAPI<T>(endPoint, this.settings, init);
  }
}

/** One method per REST endpoint the frontend uses. */
export class PipelineClient extends BoundAPI {
  /** The OpenAPI document: its `components.schemas` describe every body. */
  openapi(): Promise<{ components: { schemas: Record<string, JSONSchema7> } }> {
    return this.call('openapi.json');
  }

  // --- data sources -------------------------------------------------------

  /** Each type's connection fields as a JSON Schema. */
  datasourceTypes(): Promise<DatasourceTypes> {
    return this.call('datasource-types');
  }

  /** The data sources the user may see, with the user's permissions. */
  listDatasources(): Promise<IDatasource[]> {
    return this.call('datasources');
  }

  /** Every data source's name, type and owner: what a permission can be requested on. */
  datasourceDirectory(): Promise<IDirectoryEntry[]> {
    return this.call('datasource-directory');
  }

  createDatasource(datasource: INewDatasource): Promise<IDatasource> {
    return this.call('datasources', json('POST', datasource));
  }

  /** Secrets left out or masked keep their stored value. */
  updateDatasource(
    name: string,
    change: Pick<INewDatasource, 'params' | 'description'>
  ): Promise<IDatasource> {
    return this.call(`datasources/${segment(name)}`, json('PATCH', change));
  }

  deleteDatasource(name: string): Promise<void> {
    return this.call(`datasources/${segment(name)}`, { method: 'DELETE' });
  }

  /** A failed connection is an answer (`ok: false`), not an error. */
  testDatasource(name: string): Promise<{ ok: boolean; message: string }> {
    return this.call(`datasources/${segment(name)}/test`, { method: 'POST' });
  }

  requestPermission(
    name: string,
    permission: Permission,
    reason = ''
  ): Promise<IPermissionRequest> {
    return this.call(
      `datasources/${segment(name)}/permission-requests`,
      json('POST', { permission, reason })
    );
  }

  /** `mine`: made by the user; `owned`: waiting on the user's decision. */
  permissionRequests(
    scope: 'all' | 'mine' | 'owned' = 'all',
    status?: IPermissionRequest['status']
  ): Promise<IPermissionRequest[]> {
    const query = URLExt.objectToQueryString(
      status ? { scope, status } : { scope }
    );
    return this.call(`permission-requests${query}`);
  }

  decidePermissionRequest(
    id: number,
    status: 'granted' | 'refused'
  ): Promise<IPermissionRequest> {
    return this.call(
      `permission-requests/${segment(id)}`,
      json('PATCH', { status })
    );
  }

  // --- projects and folders ----------------------------------------------

  listProjects(): Promise<IProject[]> {
    return this.call('projects');
  }

  tree(projectId: number): Promise<IFolderNode> {
    return this.call(`projects/${segment(projectId)}/tree`);
  }

  /** Under the project's root folder when `parentId` is not given. */
  createFolder(
    projectId: number,
    name: string,
    parentId?: number
  ): Promise<IFolder> {
    return this.call(
      `projects/${segment(projectId)}/folders`,
      json('POST', { name, parent_id: parentId })
    );
  }

  /** Rename (`name`) and/or move (`parent_id`). */
  updateFolder(
    id: number,
    change: { name?: string; parent_id?: number }
  ): Promise<IFolder> {
    return this.call(`folders/${segment(id)}`, json('PATCH', change));
  }

  deleteFolder(id: number): Promise<void> {
    return this.call(`folders/${segment(id)}`, { method: 'DELETE' });
  }

  // --- tasks --------------------------------------------------------------

  /** The project's tasks matching `search` in name or description. */
  listTasks(projectId: number, search?: string): Promise<ITask[]> {
    const query = search ? URLExt.objectToQueryString({ search }) : '';
    return this.call(`projects/${segment(projectId)}/tasks${query}`);
  }

  /** The Create Offline Script dialog's OK: the task with its script template. */
  createTask(projectId: number, task: INewTask): Promise<ITask> {
    return this.call(
      `projects/${segment(projectId)}/tasks`,
      json('POST', task)
    );
  }

  /** With its draft script and schedule configuration. */
  getTask(id: number): Promise<ITaskDetail> {
    return this.call(`tasks/${segment(id)}`);
  }

  /** Rename (`name`) and/or move (`folder_id`). */
  updateTask(
    id: number,
    change: { name?: string; folder_id?: number }
  ): Promise<ITask> {
    return this.call(`tasks/${segment(id)}`, json('PATCH', change));
  }

  /** Deleting takes the submit path, hence the remarks. */
  deleteTask(id: number, remarks: string): Promise<ISubmitResult> {
    const query = URLExt.objectToQueryString({ remarks });
    return this.call(`tasks/${segment(id)}${query}`, { method: 'DELETE' });
  }
}
