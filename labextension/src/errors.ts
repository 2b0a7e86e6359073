import { showErrorMessage } from '@jupyterlab/apputils';

import { PipelineError } from './request';

/** Show a failed request: the server's message, then its field messages. */
export async function showServerError(
  title: string,
  error: unknown
): Promise<void> {
  const issues =
    error instanceof PipelineError && error.issues.length
      ? '\n' + error.issues.map(i => `${i.field}: ${i.message}`).join('\n')
      : '';
  await showErrorMessage(title, `${(error as Error).message}${issues}`);
}
