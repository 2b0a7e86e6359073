import { Notification, ReactWidget, UseSignal } from '@jupyterlab/apputils';
import { HTMLSelect, refreshIcon } from '@jupyterlab/ui-components';
import { CommandRegistry } from '@lumino/commands';
import { Message } from '@lumino/messaging';
import * as React from 'react';

import {
  FINISHED_STATES,
  INSTANCE_KINDS,
  INSTANCE_STATES,
  IBackfill,
  IInstance,
  InstanceKind,
  IProductionTask
} from '../api/operations';
import { showServerError } from '../errors';
import { CommandIDs } from '../tokens';
import { Progress, StateBadge, Tabs, Timeline } from './components';
import { showRunNowDialog } from './dialogs';
import {
  formatCount,
  formatDuration,
  formatTime,
  KIND_LABELS,
  pageLabel,
  STATE_LABELS,
  TASK_STATE_LABELS
} from './format';
import { operationsIcon } from './icons';
import { OperationCenterModel, OperationTab, PAGE_SIZES } from './model';

/** How often a visible Operation Center reloads. */
export const REFRESH_MS = 3000;

interface IViewProps {
  model: OperationCenterModel;
  commands: CommandRegistry;
}

function openInstance(commands: CommandRegistry, instanceId: number): void {
  void commands.execute(CommandIDs.openInstance, { instanceId });
}

function Filters(props: IViewProps): JSX.Element {
  const { model } = props;
  const f = model.filters;
  const tasks = [...model.tasks];
  if (f.taskId !== null && !tasks.some(t => t.id === f.taskId)) {
    // a task out of production (or not yet loaded) keeps its filter
    const name =
      model.instances.find(i => i.task_id === f.taskId)?.task_name ??
      `task ${f.taskId}`;
    tasks.push({ id: f.taskId, name } as IProductionTask);
  }
  const toggleState = (state: string) =>
    void model.setFilters({
      states: f.states.includes(state)
        ? f.states.filter(s => s !== state)
        : [...f.states, state]
    });
  const filtered =
    f.taskId !== null ||
    f.from ||
    f.to ||
    f.kind ||
    f.states.length ||
    f.backfillId !== null;
  return (
    <div className="jp-pipeline-opsFilters" role="search">
      <label className="jp-pipeline-opsFilter">
        <span>Task</span>
        <HTMLSelect
          aria-label="Task filter"
          value={f.taskId ?? ''}
          onChange={event => {
            const value = event.currentTarget.value;
            void model.setFilters({ taskId: value ? Number(value) : null });
          }}
          options={[
            { value: '', label: 'All tasks' },
            ...tasks.map(t => ({ value: t.id, label: t.name }))
          ]}
        />
      </label>
      <label className="jp-pipeline-opsFilter">
        <span>Business date</span>
        <input
          className="jp-mod-styled"
          type="date"
          aria-label="Business date from"
          value={f.from}
          max={f.to || undefined}
          onChange={event =>
            void model.setFilters({ from: event.currentTarget.value })
          }
        />
        <span>to</span>
        <input
          className="jp-mod-styled"
          type="date"
          aria-label="Business date to"
          value={f.to}
          min={f.from || undefined}
          onChange={event =>
            void model.setFilters({ to: event.currentTarget.value })
          }
        />
      </label>
      <label className="jp-pipeline-opsFilter">
        <span>Kind</span>
        <HTMLSelect
          aria-label="Kind filter"
          value={f.kind}
          onChange={event =>
            void model.setFilters({
              kind: event.currentTarget.value as InstanceKind | ''
            })
          }
          options={[
            { value: '', label: 'All kinds' },
            ...INSTANCE_KINDS.map(k => ({ value: k, label: KIND_LABELS[k] }))
          ]}
        />
      </label>
      <div
        className="jp-pipeline-opsStates"
        role="group"
        aria-label="State filter"
      >
        {INSTANCE_STATES.map(state => (
          <button
            key={state}
            className={`jp-pipeline-stateChip jp-mod-${state}${f.states.includes(state) ? ' jp-mod-active' : ''}`}
            aria-pressed={f.states.includes(state)}
            title={`${STATE_LABELS[state]}: ${f.states.includes(state) ? 'shown' : 'show only these (with the others chosen)'}`}
            onClick={() => toggleState(state)}
          >
            {state}
          </button>
        ))}
      </div>
      {f.backfillId !== null && (
        <span className="jp-pipeline-opsChip">
          Backfill #{f.backfillId}
          <button
            className="jp-pipeline-linkButton"
            aria-label="Clear the backfill filter"
            onClick={() => void model.setFilters({ backfillId: null })}
          >
            ×
          </button>
        </span>
      )}
      {filtered && (
        <button
          className="jp-pipeline-rowButton"
          onClick={() => void model.showTask(null)}
        >
          Clear filters
        </button>
      )}
    </div>
  );
}

function attemptLabel(instance: IInstance): string {
  return `${instance.attempt}/${instance.max_attempts}`;
}

function InstancesTable(props: IViewProps): JSX.Element {
  const { model, commands } = props;
  if (!model.instances.length) {
    return (
      <div className="jp-pipeline-empty">
        {model.loadedAt === null
          ? 'Loading…'
          : 'No instance matches the filters.'}
      </div>
    );
  }
  return (
    <table className="jp-pipeline-table jp-pipeline-instances">
      <thead>
        <tr>
          <th>ID</th>
          <th>Task</th>
          <th>Business date</th>
          <th>Kind</th>
          <th>State</th>
          <th>Attempt</th>
          <th>Scheduled</th>
          <th>Started</th>
          <th>Duration</th>
          <th className="jp-mod-number">Records written</th>
        </tr>
      </thead>
      <tbody>
        {model.instances.map(instance => (
          <tr
            key={instance.id}
            data-instance={instance.id}
            data-state={instance.state}
            tabIndex={0}
            title={instance.error ?? `Open instance #${instance.id}`}
            onClick={() => openInstance(commands, instance.id)}
            onKeyDown={event => {
              if (event.key === 'Enter') {
                openInstance(commands, instance.id);
              }
            }}
          >
            <td>#{instance.id}</td>
            <td>{instance.task_name}</td>
            <td>{instance.business_date}</td>
            <td>
              {KIND_LABELS[instance.kind] ?? instance.kind}
              {instance.backfill_id !== null && (
                <span className="jp-pipeline-type">
                  {' '}
                  #{instance.backfill_id}
                </span>
              )}
            </td>
            <td>
              <StateBadge state={instance.state} />
            </td>
            <td>{attemptLabel(instance)}</td>
            <td>{formatTime(instance.scheduled_time)}</td>
            <td>{formatTime(instance.started_at)}</td>
            <td>{formatDuration(instance.duration_seconds)}</td>
            <td className="jp-mod-number">
              {formatCount(instance.stats?.records_written)}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Pager(props: IViewProps): JSX.Element {
  const { model } = props;
  const { offset, limit, total } = model;
  return (
    <div className="jp-pipeline-pager">
      <span className="jp-pipeline-pageLabel">
        {pageLabel(offset, model.instances.length, total)}
      </span>
      <button
        className="jp-pipeline-rowButton"
        disabled={offset === 0}
        onClick={() => void model.setPage(offset - limit)}
      >
        Previous
      </button>
      <button
        className="jp-pipeline-rowButton"
        disabled={offset + limit >= total}
        onClick={() => void model.setPage(offset + limit)}
      >
        Next
      </button>
      <HTMLSelect
        aria-label="Instances per page"
        value={limit}
        onChange={event =>
          void model.setPage(0, Number(event.currentTarget.value))
        }
        options={PAGE_SIZES.map(n => ({ value: n, label: `${n} a page` }))}
      />
    </div>
  );
}

function InstancesTab(props: IViewProps): JSX.Element {
  return (
    <>
      <Filters {...props} />
      <Timeline
        instances={props.model.instances}
        onOpen={id => openInstance(props.commands, id)}
      />
      <InstancesTable {...props} />
      <Pager {...props} />
    </>
  );
}

function TaskNames(props: {
  tasks: Array<{ id: number; name: string | null }>;
}): JSX.Element {
  return props.tasks.length ? (
    <>{props.tasks.map(t => t.name ?? `#${t.id}`).join(', ')}</>
  ) : (
    <span className="jp-pipeline-type">none</span>
  );
}

function TasksTab(props: IViewProps): JSX.Element {
  const { model, commands } = props;
  const runNow = async (task: IProductionTask) => {
    const instance = await showRunNowDialog(model.client, task);
    if (instance) {
      Notification.success(
        `Instance #${instance.id} of ${task.name} (${instance.business_date}) created`,
        {
          autoClose: 5000,
          actions: [
            {
              label: 'Open',
              callback: () => openInstance(commands, instance.id)
            }
          ]
        }
      );
      await model.showTask(task.id);
    }
  };
  if (!model.tasks.length) {
    return (
      <div className="jp-pipeline-empty">
        {model.loadedAt === null
          ? 'Loading…'
          : 'No task is in production yet: submit a task (and publish it in a Dev-Prod project).'}
      </div>
    );
  }
  return (
    <table className="jp-pipeline-table jp-pipeline-productionTasks">
      <thead>
        <tr>
          <th>Task</th>
          <th>Project</th>
          <th>Cycle</th>
          <th>Next run</th>
          <th>State</th>
          <th>Version</th>
          <th>Upstream</th>
          <th>Downstream</th>
          <th>Owner</th>
          <th>Actions</th>
        </tr>
      </thead>
      <tbody>
        {model.tasks.map(task => (
          <tr key={task.id} data-task={task.id}>
            <td>{task.name}</td>
            <td>{task.project}</td>
            <td>{task.cycle ?? 'manual'}</td>
            <td>
              {task.next_run_time ? (
                <>
                  {formatTime(task.next_run_time)}
                  <span className="jp-pipeline-type">
                    {' '}
                    ({task.next_business_date})
                  </span>
                </>
              ) : (
                <span className="jp-pipeline-type">—</span>
              )}
            </td>
            <td>
              <span className={`jp-pipeline-taskState jp-mod-${task.state}`}>
                {TASK_STATE_LABELS[task.state] ?? task.state}
              </span>
            </td>
            <td>v{task.version}</td>
            <td>
              <TaskNames tasks={task.upstream} />
            </td>
            <td>
              <TaskNames tasks={task.downstream} />
            </td>
            <td>
              {task.owner}
              {task.operation_owner && task.operation_owner !== task.owner && (
                <span className="jp-pipeline-type">
                  {' '}
                  (ops {task.operation_owner})
                </span>
              )}
            </td>
            <td className="jp-pipeline-rowActions">
              <button
                className="jp-pipeline-rowButton"
                onClick={() => void runNow(task)}
              >
                Run now
              </button>
              <button
                className="jp-pipeline-rowButton"
                disabled={task.schedule_type !== 'recurring'}
                title={
                  task.schedule_type === 'recurring'
                    ? 'Backfill business dates'
                    : 'A manual task has no schedule to backfill'
                }
                onClick={() =>
                  void commands.execute(CommandIDs.backfill, {
                    taskId: task.id
                  })
                }
              >
                Backfill
              </button>
              <button
                className="jp-pipeline-rowButton"
                onClick={() => void model.showTask(task.id)}
              >
                Instances
              </button>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function backfillCounts(backfill: IBackfill): string {
  return Object.entries(backfill.counts)
    .map(([state, n]) => `${n} ${state}`)
    .join(', ');
}

function BackfillsTab(props: IViewProps): JSX.Element {
  const { model, commands } = props;
  const cancel = async (backfill: IBackfill) => {
    try {
      await model.client.cancelBackfill(backfill.id);
      await model.refresh();
    } catch (error) {
      await showServerError(
        `Backfill #${backfill.id} cannot be cancelled`,
        error
      );
    }
  };
  return (
    <>
      <div className="jp-pipeline-opsBar">
        <button
          className="jp-pipeline-rowButton"
          onClick={() => void commands.execute(CommandIDs.backfill, {})}
        >
          New Backfill…
        </button>
      </div>
      {model.backfills.length === 0 ? (
        <div className="jp-pipeline-empty">
          {model.loadedAt === null ? 'Loading…' : 'No backfill yet.'}
        </div>
      ) : (
        <table className="jp-pipeline-table jp-pipeline-backfills">
          <thead>
            <tr>
              <th>ID</th>
              <th>Tasks</th>
              <th>Business dates</th>
              <th>Parallelism</th>
              <th>Progress (dates)</th>
              <th>Instances</th>
              <th>State</th>
              <th>Created</th>
              <th>Actions</th>
            </tr>
          </thead>
          <tbody>
            {model.backfills.map(backfill => (
              <tr
                key={backfill.id}
                data-backfill={backfill.id}
                data-state={backfill.state}
              >
                <td>#{backfill.id}</td>
                <td>
                  <TaskNames tasks={backfill.tasks} />
                </td>
                <td>
                  {backfill.from} – {backfill.to}
                </td>
                <td>{backfill.parallelism}</td>
                <td>
                  <Progress
                    done={backfill.dates_done}
                    total={backfill.dates_total}
                  />
                </td>
                <td className="jp-pipeline-type">{backfillCounts(backfill)}</td>
                <td>
                  <span
                    className={`jp-pipeline-taskState jp-mod-${backfill.state}`}
                  >
                    {backfill.state}
                  </span>
                </td>
                <td>
                  {formatTime(backfill.created_at)}
                  <span className="jp-pipeline-type">
                    {' '}
                    by {backfill.created_by}
                  </span>
                </td>
                <td className="jp-pipeline-rowActions">
                  <button
                    className="jp-pipeline-rowButton"
                    onClick={() => void model.showBackfill(backfill.id)}
                  >
                    Instances
                  </button>
                  <button
                    className="jp-pipeline-rowButton"
                    disabled={backfill.state !== 'running'}
                    onClick={() => void cancel(backfill)}
                  >
                    Cancel
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

const TABS: Array<[OperationTab, string]> = [
  ['instances', 'Instances'],
  ['tasks', 'Production Tasks'],
  ['backfills', 'Backfills']
];

function Header(props: IViewProps): JSX.Element {
  const { model } = props;
  const running = model.instances.filter(i => !FINISHED_STATES.has(i.state));
  return (
    <div className="jp-pipeline-opsHeader">
      <Tabs
        tabs={TABS}
        current={model.tab}
        onSelect={tab => (model.tab = tab)}
      />
      <span className="jp-pipeline-opsStatus">
        {model.tab === 'instances' && running.length > 0 && (
          <span>{running.length} of this page waiting or running · </span>
        )}
        {model.loadedAt !== null &&
          `live, updated ${new Date(model.loadedAt).toLocaleTimeString()}`}
      </span>
      <button
        className="jp-pipeline-rowButton"
        title="Reload now"
        aria-label="Reload the Operation Center"
        onClick={() => void model.refresh()}
      >
        <refreshIcon.react tag="span" className="jp-pipeline-buttonIcon" />
      </button>
    </div>
  );
}

/**
 * The Operation Center: instances (filters, timeline, table, pages), the
 * production tasks with Run now and Backfill, and the backfills with their
 * progress. It reloads every few seconds while it is visible.
 */
export class OperationCenter extends ReactWidget {
  constructor(
    readonly model: OperationCenterModel,
    private _commands: CommandRegistry
  ) {
    super();
    this.id = 'jp-pipeline-operation-center';
    this.addClass('jp-pipeline-OperationCenter');
    this.title.label = 'Operation Center';
    this.title.caption = 'Batch Pipeline: instances, runs and backfills';
    this.title.icon = operationsIcon;
    this.title.closable = true;
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    void this.model.refresh();
    this._start();
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    this._start();
  }

  protected onBeforeDetach(msg: Message): void {
    this._stop();
    super.onBeforeDetach(msg);
  }

  dispose(): void {
    this._stop();
    super.dispose();
  }

  private _start(): void {
    if (this._timer === null) {
      this._timer = window.setInterval(() => {
        if (this.isVisible && document.visibilityState !== 'hidden') {
          void this.model.refresh();
        }
      }, REFRESH_MS);
    }
  }

  private _stop(): void {
    if (this._timer !== null) {
      window.clearInterval(this._timer);
      this._timer = null;
    }
  }

  render(): JSX.Element {
    const props = { model: this.model, commands: this._commands };
    return (
      <UseSignal signal={this.model.changed}>
        {() => (
          <>
            <Header {...props} />
            {this.model.error && (
              <div className="jp-pipeline-error" role="alert">
                {this.model.error}
              </div>
            )}
            <div className="jp-pipeline-opsBody">
              {this.model.tab === 'instances' && <InstancesTab {...props} />}
              {this.model.tab === 'tasks' && <TasksTab {...props} />}
              {this.model.tab === 'backfills' && <BackfillsTab {...props} />}
            </div>
          </>
        )}
      </UseSignal>
    );
  }

  private _timer: number | null = null;
}
