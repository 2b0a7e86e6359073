import validator from '@rjsf/validator-ajv8';

import {
  cleanCycle,
  countBySection,
  describeRun,
  errorList,
  formSchema,
  friendlyErrors,
  friendlyMessage,
  issuesToErrorSchema,
  keepUnchanged,
  prepareSchema,
  propertyPath,
  readerTables,
  stableJSON,
  ruleIssues,
  switchCycle,
  upstreamFromLineage,
  withoutNulls
} from '../schedule/logic';

declare const require: (path: string) => any;

/** The server's own schema file (`service/schemas/schedule.schema.json`). */
const SERVER_SCHEMA = require('../../../jupyter_offline_pipeline/service/schemas/schedule.schema.json');

/** A stored configuration as the server returns it (pydantic's dump, nulls included). */
function stored(cycle: Record<string, unknown> | null): Record<string, any> {
  return {
    basic: { developer: 'ann', operation_owner: 'ann', description: '' },
    schedule: {
      state: 'normal',
      effective_from: '1970-01-01',
      effective_to: '9999-12-31',
      priority: 'medium',
      cycle,
      timezone: 'UTC'
    },
    dependency: {
      upstream: [],
      auto_from_lineage: true,
      self_dependent: false
    },
    parameters: [],
    run: {
      timeout_hours: 48,
      rerun_on_timeout: false,
      rerun_on_failure: { count: 1, interval_minutes: 5 }
    }
  };
}

function validate(data: unknown, manual = false) {
  const prepared = prepareSchema(SERVER_SCHEMA);
  const schema = formSchema(prepared, {
    cycleType: (data as any)?.schedule?.cycle?.type,
    manual
  });
  const { errors } = validator.validateFormData(
    data,
    schema as any,
    undefined,
    friendlyErrors
  );
  return errors.map(e => ({
    field: propertyPath(e.property),
    message: e.message
  }));
}

describe('issuesToErrorSchema', () => {
  it('puts each dotted path under its field, several messages in order', () => {
    const errors = issuesToErrorSchema([
      {
        field: 'schedule.cycle.every_minutes',
        message: 'Input should be greater than or equal to 1'
      },
      { field: 'schedule.cycle.every_minutes', message: 'second' },
      { field: 'schedule.timezone', message: "'Mars/Base' is not a time zone" },
      { field: 'parameters.0.name', message: 'invalid parameter name' },
      { field: 'dependency', message: 'a manual task has no dependencies' },
      { field: '', message: 'the configuration is invalid' }
    ]);
    expect(errors).toEqual({
      __errors: ['the configuration is invalid'],
      schedule: {
        cycle: {
          every_minutes: {
            __errors: ['Input should be greater than or equal to 1', 'second']
          }
        },
        timezone: { __errors: ["'Mars/Base' is not a time zone"] }
      },
      parameters: { 0: { name: { __errors: ['invalid parameter name'] } } },
      dependency: { __errors: ['a manual task has no dependencies'] }
    });
  });

  it('round-trips through errorList and counts per section', () => {
    const issues = [
      { field: 'schedule.cycle.time', message: 'a' },
      { field: 'schedule.timezone', message: 'b' },
      { field: 'run.timeout_hours', message: 'c' },
      { field: 'parameters.1.value', message: 'd' }
    ];
    expect(errorList(issuesToErrorSchema(issues))).toEqual(issues);
    expect(countBySection(issues)).toEqual({
      basic: 0,
      schedule: 2,
      dependency: 0,
      parameters: 1,
      run: 1
    });
  });

  it("reads rjsf's property paths", () => {
    expect(propertyPath('.schedule.cycle.every_minutes')).toBe(
      'schedule.cycle.every_minutes'
    );
    expect(propertyPath('.parameters.0.name')).toBe('parameters.0.name');
    expect(propertyPath("['parameters'][1]['name']")).toBe('parameters.1.name');
    expect(propertyPath('')).toBe('');
  });
});

describe('keepUnchanged', () => {
  it("drops a server message once its field's value changes", () => {
    const before = stored({ type: 'minute', every_minutes: 0 });
    const after = JSON.parse(JSON.stringify(before));
    after.schedule.cycle.every_minutes = 5;
    const issues = [
      { field: 'schedule.cycle.every_minutes', message: 'too small' },
      { field: 'schedule.timezone', message: 'unknown zone' },
      { field: 'schedule.cycle', message: 'whole cycle' }
    ];
    expect(keepUnchanged(issues, before, after)).toEqual([
      { field: 'schedule.timezone', message: 'unknown zone' }
    ]);
  });
});

describe("the form's schema from the server's", () => {
  it('validates a stored configuration once its nulls are gone', () => {
    const config = withoutNulls(stored({ type: 'day', time: '02:00' }));
    expect(validate(config)).toEqual([]);
    const hourly = withoutNulls(
      stored({
        type: 'hour',
        every_hours: null,
        start_time: '00:00',
        end_time: '23:59',
        hours: [1, 13],
        minute: 0
      })
    );
    expect(hourly.schedule.cycle).toEqual({
      type: 'hour',
      start_time: '00:00',
      end_time: '23:59',
      hours: [1, 13],
      minute: 0
    });
    expect(validate(hourly)).toEqual([]);
  });

  it('puts a wrong cycle value on its field, worded for people', () => {
    const config = withoutNulls(stored({ type: 'minute', every_minutes: 0 }));
    expect(validate(config)).toEqual([
      { field: 'schedule.cycle.every_minutes', message: 'must be at least 1' }
    ]);
    const weekly = withoutNulls(
      stored({ type: 'week', weekdays: [], time: '2:00' })
    );
    expect(validate(weekly)).toEqual(
      expect.arrayContaining([
        { field: 'schedule.cycle.weekdays', message: 'choose at least one' },
        {
          field: 'schedule.cycle.time',
          message: 'must be a time of day, HH:MM (00:00 to 23:59)'
        }
      ])
    );
    const minute = withoutNulls(stored({ type: 'minute' }));
    expect(validate(minute)).toEqual([
      { field: 'schedule.cycle.every_minutes', message: 'is required' }
    ]);
  });

  it('requires a cycle of a recurring task and has none for a manual one', () => {
    const prepared = prepareSchema(SERVER_SCHEMA);
    const recurring = formSchema(prepared, {
      cycleType: 'week',
      manual: false
    });
    expect(recurring.$defs.Schedule.properties.cycle.$ref).toBe(
      '#/$defs/WeekCycle'
    );
    expect(recurring.$defs.Schedule.required).toContain('cycle');
    // optional hours: no minItems for rjsf to fill up (ruleIssues wants some)
    expect(recurring.$defs.HourCycle.properties.hours.minItems).toBeUndefined();
    expect(recurring.$defs.Schedule.properties.state.oneOf[1]).toEqual({
      const: 'dry_run',
      title: 'Dry run'
    });
    const manual = formSchema(prepared, { cycleType: null, manual: true });
    expect(manual.$defs.Schedule.properties.cycle).toBeUndefined();
    expect(validate(withoutNulls(stored(null)), true)).toEqual([]);
    expect(prepared.$schema).toBeUndefined();
    expect(JSON.stringify(prepared)).not.toContain('discriminator');
    expect(JSON.stringify(prepared)).not.toContain('"null"');
  });
});

describe('switchCycle', () => {
  const prepared = prepareSchema(SERVER_SCHEMA);

  it('starts a type with its defaults and keeps what both types share', () => {
    expect(
      switchCycle(prepared, { type: 'day', time: '02:00' }, 'week')
    ).toEqual({
      type: 'week',
      weekdays: [1],
      time: '02:00'
    });
    expect(
      switchCycle(
        prepared,
        { type: 'week', weekdays: [3], time: '02:00' },
        'minute'
      )
    ).toEqual({
      type: 'minute',
      every_minutes: 30,
      start_time: '00:00',
      end_time: '23:59'
    });
    expect(switchCycle(prepared, undefined, 'cron')).toEqual({
      type: 'cron',
      expression: '0 0 * * *'
    });
    expect(
      switchCycle(
        prepared,
        {
          type: 'minute',
          every_minutes: 5,
          start_time: '08:00',
          end_time: '18:00'
        },
        'hour'
      )
    ).toEqual({
      type: 'hour',
      every_hours: 1,
      start_time: '08:00',
      end_time: '18:00',
      minute: 0
    });
  });

  it("drops the fields of the type it had (rjsf's defaults of the old schema)", () => {
    const config = stored({ type: 'minute', every_minutes: 5, time: '00:00' });
    expect(cleanCycle(prepared, config).schedule.cycle).toEqual({
      type: 'minute',
      every_minutes: 5
    });
    const clean = stored({ type: 'day', time: '02:00' });
    expect(cleanCycle(prepared, clean)).toBe(clean);
    expect(cleanCycle(prepared, stored(null))).toEqual(stored(null));
  });

  it('makes a cycle the schema accepts', () => {
    for (const type of ['minute', 'hour', 'day', 'week', 'month', 'cron']) {
      const config = withoutNulls(
        stored(switchCycle(prepared, undefined, type))
      );
      expect([type, validate(config)]).toEqual([type, []]);
    }
  });
});

describe('ruleIssues', () => {
  it("checks what the schema cannot say, on the server's field paths", () => {
    const config = withoutNulls(
      stored({
        type: 'minute',
        every_minutes: 5,
        start_time: '18:00',
        end_time: '08:00'
      })
    );
    config.schedule.effective_from = '2027-01-01';
    config.schedule.effective_to = '2026-01-01';
    config.dependency.upstream = [4, 4];
    config.parameters = [
      { name: 'region', value: 'eu' },
      { name: 'region', value: 'us' },
      { name: '9lives', value: '' },
      { name: 'bizdate', value: '' }
    ];
    expect(ruleIssues(config).map(i => i.field)).toEqual([
      'schedule.effective_to',
      'schedule.cycle.end_time',
      'dependency.upstream',
      'parameters.1.name',
      'parameters.2.name',
      'parameters.3.name'
    ]);
  });

  it('wants an interval or hours in an hour cycle, and a day in a month cycle', () => {
    const both = stored({ type: 'hour', every_hours: 2, hours: [3] });
    expect(ruleIssues(both)).toEqual([
      {
        field: 'schedule.cycle',
        message:
          'give either an interval (every n hours) or chosen hours, not both'
      }
    ]);
    const month = stored({ type: 'month', days: [], last_day: false });
    expect(ruleIssues(month).map(i => i.field)).toEqual([
      'schedule.cycle.days'
    ]);
    expect(
      ruleIssues(stored({ type: 'month', days: [], last_day: true }))
    ).toEqual([]);
  });
});

describe('friendlyMessage', () => {
  it('says the rule rather than the keyword', () => {
    const error = (name: string, params: Record<string, unknown>) =>
      friendlyMessage({
        name,
        params,
        message: 'raw',
        stack: '',
        property: '',
        schemaPath: ''
      } as any);
    expect(error('required', { missingProperty: 'x' })).toBe('is required');
    expect(error('maximum', { limit: 59 })).toBe('must be at most 59');
    expect(error('type', { type: 'integer' })).toBe('must be a whole number');
    expect(error('format', { format: 'date' })).toBe(
      'must be a date (YYYY-MM-DD)'
    );
    expect(error('unknown', {})).toBe('raw');
  });
});

describe('describeRun', () => {
  it("reads the run in the schedule's own zone, never the browser's", () => {
    expect(
      describeRun({
        scheduled_time: '2026-11-28T02:00:00+08:00',
        business_date: '2026-11-27'
      })
    ).toEqual({
      date: '2026-11-28',
      time: '02:00',
      offset: '+08:00',
      weekday: 'Sat',
      businessDate: '2026-11-27',
      bizdate: '20261127'
    });
    expect(
      describeRun({
        scheduled_time: '2026-03-01T00:30:15Z',
        business_date: '2026-02-28'
      }).time
    ).toBe('00:30:15');
  });
});

describe('dependencies from lineage', () => {
  it("reads the draft reader's tables", () => {
    const script = JSON.stringify({
      type: 'job',
      version: '2.0',
      steps: [
        {
          stepType: 'sqlite',
          category: 'reader',
          name: 'Reader',
          parameter: {
            datasource: 'shop',
            table: ['orders', 'orders_${bizdate}']
          }
        },
        {
          stepType: 'sqlite',
          category: 'writer',
          name: 'Writer',
          parameter: { datasource: 'dw', table: 'ods' }
        }
      ]
    });
    expect(readerTables(script, 'fallback')).toEqual([
      { datasource: 'shop', table: 'orders' }
    ]);
    expect(readerTables('{not json', 'x')).toEqual([]);
    const datax = JSON.stringify({
      job: {
        content: [
          {
            reader: {
              name: 'mysqlreader',
              parameter: { connection: [{ table: ['t1'] }] }
            }
          }
        ]
      }
    });
    expect(readerTables(datax, 'src')).toEqual([
      { datasource: 'src', table: 't1' }
    ]);
  });

  it('finds the tasks writing a table the task reads', () => {
    const edges = [
      { source: 'app:raw', target: 'shop:orders', kind: 'table', task_id: 3 },
      {
        source: 'app:raw.id',
        target: 'shop:orders.id',
        kind: 'column',
        task_id: 3
      },
      { source: 'app:other', target: 'shop:orders', kind: 'table', task_id: 5 },
      { source: 'shop:orders', target: 'dw:ods', kind: 'table', task_id: 9 },
      { source: 'x:y', target: 'shop:customers', kind: 'table', task_id: 4 }
    ];
    expect(
      upstreamFromLineage(edges, [{ datasource: 'shop', table: 'orders' }], 9)
    ).toEqual([
      { taskId: 3, tables: ['shop:orders'] },
      { taskId: 5, tables: ['shop:orders'] }
    ]);
    expect(
      upstreamFromLineage(edges, [{ datasource: 'shop', table: 'orders' }], 3)
    ).toEqual([{ taskId: 5, tables: ['shop:orders'] }]);
  });
});

describe('stableJSON', () => {
  it('ignores the order of keys', () => {
    expect(stableJSON({ b: 1, a: { d: [2, { f: 1, e: 0 }], c: 3 } })).toBe(
      stableJSON({ a: { c: 3, d: [2, { e: 0, f: 1 }] }, b: 1 })
    );
  });
});
