/**
 * The schedule form's own widgets and templates, for rjsf inside JupyterLab's
 * `FormComponent`: the section tabs, the cycle type select, times of day, time
 * zones, day grids (weekdays, hours, days of the month) and the upstream task
 * picker with the tasks found from lineage.
 */
import type {
  FieldProps,
  ObjectFieldTemplateProps,
  WidgetProps
} from '@rjsf/utils';
import * as React from 'react';

import type { ITask } from '../types';
import {
  CYCLES,
  IFoundUpstream,
  SECTIONS,
  SectionKey,
  cycleDef,
  switchCycle
} from './logic';

/** What the form's templates and widgets read besides the data: see `ScheduleModel`. */
export interface IScheduleFormContext {
  activeTab: SectionKey;
  selectTab: (key: SectionKey) => void;
  /** Messages per section (the tab badges). */
  counts: Record<SectionKey, number>;
  /** The prepared schema, for the cycles' definitions. */
  prepared: Record<string, any>;
  /** The project's other tasks, upstream candidates. */
  tasks: readonly ITask[];
  /** Names of tasks outside the project's list (upstream in other projects). */
  names: ReadonlyMap<number, string>;
  /** Upstream tasks found from lineage; null while loading. */
  found: readonly IFoundUpstream[] | null;
  /** The tables the draft reads, `datasource:table`. */
  readTables: readonly string[];
  manual: boolean;
}

function context(props: { formContext?: any; registry?: any }) {
  return (props.formContext ??
    props.registry?.formContext) as IScheduleFormContext;
}

/** The root object: one tab per section, a badge with its number of messages. */
export function SectionTabs(props: ObjectFieldTemplateProps): JSX.Element {
  const ctx = context(props);
  const byName = new Map(props.properties.map(p => [p.name, p]));
  return (
    <div className="jp-pipeline-Schedule-tabs">
      <div
        className="jp-pipeline-Schedule-tabBar"
        role="tablist"
        aria-label="Schedule configuration sections"
      >
        {SECTIONS.filter(s => byName.has(s.key)).map(section => {
          const count = ctx.counts[section.key] ?? 0;
          const active = section.key === ctx.activeTab;
          return (
            <button
              key={section.key}
              type="button"
              role="tab"
              id={`jp-pipeline-schedule-tab-${section.key}`}
              data-section={section.key}
              aria-selected={active}
              className={`jp-pipeline-Schedule-tab${active ? ' jp-mod-active' : ''}${count ? ' jp-mod-error' : ''}`}
              onClick={() => ctx.selectTab(section.key)}
            >
              {section.title}
              {count > 0 && (
                <span
                  className="jp-pipeline-Schedule-tabBadge"
                  title={`${count} problem${count > 1 ? 's' : ''}`}
                >
                  {count}
                </span>
              )}
            </button>
          );
        })}
      </div>
      {props.properties.map(property => (
        <div
          key={property.name}
          role="tabpanel"
          data-section={property.name}
          aria-labelledby={`jp-pipeline-schedule-tab-${property.name}`}
          className="jp-pipeline-Schedule-tabPanel"
          hidden={property.name !== ctx.activeTab}
        >
          {property.content}
        </div>
      ))}
    </div>
  );
}

/**
 * The schedule's cycle: a type select, then the chosen type's fields (the
 * form's schema holds that type's definition; `type` itself is this select).
 */
export function CycleField(props: FieldProps): JSX.Element {
  const ctx = context(props);
  const { registry, schema, uiSchema, formData, errorSchema, idSchema } = props;
  const type: string = formData?.type ?? '';
  const SchemaField = registry.fields.SchemaField;
  const { type: _type, ...properties } = (schema.properties ?? {}) as Record<
    string,
    any
  >;
  const shown = {
    ...schema,
    title: '',
    description: '',
    properties,
    required: (schema.required ?? []).filter(k => k !== 'type')
  };
  delete (shown as any).additionalProperties;
  const { 'ui:field': _field, ...rest } = (uiSchema ?? {}) as Record<
    string,
    any
  >;
  const selectId = `${idSchema.$id}_type`;
  const def = cycleDef(ctx.prepared, type);
  const typeDoc = def?.properties?.type?.description ?? def?.description ?? '';
  return (
    <div className="jp-pipeline-Schedule-cycle">
      <div className="form-group small-field jp-pipeline-Schedule-cycleType">
        <div className="jp-FormGroup-content jp-FormGroup-contentNormal">
          <h3 className="jp-FormGroup-fieldLabel jp-FormGroup-contentItem">
            <label htmlFor={selectId}>Cycle</label>
          </h3>
          <div className="jp-inputFieldWrapper jp-FormGroup-contentItem">
            <select
              id={selectId}
              className="form-control"
              aria-label="Cycle type"
              value={type}
              disabled={props.disabled || props.readonly}
              onChange={event =>
                props.onChange(
                  switchCycle(
                    ctx.prepared,
                    formData,
                    event.currentTarget.value
                  ) as any
                )
              }
            >
              {!type && <option value="">Choose a cycle…</option>}
              {CYCLES.map(c => (
                <option key={c.type} value={c.type}>
                  {c.label}
                </option>
              ))}
            </select>
          </div>
          {typeDoc && <div className="jp-FormGroup-description">{typeDoc}</div>}
        </div>
      </div>
      {type && (
        <SchemaField
          {...props}
          name={props.name}
          schema={shown}
          uiSchema={{ ...rest, 'ui:title': '' }}
          errorSchema={withoutOwnErrors(errorSchema)}
        />
      )}
    </div>
  );
}

function withoutOwnErrors(errors: any): any {
  if (!errors) {
    return errors;
  }
  const { __errors: _own, ...rest } = errors;
  return rest;
}

/** A time of day, `HH:MM` (the browser's time input with minute steps). */
export function TimeWidget(props: WidgetProps): JSX.Element {
  return (
    <input
      id={props.id}
      className="form-control jp-pipeline-Schedule-time"
      type="time"
      step={60}
      value={props.value ?? ''}
      required={props.required}
      disabled={props.disabled || props.readonly}
      onChange={event => props.onChange(event.target.value || undefined)}
      onBlur={() => props.onBlur(props.id, props.value)}
      onFocus={() => props.onFocus(props.id, props.value)}
    />
  );
}

let zones: string[] | null = null;

/** The IANA time zones the browser knows (the server decides: a zone it lacks is its message). */
function timeZones(): string[] {
  if (!zones) {
    const supported = (Intl as any).supportedValuesOf?.('timeZone') as
      string[] | undefined;
    zones = [...new Set(['UTC', ...(supported ?? [])])];
  }
  return zones;
}

/** A time zone: free text with the known IANA names offered. */
export function TimezoneWidget(props: WidgetProps): JSX.Element {
  const listId = `${props.id}_zones`;
  return (
    <>
      <input
        id={props.id}
        className="form-control"
        type="text"
        list={listId}
        autoComplete="off"
        spellCheck={false}
        placeholder="e.g. Asia/Shanghai"
        value={props.value ?? ''}
        disabled={props.disabled || props.readonly}
        onChange={event => props.onChange(event.target.value || undefined)}
        onBlur={() => props.onBlur(props.id, props.value)}
        onFocus={() => props.onFocus(props.id, props.value)}
      />
      <datalist id={listId}>
        {timeZones().map(zone => (
          <option key={zone} value={zone} />
        ))}
      </datalist>
    </>
  );
}

const GRIDS: Record<string, Array<{ value: number; label: string }>> = {
  weekdays: ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'].map(
    (label, i) => ({ value: i + 1, label })
  ),
  hours: Array.from({ length: 24 }, (_, h) => ({
    value: h,
    label: String(h).padStart(2, '0')
  })),
  monthdays: Array.from({ length: 31 }, (_, d) => ({
    value: d + 1,
    label: String(d + 1)
  }))
};

/**
 * A set of small numbers as checkboxes: weekdays (1 is Monday), hours or days
 * of the month; `ui:options.grid` names which, `emptyAsUndefined` leaves an
 * empty choice out (an optional list, such as the hour cycle's hours).
 */
export function DayGridWidget(props: WidgetProps): JSX.Element {
  const grid = String(props.options.grid ?? 'weekdays');
  const choices = GRIDS[grid] ?? GRIDS.weekdays;
  const chosen = new Set<number>(Array.isArray(props.value) ? props.value : []);
  const toggle = (value: number, on: boolean) => {
    const next = new Set(chosen);
    if (on) {
      next.add(value);
    } else {
      next.delete(value);
    }
    const sorted = [...next].sort((a, b) => a - b);
    props.onChange(
      sorted.length === 0 && props.options.emptyAsUndefined ? undefined : sorted
    );
  };
  return (
    <div
      id={props.id}
      role="group"
      aria-label={props.label}
      className={`jp-pipeline-Schedule-grid jp-mod-${grid}`}
    >
      {choices.map(choice => (
        <label
          key={choice.value}
          className={`jp-pipeline-Schedule-gridItem${chosen.has(choice.value) ? ' jp-mod-checked' : ''}`}
        >
          <input
            type="checkbox"
            id={`${props.id}_${choice.value}`}
            value={choice.value}
            checked={chosen.has(choice.value)}
            disabled={props.disabled || props.readonly}
            onChange={event => toggle(choice.value, event.target.checked)}
          />
          <span>{choice.label}</span>
        </label>
      ))}
    </div>
  );
}

/** The upstream tasks, picked by name from the project's tasks. */
export function UpstreamWidget(props: WidgetProps): JSX.Element {
  const ctx = context(props);
  const chosen: number[] = Array.isArray(props.value) ? props.value : [];
  const byId = new Map(ctx.tasks.map(t => [t.id, t]));
  const nameOf = (id: number) =>
    byId.get(id)?.name ?? ctx.names.get(id) ?? `task #${id}`;
  const candidates = ctx.tasks.filter(t => !chosen.includes(t.id));
  const disabled = props.disabled || props.readonly || ctx.manual;
  return (
    <div id={props.id} className="jp-pipeline-Schedule-upstream">
      <h3 className="jp-FormGroup-fieldLabel jp-pipeline-Schedule-widgetLabel">
        {props.label || 'Upstream tasks'}
      </h3>
      {chosen.length === 0 ? (
        <div className="jp-pipeline-Schedule-none">
          {ctx.manual
            ? 'A manual task has no dependencies.'
            : 'No upstream task chosen by hand.'}
        </div>
      ) : (
        <ul className="jp-pipeline-Schedule-chips" aria-label="Upstream tasks">
          {chosen.map(id => (
            <li
              key={id}
              className="jp-pipeline-Schedule-chip"
              data-task-id={id}
            >
              <span>{nameOf(id)}</span>
              {byId.get(id)?.schedule_type === 'manual' && (
                <span className="jp-pipeline-Schedule-hint"> (manual)</span>
              )}
              <button
                type="button"
                className="jp-pipeline-Schedule-chipRemove"
                aria-label={`Remove upstream task ${nameOf(id)}`}
                title="Remove"
                disabled={disabled}
                onClick={() => props.onChange(chosen.filter(c => c !== id))}
              >
                ×
              </button>
            </li>
          ))}
        </ul>
      )}
      {!ctx.manual && (
        <select
          className="form-control jp-pipeline-Schedule-addUpstream"
          aria-label="Add an upstream task"
          value=""
          disabled={disabled || candidates.length === 0}
          onChange={event => {
            const id = Number(event.currentTarget.value);
            if (id) {
              props.onChange([...chosen, id]);
            }
          }}
        >
          <option value="">
            {candidates.length
              ? 'Add an upstream task…'
              : 'No other task in this project'}
          </option>
          {candidates.map(t => (
            <option key={t.id} value={String(t.id)}>
              {t.name}
              {t.schedule_type === 'manual' ? ' (manual)' : ''}
            </option>
          ))}
        </select>
      )}
    </div>
  );
}

/** `auto_from_lineage`, with the tasks lineage finds: those writing a table this task reads. */
export function LineageUpstreamWidget(props: WidgetProps): JSX.Element {
  const ctx = context(props);
  const byId = new Map(ctx.tasks.map(t => [t.id, t.name]));
  const nameOf = (id: number) =>
    byId.get(id) ?? ctx.names.get(id) ?? `task #${id}`;
  const on = props.value !== false;
  return (
    <div className="jp-pipeline-Schedule-lineage">
      <label className="jp-pipeline-Schedule-check">
        <input
          id={props.id}
          type="checkbox"
          checked={on}
          disabled={props.disabled || props.readonly}
          onChange={event => props.onChange(event.target.checked)}
        />
        <span>Depend on the tasks found from lineage</span>
      </label>
      <div
        className={`jp-pipeline-Schedule-found${on ? '' : ' jp-mod-off'}`}
        aria-label="Upstream tasks found from lineage"
      >
        {ctx.found === null ? (
          <span className="jp-pipeline-Schedule-none">Looking up lineage…</span>
        ) : ctx.found.length === 0 ? (
          <span className="jp-pipeline-Schedule-none">
            {ctx.readTables.length
              ? `No submitted task writes ${ctx.readTables.join(', ')}.`
              : 'The script names no table to look up.'}
          </span>
        ) : (
          <ul className="jp-pipeline-Schedule-chips">
            {ctx.found.map(f => (
              <li
                key={f.taskId}
                className="jp-pipeline-Schedule-chip jp-mod-found"
                data-task-id={f.taskId}
                title={`writes ${f.tables.join(', ')}`}
              >
                <span>{nameOf(f.taskId)}</span>
                <span className="jp-pipeline-Schedule-hint">
                  {' '}
                  writes{' '}
                  {f.tables
                    .map(t => t.split(':').slice(1).join(':'))
                    .join(', ')}
                </span>
              </li>
            ))}
          </ul>
        )}
      </div>
    </div>
  );
}
