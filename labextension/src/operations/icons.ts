import { LabIcon } from '@jupyterlab/ui-components';

function svg(body: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24"><g class="jp-icon3" fill="#616161">${body}</g></svg>`;
}

/** The Operation Center: runs on a time axis. */
export const operationsIcon = new LabIcon({
  name: 'jupyter-offline-pipeline:operations',
  svgstr: svg(
    '<rect x="2" y="3" width="2" height="18" rx="1"/><rect x="6" y="5" width="9" height="3.5" rx="1"/><rect x="10" y="10.25" width="11" height="3.5" rx="1"/><rect x="6" y="15.5" width="6" height="3.5" rx="1"/>'
  )
});

/** An instance: one run. */
export const instanceIcon = new LabIcon({
  name: 'jupyter-offline-pipeline:instance',
  svgstr: svg(
    '<path d="M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20zm0 2a8 8 0 1 1 0 16 8 8 0 0 1 0-16z"/><path d="M10 7.5v9l7-4.5z"/>'
  )
});
