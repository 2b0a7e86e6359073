import { ReactWidget, UseSignal } from '@jupyterlab/apputils';
import {
  HTMLSelect,
  caretDownIcon,
  caretRightIcon,
  folderIcon
} from '@jupyterlab/ui-components';
import { CommandRegistry } from '@lumino/commands';
import * as React from 'react';

import { manualIcon, recurringIcon } from '../icons';
import type { PipelineModel, TreeItem } from '../model';
import { CommandIDs } from '../tokens';
import type { IFolderNode, ITaskLeaf, TaskStatus } from '../types';

const STATUS_LABELS: Record<TaskStatus, string> = {
  draft: 'Draft',
  submitted: 'Submitted',
  to_publish: 'To Publish',
  published: 'Published'
};

const MODE_LABELS = { basic: 'Basic', dev_prod: 'Dev-Prod' };

/** Search waits for the user to stop typing before asking the server. */
const SEARCH_DELAY_MS = 300;

interface ITreeProps {
  model: PipelineModel;
  commands: CommandRegistry;
  collapsed: ReadonlySet<number>;
  toggle: (folderId: number) => void;
}

function isSelected(model: PipelineModel, item: TreeItem): boolean {
  const selected = model.selected;
  if (!selected || selected.kind !== item.kind) {
    return false;
  }
  return selected.kind === 'task'
    ? selected.task.id === (item as { task: ITaskLeaf }).task.id
    : selected.folder.id === (item as { folder: IFolderNode }).folder.id;
}

/** Whether a folder holds a task the search found (searching keeps only those). */
function holdsMatch(node: IFolderNode, matches: ReadonlySet<number>): boolean {
  return (
    node.tasks.some(t => matches.has(t.id)) ||
    node.folders.some(f => holdsMatch(f, matches))
  );
}

function TaskRow(
  props: ITreeProps & { task: ITaskLeaf; parentId: number; depth: number }
) {
  const { model, task, commands } = props;
  const item: TreeItem = { kind: 'task', task, parentId: props.parentId };
  const Icon = task.schedule_type === 'manual' ? manualIcon : recurringIcon;
  const kind = task.schedule_type === 'manual' ? 'Manual' : 'Recurring';
  return (
    <li role="treeitem" aria-selected={isSelected(model, item)}>
      <div
        className={`jp-pipeline-treeItem${isSelected(model, item) ? ' jp-mod-selected' : ''}`}
        data-kind="task"
        data-id={task.id}
        style={{ paddingLeft: `${8 + props.depth * 16}px` }}
        title={`${task.name}: ${kind} task, ${STATUS_LABELS[task.status] ?? task.status}`}
        onClick={() => (model.selected = item)}
        onContextMenu={() => (model.selected = item)}
        onDoubleClick={() => {
          if (commands.hasCommand(CommandIDs.openTask)) {
            void commands.execute(CommandIDs.openTask, { id: task.id });
          }
        }}
      >
        <Icon.react tag="span" className="jp-pipeline-treeIcon" />
        <span className="jp-pipeline-treeName">{task.name}</span>
        <span className={`jp-pipeline-badge jp-mod-${task.status}`}>
          {STATUS_LABELS[task.status] ?? task.status}
        </span>
      </div>
    </li>
  );
}

function FolderRow(
  props: ITreeProps & {
    folder: IFolderNode;
    parentId: number | null;
    depth: number;
  }
) {
  const { model, folder, depth } = props;
  const matches = model.matches;
  const item: TreeItem = { kind: 'folder', folder, parentId: props.parentId };
  const open = matches !== null || !props.collapsed.has(folder.id);
  const Caret = open ? caretDownIcon : caretRightIcon;
  const folders = matches
    ? folder.folders.filter(f => holdsMatch(f, matches))
    : folder.folders;
  const tasks = matches
    ? folder.tasks.filter(t => matches.has(t.id))
    : folder.tasks;
  return (
    <li
      role="treeitem"
      aria-expanded={open}
      aria-selected={isSelected(model, item)}
    >
      <div
        className={`jp-pipeline-treeItem${isSelected(model, item) ? ' jp-mod-selected' : ''}`}
        data-kind="folder"
        data-id={folder.id}
        data-root={props.parentId === null ? 'true' : undefined}
        style={{ paddingLeft: `${depth * 16}px` }}
        onClick={() => (model.selected = item)}
        onContextMenu={() => (model.selected = item)}
        onDoubleClick={() => props.toggle(folder.id)}
      >
        <span
          className="jp-pipeline-caret"
          onClick={event => {
            event.stopPropagation();
            props.toggle(folder.id);
          }}
        >
          <Caret.react tag="span" />
        </span>
        <folderIcon.react tag="span" className="jp-pipeline-treeIcon" />
        <span className="jp-pipeline-treeName">{folder.name}</span>
      </div>
      {open && (
        <ul role="group">
          {folders.map(child => (
            <FolderRow
              {...props}
              key={`f${child.id}`}
              folder={child}
              parentId={folder.id}
              depth={depth + 1}
            />
          ))}
          {tasks.map(task => (
            <TaskRow
              {...props}
              key={`t${task.id}`}
              task={task}
              parentId={folder.id}
              depth={depth + 1}
            />
          ))}
        </ul>
      )}
    </li>
  );
}

function ProjectSelector(props: { model: PipelineModel }) {
  const { model } = props;
  const project = model.project;
  return (
    <div className="jp-pipeline-project">
      <label className="jp-pipeline-label" htmlFor="jp-pipeline-project-select">
        Project
      </label>
      <HTMLSelect
        id="jp-pipeline-project-select"
        className="jp-pipeline-select"
        value={project?.id ?? ''}
        onChange={event =>
          void model.selectProject(Number(event.currentTarget.value))
        }
        options={model.projects.map(p => ({ value: p.id, label: p.name }))}
      />
      {project && (
        <span
          className={`jp-pipeline-badge jp-pipeline-mode jp-mod-${project.mode}`}
          title={
            project.mode === 'basic'
              ? 'Basic: a submitted task is scheduled in production at once'
              : 'Dev-Prod: a submitted task waits in the to-publish list'
          }
        >
          {MODE_LABELS[project.mode]}
        </span>
      )}
    </div>
  );
}

function SearchBox(props: { model: PipelineModel }) {
  const [text, setText] = React.useState(props.model.search);
  React.useEffect(() => {
    const timer = setTimeout(() => {
      if (text !== props.model.search) {
        void props.model.setSearch(text);
      }
    }, SEARCH_DELAY_MS);
    return () => clearTimeout(timer);
  }, [text]);
  return (
    <input
      className="jp-mod-styled jp-pipeline-search"
      type="search"
      aria-label="Search tasks"
      placeholder="Search tasks by name or description"
      value={text}
      onChange={event => setText(event.currentTarget.value)}
    />
  );
}

function Tree(props: { model: PipelineModel; commands: CommandRegistry }) {
  const [collapsed, setCollapsed] = React.useState<ReadonlySet<number>>(
    new Set()
  );
  const toggle = (id: number) => {
    const next = new Set(collapsed);
    if (!next.delete(id)) {
      next.add(id);
    }
    setCollapsed(next);
  };
  const { model } = props;
  const tree = model.tree;
  const empty =
    model.matches !== null && tree !== null && !holdsMatch(tree, model.matches);
  return (
    <>
      {model.error && (
        <div className="jp-pipeline-error" role="alert">
          {model.error}
        </div>
      )}
      {tree && (
        <ul
          className="jp-pipeline-tree"
          role="tree"
          aria-label="Offline Pipeline tasks"
        >
          <FolderRow
            {...props}
            collapsed={collapsed}
            toggle={toggle}
            folder={tree}
            parentId={null}
            depth={0}
          />
        </ul>
      )}
      {empty && (
        <div className="jp-pipeline-empty">No task matches the search.</div>
      )}
    </>
  );
}

/** The project, the search box and the folder tree with its tasks. */
export class TaskTreeView extends ReactWidget {
  constructor(
    private _model: PipelineModel,
    private _commands: CommandRegistry
  ) {
    super();
    this.addClass('jp-pipeline-TaskTree');
    this.title.label = 'Tasks';
  }

  render(): JSX.Element {
    return (
      <UseSignal signal={this._model.changed}>
        {() => (
          <>
            <ProjectSelector model={this._model} />
            <SearchBox model={this._model} />
            <Tree model={this._model} commands={this._commands} />
          </>
        )}
      </UseSignal>
    );
  }
}
