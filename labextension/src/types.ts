import type { JSONSchema7 } from 'json-schema';

/** The shapes of `/pipeline/api/` (see `GET /pipeline/api/openapi.json`). */

export type Permission = 'read' | 'write';

export type ScheduleType = 'recurring' | 'manual';

export type TaskStatus = 'draft' | 'submitted' | 'to_publish' | 'published';

/** A problem with one field of a request. */
export interface IIssue {
  field: string;
  message: string;
}

/** Each data source type's connection fields. */
export type DatasourceTypes = Record<string, JSONSchema7>;

export interface IDatasource {
  name: string;
  type: string;
  /** Secrets masked. */
  params: Record<string, unknown>;
  owner: string;
  description: string;
  /** The user's: `owner` stands for owner rights (both permissions). */
  permissions: Array<'owner' | Permission>;
}

export interface INewDatasource {
  name: string;
  type: string;
  params: Record<string, unknown>;
  description?: string;
}

export interface IDirectoryEntry {
  name: string;
  type: string;
  owner: string;
  permissions: string[];
  /** Requested by the user, not yet decided. */
  pending: string[];
}

export interface IPermissionRequest {
  id: number;
  datasource: string;
  user: string;
  permission: Permission;
  reason: string;
  status: 'pending' | 'granted' | 'refused';
  created_at: string;
  decided_by: string | null;
  decided_at: string | null;
}

export interface IProject {
  id: number;
  name: string;
  mode: 'basic' | 'dev_prod';
  description: string;
  owner: string;
  root_folder_id: number;
  created_at: string;
}

export interface IFolder {
  id: number;
  project_id: number;
  parent_id: number | null;
  name: string;
  created_at: string;
}

export interface ITaskLeaf {
  id: number;
  name: string;
  schedule_type: ScheduleType;
  status: TaskStatus;
}

export interface IFolderNode {
  id: number;
  name: string;
  folders: IFolderNode[];
  tasks: ITaskLeaf[];
}

export interface INewTask {
  name: string;
  schedule_type: ScheduleType;
  description?: string;
  folder_id?: number;
  source_type: string;
  source_datasource: string;
  target_type: string;
  target_datasource: string;
}

export interface ITask extends ITaskLeaf {
  project_id: number;
  folder_id: number;
  description: string;
  source_type: string;
  source_datasource: string;
  target_type: string;
  target_datasource: string;
  owner: string;
  deleted: boolean;
  created_at: string;
  updated_at: string;
}

export interface ITaskDetail extends ITask {
  script: string;
  schedule: Record<string, unknown>;
}

export interface ISubmitResult {
  status: string;
  version?: number;
}
