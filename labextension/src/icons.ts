import { LabIcon } from '@jupyterlab/ui-components';

/** `jp-icon3` lets the theme colour the shapes. */
function svg(body: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24"><g class="jp-icon3" fill="#616161">${body}</g></svg>`;
}

/** The sidebar's tab: a reader feeding a writer. */
export const pipelineIcon = new LabIcon({
  name: 'jupyter-offline-pipeline:pipeline',
  svgstr: svg(
    '<rect x="2" y="4" width="7" height="7" rx="1.5"/><rect x="15" y="13" width="7" height="7" rx="1.5"/><path d="M9 7h4.5a2.5 2.5 0 0 1 2.5 2.5V13h-2V9.5a.5.5 0 0 0-.5-.5H9z"/>'
  )
});

/** A recurring task: runs by its schedule. */
export const recurringIcon = new LabIcon({
  name: 'jupyter-offline-pipeline:recurring',
  svgstr: svg(
    '<path d="M12 3a9 9 0 1 0 9 9h-2a7 7 0 1 1-7-7z"/><path d="M11 7h2v5.2l3.4 2-1 1.7L11 13.3z"/><path d="M15 2l5 3.5-5 3.5z"/>'
  )
});

/** A manual task: triggered by hand. */
export const manualIcon = new LabIcon({
  name: 'jupyter-offline-pipeline:manual',
  svgstr: svg(
    '<path d="M8 4.5v15a1 1 0 0 0 1.5.9l11.5-7.5a1 1 0 0 0 0-1.7L9.5 3.6A1 1 0 0 0 8 4.5z"/><rect x="3" y="4" width="2.5" height="16" rx="1"/>'
  )
});

/** A data source. */
export const datasourceIcon = new LabIcon({
  name: 'jupyter-offline-pipeline:datasource',
  svgstr: svg(
    '<ellipse cx="12" cy="5.5" rx="8" ry="3"/><path d="M4 8v4.5c0 1.7 3.6 3 8 3s8-1.3 8-3V8c-1.7 1.3-4.7 2-8 2s-6.3-.7-8-2z"/><path d="M4 15v3.5c0 1.7 3.6 3 8 3s8-1.3 8-3V15c-1.7 1.3-4.7 2-8 2s-6.3-.7-8-2z"/>'
  )
});
