import { Dialog, ReactWidget } from '@jupyterlab/apputils';
import { HTMLSelect } from '@jupyterlab/ui-components';
import * as React from 'react';

import type {
  IBackfill,
  IInstance,
  IProductionTask,
  OperationsClient
} from '../api/operations';
import { ISubmittable, SubmitDialog } from '../dialogs/submitDialog';
import { PipelineError } from '../request';
import {
  backfillIssues,
  DATE,
  IBackfillForm,
  MAX_PARALLELISM
} from './backfillForm';
import { downstreamClosure, yesterday } from './format';

/** Field: a labelled control with its message under it. */
function Field(props: {
  name: string;
  label: string;
  message?: string;
  children: React.ReactNode;
}): JSX.Element {
  const id = `jp-pipeline-backfill-${props.name}`;
  return (
    <div
      className={`jp-pipeline-field${props.message ? ' jp-mod-invalid' : ''}`}
      data-field={props.name}
    >
      <label className="jp-pipeline-label" htmlFor={id}>
        {props.label}
      </label>
      <div className="jp-pipeline-control">{props.children}</div>
      {props.message && (
        <div className="jp-pipeline-fieldError" role="alert">
          {props.message}
        </div>
      )}
    </div>
  );
}

class BackfillBody
  extends ReactWidget
  implements ISubmittable<IBackfill | null>
{
  constructor(
    private _client: OperationsClient,
    private _tasks: IProductionTask[],
    taskId: number | null
  ) {
    super();
    this.addClass('jp-pipeline-DialogBody');
    this.addClass('jp-pipeline-BackfillForm');
    const day = yesterday();
    const recurring = this._recurring;
    this._form = {
      taskId:
        recurring.find(t => t.id === taskId)?.id ?? recurring[0]?.id ?? null,
      downstream: [],
      from: day,
      to: day,
      parallelism: '1'
    };
  }

  getValue(): IBackfill | null {
    return this._created;
  }

  async submit(): Promise<boolean> {
    this._submitted = true;
    this._serverMessage = null;
    this._serverIssues = {};
    const issues = backfillIssues(this._form);
    if (Object.keys(issues).length || this._form.taskId === null) {
      this.update();
      return false;
    }
    try {
      this._created = await this._client.createBackfill({
        task_id: this._form.taskId,
        from: this._form.from,
        to: this._form.to,
        downstream: this._form.downstream,
        parallelism: Number(this._form.parallelism)
      });
      return true;
    } catch (error) {
      this._serverMessage = (error as Error).message;
      if (error instanceof PipelineError) {
        this._serverIssues = error.fieldMessages;
      }
      this.update();
      return false;
    }
  }

  private get _recurring(): IProductionTask[] {
    return this._tasks.filter(t => t.schedule_type === 'recurring');
  }

  private _set(change: Partial<IBackfillForm>): void {
    this._form = { ...this._form, ...change };
    for (const field of Object.keys(change)) {
      delete this._serverIssues[field === 'taskId' ? 'task_id' : field];
    }
    this.update();
  }

  render(): JSX.Element {
    const form = this._form;
    const own = this._submitted ? backfillIssues(form) : {};
    const message = (field: string) => own[field] ?? this._serverIssues[field];
    const recurring = this._recurring;
    const below =
      form.taskId === null ? [] : downstreamClosure(this._tasks, form.taskId);
    if (!recurring.length) {
      return (
        <div className="jp-pipeline-empty">
          No recurring task is in production: submit (and in a Dev-Prod project
          publish) a recurring task first.
        </div>
      );
    }
    return (
      <div className="jp-pipeline-CreateTask">
        <Field name="task_id" label="Task" message={message('task_id')}>
          <HTMLSelect
            id="jp-pipeline-backfill-task_id"
            value={form.taskId ?? ''}
            onChange={event =>
              this._set({
                taskId: Number(event.currentTarget.value),
                downstream: []
              })
            }
            options={recurring.map(t => ({
              value: t.id,
              label: `${t.name} (${t.project}, ${t.cycle ?? 'manual'})`
            }))}
          />
        </Field>
        <Field
          name="downstream"
          label="Downstream tasks"
          message={message('downstream')}
        >
          {below.length ? (
            <div className="jp-pipeline-checkList">
              {below.map(t => (
                <label key={t.id} className="jp-pipeline-check">
                  <input
                    type="checkbox"
                    checked={form.downstream.includes(t.id)}
                    onChange={event =>
                      this._set({
                        downstream: event.currentTarget.checked
                          ? [...form.downstream, t.id]
                          : form.downstream.filter(id => id !== t.id)
                      })
                    }
                  />
                  {t.name}
                </label>
              ))}
            </div>
          ) : (
            <span className="jp-pipeline-type">none in production</span>
          )}
        </Field>
        <Field
          name="from"
          label="First business date"
          message={message('from')}
        >
          <input
            id="jp-pipeline-backfill-from"
            className="jp-mod-styled"
            type="date"
            value={form.from}
            onChange={event => this._set({ from: event.currentTarget.value })}
          />
        </Field>
        <Field name="to" label="Last business date" message={message('to')}>
          <input
            id="jp-pipeline-backfill-to"
            className="jp-mod-styled"
            type="date"
            value={form.to}
            onChange={event => this._set({ to: event.currentTarget.value })}
          />
        </Field>
        <Field
          name="parallelism"
          label="Parallelism (dates at a time)"
          message={message('parallelism')}
        >
          <input
            id="jp-pipeline-backfill-parallelism"
            className="jp-mod-styled"
            type="number"
            min={1}
            max={MAX_PARALLELISM}
            value={form.parallelism}
            onChange={event =>
              this._set({ parallelism: event.currentTarget.value })
            }
          />
        </Field>
        {this._serverMessage && (
          <div className="jp-pipeline-error" role="alert">
            {this._serverMessage}
          </div>
        )}
      </div>
    );
  }

  private _form: IBackfillForm;
  private _submitted = false;
  private _serverMessage: string | null = null;
  private _serverIssues: Record<string, string> = {};
  private _created: IBackfill | null = null;
}

/** The Backfill dialog: the backfill created, or null when cancelled. */
export async function showBackfillDialog(
  client: OperationsClient,
  taskId: number | null
): Promise<IBackfill | null> {
  const tasks = await client.productionTasks();
  const dialog = new SubmitDialog<IBackfill | null>({
    title: 'Backfill',
    body: new BackfillBody(client, tasks, taskId),
    buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Backfill' })]
  });
  dialog.addClass('jp-pipeline-BackfillDialog');
  const result = await dialog.launch();
  return result.button.accept ? result.value : null;
}

class RunNowBody extends ReactWidget implements ISubmittable<IInstance | null> {
  constructor(
    private _client: OperationsClient,
    private _task: IProductionTask
  ) {
    super();
    this.addClass('jp-pipeline-DialogBody');
  }

  getValue(): IInstance | null {
    return this._created;
  }

  async submit(): Promise<boolean> {
    this._message = null;
    if (!DATE.test(this._bizdate)) {
      this._message = 'the business date is required (YYYY-MM-DD)';
      this.update();
      return false;
    }
    try {
      this._created = await this._client.runNow(this._task.id, {
        bizdate: this._bizdate
      });
      return true;
    } catch (error) {
      this._message = (error as Error).message;
      this.update();
      return false;
    }
  }

  render(): JSX.Element {
    return (
      <div className="jp-pipeline-CreateTask">
        <p>
          A manual instance of {this._task.name} (version {this._task.version}
          ), run as soon as a worker is free.
        </p>
        <Field
          name="bizdate"
          label="Business date"
          message={this._message ?? undefined}
        >
          <input
            id="jp-pipeline-backfill-bizdate"
            className="jp-mod-styled"
            type="date"
            value={this._bizdate}
            onChange={event => {
              this._bizdate = event.currentTarget.value;
              this.update();
            }}
          />
        </Field>
      </div>
    );
  }

  private _bizdate = yesterday();
  private _message: string | null = null;
  private _created: IInstance | null = null;
}

/** Run a production task now for a business date: the instance, or null. */
export async function showRunNowDialog(
  client: OperationsClient,
  task: IProductionTask
): Promise<IInstance | null> {
  const dialog = new SubmitDialog<IInstance | null>({
    title: `Run ${task.name} now`,
    body: new RunNowBody(client, task),
    buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Run' })]
  });
  const result = await dialog.launch();
  return result.button.accept ? result.value : null;
}
