import type { IDatasource, Permission, ScheduleType } from './types';

/**
 * The rules of the Create Offline Script dialog (SPEC section 3), checked as the
 * user types. The server checks them again: its messages win when they differ.
 */

export const TASK_NAME_MAX = 64;
export const DESCRIPTION_MAX = 1000;
/** Characters a task name may not hold. */
export const NAME_FORBIDDEN = ['|', ':', '?', '<', '>', '*', '"', '/', '\\'];

/** The dialog's values, named as `POST /projects/{id}/tasks` names them. */
export interface ITaskForm {
  name: string;
  schedule_type: ScheduleType | '';
  description: string;
  folder_id: number | null;
  source_type: string;
  source_datasource: string;
  target_type: string;
  target_datasource: string;
}

export type TaskField = keyof ITaskForm;

/** What the rules are checked against. */
export interface ITaskContext {
  /** The names of the project's tasks. */
  takenNames: ReadonlySet<string>;
  /** The data sources the user sees, with the user's permissions. */
  datasources: readonly IDatasource[];
  /** The project's folder ids. */
  folderIds: ReadonlySet<number>;
}

export function emptyTaskForm(folderId: number | null = null): ITaskForm {
  return {
    name: '',
    schedule_type: 'recurring',
    description: '',
    folder_id: folderId,
    source_type: '',
    source_datasource: '',
    target_type: '',
    target_datasource: ''
  };
}

export function lengthProblem(text: string, limit: number): string | null {
  return text.length > limit
    ? `must be at most ${limit} characters (it has ${text.length})`
    : null;
}

export function taskNameProblem(
  name: string,
  takenNames: ReadonlySet<string>
): string | null {
  if (!name.trim()) {
    return 'is required';
  }
  const long = lengthProblem(name, TASK_NAME_MAX);
  if (long) {
    return long;
  }
  const bad = NAME_FORBIDDEN.filter(c => name.includes(c));
  if (bad.length) {
    return `must not contain ${bad.join(' ')}`;
  }
  if (takenNames.has(name)) {
    return `a task named '${name}' already exists in this project`;
  }
  return null;
}

/** Whether the user may use the data source as a source (read) or target (write). */
export function mayUse(
  datasource: IDatasource,
  permission: Permission
): boolean {
  return (
    datasource.permissions.includes('owner') ||
    datasource.permissions.includes(permission)
  );
}

/** The data sources of `type` the user may read (source) or write (target). */
export function datasourcesFor(
  datasources: readonly IDatasource[],
  type: string,
  permission: Permission
): IDatasource[] {
  return datasources.filter(d => d.type === type && mayUse(d, permission));
}

function datasourceProblem(
  name: string,
  type: string,
  permission: Permission,
  datasources: readonly IDatasource[]
): string | null {
  if (!name) {
    return 'is required';
  }
  const datasource = datasources.find(d => d.name === name);
  if (!datasource) {
    return `data source '${name}' does not exist`;
  }
  if (type && datasource.type !== type) {
    return `data source '${name}' is ${datasource.type}, not ${type}`;
  }
  if (!mayUse(datasource, permission)) {
    return `you may not ${permission} data source '${name}': ask its owner for the permission`;
  }
  return null;
}

/** One message per field that breaks a rule; empty when the form may be sent. */
export function taskFormIssues(
  form: ITaskForm,
  context: ITaskContext
): Partial<Record<TaskField, string>> {
  const problems: Record<TaskField, string | null> = {
    name: taskNameProblem(form.name, context.takenNames),
    schedule_type:
      form.schedule_type === 'recurring' || form.schedule_type === 'manual'
        ? null
        : 'must be recurring or manual',
    description: lengthProblem(form.description, DESCRIPTION_MAX),
    folder_id:
      form.folder_id === null || context.folderIds.has(form.folder_id)
        ? null
        : `folder ${form.folder_id} is not in this project`,
    source_type: form.source_type ? null : 'is required',
    source_datasource: datasourceProblem(
      form.source_datasource,
      form.source_type,
      'read',
      context.datasources
    ),
    target_type: form.target_type ? null : 'is required',
    target_datasource: datasourceProblem(
      form.target_datasource,
      form.target_type,
      'write',
      context.datasources
    )
  };
  const issues: Partial<Record<TaskField, string>> = {};
  for (const [field, problem] of Object.entries(problems)) {
    if (problem) {
      issues[field as TaskField] = problem;
    }
  }
  return issues;
}
