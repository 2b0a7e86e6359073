import {
  Dialog,
  MainAreaWidget,
  ReactWidget,
  showDialog,
  UseSignal
} from '@jupyterlab/apputils';
import {
  FormComponent,
  refreshIcon,
  saveIcon,
  ToolbarButton
} from '@jupyterlab/ui-components';
import type { Message } from '@lumino/messaging';
import validator from '@rjsf/validator-ajv8';
import * as React from 'react';

import { describeRun, friendlyErrors, SECTIONS, sectionOf } from './logic';
import { PREVIEW_COUNT, ScheduleModel } from './model';

const SECTION_TITLES: Record<string, string> = {};
for (const section of SECTIONS) {
  SECTION_TITLES[section.key] = section.title;
}

/** The next runs with their business dates, as the server computes them. */
function RunPreview(props: { model: ScheduleModel }): JSX.Element {
  const { preview } = props.model;
  const runs =
    preview.kind === 'runs'
      ? preview.runs
      : preview.kind === 'loading'
        ? preview.runs
        : null;
  const zone = props.model.data?.schedule?.timezone ?? 'UTC';
  return (
    <aside
      className="jp-pipeline-Schedule-preview"
      aria-label="Run preview"
      aria-busy={preview.kind === 'loading'}
    >
      <h3 className="jp-pipeline-Schedule-previewTitle">
        Next {PREVIEW_COUNT} runs
        <span className="jp-pipeline-Schedule-previewZone">{zone}</span>
      </h3>
      {preview.kind === 'none' && (
        <p className="jp-pipeline-Schedule-none">{preview.reason}</p>
      )}
      {preview.kind === 'error' && (
        <p className="jp-pipeline-error" role="alert">
          No preview: {preview.message}
        </p>
      )}
      {(preview.kind === 'idle' || (preview.kind === 'loading' && !runs)) && (
        <p className="jp-pipeline-Schedule-none">Computing the next runs…</p>
      )}
      {runs && (
        <table
          className={`jp-pipeline-Schedule-runs${preview.kind === 'loading' ? ' jp-mod-stale' : ''}`}
        >
          <thead>
            <tr>
              <th>#</th>
              <th>Scheduled time</th>
              <th>Business date</th>
            </tr>
          </thead>
          <tbody>
            {runs.map((run, index) => {
              const view = describeRun(run);
              return (
                <tr
                  key={run.scheduled_time}
                  className="jp-pipeline-Schedule-run"
                >
                  <td>{index + 1}</td>
                  <td title={run.scheduled_time}>
                    <span className="jp-pipeline-Schedule-weekday">
                      {view.weekday}
                    </span>{' '}
                    {view.date} <strong>{view.time}</strong>{' '}
                    <span className="jp-pipeline-Schedule-offset">
                      {view.offset}
                    </span>
                  </td>
                  <td
                    className="jp-pipeline-Schedule-bizdate"
                    title={`\${bizdate} = ${view.bizdate}`}
                  >
                    {view.businessDate}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      <p className="jp-pipeline-Schedule-previewNote">
        The business date (<code>{'${bizdate}'}</code>) is the day before the
        scheduled day.
      </p>
    </aside>
  );
}

/** The last save's outcome, and every message with the section it is in. */
function Messages(props: { model: ScheduleModel }): JSX.Element | null {
  const { model } = props;
  const message = model.message;
  if (!message) {
    return null;
  }
  if (message.kind === 'saved') {
    return (
      <div className="jp-pipeline-Schedule-message jp-mod-saved" role="status">
        {message.text}
      </div>
    );
  }
  const issues = [...model.clientIssues, ...model.serverIssues];
  return (
    <div className="jp-pipeline-Schedule-message jp-mod-error" role="alert">
      <div>{message.text}</div>
      {issues.length > 0 && (
        <ul>
          {issues.map((issue, i) => {
            const section = sectionOf(issue.field);
            return (
              <li key={i}>
                {section ? (
                  <button
                    type="button"
                    className="jp-pipeline-linkButton"
                    onClick={() => model.selectTab(section)}
                  >
                    {SECTION_TITLES[section]}
                  </button>
                ) : null}
                {section ? ' › ' : ''}
                <code>{issue.field || 'configuration'}</code>: {issue.message}
              </li>
            );
          })}
        </ul>
      )}
    </div>
  );
}

function Header(props: { model: ScheduleModel }): JSX.Element | null {
  const task = props.model.task;
  if (!task) {
    return null;
  }
  return (
    <div className="jp-pipeline-Schedule-header">
      <h2 className="jp-pipeline-Schedule-title">{task.name}</h2>
      <span
        className={`jp-pipeline-Schedule-type jp-mod-${task.schedule_type}`}
      >
        {task.schedule_type === 'manual' ? 'Manual' : 'Recurring'}
      </span>
      <span className="jp-pipeline-Schedule-state">
        {props.model.saving
          ? 'Saving…'
          : props.model.dirty
            ? 'Unsaved changes'
            : 'Saved'}
      </span>
    </div>
  );
}

/** The panel's content: the sections as tabs of one generated form, and the preview. */
export class SchedulePanel extends ReactWidget {
  constructor(readonly model: ScheduleModel) {
    super();
    this.addClass('jp-pipeline-Schedule');
  }

  render(): JSX.Element {
    const { model } = this;
    return (
      <UseSignal signal={model.changed}>
        {() =>
          model.loadError ? (
            <div className="jp-pipeline-error" role="alert">
              The schedule cannot be loaded: {model.loadError}
            </div>
          ) : !model.ready ? (
            <div className="jp-pipeline-Schedule-none">Loading…</div>
          ) : (
            <>
              <Header model={model} />
              <Messages model={model} />
              <div className="jp-pipeline-Schedule-body">
                <div className="jp-pipeline-Schedule-form">
                  <FormComponent
                    schema={model.schema as any}
                    uiSchema={model.uiSchema as any}
                    formData={model.data as any}
                    formContext={model.formContext}
                    validator={validator as any}
                    liveValidate
                    showErrorList={false}
                    noHtml5Validate
                    extraErrors={model.extraErrors as any}
                    transformErrors={friendlyErrors}
                    onChange={event => (model.data = event.formData as any)}
                  />
                </div>
                <RunPreview model={model} />
              </div>
            </>
          )
        }
      </UseSignal>
    );
  }
}

/**
 * The main-area widget "Schedule: <task>": a toolbar (Save, Reload), a dirty
 * marker on its tab and a prompt before unsaved changes are dropped.
 */
export class ScheduleWidget extends MainAreaWidget<SchedulePanel> {
  constructor(model: ScheduleModel, taskName: string) {
    const content = new SchedulePanel(model);
    super({ content });
    this.taskId = model.taskId;
    this.id = `jp-pipeline-schedule-${model.taskId}`;
    this.addClass('jp-pipeline-ScheduleView');
    this.title.closable = true;
    this._setName(taskName);
    this.toolbar.addItem(
      'save',
      new ToolbarButton({
        icon: saveIcon,
        label: 'Save',
        tooltip: 'Save the schedule configuration',
        onClick: () => void model.save()
      })
    );
    this.toolbar.addItem(
      'reload',
      new ToolbarButton({
        icon: refreshIcon,
        label: 'Reload',
        tooltip: 'Drop the changes: load the stored configuration again',
        onClick: () => void this.reload()
      })
    );
    model.changed.connect(this._onChanged, this);
  }

  readonly taskId: number;

  get model(): ScheduleModel {
    return this.content.model;
  }

  async reload(): Promise<void> {
    if (this.model.dirty && !(await this._confirmDiscard('Reload'))) {
      return;
    }
    await this.model.reload();
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this.model.dispose();
    super.dispose();
  }

  protected onCloseRequest(msg: Message): void {
    if (!this.model.dirty || this._closing) {
      super.onCloseRequest(msg);
      return;
    }
    void this._confirmDiscard('Close').then(discard => {
      if (discard) {
        this._closing = true;
        this.close();
      }
    });
  }

  private _confirmDiscard(action: string): Promise<boolean> {
    return showDialog({
      title: `${action} without saving?`,
      body: `The schedule of ${this.model.task?.name ?? 'the task'} has unsaved changes.`,
      buttons: [
        Dialog.cancelButton(),
        Dialog.warnButton({ label: `Discard and ${action.toLowerCase()}` })
      ]
    }).then(result => result.button.accept);
  }

  private _onChanged(): void {
    const task = this.model.task;
    if (task) {
      this._setName(task.name);
    }
    this.title.className = this.model.dirty ? 'jp-mod-dirty' : '';
  }

  private _setName(name: string): void {
    this.title.label = `Schedule: ${name}`;
    this.title.caption = `The schedule configuration of ${name}`;
  }

  private _closing = false;
}
