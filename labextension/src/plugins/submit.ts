import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  Dialog,
  ICommandPalette,
  Notification,
  ReactWidget,
  showDialog
} from '@jupyterlab/apputils';
import * as React from 'react';

import { ScheduleAPI } from '../api/schedule';
import { showServerError } from '../errors';
import type { PipelineModel } from '../model';
import { projectOf, showSubmitDialog } from '../submit/dialog';
import { PublishList, PublishModel } from '../submit/publish';
import { CommandIDs, IPipelineModel, PALETTE_CATEGORY } from '../tokens';
import { commandTaskId } from './schedule';

const TASK_ITEM = '.jp-pipeline-treeItem[data-kind="task"]';

/** `pipeline:submit-task` (checks, lineage, to-publish list) and `pipeline:publish-task`. */
export const submitPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-offline-pipeline:submit',
  description:
    'Submit a task (the five checks, then its lineage) and publish it in a Dev-Prod project.',
  autoStart: true,
  requires: [IPipelineModel],
  optional: [ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    model: PipelineModel,
    palette: ICommandPalette | null
  ) => {
    const api = new ScheduleAPI(model.client.settings);

    app.commands.addCommand(CommandIDs.submitTask, {
      label: 'Submit Task',
      caption:
        'Check the saved draft (configuration, permission, schema, table duplication, dependency) and freeze it as a version',
      isEnabled: args => commandTaskId(model, args) !== null,
      execute: async args => {
        const taskId = commandTaskId(model, args);
        if (taskId === null) {
          return;
        }
        let task;
        try {
          task = await model.client.getTask(taskId);
        } catch (error) {
          await showServerError('The task cannot be submitted', error);
          return;
        }
        await showSubmitDialog(api, model, task);
      }
    });

    app.commands.addCommand(CommandIDs.publishTask, {
      label: 'Publish Task',
      caption:
        "A Dev-Prod project's to-publish list: publishing schedules the versions in production",
      isEnabled: args => {
        const id = commandTaskId(model, args);
        return id !== null;
      },
      execute: async args => {
        const taskId = commandTaskId(model, args);
        if (taskId === null) {
          return;
        }
        let projectId: number;
        try {
          projectId = (await model.client.getTask(taskId)).project_id;
        } catch (error) {
          await showServerError('The task cannot be published', error);
          return;
        }
        const project = await projectOf(model, projectId);
        if (project && project.mode !== 'dev_prod') {
          await showDialog({
            title: 'Nothing to publish',
            body: `Project ${project.name} is a Basic project: submitting a task publishes it at once.`,
            buttons: [Dialog.okButton()]
          });
          return;
        }
        const publish = new PublishModel(
          api,
          projectId,
          [taskId],
          published => {
            void model.refresh();
            Notification.success(
              `Published ${published.map(p => p.task_name).join(', ')}`,
              { autoClose: 4000 }
            );
          }
        );
        const body = ReactWidget.create(
          React.createElement(PublishList, { model: publish })
        );
        body.addClass('jp-pipeline-DialogBody');
        body.addClass('jp-pipeline-PublishBody');
        void publish.load();
        await showDialog({
          title: `Publish: ${project?.name ?? `project ${projectId}`}`,
          body,
          buttons: [Dialog.cancelButton({ label: 'Close' })]
        });
      }
    });

    for (const [command, rank] of [
      [CommandIDs.submitTask, 21],
      [CommandIDs.publishTask, 22]
    ] as const) {
      app.contextMenu.addItem({ command, selector: TASK_ITEM, rank });
      palette?.addItem({ command, category: PALETTE_CATEGORY });
    }
  }
};
