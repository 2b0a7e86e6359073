import { IEditorServices } from '@jupyterlab/codeeditor';
import { ISignal, Signal } from '@lumino/signaling';
import type { JSONSchema7 } from 'json-schema';

import { ScriptsAPI } from '../api/scripts';
import { PipelineDrive } from './drive';
import { IDatasourceName, withDatasourceNames } from './schema';

/**
 * What every script editor shares: the REST calls, the drive of task
 * documents, JupyterLab's editor services, and the script's schema with the
 * data source names for completion (loaded once, updated when they change).
 */
export class ScriptEnvironment {
  constructor(options: {
    api: ScriptsAPI;
    drive: PipelineDrive;
    editorServices: IEditorServices;
  }) {
    this.api = options.api;
    this.drive = options.drive;
    this.editorServices = options.editorServices;
  }

  readonly api: ScriptsAPI;
  readonly drive: PipelineDrive;
  readonly editorServices: IEditorServices;

  /** The schema with the data source names, null until loaded. */
  get schema(): JSONSchema7 | null {
    return this._schema;
  }

  /** Emitted with the new schema once loaded and when the data sources change. */
  get schemaChanged(): ISignal<this, JSONSchema7> {
    return this._schemaChanged;
  }

  /** Load the schema (once; again after a failure). */
  load(): Promise<JSONSchema7> {
    if (!this._loading) {
      this._loading = this.api.scriptSchema().then(
        raw => {
          this._raw = raw;
          this._update();
          return raw;
        },
        error => {
          this._loading = null;
          throw error;
        }
      );
    }
    return this._loading;
  }

  /** The data sources completion offers; the schema changes only when their names do. */
  setDatasources(datasources: readonly IDatasourceName[]): void {
    const key = datasources
      .map(d => d.name)
      .sort()
      .join('\n');
    if (key === this._datasourceKey) {
      return;
    }
    this._datasourceKey = key;
    this._datasources = [...datasources];
    this._update();
  }

  private _update(): void {
    if (this._raw) {
      this._schema = withDatasourceNames(this._raw, this._datasources);
      this._schemaChanged.emit(this._schema);
    }
  }

  private _raw: JSONSchema7 | null = null;
  private _schema: JSONSchema7 | null = null;
  private _loading: Promise<JSONSchema7> | null = null;
  private _datasources: IDatasourceName[] = [];
  private _datasourceKey: string | null = null;
  private _schemaChanged = new Signal<this, JSONSchema7>(this);
}
