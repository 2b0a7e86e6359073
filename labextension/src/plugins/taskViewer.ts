import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  ICommandPalette,
  MainAreaWidget,
  WidgetTracker
} from '@jupyterlab/apputils';
import {
  CodeEditor,
  CodeEditorWrapper,
  IEditorServices
} from '@jupyterlab/codeeditor';

import { showServerError } from '../errors';
import { manualIcon, recurringIcon } from '../icons';
import type { PipelineModel } from '../model';
import { CommandIDs, IPipelineModel, PALETTE_CATEGORY } from '../tokens';
import type { ITaskDetail } from '../types';

type TaskView = MainAreaWidget<CodeEditorWrapper> & { taskId?: number };

/**
 * `pipeline:open-task` for now: the task's draft script, read-only, in
 * JupyterLab's code editor. The validated, editable document replaces it.
 */
export const taskViewerPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-offline-pipeline:task-viewer',
  description: "Open a task's draft script read-only.",
  autoStart: true,
  requires: [IPipelineModel, IEditorServices],
  optional: [ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    model: PipelineModel,
    editors: IEditorServices,
    palette: ICommandPalette | null
  ) => {
    const tracker = new WidgetTracker<TaskView>({ namespace: 'pipeline-task' });

    const open = (task: ITaskDetail): TaskView => {
      const editorModel = new CodeEditor.Model({
        mimeType: 'application/json'
      });
      editorModel.sharedModel.setSource(task.script);
      const content = new CodeEditorWrapper({
        factory: editors.factoryService.newDocumentEditor,
        model: editorModel,
        editorOptions: { config: { readOnly: true } }
      });
      const widget: TaskView = new MainAreaWidget({ content });
      widget.taskId = task.id;
      widget.id = `jp-pipeline-task-${task.id}`;
      widget.title.label = task.name;
      widget.title.caption = `${task.name}: the draft script (read-only)`;
      widget.title.icon =
        task.schedule_type === 'manual' ? manualIcon : recurringIcon;
      widget.title.closable = true;
      widget.addClass('jp-pipeline-TaskView');
      widget.disposed.connect(() => editorModel.dispose());
      void tracker.add(widget);
      app.shell.add(widget, 'main');
      return widget;
    };

    app.commands.addCommand(CommandIDs.openTask, {
      label: 'Open Offline Pipeline Script',
      isEnabled: args =>
        typeof args.id === 'number' || model.selected?.kind === 'task',
      execute: async args => {
        const selected = model.selected;
        const id =
          typeof args.id === 'number'
            ? args.id
            : selected?.kind === 'task'
              ? selected.task.id
              : null;
        if (id === null) {
          return;
        }
        const existing = tracker.find(w => w.taskId === id);
        if (existing) {
          app.shell.activateById(existing.id);
          return;
        }
        try {
          const widget = open(await model.client.getTask(id));
          app.shell.activateById(widget.id);
        } catch (error) {
          await showServerError('The task cannot be opened', error);
        }
      }
    });

    app.contextMenu.addItem({
      command: CommandIDs.openTask,
      selector: '.jp-pipeline-treeItem[data-kind="task"]',
      rank: 0
    });
    palette?.addItem({
      command: CommandIDs.openTask,
      category: PALETTE_CATEGORY
    });
  }
};
