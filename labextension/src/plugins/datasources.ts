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
import { addIcon, deleteIcon, editIcon } from '@jupyterlab/ui-components';
import { ReadonlyPartialJSONObject } from '@lumino/coreutils';

import { showDatasourceDialog } from '../dialogs/datasourceForm';
import { showRequestPermissionDialog } from '../dialogs/requestPermission';
import { showServerError } from '../errors';
import type { PipelineModel } from '../model';
import { CommandIDs, IPipelineModel } from '../tokens';
import type { IDatasource, IPermissionRequest } from '../types';
import { addToPalette } from './palette';

const DATASOURCE = '.jp-pipeline-datasource';
const OWNED_DATASOURCE = `${DATASOURCE}[data-owner]`;

/** The data source a command acts on: the one its args name, else the selected one. */
function datasourceOf(
  model: PipelineModel,
  args: ReadonlyPartialJSONObject
): IDatasource | null {
  return typeof args.name === 'string'
    ? (model.datasources.find(d => d.name === args.name) ?? null)
    : model.selectedDatasource;
}

function owns(datasource: IDatasource | null): datasource is IDatasource {
  return !!datasource?.permissions.includes('owner');
}

/** The request a decision is about: the one its args name, else one the user picks. */
async function requestOf(
  model: PipelineModel,
  args: ReadonlyPartialJSONObject
): Promise<IPermissionRequest | null> {
  const pending = model.requestsToDecide;
  if (typeof args.id === 'number') {
    return pending.find(r => r.id === args.id) ?? null;
  }
  const labels = pending.map(
    r => `${r.user}: ${r.permission} on ${r.datasource}`
  );
  const choice = await InputDialog.getItem({
    title: 'Permission Request',
    items: labels
  });
  return choice.button.accept && choice.value
    ? pending[labels.indexOf(choice.value)]
    : null;
}

/** Data sources: create and edit through their schema forms, test, delete, permissions. */
export const datasourcesPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-offline-pipeline:datasources',
  description:
    'Data source commands: new, edit, test, delete, request and decide permissions.',
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

    commands.addCommand(CommandIDs.newDatasource, {
      label: 'New Data Source',
      icon: addIcon,
      execute: async args => {
        const type = typeof args.type === 'string' ? args.type : undefined;
        const saved = await showDatasourceDialog(model, { type });
        if (saved) {
          model.selectedDatasource = saved;
          Notification.success(`Data source ${saved.name} created`, {
            autoClose: 3000
          });
        }
      }
    });

    commands.addCommand(CommandIDs.editDatasource, {
      label: 'Edit Data Source',
      icon: editIcon,
      isEnabled: args => owns(datasourceOf(model, args)),
      execute: async args => {
        const existing = datasourceOf(model, args);
        if (owns(existing)) {
          await showDatasourceDialog(model, { existing });
        }
      }
    });

    commands.addCommand(CommandIDs.testDatasource, {
      label: 'Test Data Source Connection',
      isEnabled: args => datasourceOf(model, args) !== null,
      execute: async args => {
        const datasource = datasourceOf(model, args);
        if (!datasource) {
          return;
        }
        try {
          const { ok, message } = await model.testDatasource(datasource.name);
          Notification.emit(
            `${datasource.name}: ${message}`,
            ok ? 'success' : 'error',
            {
              autoClose: ok ? 4000 : false
            }
          );
        } catch (error) {
          await showServerError(`${datasource.name} cannot be tested`, error);
        }
      }
    });

    commands.addCommand(CommandIDs.removeDatasource, {
      label: 'Delete Data Source',
      icon: deleteIcon,
      isEnabled: args => owns(datasourceOf(model, args)),
      execute: async args => {
        const datasource = datasourceOf(model, args);
        if (!owns(datasource)) {
          return;
        }
        const result = await showDialog({
          title: `Delete data source ${datasource.name}?`,
          body: 'Its grants and permission requests go with it.',
          buttons: [
            Dialog.cancelButton(),
            Dialog.warnButton({ label: 'Delete' })
          ]
        });
        if (!result.button.accept) {
          return;
        }
        try {
          await client.deleteDatasource(datasource.name);
          model.selectedDatasource = null;
          await model.refreshDatasources();
        } catch (error) {
          await showServerError(`${datasource.name} cannot be deleted`, error);
        }
      }
    });

    commands.addCommand(CommandIDs.requestPermission, {
      label: 'Request Data Source Permission…',
      execute: async args => {
        try {
          const request = await showRequestPermissionDialog(
            await client.datasourceDirectory(),
            typeof args.name === 'string'
              ? args.name
              : model.selectedDatasource?.name
          );
          if (request) {
            await client.requestPermission(
              request.datasource,
              request.permission,
              request.reason
            );
            await model.refreshDatasources();
            Notification.info(
              `Asked for ${request.permission} on ${request.datasource}`,
              { autoClose: 3000 }
            );
          }
        } catch (error) {
          await showServerError('The permission cannot be requested', error);
        }
      }
    });

    const decide =
      (status: 'granted' | 'refused') =>
      async (args: ReadonlyPartialJSONObject) => {
        const request = await requestOf(model, args);
        if (!request) {
          return;
        }
        try {
          await client.decidePermissionRequest(request.id, status);
          await model.refreshDatasources();
        } catch (error) {
          await showServerError('The request cannot be decided', error);
        }
      };
    commands.addCommand(CommandIDs.grantRequest, {
      label: 'Grant Data Source Permission Request',
      isEnabled: () => model.requestsToDecide.length > 0,
      execute: decide('granted')
    });
    commands.addCommand(CommandIDs.refuseRequest, {
      label: 'Refuse Data Source Permission Request',
      isEnabled: () => model.requestsToDecide.length > 0,
      execute: decide('refused')
    });

    app.contextMenu.addItem({
      command: CommandIDs.testDatasource,
      selector: DATASOURCE,
      rank: 1
    });
    app.contextMenu.addItem({
      command: CommandIDs.editDatasource,
      selector: OWNED_DATASOURCE,
      rank: 2
    });
    app.contextMenu.addItem({
      command: CommandIDs.removeDatasource,
      selector: OWNED_DATASOURCE,
      rank: 3
    });
    app.contextMenu.addItem({
      command: CommandIDs.requestPermission,
      selector: `${DATASOURCE}:not([data-owner])`,
      rank: 4
    });

    addToPalette(palette, [
      CommandIDs.newDatasource,
      CommandIDs.editDatasource,
      CommandIDs.testDatasource,
      CommandIDs.removeDatasource,
      CommandIDs.requestPermission,
      CommandIDs.grantRequest,
      CommandIDs.refuseRequest
    ]);
  }
};
