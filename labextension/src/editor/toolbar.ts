import {
  checkIcon,
  historyIcon,
  LabIcon,
  launchIcon,
  runIcon,
  saveIcon,
  shareIcon,
  ToolbarButton
} from '@jupyterlab/ui-components';
import type { CommandRegistry } from '@lumino/commands';
import type { ReadonlyPartialJSONObject } from '@lumino/coreutils';

import { recurringIcon } from '../icons';
import { CommandIDs } from '../tokens';
import type { PipelineDocument } from './widget';

interface IButton {
  name: string;
  command: string;
  label: string;
  tooltip: string;
  icon: LabIcon;
  /** Only task documents have it. */
  task?: boolean;
  /** Save unsaved changes first (what is submitted is the saved draft). */
  saveFirst?: boolean;
}

/** The toolbar of the script document, left to right. */
export const TOOLBAR: readonly IButton[] = [
  {
    name: 'save',
    command: CommandIDs.saveScript,
    label: 'Save',
    tooltip: 'Save the draft (Ctrl+S)',
    icon: saveIcon
  },
  {
    name: 'validate',
    command: CommandIDs.validateScript,
    label: 'Validate',
    tooltip: 'Validate the script now, against the catalog too',
    icon: checkIcon
  },
  {
    name: 'schedule',
    command: CommandIDs.openSchedule,
    label: 'Schedule',
    tooltip: "Configure the task's schedule",
    icon: recurringIcon,
    task: true
  },
  {
    name: 'run',
    command: CommandIDs.runTask,
    label: 'Run',
    tooltip: 'Run the production version now, with parameter values',
    icon: runIcon,
    task: true
  },
  {
    name: 'submit',
    command: CommandIDs.submitTask,
    label: 'Submit',
    tooltip: 'Save and submit the draft: checks, then a new version',
    icon: shareIcon,
    task: true,
    saveFirst: true
  },
  {
    name: 'publish',
    command: CommandIDs.publishTask,
    label: 'Publish',
    tooltip: 'Publish the submitted version to production',
    icon: launchIcon,
    task: true
  },
  {
    name: 'versions',
    command: CommandIDs.showVersions,
    label: 'Versions',
    tooltip: 'The submitted versions and their differences',
    icon: historyIcon,
    task: true
  }
];

/**
 * Fill the document's toolbar. A button whose command is not registered (yet)
 * is shown disabled; Publish shows only once `isDevProd` says so.
 */
export function populateToolbar(
  widget: PipelineDocument,
  commands: CommandRegistry,
  isDevProd: Promise<boolean>
): void {
  const args: ReadonlyPartialJSONObject =
    widget.taskId === null
      ? { path: widget.context.path }
      : { taskId: widget.taskId };
  const buttons: Array<[string, ToolbarButton]> = [];
  for (const spec of TOOLBAR) {
    if (spec.task && widget.taskId === null) {
      continue;
    }
    const button = new ToolbarButton({
      label: spec.label,
      icon: spec.icon,
      tooltip: spec.tooltip,
      className: `jp-pipeline-toolbar-${spec.name}`,
      enabled: commands.hasCommand(spec.command),
      onClick: async () => {
        if (!commands.hasCommand(spec.command)) {
          return;
        }
        if (spec.saveFirst && widget.context.model.dirty) {
          try {
            await widget.context.save();
          } catch {
            return; // the document manager has shown why
          }
        }
        await commands.execute(spec.command, args);
      }
    });
    button.node.dataset.command = spec.command;
    if (spec.name === 'publish') {
      button.hide();
      void isDevProd.then(devProd => {
        if (devProd && !button.isDisposed) {
          button.show();
        }
      });
    }
    widget.toolbar.addItem(`pipeline-${spec.name}`, button);
    buttons.push([spec.command, button]);
  }
  const sync = () => {
    for (const [command, button] of buttons) {
      if (!button.isDisposed) {
        button.enabled = commands.hasCommand(command);
      }
    }
  };
  sync();
  commands.commandChanged.connect(sync);
  widget.disposed.connect(() => commands.commandChanged.disconnect(sync));
}
