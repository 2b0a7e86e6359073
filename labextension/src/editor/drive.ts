import { Contents, ServerConnection } from '@jupyterlab/services';
import { ISignal, Signal } from '@lumino/signaling';

import { ScriptsAPI } from '../api/scripts';
import type { ITaskDetail } from '../types';
import { limitMessage } from './diagnostics';

/** The drive's name: task documents have paths `Pipeline:tasks/{id}/{name}`. */
export const DRIVE_NAME = 'Pipeline';

/** The local path of a task's script document: the name makes the tab's title. */
export function taskLocalPath(id: number, name: string): string {
  return `tasks/${id}/${name}`;
}

/** The full path (with the drive) of a task's script document. */
export function taskPath(id: number, name: string): string {
  return `${DRIVE_NAME}:${taskLocalPath(id, name)}`;
}

/** The task id of a task document's full path (`Pipeline:tasks/{id}/...`), or null. */
export function taskIdOfPath(path: string): number | null {
  return path.startsWith(`${DRIVE_NAME}:`)
    ? taskIdOfLocalPath(path.slice(DRIVE_NAME.length + 1))
    : null;
}

/** The task id of a local path of the drive (`tasks/{id}/...`), or null. */
export function taskIdOfLocalPath(localPath: string): number | null {
  const match = /^\/?tasks\/(\d+)(\/|$)/.exec(localPath);
  return match ? Number(match[1]) : null;
}

/** A short hash of a text (FNV-1a, 32 bits, hex): tells whether the draft changed. */
export function textHash(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}

function unsupported(what: string): Promise<never> {
  return Promise.reject(
    new Error(`${what} is not possible here: use the Batch Pipeline sidebar.`)
  );
}

/**
 * The tasks' draft scripts as files, so that a task's script opens as an
 * ordinary JupyterLab document (dirty marker, Ctrl+S, undo, the close prompt,
 * conflicts, the layout restorer) in the same editor as `*.pipeline.json` files.
 * Saving is `PUT /tasks/{id}/script`; renaming is `PATCH /tasks/{id}`; the
 * saved draft is the one checkpoint. Nothing else of a drive is offered.
 */
export class PipelineDrive implements Contents.IDrive {
  constructor(readonly api: ScriptsAPI = new ScriptsAPI()) {
    this.serverSettings = api.settings;
  }

  readonly name = DRIVE_NAME;
  readonly serverSettings: ServerConnection.ISettings;

  get fileChanged(): ISignal<this, Contents.IChangedArgs> {
    return this._fileChanged;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  dispose(): void {
    if (!this._isDisposed) {
      this._isDisposed = true;
      Signal.clearData(this);
    }
  }

  /** The task as last read or saved (with its schedule's parameters). */
  task(id: number): ITaskDetail | undefined {
    return this._tasks.get(id);
  }

  /** A task's changed from outside (renamed, its schedule saved): remember it. */
  remember(task: ITaskDetail): void {
    this._tasks.set(task.id, task);
  }

  async get(
    localPath: string,
    options?: Contents.IFetchOptions
  ): Promise<Contents.IModel> {
    const id = taskIdOfLocalPath(localPath);
    if (id === null) {
      if (localPath.replace(/^\/+|\/+$/g, '') === '' || localPath === 'tasks') {
        return this._directory(localPath);
      }
      throw new Error(`${this.name}:${localPath} is not a task's script`);
    }
    const task = await this.api.task(id);
    this._tasks.set(id, task);
    return this._model(task, options?.content !== false);
  }

  async save(
    localPath: string,
    options: Partial<Contents.IModel> = {}
  ): Promise<Contents.IModel> {
    const id = taskIdOfLocalPath(localPath);
    if (id === null) {
      return unsupported('Creating a file');
    }
    const script = options.content;
    if (typeof script !== 'string') {
      throw new Error('A script is saved as text');
    }
    const tooLong = limitMessage(script.length);
    if (tooLong) {
      throw new Error(tooLong);
    }
    const task = await this.api.saveScript(id, script);
    this._tasks.set(id, task);
    const model = this._model(task, false);
    this._fileChanged.emit({ type: 'save', oldValue: null, newValue: model });
    return model;
  }

  async rename(
    oldLocalPath: string,
    newLocalPath: string
  ): Promise<Contents.IModel> {
    const id = taskIdOfLocalPath(oldLocalPath);
    if (id === null || taskIdOfLocalPath(newLocalPath) !== id) {
      return unsupported('Moving a file');
    }
    const name = newLocalPath.split('/').pop() ?? '';
    await this.api.renameTask(id, name);
    const task = await this.api.task(id);
    this._tasks.set(id, task);
    const model = this._model(task, false);
    this._fileChanged.emit({
      type: 'rename',
      oldValue: { path: oldLocalPath },
      newValue: model
    });
    return model;
  }

  newUntitled(): Promise<Contents.IModel> {
    return unsupported('Creating a file');
  }

  delete(): Promise<void> {
    return unsupported('Deleting a task');
  }

  copy(): Promise<Contents.IModel> {
    return unsupported('Copying a task');
  }

  getDownloadUrl(): Promise<string> {
    return unsupported('Downloading a task');
  }

  /** The saved draft is the checkpoint: reverting to it reloads the draft. */
  async createCheckpoint(
    localPath: string
  ): Promise<Contents.ICheckpointModel> {
    return this._checkpoint(localPath);
  }

  async listCheckpoints(
    localPath: string
  ): Promise<Contents.ICheckpointModel[]> {
    return [this._checkpoint(localPath)];
  }

  async restoreCheckpoint(): Promise<void> {
    // the draft on the server is the checkpoint: reverting reads it again
  }

  async deleteCheckpoint(): Promise<void> {
    // nothing to delete
  }

  private _checkpoint(localPath: string): Contents.ICheckpointModel {
    const id = taskIdOfLocalPath(localPath);
    const task = id === null ? undefined : this._tasks.get(id);
    return {
      id: 'draft',
      last_modified: task?.updated_at ?? new Date().toISOString()
    };
  }

  private _model(task: ITaskDetail, content: boolean): Contents.IModel {
    const path = taskLocalPath(task.id, task.name);
    return {
      name: task.name,
      path,
      type: 'file',
      format: content ? 'text' : null,
      content: content ? task.script : null,
      mimetype: 'application/json',
      created: task.created_at,
      last_modified: task.updated_at,
      writable: true,
      size: task.script.length,
      hash: textHash(task.script),
      hash_algorithm: 'fnv1a32'
    };
  }

  private _directory(localPath: string): Contents.IModel {
    const now = new Date().toISOString();
    return {
      name: localPath.split('/').pop() ?? '',
      path: localPath,
      type: 'directory',
      format: 'json',
      content: [],
      mimetype: '',
      created: now,
      last_modified: now,
      writable: false
    };
  }

  private _tasks = new Map<number, ITaskDetail>();
  private _fileChanged = new Signal<this, Contents.IChangedArgs>(this);
  private _isDisposed = false;
}
