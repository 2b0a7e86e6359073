import { Dialog, ReactWidget, UseSignal } from '@jupyterlab/apputils';
import { FormComponent, HTMLSelect } from '@jupyterlab/ui-components';
import { ISignal, Signal } from '@lumino/signaling';
import type { ErrorSchema, RJSFValidationError, UiSchema } from '@rjsf/utils';
import validator from '@rjsf/validator-ajv8';
import type { JSONSchema7 } from 'json-schema';
import * as React from 'react';

import type { PipelineModel } from '../model';
import { PipelineError } from '../request';
import type { IDatasource } from '../types';
import { ISubmittable, SubmitDialog } from './submitDialog';

type FormData = {
  name?: string;
  description?: string;
  params?: Record<string, unknown>;
};

/** Fields of the body itself; any other field a server issue names is a connection field. */
const BODY_FIELDS = ['name', 'description'];

/**
 * The state of a data source form: create (any type, a name) or edit (the
 * stored one's connection and description). The form is generated from the
 * new data source's schema with `params` replaced by the chosen type's schema.
 */
export class DatasourceFormModel {
  constructor(
    readonly pipeline: PipelineModel,
    options: { existing?: IDatasource; type?: string } = {}
  ) {
    const types = Object.keys(pipeline.datasourceTypes);
    this.existing = options.existing ?? null;
    this._type = options.existing?.type ?? options.type ?? types[0] ?? '';
    if (this.existing) {
      this._data = {
        description: this.existing.description,
        params: this._withoutSecrets(this.existing.params)
      };
    }
  }

  readonly existing: IDatasource | null;

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get type(): string {
    return this._type;
  }

  set type(type: string) {
    this._type = type;
    this._data = { ...this._data, params: {} };
    this._serverErrors = {};
    this._changed.emit();
  }

  get data(): FormData {
    return this._data;
  }

  /** The user's change: each field whose value changed shows its messages from now on. */
  set data(data: FormData) {
    const before = this._data;
    for (const key of BODY_FIELDS) {
      if ((data as any)[key] !== (before as any)[key]) {
        this._touched.add(`.${key}`);
      }
    }
    for (const [key, value] of Object.entries(data.params ?? {})) {
      if (value !== before.params?.[key]) {
        this._touched.add(`.params.${key}`);
      }
    }
    this._data = data;
    this._changed.emit();
  }

  /**
   * The rules' messages of the fields the user changed (every field's once a submit
   * was tried), worded for people. JupyterLab's dialog keeps its accept button
   * disabled while a required field is empty, as in its other dialogs.
   */
  shownErrors(errors: RJSFValidationError[]): RJSFValidationError[] {
    return errors
      .filter(e => this._submitted || this._touched.has(e.property ?? ''))
      .map(e => ({ ...e, message: friendlyMessage(e) }));
  }

  /** The server's field messages, keyed as the form's fields. */
  get serverErrors(): ErrorSchema {
    return this._serverErrors;
  }

  /** The server's message when it named no field. */
  get message(): string | null {
    return this._message;
  }

  get schema(): JSONSchema7 {
    const body = this.pipeline.newDatasourceSchema.properties ?? {};
    const params = this.pipeline.datasourceTypes[this._type] ?? {
      type: 'object'
    };
    const properties: Record<string, JSONSchema7 | boolean> = {
      description: body.description ?? { type: 'string' },
      params: { ...params, title: params.title ?? 'Connection' }
    };
    if (!this.existing) {
      properties.name = body.name ?? { type: 'string' };
    }
    return {
      type: 'object',
      required: this.existing ? ['params'] : ['name', 'params'],
      properties
    };
  }

  /** Labels and widgets; write-only fields (secrets) as password inputs. */
  get uiSchema(): UiSchema {
    const params: UiSchema = {};
    const properties = this.pipeline.datasourceTypes[this._type]?.properties;
    for (const [key, field] of Object.entries(properties ?? {})) {
      if (typeof field === 'object' && field.writeOnly) {
        params[key] = { 'ui:widget': 'password' };
      }
    }
    return {
      'ui:order': ['name', 'params', 'description'],
      'ui:submitButtonOptions': { norender: true },
      name: {
        'ui:title': 'Name',
        'ui:help': 'A letter or _ first, then letters, digits, _ and -'
      },
      description: { 'ui:title': 'Description', 'ui:widget': 'textarea' },
      params
    };
  }

  /** Check, then create or update; the data source, or null when it was refused. */
  async submit(): Promise<IDatasource | null> {
    this._submitted = true;
    this._message = null;
    const { errors } = validator.validateFormData(this._data, this.schema);
    if (errors.length) {
      this._changed.emit();
      return null;
    }
    const params = this._data.params ?? {};
    const description = this._data.description ?? '';
    try {
      const saved = this.existing
        ? await this.pipeline.client.updateDatasource(this.existing.name, {
            params,
            description
          })
        : await this.pipeline.client.createDatasource({
            name: this._data.name ?? '',
            type: this._type,
            params,
            description
          });
      await this.pipeline.refreshDatasources();
      return saved;
    } catch (error) {
      this._showServerError(error as Error);
      return null;
    }
  }

  private _showServerError(error: Error): void {
    const issues = error instanceof PipelineError ? error.issues : [];
    const errors: ErrorSchema = {};
    for (const { field, message } of issues) {
      const path = BODY_FIELDS.includes(field) ? [field] : ['params', field];
      let node: any = errors;
      for (const key of path) {
        node = node[key] ??= {};
      }
      (node.__errors ??= []).push(message);
    }
    this._serverErrors = errors;
    this._message = issues.length ? null : error.message;
    this._changed.emit();
  }

  /** A masked secret is not shown again: left empty, the stored one is kept. */
  private _withoutSecrets(
    params: Record<string, unknown>
  ): Record<string, unknown> {
    const properties =
      this.pipeline.datasourceTypes[this._type]?.properties ?? {};
    const kept: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(params)) {
      if (!(properties[key] as JSONSchema7 | undefined)?.writeOnly) {
        kept[key] = value;
      }
    }
    return kept;
  }

  private _changed = new Signal<this, void>(this);
  private _type: string;
  private _data: FormData = { params: {} };
  private _touched = new Set<string>();
  private _submitted = false;
  private _serverErrors: ErrorSchema = {};
  private _message: string | null = null;
}

/** rjsf's messages name the schema's keywords and expressions: say the rule instead. */
function friendlyMessage(error: RJSFValidationError): string | undefined {
  if (error.name === 'required') {
    return 'is required';
  }
  if (error.name === 'pattern' && error.property === '.name') {
    return 'must start with a letter or _ and hold only letters, digits, _ and -';
  }
  return error.message;
}

/** The type selector (when creating) and the generated form. */
export function DatasourceForm(props: {
  model: DatasourceFormModel;
}): JSX.Element {
  const { model } = props;
  return (
    <UseSignal signal={model.changed}>
      {() => (
        <div className="jp-pipeline-DatasourceForm">
          {!model.existing && (
            <label className="jp-pipeline-field">
              <span className="jp-pipeline-label">Type</span>
              <HTMLSelect
                aria-label="Data source type"
                value={model.type}
                onChange={event => (model.type = event.currentTarget.value)}
                options={Object.entries(model.pipeline.datasourceTypes).map(
                  ([type, schema]) => ({
                    value: type,
                    label: `${type} (${schema.title ?? type})`
                  })
                )}
              />
            </label>
          )}
          <FormComponent
            key={model.type}
            schema={model.schema as any}
            uiSchema={model.uiSchema as any}
            formData={model.data as any}
            validator={validator as any}
            liveValidate
            showErrorList={false}
            noHtml5Validate
            extraErrors={model.serverErrors as any}
            transformErrors={errors => model.shownErrors(errors)}
            onChange={event => (model.data = event.formData as FormData)}
          />
          {model.message && (
            <div className="jp-pipeline-error" role="alert">
              {model.message}
            </div>
          )}
        </div>
      )}
    </UseSignal>
  );
}

class DatasourceDialogBody
  extends ReactWidget
  implements ISubmittable<IDatasource | null>
{
  constructor(private _model: DatasourceFormModel) {
    super();
    this.addClass('jp-pipeline-DialogBody');
  }

  getValue(): IDatasource | null {
    return this._saved;
  }

  async submit(): Promise<boolean> {
    this._saved = await this._model.submit();
    return this._saved !== null;
  }

  render(): JSX.Element {
    return <DatasourceForm model={this._model} />;
  }

  private _saved: IDatasource | null = null;
}

/** The data source dialog: the saved data source, or null when cancelled. */
export async function showDatasourceDialog(
  pipeline: PipelineModel,
  options: { existing?: IDatasource; type?: string } = {}
): Promise<IDatasource | null> {
  const model = new DatasourceFormModel(pipeline, options);
  const dialog = new SubmitDialog<IDatasource | null>({
    title: options.existing
      ? `Edit Data Source ${options.existing.name}`
      : 'New Data Source',
    body: new DatasourceDialogBody(model),
    buttons: [
      Dialog.cancelButton(),
      Dialog.okButton({ label: options.existing ? 'Save' : 'Create' })
    ]
  });
  const result = await dialog.launch();
  return result.button.accept ? result.value : null;
}
