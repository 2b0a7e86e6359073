import { JupyterFrontEndPlugin } from '@jupyterlab/application';

import { datasourcesPlugin } from './plugins/datasources';
import { modelPlugin } from './plugins/model';
import { sidebarPlugin } from './plugins/sidebar';
import { taskViewerPlugin } from './plugins/taskViewer';
import { tasksPlugin } from './plugins/tasks';

const plugins: JupyterFrontEndPlugin<any>[] = [
  modelPlugin,
  sidebarPlugin,
  tasksPlugin,
  datasourcesPlugin,
  taskViewerPlugin
];

export default plugins;
