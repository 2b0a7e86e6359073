import {
  Dialog,
  ReactWidget,
  showDialog,
  UseSignal
} from '@jupyterlab/apputils';
import { downloadIcon, refreshIcon } from '@jupyterlab/ui-components';
import { CommandRegistry } from '@lumino/commands';
import { Message } from '@lumino/messaging';
import { ISignal, Signal } from '@lumino/signaling';
import * as React from 'react';

import {
  FINISHED_STATES,
  IInstanceCode,
  IInstanceDetail,
  KILLABLE_STATES,
  OperationsClient,
  RERUNNABLE_STATES
} from '../api/operations';
import { CommandIDs } from '../tokens';
import { StateBadge, Tabs } from './components';
import {
  formatBytes,
  formatCount,
  formatDuration,
  formatTime,
  KIND_LABELS
} from './format';
import { instanceIcon } from './icons';
import { LogFollower } from './logFollower';

/** How often an open instance reloads while it is not finished (and its log). */
export const INSTANCE_REFRESH_MS = 1500;
/** A finished one reloads less often (someone may rerun it elsewhere). */
export const FINISHED_REFRESH_MS = 10_000;

const WAITING_STATES: ReadonlySet<string> = new Set([
  'waiting_time',
  'waiting_upstream',
  'waiting_resources'
]);
/** The log lines read first. */
export const LOG_TAIL = 200;

export type InstanceTab = 'log' | 'code' | 'resolved' | 'history';

/**
 * One instance's state: its detail, code and log (followed while it runs),
 * and the outcome of the last action.
 */
export class InstanceModel {
  constructor(
    readonly client: OperationsClient,
    readonly instanceId: number
  ) {
    this.log = new LogFollower(from => this.client.log(this.instanceId, from), {
      tail: LOG_TAIL
    });
  }

  readonly log: LogFollower;

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get detail(): IInstanceDetail | null {
    return this._detail;
  }

  get code(): IInstanceCode | null {
    return this._code;
  }

  get error(): string | null {
    return this._error;
  }

  /** The last action's refusal (403, 409...) or outcome. */
  get actionMessage(): { ok: boolean; text: string } | null {
    return this._actionMessage;
  }

  get busy(): boolean {
    return this._busy;
  }

  get tab(): InstanceTab {
    return this._tab;
  }

  set tab(tab: InstanceTab) {
    this._tab = tab;
    this._changed.emit();
  }

  /** Whether there is more to load: not finished, or its log not all read. */
  get live(): boolean {
    return (
      this._detail === null ||
      !FINISHED_STATES.has(this._detail.state) ||
      !this.log.done
    );
  }

  /** Reload the detail, the code when its resolved script may have come, and the log. */
  async refresh(): Promise<void> {
    if (this._refreshing) {
      return;
    }
    this._refreshing = true;
    try {
      const before = this._detail;
      this._detail = await this.client.instance(this.instanceId);
      const restarted =
        before !== null &&
        (before.attempt !== this._detail.attempt ||
          (FINISHED_STATES.has(before.state) &&
            !FINISHED_STATES.has(this._detail.state)));
      // the resolved script comes when the run starts
      const resolving =
        this._code?.resolved_script === null &&
        !WAITING_STATES.has(this._detail.state);
      if (!this._code || resolving || restarted) {
        this._code = await this.client.code(this.instanceId);
      }
      await this.log.poll();
      this._error = null;
    } catch (error) {
      this._error = (error as Error).message;
    } finally {
      this._refreshing = false;
    }
    this._changed.emit();
  }

  /** Rerun (force: skip the upstream check; downstream: the date's downstream too), or kill. */
  async act(
    action: 'rerun' | 'force' | 'downstream' | 'kill'
  ): Promise<boolean> {
    this._busy = true;
    this._actionMessage = null;
    this._changed.emit();
    try {
      if (action === 'kill') {
        await this.client.kill(this.instanceId);
        this._actionMessage = { ok: true, text: 'Killed.' };
      } else {
        const rerun = await this.client.rerun(this.instanceId, {
          force: action === 'force',
          downstream: action === 'downstream'
        });
        const others = rerun.filter(i => i.id !== this.instanceId);
        this._actionMessage = {
          ok: true,
          text:
            (action === 'force' ? 'Force rerun' : 'Rerun') +
            ` requested: attempt ${rerun[0]?.attempt ?? ''}` +
            (others.length
              ? `, with ${others.length} downstream instance(s): ${others.map(i => `#${i.id} ${i.task_name}`).join(', ')}`
              : '') +
            '.'
        };
      }
      await this.refresh();
      return true;
    } catch (error) {
      this._actionMessage = { ok: false, text: (error as Error).message };
      return false;
    } finally {
      this._busy = false;
      this._changed.emit();
    }
  }

  private _changed = new Signal<this, void>(this);
  private _detail: IInstanceDetail | null = null;
  private _code: IInstanceCode | null = null;
  private _error: string | null = null;
  private _actionMessage: { ok: boolean; text: string } | null = null;
  private _busy = false;
  private _refreshing = false;
  private _tab: InstanceTab = 'log';
}

function Fields(props: { detail: IInstanceDetail }): JSX.Element {
  const d = props.detail;
  const params = Object.entries(d.params ?? {});
  const rows: Array<[string, React.ReactNode]> = [
    ['Task', `${d.task_name} (${d.project}, version ${d.version})`],
    ['Business date', d.business_date],
    [
      'Kind',
      `${KIND_LABELS[d.kind] ?? d.kind}${d.backfill_id !== null ? ` (backfill #${d.backfill_id})` : ''}`
    ],
    ['Attempt', `${d.attempt}/${d.max_attempts}`],
    ['Priority', d.priority],
    ['Triggered by', d.triggered_by],
    ['Scheduled', formatTime(d.scheduled_time)],
    ['Started', formatTime(d.started_at) || '—'],
    ['Finished', formatTime(d.finished_at) || '—'],
    ['Duration', formatDuration(d.duration_seconds) || '—'],
    ['Owner', d.owner]
  ];
  if (params.length) {
    rows.push(['Parameters', params.map(([k, v]) => `${k}=${v}`).join(', ')]);
  }
  return (
    <dl className="jp-pipeline-fields">
      {rows.map(([label, value]) => (
        <React.Fragment key={label}>
          <dt>{label}</dt>
          <dd>{value}</dd>
        </React.Fragment>
      ))}
    </dl>
  );
}

function Statistics(props: { detail: IInstanceDetail }): JSX.Element | null {
  const stats = props.detail.stats;
  if (!stats) {
    return null;
  }
  const cards: Array<[string, string]> = [
    ['Records read', formatCount(stats.records_read)],
    ['Records written', formatCount(stats.records_written)],
    ['Dirty records', formatCount(stats.dirty_records)],
    ['Bytes', formatBytes(stats.bytes)],
    ['Records/s', formatCount(Math.round(stats.records_per_second ?? 0))],
    ['Speed', `${formatBytes(stats.bytes_per_second ?? 0)}/s`],
    ['Run time', formatDuration(stats.seconds)]
  ];
  return (
    <section className="jp-pipeline-section" aria-label="Statistics">
      <h3 className="jp-pipeline-subhead">Statistics</h3>
      <div className="jp-pipeline-statCards">
        {cards.map(([label, value]) => (
          <div key={label} className="jp-pipeline-statCard" data-stat={label}>
            <div className="jp-pipeline-statValue">{value}</div>
            <div className="jp-pipeline-statLabel">{label}</div>
          </div>
        ))}
      </div>
      {stats.channels && stats.channels.length > 0 && (
        <table className="jp-pipeline-table jp-pipeline-channels">
          <thead>
            <tr>
              <th>Channel</th>
              <th className="jp-mod-number">Read</th>
              <th className="jp-mod-number">Written</th>
              <th className="jp-mod-number">Dirty</th>
              <th className="jp-mod-number">Bytes</th>
              <th className="jp-mod-number">Splits</th>
            </tr>
          </thead>
          <tbody>
            {stats.channels.map(c => (
              <tr key={c.channel}>
                <td>{c.channel}</td>
                <td className="jp-mod-number">{formatCount(c.records_read)}</td>
                <td className="jp-mod-number">
                  {formatCount(c.records_written)}
                </td>
                <td className="jp-mod-number">
                  {formatCount(c.dirty_records)}
                </td>
                <td className="jp-mod-number">{formatBytes(c.bytes)}</td>
                <td className="jp-mod-number">{c.tasks}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function Upstream(props: {
  detail: IInstanceDetail;
  commands: CommandRegistry;
}): JSX.Element | null {
  const { upstream, kind } = props.detail;
  if (!upstream.length) {
    return (
      <section className="jp-pipeline-section" aria-label="Waits for">
        <h3 className="jp-pipeline-subhead">Waits for</h3>
        <div className="jp-pipeline-type">
          {kind === 'manual'
            ? 'Nothing: a manual run waits for no upstream task.'
            : 'No upstream task.'}
        </div>
      </section>
    );
  }
  return (
    <section className="jp-pipeline-section" aria-label="Waits for">
      <h3 className="jp-pipeline-subhead">Waits for</h3>
      <ul className="jp-pipeline-upstream">
        {upstream.map(u => (
          <li key={u.task_id} data-ok={u.ok}>
            <span className={u.ok ? 'jp-pipeline-ok' : 'jp-pipeline-notOk'}>
              {u.ok ? '✓' : '…'}
            </span>{' '}
            {u.task_name}:{' '}
            {u.instances.length === 0 ? (
              <span className="jp-pipeline-type">
                no instance of this business date yet
              </span>
            ) : (
              u.instances.map(i => (
                <button
                  key={i.id}
                  className="jp-pipeline-linkButton"
                  onClick={() =>
                    void props.commands.execute(CommandIDs.openInstance, {
                      instanceId: i.id
                    })
                  }
                >
                  #{i.id} <StateBadge state={i.state} />
                </button>
              ))
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}

function History(props: { detail: IInstanceDetail }): JSX.Element {
  return (
    <div className="jp-pipeline-history">
      <table className="jp-pipeline-table">
        <thead>
          <tr>
            <th>At</th>
            <th>From</th>
            <th>To</th>
            <th>Reason</th>
          </tr>
        </thead>
        <tbody>
          {props.detail.events.map((e, i) => (
            <tr key={i}>
              <td>{formatTime(e.at)}</td>
              <td>{e.from ? <StateBadge state={e.from} /> : '—'}</td>
              <td>
                <StateBadge state={e.to} />
              </td>
              <td>{e.reason}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** The log, kept scrolled to its end while the user has not scrolled up. */
function LogView(props: { model: InstanceModel }): JSX.Element {
  const ref = React.useRef<HTMLPreElement>(null);
  const atEnd = React.useRef(true);
  const { log } = props.model;
  React.useLayoutEffect(() => {
    const pre = ref.current;
    if (pre && atEnd.current) {
      pre.scrollTop = pre.scrollHeight;
    }
  });
  return (
    <>
      {log.truncated && (
        <div className="jp-pipeline-type jp-pipeline-logNote">
          The last {LOG_TAIL} lines and what follows; download the log for all
          of it.
        </div>
      )}
      <pre
        ref={ref}
        className="jp-pipeline-log"
        aria-label="Instance log"
        onScroll={event => {
          const pre = event.currentTarget;
          atEnd.current =
            pre.scrollHeight - pre.scrollTop - pre.clientHeight < 24;
        }}
      >
        {log.text ||
          (props.model.detail?.log_available
            ? ''
            : 'No log yet: it starts when the instance runs.')}
      </pre>
    </>
  );
}

function CodeView(props: { text: string | null; empty: string }): JSX.Element {
  return (
    <pre className="jp-pipeline-code" aria-label="Script">
      {props.text ?? props.empty}
    </pre>
  );
}

const TABS: Array<[InstanceTab, string]> = [
  ['log', 'Log'],
  ['code', "Version's code"],
  ['resolved', 'Resolved script'],
  ['history', 'State history']
];

function Actions(props: {
  model: InstanceModel;
  detail: IInstanceDetail;
  downloadUrl: string;
}): JSX.Element {
  const { model, detail } = props;
  const rerunnable = RERUNNABLE_STATES.has(detail.state);
  const why = rerunnable
    ? ''
    : ` (only a success, failed, not_run or killed instance; this one is ${detail.state})`;
  const kill = async () => {
    const result = await showDialog({
      title: `Kill instance #${detail.id}?`,
      body: `${detail.task_name} ${detail.business_date} is ${detail.state}: it stops and becomes killed.`,
      buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Kill' })]
    });
    if (result.button.accept) {
      await model.act('kill');
    }
  };
  return (
    <div className="jp-pipeline-instanceActions">
      <button
        className="jp-pipeline-rowButton"
        disabled={!rerunnable || model.busy}
        title={`Run it again once its upstream succeeded${why}`}
        onClick={() => void model.act('rerun')}
      >
        Rerun
      </button>
      <button
        className="jp-pipeline-rowButton"
        disabled={!rerunnable || model.busy}
        title={`Run it again without checking its upstream${why}`}
        onClick={() => void model.act('force')}
      >
        Force Rerun
      </button>
      <button
        className="jp-pipeline-rowButton"
        disabled={!rerunnable || model.busy}
        title={`Rerun it and the same business date of its downstream tasks${why}`}
        onClick={() => void model.act('downstream')}
      >
        Rerun Downstream
      </button>
      <button
        className="jp-pipeline-rowButton jp-mod-warn"
        disabled={!KILLABLE_STATES.has(detail.state) || model.busy}
        title="Stop it: a waiting or running instance becomes killed"
        onClick={() => void kill()}
      >
        Kill
      </button>
      <a
        className="jp-pipeline-rowButton"
        href={props.downloadUrl}
        download={`instance-${detail.id}.log`}
        title="The whole log as a file"
      >
        <downloadIcon.react tag="span" className="jp-pipeline-buttonIcon" />
        Download log
      </a>
      <button
        className="jp-pipeline-rowButton"
        aria-label="Reload the instance"
        title="Reload"
        onClick={() => void model.refresh()}
      >
        <refreshIcon.react tag="span" className="jp-pipeline-buttonIcon" />
      </button>
    </div>
  );
}

function InstanceDetailView(props: {
  model: InstanceModel;
  commands: CommandRegistry;
}): JSX.Element {
  const { model, commands } = props;
  const detail = model.detail;
  if (!detail) {
    return (
      <div className={model.error ? 'jp-pipeline-error' : 'jp-pipeline-empty'}>
        {model.error ?? 'Loading…'}
      </div>
    );
  }
  const code = model.code;
  return (
    <>
      <div className="jp-pipeline-instanceHeader">
        <h2 className="jp-pipeline-instanceTitle">
          #{detail.id} {detail.task_name}{' '}
          <span className="jp-pipeline-type">{detail.business_date}</span>
        </h2>
        <StateBadge state={detail.state} />
        <Actions
          model={model}
          detail={detail}
          downloadUrl={model.client.logDownloadUrl(detail.id)}
        />
      </div>
      {model.actionMessage && (
        <div
          className={
            model.actionMessage.ok
              ? 'jp-pipeline-actionMessage jp-mod-ok'
              : 'jp-pipeline-actionMessage jp-mod-failed'
          }
          role={model.actionMessage.ok ? 'status' : 'alert'}
        >
          {model.actionMessage.text}
        </div>
      )}
      {detail.error && (
        <div className="jp-pipeline-instanceError" role="note">
          {detail.error}
        </div>
      )}
      {model.error && (
        <div className="jp-pipeline-error" role="alert">
          {model.error}
        </div>
      )}
      <div className="jp-pipeline-instanceGrid">
        <div className="jp-pipeline-instanceSide">
          <Fields detail={detail} />
          <Upstream detail={detail} commands={commands} />
        </div>
        <div className="jp-pipeline-instanceMain">
          <Statistics detail={detail} />
          <Tabs
            tabs={TABS}
            current={model.tab}
            onSelect={tab => (model.tab = tab)}
          />
          {model.tab === 'log' && <LogView model={model} />}
          {model.tab === 'code' && (
            <CodeView
              text={code?.script ?? null}
              empty="Loading the version's script…"
            />
          )}
          {model.tab === 'resolved' && (
            <CodeView
              text={code?.resolved_script ?? null}
              empty="Not resolved yet: parameters are resolved when the run starts."
            />
          )}
          {model.tab === 'history' && <History detail={detail} />}
        </div>
      </div>
    </>
  );
}

/** An instance's detail, code and log, reloaded while it runs. */
export class InstanceView extends ReactWidget {
  constructor(
    readonly model: InstanceModel,
    private _commands: CommandRegistry
  ) {
    super();
    this.id = `jp-pipeline-instance-${model.instanceId}`;
    this.addClass('jp-pipeline-InstanceView');
    this.title.label = `Instance #${model.instanceId}`;
    this.title.icon = instanceIcon;
    this.title.closable = true;
    model.changed.connect(this._retitle, this);
  }

  get instanceId(): number {
    return this.model.instanceId;
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    void this.model.refresh();
    let quiet = 0;
    this._timer = window.setInterval(() => {
      if (!this.isVisible || document.visibilityState === 'hidden') {
        return;
      }
      quiet += INSTANCE_REFRESH_MS;
      if (this.model.live || quiet >= FINISHED_REFRESH_MS) {
        quiet = 0;
        void this.model.refresh();
      }
    }, INSTANCE_REFRESH_MS);
  }

  protected onBeforeDetach(msg: Message): void {
    if (this._timer !== null) {
      window.clearInterval(this._timer);
      this._timer = null;
    }
    super.onBeforeDetach(msg);
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    void this.model.refresh();
  }

  dispose(): void {
    if (this._timer !== null) {
      window.clearInterval(this._timer);
      this._timer = null;
    }
    super.dispose();
  }

  private _retitle(): void {
    const detail = this.model.detail;
    if (detail) {
      this.title.label = `#${detail.id} ${detail.task_name} ${detail.business_date}`;
      this.title.caption = `Instance #${detail.id} of ${detail.task_name}, business date ${detail.business_date}: ${detail.state}`;
      this.title.className = `jp-pipeline-instanceTab jp-mod-${detail.state}`;
    }
  }

  render(): JSX.Element {
    return (
      <UseSignal signal={this.model.changed}>
        {() => (
          <InstanceDetailView model={this.model} commands={this._commands} />
        )}
      </UseSignal>
    );
  }

  private _timer: number | null = null;
}
