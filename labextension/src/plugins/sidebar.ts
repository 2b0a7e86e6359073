import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, InputDialog } from '@jupyterlab/apputils';
import { refreshIcon } from '@jupyterlab/ui-components';

import { pipelineIcon } from '../icons';
import type { PipelineModel } from '../model';
import { createSidebar, SIDEBAR_ID } from '../sidebar/sidebar';
import { CommandIDs, IPipelineModel, PALETTE_CATEGORY } from '../tokens';

/** The Batch Pipeline sidebar in the left area, and its own commands. */
export const sidebarPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-offline-pipeline:sidebar',
  description:
    'The Batch Pipeline sidebar: projects, the task tree, data sources.',
  autoStart: true,
  requires: [IPipelineModel],
  optional: [ILayoutRestorer, ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    model: PipelineModel,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null
  ) => {
    const sidebar = createSidebar(model, app.commands);
    app.shell.add(sidebar, 'left', { rank: 300 });
    restorer?.add(sidebar, SIDEBAR_ID);

    app.commands.addCommand(CommandIDs.openSidebar, {
      label: 'Show the Batch Pipeline Sidebar',
      icon: pipelineIcon,
      execute: () => app.shell.activateById(SIDEBAR_ID)
    });
    app.commands.addCommand(CommandIDs.refresh, {
      label: 'Refresh Batch Pipeline',
      caption: 'Reload the projects, the task tree and the data sources',
      icon: refreshIcon,
      execute: () => model.refresh()
    });
    app.commands.addCommand(CommandIDs.selectProject, {
      label: 'Select Batch Pipeline Project…',
      execute: async args => {
        let id = args.id as number | undefined;
        if (id === undefined) {
          const labels = model.projects.map(p => `${p.name} (${p.mode})`);
          const choice = await InputDialog.getItem({
            title: 'Select Project',
            items: labels,
            current: model.project ? model.projects.indexOf(model.project) : 0
          });
          if (!choice.button.accept || choice.value === null) {
            return;
          }
          id = model.projects[labels.indexOf(choice.value)]?.id;
        }
        if (id !== undefined) {
          await model.selectProject(id);
        }
      }
    });
    for (const command of [
      CommandIDs.openSidebar,
      CommandIDs.refresh,
      CommandIDs.selectProject
    ]) {
      palette?.addItem({ command, category: PALETTE_CATEGORY });
    }
  }
};
