import { Dialog, ReactWidget, UseSignal } from '@jupyterlab/apputils';
import { HTMLSelect } from '@jupyterlab/ui-components';
import { ISignal, Signal } from '@lumino/signaling';
import * as React from 'react';

import type { PipelineModel } from '../model';
import { PipelineError } from '../request';
import {
  DESCRIPTION_MAX,
  ITaskForm,
  TaskField,
  datasourcesFor,
  emptyTaskForm,
  taskFormIssues
} from '../rules';
import type { ITask, Permission } from '../types';
import { DatasourceForm, DatasourceFormModel } from './datasourceForm';
import { ISubmittable, SubmitDialog } from './submitDialog';

type Side = 'source' | 'target';

const PERMISSION: Record<Side, Permission> = {
  source: 'read',
  target: 'write'
};

/**
 * The Create Offline Script dialog's state: the values, the rules' messages
 * (shown once a field was touched, all of them once OK was pressed), the
 * server's messages, and the data source being created with "New".
 */
export class TaskFormModel {
  constructor(
    readonly pipeline: PipelineModel,
    folderId: number | null
  ) {
    this._form = emptyTaskForm(folderId);
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get form(): Readonly<ITaskForm> {
    return this._form;
  }

  /** The rules' messages for every field, shown or not. */
  get issues(): Partial<Record<TaskField, string>> {
    return taskFormIssues(this._form, {
      takenNames: this.pipeline.taskNames,
      datasources: this.pipeline.datasources,
      folderIds: new Set(this.pipeline.folders.map(f => f.id))
    });
  }

  /** The message under a field: the server's, else the rule's once touched. */
  message(field: TaskField): string | undefined {
    const shown = this._submitted || this._touched.has(field);
    return (
      this._serverIssues[field] ?? (shown ? this.issues[field] : undefined)
    );
  }

  /** The server's message when it named no field. */
  get error(): string | null {
    return this._error;
  }

  /** The data sources offered on a side: of its type, with its permission. */
  offered(side: Side): string[] {
    const type = this._form[`${side}_type`];
    return datasourcesFor(
      this.pipeline.datasources,
      type,
      PERMISSION[side]
    ).map(d => d.name);
  }

  set<K extends TaskField>(field: K, value: ITaskForm[K]): void {
    this._form = { ...this._form, [field]: value };
    this._touched.add(field);
    delete this._serverIssues[field];
    for (const side of ['source', 'target'] as Side[]) {
      // a new type takes its only data source, or none
      if (field === `${side}_type`) {
        const offered = this.offered(side);
        this._form[`${side}_datasource`] =
          offered.length === 1 ? offered[0] : '';
        delete this._serverIssues[`${side}_datasource`];
      }
    }
    this._changed.emit();
  }

  /** The form of the data source "New" is creating, or null. */
  get creating(): DatasourceFormModel | null {
    return this._creating?.model ?? null;
  }

  /** "New" beside a side's Datasource: a data source of that side's type. */
  startDatasource(side: Side): void {
    const type = this._form[`${side}_type`] || undefined;
    this._creating = {
      side,
      model: new DatasourceFormModel(this.pipeline, { type })
    };
    this._changed.emit();
  }

  cancelDatasource(): void {
    this._creating = null;
    this._changed.emit();
  }

  /** Create the data source being edited and pick it on its side. */
  async submitDatasource(): Promise<void> {
    const creating = this._creating;
    const saved = await creating?.model.submit();
    if (creating && saved) {
      this._creating = null;
      this.set(`${creating.side}_type`, saved.type);
      this.set(`${creating.side}_datasource`, saved.name);
    }
  }

  /** Check, then create the task; the task, or null when a rule stops it. */
  async submit(): Promise<ITask | null> {
    this._submitted = true;
    this._error = null;
    const project = this.pipeline.project;
    if (Object.keys(this.issues).length || !project) {
      this._changed.emit();
      return null;
    }
    const { folder_id, schedule_type, ...rest } = this._form;
    try {
      return await this.pipeline.client.createTask(project.id, {
        ...rest,
        schedule_type: schedule_type || 'recurring',
        folder_id: folder_id ?? undefined
      });
    } catch (error) {
      this._serverIssues =
        error instanceof PipelineError ? error.fieldMessages : {};
      this._error = Object.keys(this._serverIssues).length
        ? null
        : (error as Error).message;
      this._changed.emit();
      return null;
    }
  }

  private _changed = new Signal<this, void>(this);
  private _form: ITaskForm;
  private _touched = new Set<TaskField>();
  private _submitted = false;
  private _serverIssues: Partial<Record<string, string>> = {};
  private _error: string | null = null;
  private _creating: { side: Side; model: DatasourceFormModel } | null = null;
}

/** A labelled control with its message below, tied to it for screen readers. */
function Field(props: {
  model: TaskFormModel;
  field: TaskField;
  label: string;
  required?: boolean;
  children: (id: string, invalid: boolean) => React.ReactNode;
  action?: React.ReactNode;
}): JSX.Element {
  const id = `jp-pipeline-task-${props.field}`;
  const message = props.model.message(props.field);
  return (
    <div
      className={`jp-pipeline-field${message ? ' jp-mod-invalid' : ''}`}
      data-field={props.field}
    >
      <label className="jp-pipeline-label" htmlFor={id}>
        {props.required && <span className="jp-pipeline-required">*</span>}
        {props.label}
      </label>
      <div className="jp-pipeline-control">
        {props.children(id, !!message)}
        {props.action}
      </div>
      {message && (
        <div
          className="jp-pipeline-fieldError"
          id={`${id}-message`}
          role="alert"
        >
          {message}
        </div>
      )}
    </div>
  );
}

function Select(props: {
  id: string;
  value: string;
  /** The choice of nothing, when nothing may be chosen. */
  placeholder?: string;
  options: Array<{ value: string; label: string }>;
  onChange: (value: string) => void;
}): JSX.Element {
  const none =
    props.placeholder === undefined
      ? []
      : [{ value: '', label: props.placeholder }];
  return (
    <HTMLSelect
      id={props.id}
      className="jp-pipeline-select"
      value={props.value}
      onChange={event => props.onChange(event.currentTarget.value)}
      options={[...none, ...props.options]}
    />
  );
}

function DatasourceFields(props: {
  model: TaskFormModel;
  side: Side;
}): JSX.Element {
  const { model, side } = props;
  const title = side === 'source' ? 'Source' : 'Target';
  const types = Object.entries(model.pipeline.datasourceTypes).map(
    ([type, schema]) => ({
      value: type,
      label: `${type} (${schema.title ?? type})`
    })
  );
  return (
    <>
      <Field
        model={model}
        field={`${side}_type`}
        label={`${title} Type`}
        required
      >
        {id => (
          <Select
            id={id}
            value={model.form[`${side}_type`]}
            placeholder="Select a type"
            options={types}
            onChange={value => model.set(`${side}_type`, value)}
          />
        )}
      </Field>
      <Field
        model={model}
        field={`${side}_datasource`}
        label="Datasource"
        required
        action={
          <button
            type="button"
            className="jp-mod-styled jp-mod-reject jp-pipeline-new"
            aria-label={`New ${side} data source`}
            onClick={() => model.startDatasource(side)}
          >
            New
          </button>
        }
      >
        {id => (
          <Select
            id={id}
            value={model.form[`${side}_datasource`]}
            placeholder={
              model.offered(side).length
                ? 'Select a data source'
                : `None you may ${PERMISSION[side]}: New, or request a permission`
            }
            options={model
              .offered(side)
              .map(name => ({ value: name, label: name }))}
            onChange={value => model.set(`${side}_datasource`, value)}
          />
        )}
      </Field>
    </>
  );
}

/** The dialog's two areas, or the data source form "New" opened. */
export function CreateTaskForm(props: { model: TaskFormModel }): JSX.Element {
  const { model } = props;
  return (
    <UseSignal signal={model.changed}>
      {() =>
        model.creating ? (
          <div className="jp-pipeline-CreateTask">
            <h3 className="jp-pipeline-legend">New Data Source</h3>
            <DatasourceForm model={model.creating} />
            <div className="jp-pipeline-inlineButtons">
              <button
                type="button"
                className="jp-mod-styled jp-mod-reject"
                onClick={() => model.cancelDatasource()}
              >
                Back
              </button>
              <button
                type="button"
                className="jp-mod-styled jp-mod-accept"
                onClick={() => void model.submitDatasource()}
              >
                Create Data Source
              </button>
            </div>
          </div>
        ) : (
          <div className="jp-pipeline-CreateTask">
            <fieldset>
              <legend className="jp-pipeline-legend">Basic Information</legend>
              <Field model={model} field="name" label="Task Name" required>
                {(id, invalid) => (
                  <input
                    id={id}
                    className="jp-mod-styled"
                    value={model.form.name}
                    placeholder={
                      'At most 64 characters, none of | : ? < > * " / \\'
                    }
                    aria-invalid={invalid}
                    aria-describedby={invalid ? `${id}-message` : undefined}
                    onChange={event =>
                      model.set('name', event.currentTarget.value)
                    }
                  />
                )}
              </Field>
              <Field
                model={model}
                field="schedule_type"
                label="Schedule Type"
                required
              >
                {id => (
                  <Select
                    id={id}
                    value={model.form.schedule_type}
                    placeholder="Select a schedule type"
                    options={[
                      { value: 'recurring', label: 'Recurring Task Node' },
                      { value: 'manual', label: 'Manual Task Node' }
                    ]}
                    onChange={value =>
                      model.set(
                        'schedule_type',
                        value as ITaskForm['schedule_type']
                      )
                    }
                  />
                )}
              </Field>
              <Field model={model} field="description" label="Description">
                {id => (
                  <textarea
                    id={id}
                    className="jp-mod-styled"
                    rows={3}
                    value={model.form.description}
                    placeholder={`At most ${DESCRIPTION_MAX} characters`}
                    onChange={event =>
                      model.set('description', event.currentTarget.value)
                    }
                  />
                )}
              </Field>
              <Field model={model} field="folder_id" label="Select Directory">
                {id => (
                  <Select
                    id={id}
                    value={String(
                      model.form.folder_id ?? model.pipeline.tree?.id ?? ''
                    )}
                    options={model.pipeline.folders.map(f => ({
                      value: String(f.id),
                      label: f.path
                    }))}
                    onChange={value =>
                      model.set('folder_id', value ? Number(value) : null)
                    }
                  />
                )}
              </Field>
            </fieldset>
            <fieldset>
              <legend className="jp-pipeline-legend">Datasource Config</legend>
              <DatasourceFields model={model} side="source" />
              <DatasourceFields model={model} side="target" />
            </fieldset>
            {model.error && (
              <div className="jp-pipeline-error" role="alert">
                {model.error}
              </div>
            )}
          </div>
        )
      }
    </UseSignal>
  );
}

class CreateTaskBody extends ReactWidget implements ISubmittable<ITask | null> {
  constructor(private _model: TaskFormModel) {
    super();
    this.addClass('jp-pipeline-DialogBody');
  }

  getValue(): ITask | null {
    return this._task;
  }

  /** While "New" is open, OK (or Enter) creates the data source, not the task. */
  async submit(): Promise<boolean> {
    if (this._model.creating) {
      await this._model.submitDatasource();
      return false;
    }
    this._task = await this._model.submit();
    return this._task !== null;
  }

  render(): JSX.Element {
    return <CreateTaskForm model={this._model} />;
  }

  private _task: ITask | null = null;
}

/** The Create Offline Script dialog: the created task, or null when cancelled. */
export async function showCreateTaskDialog(
  pipeline: PipelineModel,
  folderId: number | null
): Promise<ITask | null> {
  const dialog = new SubmitDialog<ITask | null>({
    title: 'Create Offline Script',
    body: new CreateTaskBody(new TaskFormModel(pipeline, folderId)),
    buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'OK' })]
  });
  dialog.addClass('jp-pipeline-CreateTaskDialog');
  const result = await dialog.launch();
  return result.button.accept ? result.value : null;
}
