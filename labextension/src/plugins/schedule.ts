import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, WidgetTracker } from '@jupyterlab/apputils';
import { ReadonlyPartialJSONObject } from '@lumino/coreutils';

import { ScheduleAPI } from '../api/schedule';
import type { PipelineModel } from '../model';
import { ScheduleModel } from '../schedule/model';
import { ScheduleWidget } from '../schedule/panel';
import { CommandIDs, IPipelineModel, PALETTE_CATEGORY } from '../tokens';

/** The task a command acts on: `taskId` (or `id`), else the selected task. */
export function commandTaskId(
  model: PipelineModel,
  args: ReadonlyPartialJSONObject
): number | null {
  for (const key of ['taskId', 'id']) {
    if (typeof args[key] === 'number') {
      return args[key] as number;
    }
  }
  const selected = model.selected;
  return selected?.kind === 'task' ? selected.task.id : null;
}

const TASK_ITEM = '.jp-pipeline-treeItem[data-kind="task"]';

/** Save the schedule panel in focus (Accel S there); not in the palette. */
const SAVE_SCHEDULE = 'pipeline:save-schedule';

/** `pipeline:open-schedule`: the schedule configuration panel of a task. */
export const schedulePlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-offline-pipeline:schedule',
  description:
    "A task's schedule configuration: sections as forms from the server's schema, and the next runs.",
  autoStart: true,
  requires: [IPipelineModel],
  optional: [ICommandPalette, ILayoutRestorer],
  activate: (
    app: JupyterFrontEnd,
    model: PipelineModel,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null
  ) => {
    const api = new ScheduleAPI(model.client.settings);
    const tracker = new WidgetTracker<ScheduleWidget>({
      namespace: 'pipeline-schedule'
    });

    app.commands.addCommand(CommandIDs.openSchedule, {
      label: 'Configure Schedule',
      caption:
        "Open the task's schedule configuration: cycle, dependencies, parameters, run configuration",
      isEnabled: args => commandTaskId(model, args) !== null,
      execute: async args => {
        const taskId = commandTaskId(model, args);
        if (taskId === null) {
          return;
        }
        const existing = tracker.find(w => w.taskId === taskId);
        if (existing) {
          app.shell.activateById(existing.id);
          return existing;
        }
        const scheduleModel = new ScheduleModel(api, model, taskId);
        const item = model.find('task', taskId);
        const name = item?.kind === 'task' ? item.task.name : `task ${taskId}`;
        const widget = new ScheduleWidget(scheduleModel, name);
        void tracker.add(widget);
        app.shell.add(widget, 'main');
        app.shell.activateById(widget.id);
        await scheduleModel.load(); // a failure shows in the panel
        return widget;
      }
    });

    app.commands.addCommand(SAVE_SCHEDULE, {
      label: 'Save Schedule Configuration',
      isEnabled: () => tracker.currentWidget !== null,
      execute: async () => {
        const widget = tracker.currentWidget;
        return widget ? widget.model.save() : false;
      }
    });
    app.commands.addKeyBinding({
      command: SAVE_SCHEDULE,
      keys: ['Accel S'],
      selector: '.jp-pipeline-ScheduleView'
    });

    if (restorer) {
      void restorer.restore(tracker, {
        command: CommandIDs.openSchedule,
        args: widget => ({ taskId: widget.taskId }),
        name: widget => String(widget.taskId)
      });
    }

    app.contextMenu.addItem({
      command: CommandIDs.openSchedule,
      selector: TASK_ITEM,
      rank: 20
    });
    palette?.addItem({
      command: CommandIDs.openSchedule,
      category: PALETTE_CATEGORY
    });
  }
};
