import { Dialog, ReactWidget, UseSignal } from '@jupyterlab/apputils';
import { ISignal, Signal } from '@lumino/signaling';
import * as React from 'react';

import type {
  ILineageGraph,
  ISubmitAnswer,
  ScheduleAPI
} from '../api/schedule';
import type { PipelineModel } from '../model';
import { PipelineError } from '../request';
import type { IProject, ITaskDetail } from '../types';
import {
  ICheckRow,
  Outcome,
  REMARKS_MAX,
  checkRows,
  outcome,
  remarksProblem,
  revealDelays
} from './checks';
import { LineageGraph } from './lineageGraph';
import { PublishList, PublishModel } from './publish';

type Stage = 'edit' | 'running' | 'revealing' | 'done';

/**
 * The submit dialog's state: remarks, the five checks revealed one by one,
 * the outcome, then the lineage and (in `dev_prod`) the to-publish list.
 */
export class SubmitModel {
  constructor(
    readonly api: ScheduleAPI,
    readonly pipeline: PipelineModel,
    readonly task: ITaskDetail,
    readonly project: IProject | null
  ) {}

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get stage(): Stage {
    return this._stage;
  }

  get remarks(): string {
    return this._remarks;
  }

  set remarks(value: string) {
    this._remarks = value;
    this._remarksTouched = true;
    this._serverRemarks = null;
    this._changed.emit();
  }

  /** The remarks' message: the rule's once typed in (or submit tried), else the server's. */
  get remarksError(): string | null {
    if (this._serverRemarks) {
      return this._serverRemarks;
    }
    return this._remarksTouched ? remarksProblem(this._remarks) : null;
  }

  get rows(): ICheckRow[] {
    if (this._stage === 'edit' && !this._answer) {
      return [];
    }
    return checkRows(this._answer?.checks ?? null, this._revealed);
  }

  /** Known once every check is shown. */
  get outcome(): Outcome | null {
    return this._stage === 'done' && this._answer
      ? outcome(this._answer)
      : null;
  }

  get message(): string | null {
    return this._message;
  }

  get lineage(): ILineageGraph | null {
    return this._lineage;
  }

  get lineageError(): string | null {
    return this._lineageError;
  }

  get neighbours(): boolean {
    return this._neighbours;
  }

  get publish(): PublishModel | null {
    return this._publish;
  }

  get succeeded(): boolean {
    return this.outcome?.kind === 'success';
  }

  /** The dialog's main button now. */
  get acceptLabel(): string {
    const kind = this.outcome?.kind;
    if (this._stage === 'running' || this._stage === 'revealing') {
      return 'Checking…';
    }
    if (kind === 'success') {
      return 'Done';
    }
    if (kind === 'confirm') {
      return 'Confirm and submit';
    }
    if (kind === 'failed') {
      return 'Submit again';
    }
    return 'Submit';
  }

  get acceptEnabled(): boolean {
    return this._stage === 'edit' || this._stage === 'done';
  }

  /** The main button: submit, confirm past the warning, or submit again. */
  async accept(): Promise<void> {
    if (!this.acceptEnabled || this.succeeded) {
      return;
    }
    await this.submit(this.outcome?.kind === 'confirm');
  }

  async submit(confirmWarnings = false): Promise<void> {
    this._remarksTouched = true;
    if (remarksProblem(this._remarks)) {
      this._stage = 'edit';
      this._changed.emit();
      return;
    }
    this._stage = 'running';
    this._answer = null;
    this._revealed = 0;
    this._message = null;
    this._changed.emit();
    let answer: ISubmitAnswer;
    try {
      answer = await this.api.submit(
        this.task.id,
        this._remarks.trim(),
        confirmWarnings
      );
    } catch (error) {
      const remarks =
        error instanceof PipelineError
          ? error.issues.find(i => i.field === 'remarks')
          : undefined;
      this._serverRemarks = remarks?.message ?? null;
      this._message = remarks ? null : (error as Error).message;
      this._stage = 'edit';
      this._changed.emit();
      return;
    }
    this._answer = answer;
    this._stage = 'revealing';
    this._changed.emit();
    for (const delay of revealDelays(answer.checks)) {
      await new Promise(resolve => setTimeout(resolve, delay));
      if (this._disposed) {
        return;
      }
      this._revealed += 1;
      this._changed.emit();
    }
    this._stage = 'done';
    this._changed.emit();
    if (this.succeeded) {
      await this._afterSuccess();
    }
  }

  /** Draw the task's own lineage, or one table further up and down. */
  async showNeighbours(on: boolean): Promise<void> {
    this._neighbours = on;
    this._changed.emit();
    await this._loadLineage();
  }

  dispose(): void {
    this._disposed = true;
    Signal.clearData(this);
  }

  private async _afterSuccess(): Promise<void> {
    void this.pipeline.refresh(); // the tree's status badges
    if (this.project?.mode === 'dev_prod') {
      this._publish = new PublishModel(
        this.api,
        this.project.id,
        [this.task.id],
        () => void this.pipeline.refresh()
      );
      void this._publish.load();
    }
    this._changed.emit();
    await this._loadLineage();
  }

  private async _loadLineage(): Promise<void> {
    try {
      this._lineage = await this.api.taskLineage(
        this.task.id,
        this._neighbours ? { direction: 'both', depth: 1 } : { depth: 0 }
      );
      this._lineageError = null;
    } catch (error) {
      this._lineageError = (error as Error).message;
    }
    this._changed.emit();
  }

  private _changed = new Signal<this, void>(this);
  private _stage: Stage = 'edit';
  private _remarks = '';
  private _remarksTouched = false;
  private _serverRemarks: string | null = null;
  private _answer: ISubmitAnswer | null = null;
  private _revealed = 0;
  private _message: string | null = null;
  private _lineage: ILineageGraph | null = null;
  private _lineageError: string | null = null;
  private _neighbours = false;
  private _publish: PublishModel | null = null;
  private _disposed = false;
}

const STATE_LABELS: Record<string, string> = {
  waiting: 'Waiting',
  running: 'Running',
  pass: 'Passed',
  warning: 'Warning',
  fail: 'Failed',
  skipped: 'Skipped'
};

/** The messages the diagnostics (which say where) do not already say. */
function unplaced(row: ICheckRow): string[] {
  const placed = new Set(row.diagnostics.map(d => d.message));
  return row.messages.filter(m => !placed.has(m));
}

function CheckList(props: { rows: ICheckRow[] }): JSX.Element | null {
  if (!props.rows.length) {
    return null;
  }
  return (
    <ol className="jp-pipeline-Submit-checks" aria-label="Submit checks">
      {props.rows.map(row => (
        <li
          key={row.name}
          className={`jp-pipeline-Submit-check jp-mod-${row.state}`}
          data-check={row.name}
          data-status={row.state}
          aria-busy={row.state === 'running'}
        >
          <span className="jp-pipeline-Submit-checkIcon" aria-hidden="true" />
          <div className="jp-pipeline-Submit-checkBody">
            <div className="jp-pipeline-Submit-checkHead">
              <span className="jp-pipeline-Submit-checkTitle">{row.title}</span>
              <span className="jp-pipeline-Submit-checkState">
                {STATE_LABELS[row.state] ?? row.state}
              </span>
            </div>
            <div className="jp-pipeline-Submit-checkDoc">{row.description}</div>
            {unplaced(row).length > 0 && (
              <ul className="jp-pipeline-Submit-messages">
                {unplaced(row).map((message, i) => (
                  <li key={i}>{message}</li>
                ))}
              </ul>
            )}
            {row.diagnostics.length > 0 && (
              <ul className="jp-pipeline-Submit-diagnostics">
                {row.diagnostics.map((d, i) => (
                  <li key={i} className={`jp-pipeline-severity-${d.severity}`}>
                    <span className="jp-pipeline-Submit-where">
                      {d.line !== undefined ? `${d.line}:${d.column ?? 1}` : ''}
                    </span>{' '}
                    <span className="jp-pipeline-Submit-severity">
                      {d.severity}
                    </span>{' '}
                    {d.message}
                    {d.pointer ? (
                      <code className="jp-pipeline-Submit-pointer">
                        {' '}
                        {d.pointer}
                      </code>
                    ) : null}
                  </li>
                ))}
              </ul>
            )}
          </div>
        </li>
      ))}
    </ol>
  );
}

/** The dialog's body. */
export function SubmitView(props: { model: SubmitModel }): JSX.Element {
  const { model } = props;
  return (
    <UseSignal signal={model.changed}>
      {() => {
        const error = model.remarksError;
        const length = model.remarks.trim().length;
        const outcomeNow = model.outcome;
        return (
          <div className="jp-pipeline-Submit">
            <div
              className={`jp-pipeline-Submit-remarks${error ? ' jp-mod-invalid' : ''}`}
              data-field="remarks"
            >
              <label
                className="jp-pipeline-Submit-label"
                htmlFor="jp-pipeline-submit-remarks"
              >
                Remarks
              </label>
              <input
                id="jp-pipeline-submit-remarks"
                className="jp-mod-styled"
                type="text"
                placeholder="What this version changes"
                value={model.remarks}
                aria-invalid={!!error}
                aria-describedby="jp-pipeline-submit-remarks-count"
                disabled={
                  model.stage === 'running' ||
                  model.stage === 'revealing' ||
                  model.succeeded
                }
                onChange={event => (model.remarks = event.target.value)}
              />
              <div className="jp-pipeline-Submit-remarksFoot">
                <span
                  className="jp-pipeline-Submit-remarksError"
                  role={error ? 'alert' : undefined}
                >
                  {error ?? ''}
                </span>
                <span
                  id="jp-pipeline-submit-remarks-count"
                  className={`jp-pipeline-Submit-counter${length > REMARKS_MAX ? ' jp-mod-over' : ''}`}
                >
                  {length}/{REMARKS_MAX}
                </span>
              </div>
            </div>
            {model.stage === 'edit' && !outcomeNow && (
              <p className="jp-pipeline-Submit-note">
                The saved draft is checked and frozen as a new version.
              </p>
            )}
            {model.message && (
              <div className="jp-pipeline-error" role="alert">
                {model.message}
              </div>
            )}
            <CheckList rows={model.rows} />
            {outcomeNow && (
              <div
                className={`jp-pipeline-Submit-outcome jp-mod-${outcomeNow.kind}`}
                role={outcomeNow.kind === 'failed' ? 'alert' : 'status'}
              >
                {outcomeNow.text}
              </div>
            )}
            {model.succeeded && (
              <section
                className="jp-pipeline-Submit-lineage"
                aria-label="Lineage"
              >
                <div className="jp-pipeline-Submit-lineageHead">
                  <h3 className="jp-pipeline-Submit-sectionTitle">Lineage</h3>
                  <label className="jp-pipeline-Schedule-check">
                    <input
                      type="checkbox"
                      checked={model.neighbours}
                      onChange={event =>
                        void model.showNeighbours(event.target.checked)
                      }
                    />
                    <span>With upstream and downstream tables</span>
                  </label>
                </div>
                {model.lineageError ? (
                  <div className="jp-pipeline-error">{model.lineageError}</div>
                ) : model.lineage ? (
                  <LineageGraph graph={model.lineage} taskId={model.task.id} />
                ) : (
                  <div className="jp-pipeline-Schedule-none">Loading…</div>
                )}
              </section>
            )}
            {model.publish && <PublishList model={model.publish} />}
          </div>
        );
      }}
    </UseSignal>
  );
}

class SubmitBody extends ReactWidget {
  constructor(readonly model: SubmitModel) {
    super();
    this.addClass('jp-pipeline-DialogBody');
    this.addClass('jp-pipeline-SubmitBody');
  }

  render(): JSX.Element {
    return <SubmitView model={this.model} />;
  }
}

/**
 * (No `jp-mod-error` class nor `:invalid` input inside: JupyterLab's dialog
 * would take them for validation errors and refuse its accept button.)
 *
 * A dialog whose main button follows the submit: Submit, Confirm and submit
 * (past a warning), Submit again (after a failure), Done. It stays open
 * until Done or Close.
 */
export class SubmitTaskDialog extends Dialog<void> {
  constructor(readonly model: SubmitModel) {
    const buttons = [
      Dialog.cancelButton({ label: 'Close' }),
      Dialog.okButton({ label: 'Submit' })
    ];
    super({
      title: `Submit ${model.task.name}`,
      body: new SubmitBody(model),
      buttons,
      defaultButton: 1,
      focusNodeSelector: '#jp-pipeline-submit-remarks'
    });
    this._buttonList = buttons;
    this.addClass('jp-pipeline-SubmitDialog');
    model.changed.connect(this._sync, this);
  }

  resolve(index?: number): void {
    const button = this._buttonList[index ?? 1];
    if (button?.accept && !this.model.succeeded) {
      void this.model.accept();
      return;
    }
    super.resolve(index);
  }

  dispose(): void {
    this.model.dispose();
    super.dispose();
  }

  protected onAfterAttach(msg: any): void {
    super.onAfterAttach(msg);
    this._sync();
  }

  private _sync(): void {
    const accept = this.node.querySelector<HTMLButtonElement>(
      '.jp-Dialog-footer .jp-mod-accept'
    );
    if (!accept) {
      return;
    }
    const label = accept.querySelector<HTMLElement>('.jp-Dialog-buttonLabel');
    const text = this.model.acceptLabel;
    if (label && label.textContent !== text) {
      label.textContent = text;
      label.ariaLabel = text; // the button's accessible name comes from it
    }
    accept.disabled = !this.model.acceptEnabled;
  }

  private _buttonList: Dialog.IButton[];
}

/** Open the submit dialog of a task. */
export async function showSubmitDialog(
  api: ScheduleAPI,
  pipeline: PipelineModel,
  task: ITaskDetail
): Promise<void> {
  const project = await projectOf(pipeline, task.project_id);
  const dialog = new SubmitTaskDialog(
    new SubmitModel(api, pipeline, task, project)
  );
  await dialog.launch();
}

/** The task's project, from the sidebar's list or else from the server. */
export async function projectOf(
  pipeline: PipelineModel,
  projectId: number
): Promise<IProject | null> {
  const known = pipeline.projects.find(p => p.id === projectId);
  if (known) {
    return known;
  }
  try {
    const projects = await pipeline.client.listProjects();
    return projects.find(p => p.id === projectId) ?? null;
  } catch {
    return null;
  }
}
