import { Dialog, Notification } from '@jupyterlab/apputils';
import type { CommandRegistry } from '@lumino/commands';
import { Widget } from '@lumino/widgets';

import { IRunInstance, ScriptsAPI, taskParameters } from '../api/scripts';
import { ISubmittable, SubmitDialog } from '../dialogs/submitDialog';
import { PipelineError } from '../request';
import { CommandIDs } from '../tokens';
import type { ITaskDetail } from '../types';
import { bizdateProblem, changedParameters, yesterday } from './runParams';

/** The Run dialog's form: the business date and each custom parameter's value. */
export class RunForm
  extends Widget
  implements ISubmittable<IRunInstance | null>
{
  constructor(
    private readonly task: ITaskDetail,
    private readonly api: ScriptsAPI
  ) {
    super();
    this.addClass('jp-pipeline-DialogBody');
    this.addClass('jp-pipeline-RunForm');
    this._defaults = taskParameters(task);
    const intro = document.createElement('p');
    intro.textContent = `Run the production version of ${task.name} now, as a manual instance.`;
    this.node.append(intro);
    this._bizdate = this._field(
      'bizdate',
      'Business date',
      yesterday(),
      'The day the data is of (yesterday by default): ${bizdate} in the script.'
    );
    this._bizdate.type = 'date';
    const names = Object.keys(this._defaults);
    if (names.length) {
      const legend = document.createElement('div');
      legend.className = 'jp-pipeline-legend';
      legend.textContent = 'Parameters';
      this.node.append(legend);
      for (const name of names) {
        this._params.set(
          name,
          this._field(
            `params.${name}`,
            name,
            this._defaults[name],
            `Default: ${this._defaults[name] || '(empty)'}`
          )
        );
      }
    } else {
      const none = document.createElement('p');
      none.className = 'jp-pipeline-hint';
      none.textContent = 'The task has no custom parameters.';
      this.node.append(none);
    }
    this._error.className = 'jp-pipeline-error jp-pipeline-runError';
    this._error.setAttribute('role', 'alert');
    this.node.append(this._error);
  }

  getValue(): IRunInstance | null {
    return this._instance;
  }

  async submit(): Promise<boolean> {
    this._clear();
    const bizdate = this._bizdate.value.trim();
    const problem = bizdateProblem(bizdate);
    if (problem) {
      this._show('bizdate', problem);
      return false;
    }
    const values: Record<string, string> = {};
    for (const [name, input] of this._params) {
      values[name] = input.value;
    }
    try {
      this._instance = await this.api.run(
        this.task.id,
        bizdate,
        changedParameters(this._defaults, values)
      );
      return true;
    } catch (error) {
      if (error instanceof PipelineError) {
        const unplaced = error.issues.filter(
          issue => !this._show(issue.field, issue.message)
        );
        const hint =
          error.status === 409
            ? ' The run uses the production version: submit the task (and publish it in a Dev-Prod project) first.'
            : '';
        this._error.textContent =
          error.message +
          hint +
          unplaced.map(i => `\n${i.field}: ${i.message}`).join('');
      } else {
        this._error.textContent = (error as Error).message;
      }
      return false;
    }
  }

  private _field(
    field: string,
    label: string,
    value: string,
    hint: string
  ): HTMLInputElement {
    const row = document.createElement('div');
    row.className = 'jp-pipeline-field';
    row.dataset.field = field;
    const id = `jp-pipeline-run-${field.replace(/[^A-Za-z0-9_-]/g, '_')}`;
    const labelNode = document.createElement('label');
    labelNode.className = 'jp-pipeline-label';
    labelNode.htmlFor = id;
    labelNode.textContent = label;
    const control = document.createElement('div');
    control.className = 'jp-pipeline-control';
    const input = document.createElement('input');
    input.id = id;
    input.className = 'jp-mod-styled';
    input.value = value;
    input.title = hint;
    control.append(input);
    const message = document.createElement('div');
    message.className = 'jp-pipeline-fieldError';
    row.append(labelNode, control, message);
    this.node.append(row);
    this._rows.set(field, row);
    return input;
  }

  /** Show a field's message; false when no field has that name. */
  private _show(field: string, message: string): boolean {
    const row = this._rows.get(field);
    if (!row) {
      return false;
    }
    row.classList.add('jp-mod-invalid');
    row.querySelector('.jp-pipeline-fieldError')!.textContent = message;
    return true;
  }

  private _clear(): void {
    this._error.textContent = '';
    for (const row of this._rows.values()) {
      row.classList.remove('jp-mod-invalid');
      row.querySelector('.jp-pipeline-fieldError')!.textContent = '';
    }
  }

  private _defaults: Record<string, string>;
  private _bizdate: HTMLInputElement;
  private _params = new Map<string, HTMLInputElement>();
  private _rows = new Map<string, HTMLElement>();
  private _error = document.createElement('div');
  private _instance: IRunInstance | null = null;
}

/**
 * The Run dialog: stays open while the server refuses (a task not in
 * production answers 409), then a notification that opens the instance.
 */
export async function runTaskDialog(
  task: ITaskDetail,
  api: ScriptsAPI,
  commands: CommandRegistry
): Promise<IRunInstance | null> {
  const dialog = new SubmitDialog<IRunInstance | null>({
    title: `Run ${task.name}`,
    body: new RunForm(task, api),
    buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Run' })]
  });
  const result = await dialog.launch();
  const instance = result.button.accept ? result.value : null;
  if (!instance) {
    return null;
  }
  const actions: Notification.IAction[] = commands.hasCommand(
    CommandIDs.openInstance
  )
    ? [
        {
          label: 'Open instance',
          caption: 'Open it in the Operation Center',
          callback: () =>
            void commands.execute(CommandIDs.openInstance, {
              instanceId: instance.id
            })
        }
      ]
    : [];
  Notification.success(
    `Run of ${task.name} started: instance ${instance.id} for ${instance.business_date}`,
    { autoClose: 10000, actions }
  );
  return instance;
}
