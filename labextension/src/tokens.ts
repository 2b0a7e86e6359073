import { Token } from '@lumino/coreutils';

import type { PipelineModel } from './model';

/** The ids of every command of the extension, each also in the command palette. */
export namespace CommandIDs {
  export const openSidebar = 'pipeline:open-sidebar';
  export const refresh = 'pipeline:refresh';
  export const selectProject = 'pipeline:select-project';
  export const newTask = 'pipeline:new-task';
  export const newFolder = 'pipeline:new-folder';
  export const rename = 'pipeline:rename';
  export const move = 'pipeline:move';
  export const remove = 'pipeline:delete';
  export const openTask = 'pipeline:open-task';
  export const newDatasource = 'pipeline:new-datasource';
  export const editDatasource = 'pipeline:edit-datasource';
  export const testDatasource = 'pipeline:test-datasource';
  export const removeDatasource = 'pipeline:delete-datasource';
  export const requestPermission = 'pipeline:request-permission';
  export const grantRequest = 'pipeline:grant-permission-request';
  export const refuseRequest = 'pipeline:refuse-permission-request';
  // the script document (plugins/editor.ts)
  export const saveScript = 'pipeline:save-script';
  export const validateScript = 'pipeline:validate-script';
  export const showVersions = 'pipeline:show-versions';
  export const runTask = 'pipeline:run-task';
  // schedule, submit, publish (plugins/schedule.ts, plugins/submit.ts)
  export const openSchedule = 'pipeline:open-schedule';
  export const submitTask = 'pipeline:submit-task';
  export const publishTask = 'pipeline:publish-task';
  // the Operation Center (plugins/operations.ts)
  export const openOperationCenter = 'pipeline:open-operation-center';
  export const openInstance = 'pipeline:open-instance';
  export const backfill = 'pipeline:backfill';
}

/** The palette category of every command. */
export const PALETTE_CATEGORY = 'Batch Pipeline';

/** The shared state of the Batch Pipeline views and commands. */
export const IPipelineModel = new Token<PipelineModel>(
  'jupyter-offline-pipeline:IPipelineModel',
  'The Batch Pipeline state: project, tree, data sources, selection.'
);
