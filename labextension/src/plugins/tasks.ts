import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  Dialog,
  ICommandPalette,
  InputDialog,
  Notification,
  showDialog
} from '@jupyterlab/apputils';
import { deleteIcon, editIcon, newFolderIcon } from '@jupyterlab/ui-components';
import { ReadonlyPartialJSONObject } from '@lumino/coreutils';

import { showCreateTaskDialog } from '../dialogs/createTask';
import { showServerError } from '../errors';
import type { PipelineModel, TreeItem } from '../model';
import { CommandIDs, IPipelineModel } from '../tokens';
import { pipelineIcon } from '../icons';
import { addToPalette } from './palette';

/** Remarks are required when a task is deleted (it takes the submit path). */
const REMARKS_MAX = 128;

const TREE_ITEM = '.jp-pipeline-treeItem';
const TASK_ITEM = `${TREE_ITEM}[data-kind="task"]`;
const FOLDER_ITEM = `${TREE_ITEM}[data-kind="folder"]`;
/** Context menu selectors take no commas: one entry per kind. */
const MOVABLE_ITEMS = [TASK_ITEM, `${FOLDER_ITEM}:not([data-root])`];

/** The item a command acts on: the one its args name, else the selection. */
function target(
  model: PipelineModel,
  args: ReadonlyPartialJSONObject
): TreeItem | null {
  if (typeof args.taskId === 'number') {
    return model.find('task', args.taskId);
  }
  if (typeof args.folderId === 'number') {
    return model.find('folder', args.folderId);
  }
  return model.selected;
}

/** The folder new things go into: the one named, the selected one, or the selected task's. */
function targetFolder(
  model: PipelineModel,
  args: ReadonlyPartialJSONObject
): number | null {
  const item = target(model, args);
  if (!item) {
    return null;
  }
  return item.kind === 'folder' ? item.folder.id : item.parentId;
}

function isMovable(item: TreeItem | null): item is TreeItem {
  return item !== null && (item.kind === 'task' || item.parentId !== null);
}

function nameOf(item: TreeItem): string {
  return item.kind === 'task' ? item.task.name : item.folder.name;
}

/** The folder ids under a folder, itself included: where it cannot move. */
function subtree(item: TreeItem): Set<number> {
  const ids = new Set<number>();
  if (item.kind === 'folder') {
    const walk = (node: typeof item.folder) => {
      ids.add(node.id);
      node.folders.forEach(walk);
    };
    walk(item.folder);
  }
  return ids;
}

/** Create, rename, move and delete in the Batch Pipeline tree. */
export const tasksPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-offline-pipeline:tasks',
  description:
    'The Batch Pipeline tree commands: new script and folder, rename, move, delete.',
  autoStart: true,
  requires: [IPipelineModel],
  optional: [ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    model: PipelineModel,
    palette: ICommandPalette | null
  ) => {
    const { commands } = app;
    const client = model.client;

    commands.addCommand(CommandIDs.newTask, {
      label: args =>
        args.menu ? 'Offline Pipeline Script' : 'New Offline Pipeline Script',
      caption:
        'Create Offline Script: a task with a script for a source and a target',
      icon: pipelineIcon,
      isEnabled: () => model.project !== null,
      execute: async args => {
        const task = await showCreateTaskDialog(
          model,
          targetFolder(model, args)
        );
        if (!task) {
          return;
        }
        await model.refresh();
        model.selected = model.find('task', task.id);
        Notification.success(`Task ${task.name} created`, { autoClose: 3000 });
        if (commands.hasCommand(CommandIDs.openTask)) {
          await commands.execute(CommandIDs.openTask, { id: task.id });
        }
      }
    });

    commands.addCommand(CommandIDs.newFolder, {
      label: args => (args.menu ? 'Folder' : 'New Batch Pipeline Folder'),
      icon: newFolderIcon,
      isEnabled: () => model.project !== null,
      execute: async args => {
        const project = model.project;
        const result = await InputDialog.getText({
          title: 'New Folder',
          label: 'Folder name'
        });
        if (!project || !result.button.accept || !result.value) {
          return;
        }
        try {
          await client.createFolder(
            project.id,
            result.value,
            targetFolder(model, args) ?? undefined
          );
          await model.refresh();
        } catch (error) {
          await showServerError('The folder cannot be created', error);
        }
      }
    });

    commands.addCommand(CommandIDs.rename, {
      label: 'Rename Batch Pipeline Item',
      icon: editIcon,
      isEnabled: args => isMovable(target(model, args)),
      execute: async args => {
        const item = target(model, args);
        if (!isMovable(item)) {
          return;
        }
        const result = await InputDialog.getText({
          title: `Rename ${nameOf(item)}`,
          label: item.kind === 'task' ? 'Task Name' : 'Folder name',
          text: nameOf(item)
        });
        if (
          !result.button.accept ||
          !result.value ||
          result.value === nameOf(item)
        ) {
          return;
        }
        try {
          if (item.kind === 'task') {
            await client.updateTask(item.task.id, { name: result.value });
          } else {
            await client.updateFolder(item.folder.id, { name: result.value });
          }
          await model.refresh();
        } catch (error) {
          await showServerError(`${nameOf(item)} cannot be renamed`, error);
        }
      }
    });

    commands.addCommand(CommandIDs.move, {
      label: 'Move Batch Pipeline Item…',
      isEnabled: args => isMovable(target(model, args)),
      execute: async args => {
        const item = target(model, args);
        if (!isMovable(item)) {
          return;
        }
        const excluded = subtree(item);
        const folders = model.folders.filter(
          f => !excluded.has(f.id) && f.id !== item.parentId
        );
        if (!folders.length) {
          await showDialog({
            title: 'Move',
            body: 'There is no other folder to move it to.',
            buttons: [Dialog.okButton()]
          });
          return;
        }
        const result = await InputDialog.getItem({
          title: `Move ${nameOf(item)}`,
          label: 'Into folder',
          items: folders.map(f => f.path)
        });
        const folder = folders.find(f => f.path === result.value);
        if (!result.button.accept || !folder) {
          return;
        }
        try {
          if (item.kind === 'task') {
            await client.updateTask(item.task.id, { folder_id: folder.id });
          } else {
            await client.updateFolder(item.folder.id, { parent_id: folder.id });
          }
          await model.refresh();
        } catch (error) {
          await showServerError(`${nameOf(item)} cannot be moved`, error);
        }
      }
    });

    commands.addCommand(CommandIDs.remove, {
      label: 'Delete Batch Pipeline Item',
      icon: deleteIcon,
      isEnabled: args => isMovable(target(model, args)),
      execute: async args => {
        const item = target(model, args);
        if (!isMovable(item)) {
          return;
        }
        try {
          if (item.kind === 'folder') {
            const result = await showDialog({
              title: `Delete folder ${item.folder.name}?`,
              body: 'Only an empty folder can be deleted.',
              buttons: [
                Dialog.cancelButton(),
                Dialog.warnButton({ label: 'Delete' })
              ]
            });
            if (!result.button.accept) {
              return;
            }
            await client.deleteFolder(item.folder.id);
          } else {
            const basic = model.project?.mode === 'basic';
            const result = await InputDialog.getText({
              title: `Delete task ${item.task.name}`,
              label: basic
                ? `Remarks (required, at most ${REMARKS_MAX} characters): it is deleted at once`
                : `Remarks (required, at most ${REMARKS_MAX} characters): the deletion waits to be published`,
              okLabel: 'Delete'
            });
            if (!result.button.accept) {
              return;
            }
            const remarks = (result.value ?? '').trim();
            if (!remarks || remarks.length > REMARKS_MAX) {
              await showServerError(
                'The task was not deleted',
                new Error(
                  `the remarks are required, at most ${REMARKS_MAX} characters`
                )
              );
              return;
            }
            const outcome = await client.deleteTask(item.task.id, remarks);
            Notification.info(
              outcome.status === 'deleted'
                ? `Task ${item.task.name} deleted`
                : `The deletion of ${item.task.name} waits to be published`,
              { autoClose: 4000 }
            );
          }
          model.selected = null;
          await model.refresh();
        } catch (error) {
          await showServerError(`${nameOf(item)} cannot be deleted`, error);
        }
      }
    });

    app.contextMenu.addItem({
      command: CommandIDs.newTask,
      selector: FOLDER_ITEM,
      rank: 1
    });
    app.contextMenu.addItem({
      command: CommandIDs.newFolder,
      selector: FOLDER_ITEM,
      rank: 2
    });
    for (const selector of MOVABLE_ITEMS) {
      app.contextMenu.addItem({
        command: CommandIDs.rename,
        selector,
        rank: 10
      });
      app.contextMenu.addItem({ command: CommandIDs.move, selector, rank: 11 });
      app.contextMenu.addItem({
        command: CommandIDs.remove,
        selector,
        rank: 12
      });
    }

    addToPalette(palette, [
      CommandIDs.newTask,
      CommandIDs.newFolder,
      CommandIDs.rename,
      CommandIDs.move,
      CommandIDs.remove
    ]);
  }
};
