import { JupyterFrontEndPlugin } from '@jupyterlab/application';

import { datasourcesPlugin } from './plugins/datasources';
import { editorPlugin } from './plugins/editor';
import { modelPlugin } from './plugins/model';
import { operationsPlugin } from './plugins/operations';
import { schedulePlugin } from './plugins/schedule';
import { sidebarPlugin } from './plugins/sidebar';
import { submitPlugin } from './plugins/submit';
import { tasksPlugin } from './plugins/tasks';

const plugins: JupyterFrontEndPlugin<any>[] = [
  modelPlugin,
  sidebarPlugin,
  tasksPlugin,
  datasourcesPlugin,
  editorPlugin,
  operationsPlugin,
  schedulePlugin,
  submitPlugin
];

export default plugins;
