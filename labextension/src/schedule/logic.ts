/**
 * The schedule panel's pure logic: the form's schema derived from the server's
 * `ScheduleConfig` JSON Schema, the server's dotted issue paths as rjsf error
 * schemas, the rules JSON Schema cannot say, and switching the cycle type.
 */
import type { ErrorSchema, RJSFValidationError } from '@rjsf/utils';
import type { JSONSchema7 } from 'json-schema';

import type { ScheduleConfig } from '../api/schedule';
import type { IIssue } from '../types';

/** The five sections of the configuration, in the panel's tab order. */
export const SECTIONS = [
  { key: 'basic', title: 'Basic Information' },
  { key: 'schedule', title: 'Schedule' },
  { key: 'dependency', title: 'Dependency' },
  { key: 'parameters', title: 'Parameters' },
  { key: 'run', title: 'Run Configuration' }
] as const;

export type SectionKey = (typeof SECTIONS)[number]['key'];

/** Each cycle type with its `$defs` entry and the label of the type select. */
export const CYCLES = [
  { type: 'minute', def: 'MinuteCycle', label: 'Minute' },
  { type: 'hour', def: 'HourCycle', label: 'Hour' },
  { type: 'day', def: 'DayCycle', label: 'Day' },
  { type: 'week', def: 'WeekCycle', label: 'Week' },
  { type: 'month', def: 'MonthCycle', label: 'Month' },
  { type: 'cron', def: 'CronCycle', label: 'Cron expression' }
] as const;

export type CycleType = (typeof CYCLES)[number]['type'];

/** What a new cycle of a type starts with beyond its schema defaults: a valid cycle. */
const CYCLE_STARTERS: Record<string, Record<string, unknown>> = {
  minute: { every_minutes: 30 },
  hour: { every_hours: 1 },
  week: { weekdays: [1] },
  month: { days: [1] },
  cron: { expression: '0 0 * * *' }
};

/** `HH:MM`, 00:00 to 23:59, as the server's `TimeOfDay`. */
export const TIME_OF_DAY = /^([01]\d|2[0-3]):[0-5]\d$/;

const PARAMETER_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PARAMETER_NAME_MAX = 32;
const BUILTIN_PARAMETERS = ['bizdate', 'project', 'taskId', 'instanceId'];

type Schema = Record<string, any>;

function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value));
}

/**
 * The server's schema made fit for rjsf and ajv's default draft: without
 * `$schema` (2020-12 is not ajv's default meta-schema), each `anyOf [X, null]`
 * (pydantic's optional field) as X, and without `discriminator` (the form
 * chooses the cycle's definition itself, see `formSchema`).
 */
export function prepareSchema(serverSchema: JSONSchema7): Schema {
  const schema: Schema = clone(serverSchema);
  delete schema.$schema;
  const walk = (node: any): any => {
    if (Array.isArray(node)) {
      return node.map(walk);
    }
    if (!node || typeof node !== 'object') {
      return node;
    }
    const out: Record<string, any> = {};
    for (const [key, value] of Object.entries(node)) {
      if (key !== 'discriminator') {
        out[key] = walk(value);
      }
    }
    const options = out.anyOf as Schema[] | undefined;
    if (Array.isArray(options)) {
      const kept = options.filter(o => o.type !== 'null');
      if (kept.length === 1 && kept.length < options.length) {
        delete out.anyOf;
        if (out.default === null) {
          delete out.default;
        }
        return { ...kept[0], ...out };
      }
    }
    return out;
  };
  return walk(schema);
}

/** The definition of a cycle type in `$defs`, or undefined. */
export function cycleDef(schema: Schema, type: string): Schema | undefined {
  const entry = CYCLES.find(c => c.type === type);
  return entry ? schema.$defs?.[entry.def] : undefined;
}

/**
 * The form's schema: the prepared schema with the schedule's `cycle` as the
 * definition of the chosen type (required for a recurring task), or without a
 * cycle for a manual task, which is triggered by hand.
 */
export function formSchema(
  prepared: Schema,
  options: { cycleType?: string | null; manual: boolean }
): Schema {
  const schema: Schema = clone(prepared);
  const scheduleDef: Schema | undefined = schema.$defs?.Schedule;
  if (!scheduleDef?.properties) {
    return schema;
  }
  titledEnum(scheduleDef.properties.state, {
    normal: 'Normal',
    dry_run: 'Dry run',
    paused: 'Paused'
  });
  titledEnum(scheduleDef.properties.priority, {
    lowest: 'Lowest',
    low: 'Low',
    medium: 'Medium',
    high: 'High',
    highest: 'Highest'
  });
  const upstream = schema.$defs?.Dependency?.properties?.upstream;
  if (upstream) {
    // picked by name here, not typed as ids
    upstream.description =
      'The tasks whose instance of the same business date must succeed first.';
  }
  // rjsf fills an absent array up to its minItems with empty items: the hour
  // cycle's optional hours would never stay absent (the rules want some)
  delete schema.$defs?.HourCycle?.properties?.hours?.minItems;
  const cycle = scheduleDef.properties.cycle as Schema | undefined;
  if (options.manual) {
    delete scheduleDef.properties.cycle;
    return schema;
  }
  const entry =
    CYCLES.find(c => c.type === options.cycleType) ??
    CYCLES.find(c => c.type === 'day')!;
  scheduleDef.properties.cycle = {
    $ref: `#/$defs/${entry.def}`,
    title: 'Cycle',
    description: cycle?.description
  };
  scheduleDef.required = [
    ...new Set([...(scheduleDef.required ?? []), 'cycle'])
  ];
  return schema;
}

/** An enum as `oneOf` consts with titles: a select with labels in every rjsf version. */
function titledEnum(field: Schema | undefined, titles: Record<string, string>) {
  if (!field || !Array.isArray(field.enum)) {
    return;
  }
  field.oneOf = field.enum.map((value: string) => ({
    const: value,
    title: titles[value] ?? value
  }));
  delete field.enum;
}

/** The value without its `null` members: the form knows no null (stored optional fields are). */
export function withoutNulls<T>(value: T): T {
  if (Array.isArray(value)) {
    return value.map(withoutNulls) as unknown as T;
  }
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, member] of Object.entries(value)) {
      if (member !== null && member !== undefined) {
        out[key] = withoutNulls(member);
      }
    }
    return out as T;
  }
  return value;
}

/**
 * The cycle after the user picks another type: the new type's defaults, a
 * working starter value for its required fields, and what both types share
 * (a time of day, a window).
 */
export function switchCycle(
  prepared: Schema,
  previous: Record<string, unknown> | undefined,
  type: string
): Record<string, unknown> {
  const def = cycleDef(prepared, type);
  const next: Record<string, unknown> = { type };
  for (const [key, field] of Object.entries(def?.properties ?? {})) {
    const fieldSchema = field as Schema;
    if (key === 'type') {
      continue;
    }
    if (
      previous &&
      previous[key] !== undefined &&
      previous[key] !== null &&
      sameKind(fieldSchema, previous[key])
    ) {
      next[key] = previous[key];
    } else if (
      fieldSchema.default !== undefined &&
      fieldSchema.default !== null
    ) {
      next[key] = clone(fieldSchema.default);
    } else if (CYCLE_STARTERS[type]?.[key] !== undefined) {
      next[key] = clone(CYCLE_STARTERS[type][key]);
    }
  }
  return next;
}

/**
 * The configuration with its cycle holding only its type's fields: rjsf fills
 * in the defaults of the schema it had when the type changed (the previous
 * type's), which the new type does not know.
 */
export function cleanCycle(
  prepared: Schema,
  config: ScheduleConfig
): ScheduleConfig {
  const cycle = config?.schedule?.cycle;
  const def =
    cycle && typeof cycle === 'object'
      ? cycleDef(prepared, cycle.type)
      : undefined;
  if (!def?.properties) {
    return config;
  }
  const known = Object.keys(def.properties);
  const stray = Object.keys(cycle).filter(key => !known.includes(key));
  if (!stray.length) {
    return config;
  }
  const kept: Record<string, unknown> = {};
  for (const key of Object.keys(cycle)) {
    if (known.includes(key)) {
      kept[key] = cycle[key];
    }
  }
  return { ...config, schedule: { ...config.schedule, cycle: kept } };
}

function sameKind(schema: Schema, value: unknown): boolean {
  switch (schema.type) {
    case 'string':
      return typeof value === 'string';
    case 'integer':
    case 'number':
      return typeof value === 'number';
    case 'boolean':
      return typeof value === 'boolean';
    case 'array':
      return Array.isArray(value);
    default:
      return false;
  }
}

/** A dotted path (`schedule.cycle.every_minutes`, `parameters.0.name`) as keys. */
export function pathKeys(path: string): string[] {
  return path ? path.split('.').filter(k => k !== '') : [];
}

/**
 * The server's issues as an rjsf error schema: each message under its dotted
 * field path (an issue without a field goes to the root).
 */
export function issuesToErrorSchema(issues: readonly IIssue[]): ErrorSchema {
  const errors: Record<string, any> = {};
  for (const { field, message } of issues) {
    let node = errors;
    for (const key of pathKeys(field)) {
      node = node[key] ??= {};
    }
    (node.__errors ??= []).push(message);
  }
  return errors as ErrorSchema;
}

/** Every message of an error schema with its dotted path, depth first. */
export function errorList(errors: ErrorSchema | undefined): IIssue[] {
  const found: IIssue[] = [];
  const walk = (node: any, path: string[]) => {
    if (!node || typeof node !== 'object') {
      return;
    }
    for (const message of node.__errors ?? []) {
      found.push({ field: path.join('.'), message });
    }
    for (const [key, child] of Object.entries(node)) {
      if (key !== '__errors') {
        walk(child, [...path, key]);
      }
    }
  };
  walk(errors, []);
  return found;
}

/** The section a dotted path is in, or null (the configuration itself). */
export function sectionOf(path: string): SectionKey | null {
  const first = pathKeys(path)[0];
  return SECTIONS.some(s => s.key === first) ? (first as SectionKey) : null;
}

/** How many messages each section has. */
export function countBySection(
  issues: readonly IIssue[]
): Record<SectionKey, number> {
  const counts = {} as Record<SectionKey, number>;
  for (const section of SECTIONS) {
    counts[section.key] = 0;
  }
  for (const issue of issues) {
    const section = sectionOf(issue.field);
    if (section) {
      counts[section] += 1;
    }
  }
  return counts;
}

/** rjsf's `.schedule.cycle.time` or `.parameters.0.name` as a dotted path. */
export function propertyPath(property: string | undefined): string {
  return (property ?? '')
    .replace(/\[['"]?([^\]'"]+)['"]?\]/g, '.$1')
    .replace(/^\./, '');
}

/** The value at a dotted path. */
export function valueAt(value: unknown, path: string): unknown {
  let node: any = value;
  for (const key of pathKeys(path)) {
    if (node === null || typeof node !== 'object') {
      return undefined;
    }
    node = node[key];
  }
  return node;
}

/**
 * The issues still standing after an edit: a server message stays on its field
 * until the user changes that field's value (or anything inside it).
 */
export function keepUnchanged(
  issues: readonly IIssue[],
  before: unknown,
  after: unknown
): IIssue[] {
  return issues.filter(
    ({ field }) =>
      JSON.stringify(valueAt(before, field)) ===
      JSON.stringify(valueAt(after, field))
  );
}

/**
 * The rules of `ScheduleConfig` that its JSON Schema does not carry (pydantic
 * validators), checked as the user types; the server checks them again.
 */
export function ruleIssues(config: ScheduleConfig | undefined): IIssue[] {
  const issues: IIssue[] = [];
  const schedule = config?.schedule ?? {};
  const cycle = schedule.cycle;
  if (
    typeof schedule.effective_from === 'string' &&
    typeof schedule.effective_to === 'string' &&
    schedule.effective_from > schedule.effective_to
  ) {
    issues.push({
      field: 'schedule.effective_to',
      message: `is before the effective date ${schedule.effective_from}`
    });
  }
  if (cycle && typeof cycle === 'object') {
    const windowed =
      cycle.type === 'minute' ||
      (cycle.type === 'hour' && cycle.every_hours !== undefined);
    if (
      windowed &&
      TIME_OF_DAY.test(cycle.start_time ?? '00:00') &&
      TIME_OF_DAY.test(cycle.end_time ?? '23:59') &&
      (cycle.start_time ?? '00:00') > (cycle.end_time ?? '23:59')
    ) {
      issues.push({
        field: 'schedule.cycle.end_time',
        message: `the window ends before it starts (${cycle.start_time})`
      });
    }
    if (cycle.type === 'hour') {
      const every =
        cycle.every_hours !== undefined && cycle.every_hours !== null;
      const hours = Array.isArray(cycle.hours) && cycle.hours.length > 0;
      if (every === hours) {
        issues.push({
          field: 'schedule.cycle',
          message: every
            ? 'give either an interval (every n hours) or chosen hours, not both'
            : 'give an interval (every n hours) or choose hours'
        });
      }
    }
    if (
      cycle.type === 'month' &&
      !(Array.isArray(cycle.days) && cycle.days.length) &&
      !cycle.last_day
    ) {
      issues.push({
        field: 'schedule.cycle.days',
        message: 'choose at least one day of the month, or the last day'
      });
    }
  }
  const upstream: unknown[] = config?.dependency?.upstream ?? [];
  if (new Set(upstream).size !== upstream.length) {
    issues.push({
      field: 'dependency.upstream',
      message: 'an upstream task is listed twice'
    });
  }
  const seen = new Set<string>();
  (config?.parameters ?? []).forEach((parameter: any, index: number) => {
    const name: string = parameter?.name ?? '';
    const field = `parameters.${index}.name`;
    if (!name) {
      return; // "is required" comes from the schema
    }
    if (!PARAMETER_NAME.test(name)) {
      issues.push({
        field,
        message: 'use letters, digits and _, not starting with a digit'
      });
    } else if (name.length > PARAMETER_NAME_MAX) {
      issues.push({
        field,
        message: `at most ${PARAMETER_NAME_MAX} characters (it has ${name.length})`
      });
    } else if (BUILTIN_PARAMETERS.includes(name)) {
      issues.push({
        field,
        message: `\${${name}} is built in and cannot be redefined`
      });
    } else if (seen.has(name)) {
      issues.push({ field, message: `parameter ${name} is defined twice` });
    }
    seen.add(name);
  });
  return issues;
}

/** An rjsf validation error's message, worded for people. */
export function friendlyMessage(error: RJSFValidationError): string {
  const params = (error.params ?? {}) as Record<string, any>;
  switch (error.name) {
    case 'required':
      return 'is required';
    case 'pattern':
      return String(params.pattern ?? '').includes('[0-5]')
        ? 'must be a time of day, HH:MM (00:00 to 23:59)'
        : `must match ${params.pattern}`;
    case 'minimum':
      return `must be at least ${params.limit}`;
    case 'maximum':
      return `must be at most ${params.limit}`;
    case 'type':
      return params.type === 'integer'
        ? 'must be a whole number'
        : `must be ${params.type === 'array' ? 'a list' : `a ${params.type}`}`;
    case 'minItems':
      return params.limit === 1
        ? 'choose at least one'
        : `choose at least ${params.limit}`;
    case 'maxLength':
      return `at most ${params.limit} characters`;
    case 'format':
      return params.format === 'date'
        ? 'must be a date (YYYY-MM-DD)'
        : `must be a ${params.format}`;
    case 'additionalProperties':
      return `${params.additionalProperty} is not a known field`;
    case 'enum':
      return `must be one of ${(params.allowedValues ?? []).join(', ')}`;
    default:
      return error.message ?? 'is invalid';
  }
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** A preview run for display, read off its ISO text (never shifted to the browser's zone). */
export interface IRunView {
  /** `YYYY-MM-DD` */
  date: string;
  /** `HH:MM` (with `:SS` when not 0) */
  time: string;
  /** `+08:00`, `Z` ... */
  offset: string;
  weekday: string;
  /** `YYYY-MM-DD` */
  businessDate: string;
  /** `${bizdate}`: `YYYYMMDD` */
  bizdate: string;
}

export function describeRun(run: {
  scheduled_time: string;
  business_date: string;
}): IRunView {
  const match =
    /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/.exec(
      run.scheduled_time
    );
  const date = match?.[1] ?? run.scheduled_time;
  const seconds = match?.[3] && match[3] !== '00' ? `:${match[3]}` : '';
  const [y, m, d] = date.split('-').map(Number);
  const weekday = match
    ? WEEKDAYS[new Date(Date.UTC(y, m - 1, d)).getUTCDay()]
    : '';
  return {
    date,
    time: match ? `${match[2]}${seconds}` : '',
    offset: match?.[4] ?? '',
    weekday,
    businessDate: run.business_date,
    bizdate: run.business_date.replace(/-/g, '')
  };
}

/** A table a task reads. */
export interface ITableRef {
  datasource: string;
  table: string;
}

/**
 * The tables a draft script's reader names (the "version 2.0" layout, or a
 * DataX job), for finding upstream tasks from lineage; names that hold a
 * parameter (`${...}`) are left out, and so is a `querySql` reader's query.
 */
export function readerTables(
  script: string,
  defaultDatasource: string
): ITableRef[] {
  let parsed: any;
  try {
    parsed = JSON.parse(script);
  } catch {
    return [];
  }
  let parameter: any;
  if (Array.isArray(parsed?.steps)) {
    parameter = parsed.steps.find(
      (s: any) => s?.category === 'reader'
    )?.parameter;
  } else if (Array.isArray(parsed?.job?.content)) {
    parameter = parsed.job.content[0]?.reader?.parameter;
    if (parameter && !parameter.table && Array.isArray(parameter.connection)) {
      parameter = { ...parameter, table: parameter.connection[0]?.table };
    }
  }
  if (!parameter || typeof parameter !== 'object') {
    return [];
  }
  const datasource =
    typeof parameter.datasource === 'string' && parameter.datasource
      ? parameter.datasource
      : defaultDatasource;
  const tables: unknown[] = Array.isArray(parameter.table)
    ? parameter.table
    : typeof parameter.table === 'string'
      ? [parameter.table]
      : typeof parameter.path === 'string'
        ? [parameter.path]
        : [];
  return tables
    .filter(
      (t): t is string => typeof t === 'string' && !!t && !t.includes('${')
    )
    .map(table => ({ datasource, table }));
}

/** An upstream task found from lineage: it writes a table this task reads. */
export interface IFoundUpstream {
  taskId: number;
  /** `datasource:table` ids of the tables it writes that this task reads. */
  tables: string[];
}

/**
 * The tasks whose (submitted) lineage writes one of `tables`: each table-level
 * edge into the table names the task that writes it. Sorted by task id.
 */
export function upstreamFromLineage(
  edges: ReadonlyArray<{ target: string; kind: string; task_id: number }>,
  tables: readonly ITableRef[],
  selfId: number
): IFoundUpstream[] {
  const wanted = new Set(tables.map(t => `${t.datasource}:${t.table}`));
  const found = new Map<number, Set<string>>();
  for (const edge of edges) {
    if (edge.kind !== 'table' || edge.task_id === selfId) {
      continue;
    }
    if (wanted.has(edge.target)) {
      const into = found.get(edge.task_id) ?? new Set<string>();
      into.add(edge.target);
      found.set(edge.task_id, into);
    }
  }
  return [...found.entries()]
    .sort(([a], [b]) => a - b)
    .map(([taskId, into]) => ({ taskId, tables: [...into].sort() }));
}

/** JSON with sorted keys: equal configurations, equal text. */
export function stableJSON(value: unknown): string {
  return JSON.stringify(value, (_key, member) => {
    if (!member || typeof member !== 'object' || Array.isArray(member)) {
      return member;
    }
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(member).sort()) {
      sorted[key] = member[key];
    }
    return sorted;
  });
}

/** rjsf's validation errors, worded for people. */
export function friendlyErrors(
  errors: RJSFValidationError[]
): RJSFValidationError[] {
  return errors.map(error => ({ ...error, message: friendlyMessage(error) }));
}
