import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  ICommandPalette,
  MainAreaWidget,
  WidgetTracker
} from '@jupyterlab/apputils';
import { IEditorServices } from '@jupyterlab/codeeditor';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { IMainMenu } from '@jupyterlab/mainmenu';
import { ReadonlyPartialJSONObject } from '@lumino/coreutils';

import { ScriptsAPI } from '../api/scripts';
import { PipelineDrive, taskPath } from '../editor/drive';
import { ScriptEnvironment } from '../editor/environment';
import { runTaskDialog } from '../editor/run';
import { populateToolbar } from '../editor/toolbar';
import { VersionsPanel } from '../editor/versions';
import {
  FACTORY,
  FILE_TYPE,
  PipelineDocument,
  ScriptEditorFactory
} from '../editor/widget';
import { showServerError } from '../errors';
import { manualIcon, pipelineIcon, recurringIcon } from '../icons';
import type { PipelineModel } from '../model';
import { CommandIDs, IPipelineModel, PALETTE_CATEGORY } from '../tokens';

const TASK_ITEM = '.jp-pipeline-treeItem[data-kind="task"]';

/**
 * Undo and redo of the script document: the Edit menu's undoers, which
 * JupyterLab binds to Ctrl+Z / Ctrl+Shift+Z on `[data-jp-undoer]` widgets.
 */
const UNDO = 'pipeline:undo-script';
const REDO = 'pipeline:redo-script';

/** A task id given as `taskId` (or `id`, as the tree gives it). */
function idArgument(args: ReadonlyPartialJSONObject): number | null {
  for (const value of [args.taskId, args.id]) {
    if (typeof value === 'number' && Number.isInteger(value)) {
      return value;
    }
    if (typeof value === 'string' && /^\d+$/.test(value)) {
      return Number(value);
    }
  }
  return null;
}

/**
 * The script document: a task's draft script (and any `*.pipeline.json` file)
 * opens as a JupyterLab document in the validated JSON editor.
 *
 * Route: the tasks' scripts are files of a small contents drive (`Pipeline:`,
 * see editor/drive.ts) and one widget factory serves them and the
 * `*.pipeline.json` file type, so the document manager gives them every
 * document behaviour (dirty marker, Ctrl+S, undo/redo, the close prompt,
 * conflict check, rename, layout restore) with no code of ours.
 */
export const editorPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-offline-pipeline:editor',
  description:
    "Open a task's script (and *.pipeline.json files) in the validated JSON editor.",
  autoStart: true,
  requires: [IPipelineModel, IEditorServices, IDocumentManager],
  optional: [ICommandPalette, ILayoutRestorer, IMainMenu],
  activate: (
    app: JupyterFrontEnd,
    model: PipelineModel,
    editorServices: IEditorServices,
    docManager: IDocumentManager,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null,
    mainMenu: IMainMenu | null
  ) => {
    const { commands, shell } = app;
    const api = new ScriptsAPI(app.serviceManager.serverSettings);
    const drive = new PipelineDrive(api);
    app.serviceManager.contents.addDrive(drive);
    const env = new ScriptEnvironment({ api, drive, editorServices });

    // data source names for completion: the sidebar's list, else our own read
    const syncDatasources = () => {
      if (model.datasources.length) {
        env.setDatasources(model.datasources);
      }
    };
    model.changed.connect(syncDatasources);
    syncDatasources();
    if (!model.datasources.length) {
      api.datasources().then(
        list => {
          if (!model.datasources.length) {
            env.setDatasources(list);
          }
        },
        () => undefined
      );
    }

    app.docRegistry.addFileType({
      name: FILE_TYPE,
      displayName: 'Offline Pipeline Script',
      extensions: ['.pipeline.json'],
      mimeTypes: ['application/json'],
      contentType: 'file',
      fileFormat: 'text',
      icon: pipelineIcon
    });
    const factory = new ScriptEditorFactory({
      name: FACTORY,
      label: 'Pipeline Script Editor',
      fileTypes: [FILE_TYPE],
      defaultFor: [FILE_TYPE],
      modelName: 'text',
      preferKernel: false,
      canStartKernel: false,
      env
    });
    app.docRegistry.addWidgetFactory(factory);

    const tracker = new WidgetTracker<PipelineDocument>({
      namespace: 'pipeline-script'
    });
    const versions = new WidgetTracker<MainAreaWidget<VersionsPanel>>({
      namespace: 'pipeline-versions'
    });
    if (restorer) {
      void restorer.restore(tracker, {
        command: 'docmanager:open',
        args: widget => ({ path: widget.context.path, factory: FACTORY }),
        name: widget => widget.context.path
      });
    }

    const isDevProd = async (widget: PipelineDocument): Promise<boolean> => {
      if (widget.taskId === null) {
        return false;
      }
      await widget.context.ready;
      const task = drive.task(widget.taskId);
      if (!task) {
        return false;
      }
      let project = model.projects.find(p => p.id === task.project_id);
      if (!project) {
        try {
          project = (await model.client.listProjects()).find(
            p => p.id === task.project_id
          );
        } catch {
          return false;
        }
      }
      return project?.mode === 'dev_prod';
    };

    factory.widgetCreated.connect((_, widget) => {
      widget.context.pathChanged.connect(() => void tracker.save(widget));
      void tracker.add(widget);
      populateToolbar(widget, commands, isDevProd(widget));
      const taskId = widget.taskId;
      if (taskId === null) {
        return;
      }
      void widget.context.ready.then(() => {
        const task = drive.task(taskId);
        if (task) {
          widget.title.icon =
            task.schedule_type === 'manual' ? manualIcon : recurringIcon;
          widget.title.caption = `${task.name}: the draft script of the task`;
        }
      });
      // a saved draft may change the task's state: the tree shows it
      widget.context.saveState.connect((_, state) => {
        if (state === 'completed') {
          const saved = drive.task(taskId);
          const item = model.find('task', taskId);
          if (
            saved &&
            item?.kind === 'task' &&
            (item.task.status !== saved.status || item.task.name !== saved.name)
          ) {
            void model.refresh();
          }
        }
      });
    });

    /** The script document an action is for: given by path or task, else the current one. */
    const documentFor = (
      args: ReadonlyPartialJSONObject
    ): PipelineDocument | null => {
      if (typeof args.path === 'string') {
        return tracker.find(w => w.context.path === args.path) ?? null;
      }
      const id = idArgument(args);
      if (id !== null) {
        return tracker.find(w => w.taskId === id) ?? null;
      }
      const current = shell.currentWidget;
      if (current && tracker.has(current)) {
        return current as PipelineDocument;
      }
      return tracker.currentWidget;
    };

    /**
     * The task an action is for: given, else the current document's, else the
     * tree's selection. From the tree's context menu (`fromTree`) the
     * right-clicked task (the tree selects it) comes before any open document.
     */
    const taskFor = (
      args: ReadonlyPartialJSONObject,
      selectionFirst = args.fromTree === true
    ): number | null => {
      const given = idArgument(args);
      if (given !== null) {
        return given;
      }
      const selected =
        model.selected?.kind === 'task' ? model.selected.task.id : null;
      const current = shell.currentWidget;
      const open =
        current && tracker.has(current)
          ? (current as PipelineDocument).taskId
          : null;
      return selectionFirst ? (selected ?? open) : (open ?? selected);
    };

    const taskName = async (id: number): Promise<string> => {
      const item = model.find('task', id);
      if (item?.kind === 'task') {
        return item.task.name;
      }
      return drive.task(id)?.name ?? (await api.task(id)).name;
    };

    commands.addCommand(CommandIDs.openTask, {
      label: 'Open Offline Pipeline Script',
      caption: "Open the task's draft script in the validated editor",
      isEnabled: args => taskFor(args, true) !== null,
      execute: async args => {
        const id = taskFor(args, true);
        if (id === null) {
          return;
        }
        const existing = tracker.find(w => w.taskId === id);
        if (existing) {
          shell.activateById(existing.id);
          return;
        }
        try {
          const path = taskPath(id, await taskName(id));
          docManager.openOrReveal(path, FACTORY);
        } catch (error) {
          await showServerError('The task cannot be opened', error);
        }
      }
    });

    commands.addCommand(CommandIDs.saveScript, {
      label: 'Save Offline Pipeline Script',
      caption: 'Save the draft script',
      isEnabled: args => documentFor(args) !== null,
      execute: async args => {
        const widget = documentFor(args);
        if (!widget) {
          return;
        }
        try {
          await widget.context.save();
        } catch {
          // the document manager has shown why
        }
      }
    });

    commands.addCommand(CommandIDs.validateScript, {
      label: 'Validate Offline Pipeline Script',
      caption: 'Validate the script now, against the catalog too',
      isEnabled: args => documentFor(args) !== null,
      execute: async args => {
        const widget = documentFor(args);
        if (!widget) {
          return;
        }
        const problems = await widget.content.validate(true);
        return problems.length;
      }
    });

    commands.addCommand(CommandIDs.showVersions, {
      label: 'Show Task Versions',
      caption: "The task's submitted versions and their differences",
      isEnabled: args => taskFor(args) !== null,
      execute: async args => {
        const id = taskFor(args);
        if (id === null) {
          return;
        }
        const existing = versions.find(w => w.content.taskId === id);
        if (existing) {
          shell.activateById(existing.id);
          await existing.content.refresh();
          return;
        }
        try {
          const content = new VersionsPanel(id, await taskName(id), api);
          const widget = new MainAreaWidget({ content });
          widget.id = content.id;
          widget.title.label = content.title.label;
          widget.title.icon = pipelineIcon;
          widget.title.closable = true;
          void versions.add(widget);
          shell.add(widget, 'main');
          shell.activateById(widget.id);
          await content.refresh();
        } catch (error) {
          await showServerError('The versions cannot be shown', error);
        }
      }
    });

    commands.addCommand(CommandIDs.runTask, {
      label: 'Run Task Now…',
      caption: 'Run the production version now, with parameter values',
      isEnabled: args => taskFor(args) !== null,
      execute: async args => {
        const id = taskFor(args);
        if (id === null) {
          return;
        }
        try {
          const task = await api.task(id);
          drive.remember(task);
          await runTaskDialog(task, api, commands);
        } catch (error) {
          await showServerError('The task cannot be run', error);
        }
      }
    });

    const isCurrent = () =>
      tracker.currentWidget !== null &&
      tracker.currentWidget === shell.currentWidget;
    commands.addCommand(UNDO, {
      label: 'Undo',
      isEnabled: () =>
        isCurrent() &&
        tracker.currentWidget!.context.model.sharedModel.canUndo(),
      execute: () => tracker.currentWidget?.content.editorWidget.editor.undo()
    });
    commands.addCommand(REDO, {
      label: 'Redo',
      isEnabled: () =>
        isCurrent() &&
        tracker.currentWidget!.context.model.sharedModel.canRedo(),
      execute: () => tracker.currentWidget?.content.editorWidget.editor.redo()
    });
    mainMenu?.editMenu.undoers.undo.add({ id: UNDO, isEnabled: isCurrent });
    mainMenu?.editMenu.undoers.redo.add({ id: REDO, isEnabled: isCurrent });

    app.contextMenu.addItem({
      command: CommandIDs.openTask,
      selector: TASK_ITEM,
      rank: 0
    });
    // the right-clicked task, not the open document's: see taskFor
    app.contextMenu.addItem({
      command: CommandIDs.runTask,
      args: { fromTree: true },
      selector: TASK_ITEM,
      rank: 1
    });
    app.contextMenu.addItem({
      command: CommandIDs.showVersions,
      args: { fromTree: true },
      selector: TASK_ITEM,
      rank: 2
    });
    for (const command of [
      CommandIDs.openTask,
      CommandIDs.saveScript,
      CommandIDs.validateScript,
      CommandIDs.showVersions,
      CommandIDs.runTask
    ]) {
      palette?.addItem({ command, category: PALETTE_CATEGORY });
    }
  }
};
