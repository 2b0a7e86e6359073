import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  ICommandPalette,
  InputDialog,
  Notification,
  WidgetTracker
} from '@jupyterlab/apputils';
import { ReadonlyPartialJSONObject } from '@lumino/coreutils';

import { OperationsClient } from '../api/operations';
import { showServerError } from '../errors';
import type { PipelineModel } from '../model';
import { OperationCenter } from '../operations/center';
import { showBackfillDialog } from '../operations/dialogs';
import { instanceIcon, operationsIcon } from '../operations/icons';
import { InstanceModel, InstanceView } from '../operations/instance';
import { OperationCenterModel } from '../operations/model';
import {
  notificationMessage,
  NotificationPoller
} from '../operations/notifier';
import { CommandIDs, IPipelineModel, PALETTE_CATEGORY } from '../tokens';

/** How often the failure feed is polled. */
export const NOTIFICATION_POLL_MS = 5000;

/** The Batch Pipeline tree's task rows (the sidebar's context menu). */
const TASK_ITEM = '.jp-pipeline-treeItem[data-kind="task"]';

/** The task a command's args name, or (`fromTree`) the tree's selected task. */
function taskOf(
  model: PipelineModel,
  args: ReadonlyPartialJSONObject
): number | null {
  if (typeof args.taskId === 'number') {
    return args.taskId;
  }
  const selected = model.selected;
  return args.fromTree && selected?.kind === 'task' ? selected.task.id : null;
}

/**
 * The Operation Center (SPEC section 8): `pipeline:open-operation-center`
 * (`{taskId}` filters it), `pipeline:open-instance` (`{instanceId}`),
 * `pipeline:backfill` (`{taskId}`), the sidebar's "Open in Operation Center"
 * and "Backfill…", and a notification for each failed, timed-out or killed
 * instance. (The sidebar's "Run" is `pipeline:run-task`'s, from the editor plugin.)
 */
export const operationsPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-offline-pipeline:operations',
  description:
    'The Operation Center: instances, run timeline, instance detail and log, reruns, kills, backfills, failure notifications.',
  autoStart: true,
  requires: [IPipelineModel],
  optional: [ICommandPalette, ILayoutRestorer],
  activate: (
    app: JupyterFrontEnd,
    pipeline: PipelineModel,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null
  ) => {
    const { commands, shell } = app;
    const client = new OperationsClient(app.serviceManager.serverSettings);
    const centers = new WidgetTracker<OperationCenter>({
      namespace: 'pipeline-operation-center'
    });
    const instances = new WidgetTracker<InstanceView>({
      namespace: 'pipeline-instance'
    });

    const center = (): OperationCenter => {
      const existing = centers.currentWidget;
      if (existing && !existing.isDisposed) {
        return existing;
      }
      const widget = new OperationCenter(
        new OperationCenterModel(client),
        commands
      );
      void centers.add(widget);
      return widget;
    };

    const showCenter = (widget: OperationCenter): void => {
      if (!widget.isAttached) {
        shell.add(widget, 'main');
      }
      shell.activateById(widget.id);
    };

    commands.addCommand(CommandIDs.openOperationCenter, {
      label: args =>
        args.fromTree ? 'Open in Operation Center' : 'Open Operation Center',
      caption:
        'The instances of the tasks in production, their runs, logs and backfills',
      icon: args => (args.fromTree ? undefined : operationsIcon),
      isVisible: args => !args.fromTree || taskOf(pipeline, args) !== null,
      execute: async args => {
        const widget = center();
        showCenter(widget);
        const taskId = taskOf(pipeline, args);
        if (taskId !== null) {
          await widget.model.showTask(taskId);
        } else if (typeof args.tab === 'string') {
          widget.model.tab = args.tab as OperationCenterModel['tab'];
        } else {
          await widget.model.refresh();
        }
      }
    });

    commands.addCommand(CommandIDs.openInstance, {
      label: args =>
        typeof args.instanceId === 'number'
          ? `Open Instance #${args.instanceId}`
          : 'Open Instance…',
      caption: "An instance's detail, statistics, code and log",
      icon: instanceIcon,
      execute: async args => {
        let instanceId =
          typeof args.instanceId === 'number' ? args.instanceId : null;
        if (instanceId === null) {
          const result = await InputDialog.getNumber({
            title: 'Open Instance',
            label: 'Instance ID'
          });
          if (!result.button.accept || !result.value) {
            return;
          }
          instanceId = result.value;
        }
        const open = instances.find(w => w.instanceId === instanceId);
        if (open) {
          shell.activateById(open.id);
          void open.model.refresh();
          return;
        }
        const widget = new InstanceView(
          new InstanceModel(client, instanceId),
          commands
        );
        const sibling = instances.currentWidget;
        const centerWidget = centers.currentWidget;
        if (sibling?.isAttached) {
          shell.add(widget, 'main', { mode: 'tab-after', ref: sibling.id });
        } else if (centerWidget?.isAttached) {
          shell.add(widget, 'main', {
            mode: 'split-bottom',
            ref: centerWidget.id
          });
        } else {
          shell.add(widget, 'main');
        }
        void instances.add(widget);
        shell.activateById(widget.id);
      }
    });

    commands.addCommand(CommandIDs.backfill, {
      label: args => (args.fromTree ? 'Backfill…' : 'Backfill Task…'),
      caption:
        'Run a task (and some of its downstream tasks) over a range of business dates',
      isVisible: args => !args.fromTree || taskOf(pipeline, args) !== null,
      execute: async args => {
        try {
          const created = await showBackfillDialog(
            client,
            taskOf(pipeline, args)
          );
          if (!created) {
            return;
          }
          Notification.success(
            `Backfill #${created.id} of ${created.task_name}: ${created.dates_total} business date(s), ${created.total} instance(s)`,
            { autoClose: 5000 }
          );
          const widget = center();
          showCenter(widget);
          widget.model.tab = 'backfills';
        } catch (error) {
          await showServerError('The backfill cannot be started', error);
        }
      }
    });

    app.contextMenu.addItem({
      command: CommandIDs.openOperationCenter,
      args: { fromTree: true },
      selector: TASK_ITEM,
      rank: 4
    });
    app.contextMenu.addItem({
      command: CommandIDs.backfill,
      args: { fromTree: true },
      selector: TASK_ITEM,
      rank: 5
    });

    for (const command of [
      CommandIDs.openOperationCenter,
      CommandIDs.openInstance,
      CommandIDs.backfill
    ]) {
      palette?.addItem({ command, category: PALETTE_CATEGORY });
    }

    if (restorer) {
      void restorer.restore(centers, {
        command: CommandIDs.openOperationCenter,
        args: () => ({}),
        name: () => 'operation-center'
      });
      void restorer.restore(instances, {
        command: CommandIDs.openInstance,
        args: widget => ({ instanceId: widget.instanceId }),
        name: widget => String(widget.instanceId)
      });
    }

    // a notification for each instance that failed, timed out or was killed
    const poller = new NotificationPoller(
      after => client.notifications(after),
      event => {
        Notification.error(notificationMessage(event), {
          autoClose: 20000,
          actions: [
            {
              label: 'Open',
              caption: `Open instance #${event.instance_id}`,
              callback: () =>
                void commands.execute(CommandIDs.openInstance, {
                  instanceId: event.instance_id
                })
            }
          ]
        });
        // what shows this instance is out of date now
        void centers.currentWidget?.model.refresh();
      }
    );
    const poll = () => {
      if (document.visibilityState !== 'hidden' || poller.last === null) {
        poller.poll().catch(() => {
          // the server is away: the next poll asks again from the same event
        });
      }
    };
    void app.restored.then(() => {
      poll();
      window.setInterval(poll, NOTIFICATION_POLL_MS);
    });
  }
};
