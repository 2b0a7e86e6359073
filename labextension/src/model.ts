import { ISignal, Signal } from '@lumino/signaling';
import type { JSONSchema7 } from 'json-schema';

import { PipelineClient } from './request';
import type {
  DatasourceTypes,
  IDatasource,
  IFolderNode,
  IPermissionRequest,
  IProject,
  ITaskLeaf
} from './types';

/** A node of the Batch Pipeline tree the user acts on. */
export type TreeItem =
  | { kind: 'folder'; folder: IFolderNode; parentId: number | null }
  | { kind: 'task'; task: ITaskLeaf; parentId: number };

/** A folder with its path from the root, for folder pickers. */
export interface IFolderPath {
  id: number;
  path: string;
}

/**
 * What the sidebar, the dialogs and the commands share: the chosen project, its
 * tree, the data sources and permission requests, and the selection. Views
 * re-render on `changed`; commands act on the selection unless given ids.
 */
export class PipelineModel {
  constructor(readonly client: PipelineClient) {}

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get projects(): readonly IProject[] {
    return this._projects;
  }

  get project(): IProject | null {
    return this._projects.find(p => p.id === this._projectId) ?? null;
  }

  get tree(): IFolderNode | null {
    return this._tree;
  }

  get datasources(): readonly IDatasource[] {
    return this._datasources;
  }

  get datasourceTypes(): DatasourceTypes {
    return this._types;
  }

  /** The schema of a new data source's body (`NewDataSource` in the OpenAPI document). */
  get newDatasourceSchema(): JSONSchema7 {
    return this._newDatasourceSchema ?? { type: 'object' };
  }

  /** Pending requests waiting on the user's decision. */
  get requestsToDecide(): readonly IPermissionRequest[] {
    return this._owned;
  }

  /** The requests the user made, newest first. */
  get myRequests(): readonly IPermissionRequest[] {
    return this._mine;
  }

  /** The last refresh's failure, shown in the sidebar until a refresh succeeds. */
  get error(): string | null {
    return this._error;
  }

  get search(): string {
    return this._search;
  }

  /** The ids of the tasks matching the search (name or description); null: no search. */
  get matches(): ReadonlySet<number> | null {
    return this._matches;
  }

  get selected(): TreeItem | null {
    return this._selected;
  }

  set selected(item: TreeItem | null) {
    this._selected = item;
    this._changed.emit();
  }

  get selectedDatasource(): IDatasource | null {
    return (
      this._datasources.find(d => d.name === this._selectedDatasource) ?? null
    );
  }

  set selectedDatasource(datasource: IDatasource | null) {
    this._selectedDatasource = datasource?.name ?? null;
    this._changed.emit();
  }

  /** The last Test Connection answer of each data source. */
  testResult(name: string): { ok: boolean; message: string } | undefined {
    return this._tests.get(name);
  }

  async testDatasource(
    name: string
  ): Promise<{ ok: boolean; message: string }> {
    const result = await this.client.testDatasource(name);
    this._tests.set(name, result);
    this._changed.emit();
    return result;
  }

  /** The tree's task or folder with that id, or null. */
  find(kind: TreeItem['kind'], id: number): TreeItem | null {
    const walk = (
      node: IFolderNode,
      parentId: number | null
    ): TreeItem | null => {
      if (kind === 'folder' && node.id === id) {
        return { kind, folder: node, parentId };
      }
      const task =
        kind === 'task' ? node.tasks.find(t => t.id === id) : undefined;
      if (task) {
        return { kind: 'task', task, parentId: node.id };
      }
      for (const child of node.folders) {
        const found = walk(child, node.id);
        if (found) {
          return found;
        }
      }
      return null;
    };
    return this._tree ? walk(this._tree, null) : null;
  }

  /** Every folder of the tree with its path, root first. */
  get folders(): IFolderPath[] {
    const paths: IFolderPath[] = [];
    const walk = (node: IFolderNode, prefix: string) => {
      const path = prefix ? `${prefix}/${node.name}` : node.name;
      paths.push({ id: node.id, path });
      node.folders.forEach(child => walk(child, path));
    };
    if (this._tree) {
      walk(this._tree, '');
    }
    return paths;
  }

  /** Every task name of the project (names are unique in a project). */
  get taskNames(): Set<string> {
    const names = new Set<string>();
    const walk = (node: IFolderNode) => {
      node.tasks.forEach(task => names.add(task.name));
      node.folders.forEach(walk);
    };
    if (this._tree) {
      walk(this._tree);
    }
    return names;
  }

  /** Load everything: projects (keeping the chosen one), tree, data sources, requests. */
  async refresh(): Promise<void> {
    try {
      const [projects] = await Promise.all([
        this.client.listProjects(),
        this._loadSchemas()
      ]);
      this._projects = projects;
      if (!this.project) {
        this._projectId =
          (projects.find(p => p.name === 'default') ?? projects[0])?.id ?? null;
      }
      await Promise.all([this._loadTree(), this.refreshDatasources()]);
      this._error = null;
    } catch (error) {
      this._error = (error as Error).message;
    }
    this._changed.emit();
  }

  async refreshDatasources(): Promise<void> {
    const [datasources, owned, mine] = await Promise.all([
      this.client.listDatasources(),
      this.client.permissionRequests('owned', 'pending'),
      this.client.permissionRequests('mine')
    ]);
    this._datasources = datasources;
    this._owned = owned;
    this._mine = mine;
    this._changed.emit();
  }

  async selectProject(projectId: number): Promise<void> {
    this._projectId = projectId;
    this._selected = null;
    await this.refresh();
  }

  /** Filter the tree to the tasks whose name or description holds `text`. */
  async setSearch(text: string): Promise<void> {
    this._search = text;
    await this._loadTree();
    this._changed.emit();
  }

  /** The types' connection schemas and the new data source's: fixed while the server runs. */
  private async _loadSchemas(): Promise<void> {
    if (this._newDatasourceSchema) {
      return;
    }
    const [types, openapi] = await Promise.all([
      this.client.datasourceTypes(),
      this.client.openapi()
    ]);
    this._types = types;
    this._newDatasourceSchema = openapi.components.schemas.NewDataSource;
  }

  private async _loadTree(): Promise<void> {
    const project = this.project;
    if (!project) {
      this._tree = null;
      this._matches = null;
      return;
    }
    const search = this._search.trim();
    const [tree, found] = await Promise.all([
      this.client.tree(project.id),
      search ? this.client.listTasks(project.id, search) : null
    ]);
    this._tree = tree;
    this._matches = found ? new Set(found.map(t => t.id)) : null;
  }

  private _changed = new Signal<this, void>(this);
  private _projects: IProject[] = [];
  private _projectId: number | null = null;
  private _tree: IFolderNode | null = null;
  private _types: DatasourceTypes = {};
  private _newDatasourceSchema: JSONSchema7 | null = null;
  private _datasources: IDatasource[] = [];
  private _owned: IPermissionRequest[] = [];
  private _mine: IPermissionRequest[] = [];
  private _error: string | null = null;
  private _search = '';
  private _matches: Set<number> | null = null;
  private _selected: TreeItem | null = null;
  private _selectedDatasource: string | null = null;
  private _tests = new Map<string, { ok: boolean; message: string }>();
}
