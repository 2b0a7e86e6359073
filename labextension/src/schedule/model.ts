import { ISignal, Signal } from '@lumino/signaling';
import type { ErrorSchema, UiSchema } from '@rjsf/utils';
import validator from '@rjsf/validator-ajv8';

import {
  IPreviewRun,
  ScheduleAPI,
  ScheduleConfig,
  ILineageEdge
} from '../api/schedule';
import type { PipelineModel } from '../model';
import { PipelineError } from '../request';
import type { IIssue, ITask, ITaskDetail } from '../types';
import {
  IFoundUpstream,
  ITableRef,
  SECTIONS,
  SectionKey,
  cleanCycle,
  countBySection,
  formSchema,
  friendlyErrors,
  issuesToErrorSchema,
  keepUnchanged,
  prepareSchema,
  propertyPath,
  readerTables,
  ruleIssues,
  sectionOf,
  stableJSON,
  upstreamFromLineage,
  withoutNulls
} from './logic';
import {
  CycleField,
  DayGridWidget,
  IScheduleFormContext,
  LineageUpstreamWidget,
  SectionTabs,
  TimeWidget,
  TimezoneWidget,
  UpstreamWidget
} from './widgets';

/** How long the preview waits for the user to stop typing. */
export const PREVIEW_DELAY = 400;
export const PREVIEW_COUNT = 10;

/** The form's widgets and labels; a manual task shows no cycle and no dependency choices. */
export function scheduleUiSchema(manual: boolean): UiSchema {
  const time = { 'ui:widget': TimeWidget };
  return {
    'ui:ObjectFieldTemplate': SectionTabs,
    'ui:submitButtonOptions': { norender: true },
    'ui:order': SECTIONS.map(s => s.key),
    basic: {
      'ui:title': '',
      developer: { 'ui:title': 'Developer' },
      operation_owner: { 'ui:title': 'Operation Owner' },
      description: { 'ui:title': 'Description', 'ui:widget': 'textarea' }
    },
    schedule: {
      'ui:title': '',
      'ui:order': [
        ...(manual ? [] : ['cycle']),
        'timezone',
        'state',
        'priority',
        'effective_from',
        'effective_to'
      ],
      cycle: {
        'ui:field': CycleField,
        every_minutes: { 'ui:title': 'Every (minutes)', 'ui:widget': 'updown' },
        every_hours: { 'ui:title': 'Every (hours)', 'ui:widget': 'updown' },
        start_time: { ...time, 'ui:title': 'From' },
        end_time: { ...time, 'ui:title': 'To' },
        time: { ...time, 'ui:title': 'At' },
        minute: { 'ui:title': 'Minute past the hour', 'ui:widget': 'updown' },
        hours: {
          'ui:title': 'At the hours',
          'ui:widget': DayGridWidget,
          'ui:options': { grid: 'hours', emptyAsUndefined: true }
        },
        weekdays: {
          'ui:title': 'On',
          'ui:widget': DayGridWidget,
          'ui:options': { grid: 'weekdays' }
        },
        days: {
          'ui:title': 'On the days',
          'ui:widget': DayGridWidget,
          'ui:options': { grid: 'monthdays' }
        },
        last_day: { 'ui:title': "And the month's last day" },
        expression: {
          'ui:title': 'Cron expression',
          'ui:placeholder': '30 2 * * 1-5'
        }
      },
      timezone: { 'ui:title': 'Time zone', 'ui:widget': TimezoneWidget },
      state: { 'ui:title': 'Schedule state' },
      priority: { 'ui:title': 'Priority' },
      effective_from: { 'ui:title': 'Effective from' },
      effective_to: { 'ui:title': 'Effective to' }
    },
    dependency: {
      'ui:title': '',
      'ui:order': ['upstream', 'auto_from_lineage', 'self_dependent'],
      'ui:disabled': manual,
      upstream: { 'ui:title': 'Upstream tasks', 'ui:widget': UpstreamWidget },
      auto_from_lineage: {
        'ui:title': 'Found from lineage',
        'ui:widget': LineageUpstreamWidget
      },
      self_dependent: { 'ui:title': 'Self-dependency' }
    },
    parameters: {
      'ui:title': 'Custom parameters',
      items: {
        'ui:title': '',
        name: { 'ui:title': 'Name', 'ui:placeholder': 'e.g. region' },
        value: { 'ui:title': 'Value', 'ui:placeholder': 'e.g. ${yyyyMMdd-1}' }
      }
    },
    run: {
      'ui:title': '',
      timeout_hours: {
        'ui:title': 'Run timeout (hours)',
        'ui:widget': 'updown'
      },
      rerun_on_timeout: { 'ui:title': 'Rerun on timeout' },
      rerun_on_failure: {
        'ui:title': 'Rerun on failure',
        count: { 'ui:title': 'Reruns', 'ui:widget': 'updown' },
        interval_minutes: {
          'ui:title': 'Interval (minutes)',
          'ui:widget': 'updown'
        }
      }
    }
  };
}

type PreviewState =
  | { kind: 'idle' }
  | { kind: 'none'; reason: string }
  | { kind: 'loading'; runs: IPreviewRun[] | null }
  | { kind: 'runs'; runs: IPreviewRun[]; timezone: string }
  | { kind: 'error'; message: string };

/**
 * The schedule panel's state: the task's configuration being edited, its
 * client and server messages, the run preview and the dependency candidates.
 */
export class ScheduleModel {
  constructor(
    readonly api: ScheduleAPI,
    readonly pipeline: PipelineModel,
    readonly taskId: number
  ) {}

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get task(): ITaskDetail | null {
    return this._task;
  }

  get ready(): boolean {
    return this._task !== null && this._prepared !== null;
  }

  get loadError(): string | null {
    return this._loadError;
  }

  get manual(): boolean {
    return this._task?.schedule_type === 'manual';
  }

  get data(): ScheduleConfig {
    return this._data;
  }

  /** The user's edit (rjsf's onChange): server messages on changed fields go. */
  set data(data: ScheduleConfig) {
    data = cleanCycle(this._prepared ?? {}, data);
    const before = this._data;
    this._data = data;
    this._serverIssues = keepUnchanged(this._serverIssues, before, data);
    this._previewIssues = keepUnchanged(this._previewIssues, before, data);
    this._clientIssues = null;
    if (this._message?.kind === 'saved') {
      this._message = null;
    }
    if (stableJSON(before?.schedule) !== stableJSON(data?.schedule)) {
      this._schedulePreview();
    }
    this._changed.emit();
  }

  get schema(): Record<string, any> {
    const cycleType = this._data?.schedule?.cycle?.type ?? null;
    const key = `${this.manual}:${cycleType}`;
    if (!this._schema || this._schemaKey !== key) {
      this._schema = formSchema(this._prepared ?? {}, {
        cycleType,
        manual: this.manual
      });
      this._schemaKey = key;
    }
    return this._schema;
  }

  get uiSchema(): UiSchema {
    if (!this._uiSchema || this._uiManual !== this.manual) {
      this._uiSchema = scheduleUiSchema(this.manual);
      this._uiManual = this.manual;
    }
    return this._uiSchema;
  }

  /** What the schema and the rules say of the data now. */
  get clientIssues(): IIssue[] {
    if (this._clientIssues === null) {
      const { errors } = validator.validateFormData(
        this._data,
        this.schema as any,
        undefined,
        friendlyErrors
      );
      const seen = new Set<string>();
      this._clientIssues = [
        ...errors.map(e => ({
          field: propertyPath(e.property),
          message: e.message ?? 'is invalid'
        })),
        ...ruleIssues(this._data)
      ].filter(issue => {
        const key = `${issue.field}\n${issue.message}`;
        return !seen.has(key) && !!seen.add(key);
      });
    }
    return this._clientIssues;
  }

  /** The server's messages: of the last save, and of the preview (schedule section). */
  get serverIssues(): IIssue[] {
    return [...this._serverIssues, ...this._previewIssues];
  }

  /** Shown on the fields on top of rjsf's own: the rules' and the server's. */
  get extraErrors(): ErrorSchema {
    return issuesToErrorSchema([
      ...ruleIssues(this._data),
      ...this.serverIssues
    ]);
  }

  get counts(): Record<SectionKey, number> {
    return countBySection([...this.clientIssues, ...this.serverIssues]);
  }

  get activeTab(): SectionKey {
    return this._activeTab;
  }

  selectTab(key: SectionKey): void {
    if (key !== this._activeTab) {
      this._activeTab = key;
      this._changed.emit();
    }
  }

  get dirty(): boolean {
    return this.ready && stableJSON(this._data) !== this._savedJSON;
  }

  get saving(): boolean {
    return this._saving;
  }

  /** The last save's outcome, shown above the form. */
  get message(): { kind: 'error' | 'saved'; text: string } | null {
    return this._message;
  }

  get preview(): PreviewState {
    return this._preview;
  }

  get formContext(): IScheduleFormContext {
    return {
      activeTab: this._activeTab,
      selectTab: key => this.selectTab(key),
      counts: this.counts,
      prepared: this._prepared ?? {},
      tasks: this._tasks,
      names: this._names,
      found: this._found,
      readTables: this._readTables,
      manual: this.manual
    };
  }

  /** Load the schema, the task and its project's tasks; then preview and lineage. */
  async load(): Promise<void> {
    try {
      const [schema, task] = await Promise.all([
        this.api.scheduleSchema(),
        this.pipeline.client.getTask(this.taskId)
      ]);
      this._prepared = prepareSchema(schema);
      this._apply(task);
      this._loadError = null;
    } catch (error) {
      this._loadError = (error as Error).message;
      this._changed.emit();
      return;
    }
    this._changed.emit();
    this._schedulePreview(0);
    await Promise.all([this._loadTasks(), this._findUpstream()]);
  }

  /** Drop the edits: the stored configuration again. */
  async reload(): Promise<void> {
    this._message = null;
    this._serverIssues = [];
    this._previewIssues = [];
    await this.load();
  }

  /**
   * Store the configuration. The rules are checked first (their messages stay
   * on the fields); the server's refusal puts each issue on its field.
   */
  async save(): Promise<boolean> {
    if (!this.ready || this._saving) {
      return false;
    }
    const problems = this.clientIssues;
    if (problems.length) {
      this._message = {
        kind: 'error',
        text: `Not saved: ${problems.length} problem${problems.length > 1 ? 's' : ''} to fix first.`
      };
      this._showFirstProblem(problems);
      this._changed.emit();
      return false;
    }
    this._saving = true;
    this._changed.emit();
    try {
      const saved = await this.api.saveSchedule(
        this.taskId,
        withoutNulls(this._data)
      );
      const detail = saved as ITaskDetail;
      if (detail.schedule) {
        this._data = withoutNulls(detail.schedule);
        this._clientIssues = null;
      }
      this._savedJSON = stableJSON(this._data);
      this._serverIssues = [];
      this._message = { kind: 'saved', text: 'Schedule saved.' };
      return true;
    } catch (error) {
      const issues = error instanceof PipelineError ? error.issues : [];
      this._serverIssues = issues;
      this._message = { kind: 'error', text: (error as Error).message };
      this._showFirstProblem(issues);
      return false;
    } finally {
      this._saving = false;
      this._changed.emit();
    }
  }

  dispose(): void {
    if (this._timer) {
      clearTimeout(this._timer);
    }
    this._disposed = true;
    Signal.clearData(this);
  }

  private _apply(task: ITaskDetail): void {
    this._task = task;
    this._data = withoutNulls(task.schedule ?? {});
    this._savedJSON = stableJSON(this._data);
    this._clientIssues = null;
    this._readTables = [];
  }

  private _showFirstProblem(issues: readonly IIssue[]): void {
    for (const issue of issues) {
      const section = sectionOf(issue.field);
      if (section) {
        this._activeTab = section;
        return;
      }
    }
  }

  private async _loadTasks(): Promise<void> {
    const task = this._task;
    if (!task) {
      return;
    }
    try {
      const tasks = await this.pipeline.client.listTasks(task.project_id);
      this._tasks = tasks
        .filter(t => t.id !== task.id && !t.deleted)
        .sort((a, b) => a.name.localeCompare(b.name));
    } catch {
      this._tasks = [];
    }
    await this._nameUnknown([...(this._data?.dependency?.upstream ?? [])]);
    this._changed.emit();
  }

  /**
   * The upstream tasks lineage finds for the draft: the submitted tasks whose
   * target is a table the draft's reader reads (as the submit's dependency
   * check finds them). A `querySql` reader names no table: then the tables of
   * the task's submitted lineage.
   */
  private async _findUpstream(): Promise<void> {
    const task = this._task;
    if (!task) {
      return;
    }
    let tables: ITableRef[] = readerTables(task.script, task.source_datasource);
    const edges: ILineageEdge[] = [];
    try {
      if (tables.length) {
        const graphs = await Promise.all(
          tables.map(t =>
            this.api.tableLineage(t.datasource, t.table, {
              direction: 'up',
              depth: 1
            })
          )
        );
        graphs.forEach(g => edges.push(...g.edges));
      } else if (task.status !== 'draft') {
        const graph = await this.api.taskLineage(task.id, {
          direction: 'up',
          depth: 1
        });
        edges.push(...graph.edges);
        tables = graph.edges
          .filter(e => e.kind === 'table' && e.task_id === task.id)
          .map(e => splitTableId(e.source));
      }
      this._found = upstreamFromLineage(edges, tables, task.id);
    } catch {
      this._found = [];
    }
    this._readTables = tables.map(t => `${t.datasource}:${t.table}`);
    await this._nameUnknown(this._found.map(f => f.taskId));
    this._changed.emit();
  }

  /** Names of tasks not in the project's list (another project's). */
  private async _nameUnknown(ids: number[]): Promise<void> {
    const known = new Set(this._tasks.map(t => t.id));
    const missing = ids.filter(id => !known.has(id) && !this._names.has(id));
    await Promise.all(
      missing.map(async id => {
        try {
          const task = await this.pipeline.client.getTask(id);
          this._names.set(id, task.name);
        } catch {
          // a deleted task keeps its number
        }
      })
    );
  }

  private _schedulePreview(delay = PREVIEW_DELAY): void {
    if (this._timer) {
      clearTimeout(this._timer);
    }
    this._timer = setTimeout(() => {
      this._timer = null;
      void this._runPreview();
    }, delay);
  }

  private async _runPreview(): Promise<void> {
    if (this._disposed || !this.ready) {
      return;
    }
    if (this.manual) {
      this._preview = {
        kind: 'none',
        reason: 'A manual task has no cycle: it runs when triggered by hand.'
      };
      this._changed.emit();
      return;
    }
    if (this.clientIssues.some(i => sectionOf(i.field) === 'schedule')) {
      this._preview = {
        kind: 'none',
        reason: "Fix the schedule's problems to see its next runs."
      };
      this._previewIssues = [];
      this._changed.emit();
      return;
    }
    const schedule = withoutNulls(this._data.schedule ?? {});
    const ticket = ++this._previewTicket;
    this._preview = {
      kind: 'loading',
      runs: this._preview.kind === 'runs' ? this._preview.runs : null
    };
    this._changed.emit();
    try {
      const runs = await this.api.preview({ schedule }, PREVIEW_COUNT);
      if (ticket !== this._previewTicket || this._disposed) {
        return;
      }
      this._previewIssues = [];
      this._preview = runs.length
        ? { kind: 'runs', runs, timezone: schedule.timezone ?? 'UTC' }
        : {
            kind: 'none',
            reason: 'The schedule makes no more runs (see its effective dates).'
          };
    } catch (error) {
      if (ticket !== this._previewTicket || this._disposed) {
        return;
      }
      const issues = error instanceof PipelineError ? error.issues : [];
      this._previewIssues = issues.filter(
        i => sectionOf(i.field) === 'schedule'
      );
      this._preview = {
        kind: 'error',
        message: issues.length
          ? issues.map(i => `${i.field}: ${i.message}`).join('; ')
          : (error as Error).message
      };
    }
    this._changed.emit();
  }

  private _changed = new Signal<this, void>(this);
  private _task: ITaskDetail | null = null;
  private _loadError: string | null = null;
  private _prepared: Record<string, any> | null = null;
  private _schema: Record<string, any> | null = null;
  private _schemaKey = '';
  private _uiSchema: UiSchema | null = null;
  private _uiManual = false;
  private _data: ScheduleConfig = {};
  private _savedJSON = '';
  private _clientIssues: IIssue[] | null = null;
  private _serverIssues: IIssue[] = [];
  private _previewIssues: IIssue[] = [];
  private _activeTab: SectionKey = 'schedule';
  private _saving = false;
  private _message: { kind: 'error' | 'saved'; text: string } | null = null;
  private _preview: PreviewState = { kind: 'idle' };
  private _previewTicket = 0;
  private _timer: ReturnType<typeof setTimeout> | null = null;
  private _tasks: ITask[] = [];
  private _names = new Map<number, string>();
  private _found: IFoundUpstream[] | null = null;
  private _readTables: string[] = [];
  private _disposed = false;
}

function splitTableId(id: string): ITableRef {
  const at = id.indexOf(':');
  return { datasource: id.slice(0, at), table: id.slice(at + 1) };
}
