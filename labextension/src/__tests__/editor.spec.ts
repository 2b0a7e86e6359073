import { ServerConnection } from '@jupyterlab/services';
import type { JSONSchema7 } from 'json-schema';

import { ScriptsAPI, taskParameters } from '../api/scripts';
import { Debouncer } from '../editor/debounce';
import {
  countBySeverity,
  fromEditor,
  fromServer,
  IProblem,
  limitMessage,
  limitProblem,
  lineStarts,
  mergeDiagnostics,
  offsetAt,
  positionAt,
  refuseGrowth,
  SCRIPT_LIMIT,
  summary,
  tokenEnd
} from '../editor/diagnostics';
import {
  PipelineDrive,
  taskIdOfLocalPath,
  taskIdOfPath,
  taskPath,
  textHash
} from '../editor/drive';
import { withDatasourceNames } from '../editor/schema';
import { defaultPair, diffLineKind } from '../editor/versions';
import {
  bizdateProblem,
  changedParameters,
  yesterday
} from '../editor/runParams';

const SCRIPT = [
  '{',
  '  "type": "job",',
  '  "steps": [',
  '    {"stepType": "sqlite", "parameter": {"datasource": "shop"}}',
  '  ]',
  '}'
].join('\n');

function problem(over: Partial<IProblem>): IProblem {
  return {
    from: 0,
    to: 1,
    severity: 'error',
    message: 'm',
    line: 1,
    column: 1,
    source: 'schema',
    pointer: '',
    origin: 'editor',
    ...over
  };
}

describe('positions', () => {
  it('maps 1-based lines and columns to offsets and back', () => {
    const offset = offsetAt(SCRIPT, 2, 3);
    expect(SCRIPT.slice(offset, offset + 6)).toBe('"type"');
    expect(positionAt(SCRIPT, offset)).toEqual({ line: 2, column: 3 });
    const ds = SCRIPT.indexOf('"shop"');
    const { line, column } = positionAt(SCRIPT, ds);
    expect(line).toBe(4);
    expect(offsetAt(SCRIPT, line, column)).toBe(ds);
    expect(offsetAt(SCRIPT, 1, 1)).toBe(0);
  });

  it('clamps positions outside the text', () => {
    expect(offsetAt(SCRIPT, 2, 500)).toBe(SCRIPT.indexOf('\n', 2));
    expect(offsetAt(SCRIPT, 99, 1)).toBe(SCRIPT.lastIndexOf('\n') + 1);
    expect(offsetAt(SCRIPT, 0, 0)).toBe(0);
    expect(offsetAt('', 3, 3)).toBe(0);
    expect(positionAt(SCRIPT, 10 ** 6).line).toBe(6);
  });

  it('counts columns in characters as the server does (astral characters are one)', () => {
    const text = '{"a": "😀😀", "b": 1}';
    // the server's column of "b": code points, not UTF-16 units
    const column = [...text.slice(0, text.indexOf('"b"'))].length + 1;
    expect(offsetAt(text, 1, column)).toBe(text.indexOf('"b"'));
    expect(positionAt(text, text.indexOf('"b"'))).toEqual({ line: 1, column });
  });

  it('splits lines on \\n only, as the server does', () => {
    expect(lineStarts('a\r\nb\nc')).toEqual([0, 3, 5]);
  });

  it('finds the end of the token a diagnostic points at', () => {
    const at = SCRIPT.indexOf('"shop"');
    expect(SCRIPT.slice(at, tokenEnd(SCRIPT, at))).toBe('"shop"');
    const escaped = '{"a": "x\\"y", "b": true}';
    const from = escaped.indexOf('"x');
    expect(escaped.slice(from, tokenEnd(escaped, from))).toBe('"x\\"y"');
    const literal = escaped.indexOf('true');
    expect(escaped.slice(literal, tokenEnd(escaped, literal))).toBe('true');
    expect(tokenEnd(SCRIPT, 0)).toBe(1); // punctuation: one character
    expect(tokenEnd(SCRIPT, SCRIPT.indexOf('\n'))).toBe(SCRIPT.indexOf('\n'));
    expect(tokenEnd(SCRIPT, SCRIPT.length)).toBe(SCRIPT.length);
    expect(tokenEnd('"open\nx', 0)).toBe(5); // an unclosed string stops at its line's end
  });
});

describe('diagnostics', () => {
  const serverDiagnostics = [
    {
      severity: 'error' as const,
      message: "data source 'shop' does not exist",
      pointer: '/steps/0/parameter/datasource',
      line: 4,
      column: SCRIPT.split('\n')[3].indexOf('"shop"') + 1,
      source: 'catalog'
    },
    {
      severity: 'warning' as const,
      message: 'no order',
      pointer: '',
      line: 1,
      column: 1,
      source: 'script'
    }
  ];

  it('places the server diagnostics over their token', () => {
    const [catalog, order] = fromServer(SCRIPT, serverDiagnostics);
    expect(SCRIPT.slice(catalog.from, catalog.to)).toBe('"shop"');
    expect(catalog).toMatchObject({
      line: 4,
      source: 'catalog',
      origin: 'server',
      pointer: '/steps/0/parameter/datasource'
    });
    expect(order).toMatchObject({ from: 0, to: 1, severity: 'warning' });
  });

  it("takes the editor's diagnostics with their line and column", () => {
    const at = SCRIPT.indexOf('"type"');
    const [p] = fromEditor(SCRIPT, [
      { from: at, to: at + 6, severity: 'hint', message: 'x' }
    ]);
    expect(p).toMatchObject({
      line: 2,
      column: 3,
      severity: 'error',
      origin: 'editor',
      source: 'schema'
    });
  });

  it("merges: the server's wins where both start, the editor's others stay, text order", () => {
    const server = fromServer(SCRIPT, serverDiagnostics);
    const at = SCRIPT.indexOf('"shop"');
    const editor = [
      problem({ from: at, to: at + 6, message: 'Expected one of ...' }),
      problem({ from: 20, to: 24, message: 'only the editor knows' })
    ];
    const merged = mergeDiagnostics(editor, server);
    expect(merged.map(p => p.message)).toEqual([
      'no order',
      'only the editor knows',
      "data source 'shop' does not exist"
    ]);
  });

  it('drops exact duplicates and orders errors first at one place', () => {
    const a = problem({ from: 5, severity: 'warning', message: 'w' });
    const b = problem({ from: 5, severity: 'error', message: 'e' });
    const merged = mergeDiagnostics([a, { ...a }, b], []);
    expect(merged.map(p => p.message)).toEqual(['e', 'w']);
  });

  it('counts and summarises', () => {
    const list = [
      problem({}),
      problem({ severity: 'warning' }),
      problem({ severity: 'error' })
    ];
    expect(countBySeverity(list)).toEqual({ error: 2, warning: 1, info: 0 });
    expect(summary(list)).toBe('2 errors, 1 warning');
    expect(summary([])).toBe('No problems');
  });
});

describe('the 500000-character limit', () => {
  it('is SPEC section 4', () => {
    expect(SCRIPT_LIMIT).toBe(500000);
  });

  it('says how many characters are too many', () => {
    expect(limitMessage(SCRIPT_LIMIT)).toBeNull();
    expect(limitMessage(SCRIPT_LIMIT + 3)).toBe(
      'The script has 500003 characters: at most 500000 are allowed. Remove 3 to save and validate it.'
    );
  });

  it('marks the text past the limit', () => {
    expect(limitProblem('abc', 5)).toBeNull();
    const p = limitProblem('ab\ncdefg', 5)!;
    expect(p).toMatchObject({
      from: 5,
      to: 8,
      line: 2,
      column: 3,
      severity: 'error',
      source: 'limit'
    });
  });

  it('refuses growth past it but lets a text over it shrink', () => {
    expect(refuseGrowth(10, 11, 10)).toBe(true);
    expect(refuseGrowth(10, 10, 10)).toBe(false);
    expect(refuseGrowth(20, 15, 10)).toBe(false);
    expect(refuseGrowth(5, 9, 10)).toBe(false);
  });
});

describe('Debouncer', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('calls once after the quiet time, each call restarting it', () => {
    const fn = jest.fn();
    const debouncer = new Debouncer(fn, 500);
    debouncer.invoke();
    jest.advanceTimersByTime(400);
    debouncer.invoke();
    jest.advanceTimersByTime(400);
    expect(fn).not.toHaveBeenCalled();
    expect(debouncer.pending).toBe(true);
    jest.advanceTimersByTime(100);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(debouncer.pending).toBe(false);
  });

  it('flushes a pending call at once, cancels, and stops when disposed', () => {
    const fn = jest.fn();
    const debouncer = new Debouncer(fn, 500);
    debouncer.flush();
    expect(fn).not.toHaveBeenCalled();
    debouncer.invoke();
    debouncer.flush();
    expect(fn).toHaveBeenCalledTimes(1);
    jest.advanceTimersByTime(1000);
    expect(fn).toHaveBeenCalledTimes(1);
    debouncer.invoke();
    debouncer.cancel();
    jest.advanceTimersByTime(1000);
    expect(fn).toHaveBeenCalledTimes(1);
    debouncer.dispose();
    debouncer.invoke();
    jest.advanceTimersByTime(1000);
    expect(fn).toHaveBeenCalledTimes(1);
  });
});

describe('schema for completion', () => {
  const schema: JSONSchema7 = {
    type: 'object',
    properties: { steps: { type: 'array', items: { $ref: '#/$defs/P' } } },
    $defs: {
      P: {
        type: 'object',
        properties: {
          datasource: { type: 'string' },
          other: { type: 'string' }
        }
      },
      F: {
        type: 'object',
        properties: {
          datasource: { anyOf: [{ type: 'string' }, { type: 'null' }] }
        }
      }
    }
  } as JSONSchema7;

  it('offers the data source names as examples of every datasource property', () => {
    const named = withDatasourceNames(schema, [
      { name: 'warehouse', type: 'sqlite' },
      { name: 'shop', type: 'sqlite' },
      { name: 'shop', type: 'sqlite' }
    ]) as any;
    expect(named.$defs.P.properties.datasource.examples).toEqual([
      'shop',
      'warehouse'
    ]);
    expect(named.$defs.F.properties.datasource.anyOf[0].examples).toEqual([
      'shop',
      'warehouse'
    ]);
    expect(
      named.$defs.F.properties.datasource.anyOf[1].examples
    ).toBeUndefined();
    expect(named.$defs.P.properties.other.examples).toBeUndefined();
    expect(
      (schema as any).$defs.P.properties.datasource.examples
    ).toBeUndefined();
  });
});

describe('task documents', () => {
  it('have paths on the Pipeline drive named by the task', () => {
    expect(taskPath(12, 'orders daily')).toBe('Pipeline:tasks/12/orders daily');
    expect(taskIdOfPath('Pipeline:tasks/12/orders daily')).toBe(12);
    expect(taskIdOfPath('tasks/12/x.pipeline.json')).toBeNull();
    expect(taskIdOfLocalPath('tasks/7')).toBe(7);
    expect(taskIdOfLocalPath('tasks/x/7')).toBeNull();
  });

  it('hash their text', () => {
    expect(textHash('')).toBe('811c9dc5');
    expect(textHash('a')).toBe('e40c292c');
    expect(textHash(SCRIPT)).not.toBe(textHash(SCRIPT + ' '));
  });

  it("take the schedule's custom parameters", () => {
    expect(
      taskParameters({
        schedule: {
          parameters: [{ name: 'region', value: 'eu' }, { name: 'day' }]
        }
      })
    ).toEqual({ region: 'eu', day: '' });
    expect(taskParameters({ schedule: {} })).toEqual({});
    expect(taskParameters(null)).toEqual({});
  });
});

describe('PipelineDrive', () => {
  const task = {
    id: 3,
    name: 'orders',
    project_id: 1,
    folder_id: 1,
    description: '',
    schedule_type: 'recurring',
    status: 'draft',
    source_type: 'sqlite',
    source_datasource: 'shop',
    target_type: 'sqlite',
    target_datasource: 'warehouse',
    owner: 'me',
    deleted: false,
    created_at: '2026-01-01T00:00:00Z',
    updated_at: '2026-01-02T00:00:00Z',
    script: SCRIPT,
    schedule: { parameters: [{ name: 'p', value: '1' }] }
  };

  function drive() {
    const calls: Array<{ url: string; method: string; body: any }> = [];
    const fetch = async (input: RequestInfo, init?: RequestInit) => {
      const request = new Request(input, init);
      const text = await request.text();
      const body = text ? JSON.parse(text) : undefined;
      // without the cache-busting query ServerConnection adds to GETs
      calls.push({
        url: request.url.split('?')[0],
        method: request.method,
        body
      });
      const answer =
        request.method === 'PUT' ? { ...task, script: body.script } : task;
      return new Response(JSON.stringify(answer), { status: 200 });
    };
    const settings = ServerConnection.makeSettings({
      baseUrl: 'http://localhost:8888/',
      fetch,
      Request,
      Headers
    });
    return { drive: new PipelineDrive(new ScriptsAPI(settings)), calls };
  }

  it('reads a task as a text file with a hash of its script', async () => {
    const { drive: d, calls } = drive();
    const model = await d.get('tasks/3/orders');
    expect(calls[0]).toMatchObject({
      url: 'http://localhost:8888/pipeline/api/tasks/3',
      method: 'GET'
    });
    expect(model).toMatchObject({
      name: 'orders',
      path: 'tasks/3/orders',
      type: 'file',
      format: 'text',
      content: SCRIPT,
      writable: true,
      hash: textHash(SCRIPT),
      last_modified: task.updated_at
    });
    expect(d.task(3)?.schedule).toEqual(task.schedule);
  });

  it('saves the draft with PUT /tasks/{id}/script', async () => {
    const { drive: d, calls } = drive();
    const changed: unknown[] = [];
    d.fileChanged.connect((_, args) => changed.push(args.type));
    const model = await d.save('tasks/3/orders', {
      type: 'file',
      format: 'text',
      content: '{}'
    });
    expect(calls[0]).toMatchObject({
      url: 'http://localhost:8888/pipeline/api/tasks/3/script',
      method: 'PUT',
      body: { script: '{}' }
    });
    expect(model.hash).toBe(textHash('{}'));
    expect(changed).toEqual(['save']);
  });

  it('refuses a script over the limit without asking the server', async () => {
    const { drive: d, calls } = drive();
    await expect(
      d.save('tasks/3/orders', { content: 'x'.repeat(SCRIPT_LIMIT + 1) })
    ).rejects.toThrow('at most 500000 are allowed');
    expect(calls).toHaveLength(0);
  });

  it('offers nothing else of a drive', async () => {
    const { drive: d } = drive();
    await expect(d.newUntitled()).rejects.toThrow('Batch Pipeline sidebar');
    await expect(d.delete()).rejects.toThrow('Batch Pipeline sidebar');
    await expect(d.get('elsewhere/file.json')).rejects.toThrow(
      "is not a task's script"
    );
    expect((await d.get('')).type).toBe('directory');
  });
});

describe('run dialog logic', () => {
  it('defaults the business date to yesterday', () => {
    expect(yesterday(new Date(2026, 0, 1, 10))).toBe('2025-12-31');
    expect(yesterday(new Date(2026, 2, 1, 0, 5))).toBe('2026-02-28');
  });

  it('checks business dates', () => {
    expect(bizdateProblem('2026-01-31')).toBeNull();
    expect(bizdateProblem('20260131')).toBeNull();
    expect(bizdateProblem('2026-02-30')).toBe('is not a day of the calendar');
    expect(bizdateProblem('yesterday')).toBe(
      'must be a date: YYYY-MM-DD or YYYYMMDD'
    );
  });

  it('sends only the values that differ from the defaults', () => {
    expect(
      changedParameters({ a: '1', b: '2' }, { a: '1', b: '3', c: '' })
    ).toEqual({ b: '3', c: '' });
  });
});

describe('versions', () => {
  it('colours the lines of a unified diff', () => {
    expect(diffLineKind('--- version 1/script')).toBe('file');
    expect(diffLineKind('+++ version 2/script')).toBe('file');
    expect(diffLineKind('@@ -1,2 +1,2 @@')).toBe('hunk');
    expect(diffLineKind('+  "a": 1')).toBe('add');
    expect(diffLineKind('-  "a": 2')).toBe('del');
    expect(diffLineKind('   "b": 1')).toBe('context');
  });

  it('compares the newest version with the one before', () => {
    expect(defaultPair([{ number: 3 }, { number: 1 }, { number: 2 }])).toEqual([
      2, 3
    ]);
    expect(defaultPair([{ number: 1 }])).toBeNull();
  });
});
