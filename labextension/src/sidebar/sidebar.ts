import { CommandToolbarButton, ToolbarButton } from '@jupyterlab/apputils';
import { SidePanel, addIcon } from '@jupyterlab/ui-components';
import { CommandRegistry } from '@lumino/commands';
import { Menu, Widget } from '@lumino/widgets';

import { pipelineIcon } from '../icons';
import type { PipelineModel } from '../model';
import { CommandIDs } from '../tokens';
import { DatasourcesView } from './datasources';
import { TaskTreeView } from './tree';

export const SIDEBAR_ID = 'jp-pipeline-sidebar';

/**
 * The Batch Pipeline sidebar: a "New" menu and refresh in its toolbar, then
 * two sections, the project's task tree and the data sources.
 */
export function createSidebar(
  model: PipelineModel,
  commands: CommandRegistry
): SidePanel {
  const panel = new SidePanel();
  panel.id = SIDEBAR_ID;
  panel.addClass('jp-pipeline-Sidebar');
  panel.title.icon = pipelineIcon;
  panel.title.caption = 'Batch Pipeline';

  const heading = new Widget({ node: document.createElement('h2') });
  heading.node.textContent = 'Batch Pipeline';
  heading.addClass('jp-pipeline-title');
  panel.header.addWidget(heading);

  const newMenu = new Menu({ commands });
  newMenu.addClass('jp-pipeline-newMenu');
  newMenu.addItem({ command: CommandIDs.newTask, args: { menu: true } });
  newMenu.addItem({ command: CommandIDs.newFolder, args: { menu: true } });
  const newButton: ToolbarButton = new ToolbarButton({
    icon: addIcon,
    label: 'New',
    tooltip: 'New Offline Pipeline Script or Folder',
    onClick: () => {
      const { left, bottom } = newButton.node.getBoundingClientRect();
      newMenu.open(left, bottom);
    }
  });
  panel.toolbar.addItem('new', newButton);
  panel.toolbar.addItem(
    'refresh',
    new CommandToolbarButton({ commands, id: CommandIDs.refresh, label: '' })
  );

  panel.addWidget(new TaskTreeView(model, commands));
  panel.addWidget(new DatasourcesView(model, commands));
  return panel;
}
