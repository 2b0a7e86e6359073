import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';

import { PipelineModel } from '../model';
import { PipelineClient } from '../request';
import { IPipelineModel } from '../tokens';

/** The state every view and command of the extension shares. */
export const modelPlugin: JupyterFrontEndPlugin<PipelineModel> = {
  id: 'jupyter-offline-pipeline:model',
  description: 'The Batch Pipeline state, loaded from /pipeline/api/.',
  autoStart: true,
  provides: IPipelineModel,
  activate: (app: JupyterFrontEnd) => {
    const model = new PipelineModel(
      new PipelineClient(app.serviceManager.serverSettings)
    );
    void model.refresh();
    return model;
  }
};
