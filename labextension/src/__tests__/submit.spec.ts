import { ServerConnection } from '@jupyterlab/services';

import { ICheckResult, ILineageGraph, ScheduleAPI } from '../api/schedule';
import {
  checkRows,
  orderChecks,
  outcome,
  remarksProblem,
  revealDelays
} from '../submit/checks';
import {
  LAYOUT,
  edgePath,
  fitLabel,
  layoutLineage
} from '../submit/lineageLayout';

function check(
  name: string,
  status: ICheckResult['status'],
  messages: string[] = []
): ICheckResult {
  return { name, status, messages, diagnostics: [] };
}

/** The server's answer when the table duplication check warns. */
const WARNED = [
  check('configuration', 'pass'),
  check('permission', 'pass'),
  check('schema', 'pass'),
  check('table_duplication', 'warning', [
    "task 'old' already writes table 'ods' of data source 'dw'"
  ]),
  check('dependency', 'skipped')
];

describe('the check reveal', () => {
  it('shows the first check running while the server answers', () => {
    expect(checkRows(null, 0).map(r => [r.name, r.state])).toEqual([
      ['configuration', 'running'],
      ['permission', 'waiting'],
      ['schema', 'waiting'],
      ['table_duplication', 'waiting'],
      ['dependency', 'waiting']
    ]);
  });

  it('reveals the answers one by one in run order, whatever order they came in', () => {
    const shuffled = [WARNED[4], WARNED[2], WARNED[0], WARNED[3], WARNED[1]];
    expect(orderChecks(shuffled).map(c => c.name)).toEqual([
      'configuration',
      'permission',
      'schema',
      'table_duplication',
      'dependency'
    ]);
    const states = [0, 1, 2, 3, 4, 5].map(revealed =>
      checkRows(shuffled, revealed).map(r => r.state)
    );
    expect(states).toEqual([
      ['running', 'waiting', 'waiting', 'waiting', 'waiting'],
      ['pass', 'running', 'waiting', 'waiting', 'waiting'],
      ['pass', 'pass', 'running', 'waiting', 'waiting'],
      ['pass', 'pass', 'pass', 'running', 'waiting'],
      ['pass', 'pass', 'pass', 'warning', 'running'],
      ['pass', 'pass', 'pass', 'warning', 'skipped']
    ]);
    // messages show only once revealed
    expect(checkRows(WARNED, 3)[3].messages).toEqual([]);
    expect(checkRows(WARNED, 4)[3].messages).toEqual([
      "task 'old' already writes table 'ods' of data source 'dw'"
    ]);
  });

  it('keeps a check it does not know, last', () => {
    const rows = checkRows([check('lint', 'pass'), ...WARNED], 6);
    expect(rows.map(r => r.name)).toEqual([
      'configuration',
      'permission',
      'schema',
      'table_duplication',
      'dependency',
      'lint'
    ]);
    expect(rows[5].state).toBe('pass');
  });

  it('lingers on a check with something to say, not on a skipped one', () => {
    const delays = revealDelays(WARNED);
    expect(delays).toHaveLength(5);
    expect(delays[3]).toBeGreaterThan(delays[0]);
    expect(delays[4]).toBeLessThan(delays[0]);
  });

  it('tells what the answer means', () => {
    expect(
      outcome({ status: 'needs_confirmation', version: null, checks: WARNED })
        .kind
    ).toBe('confirm');
    expect(
      outcome({
        status: 'failed',
        version: null,
        checks: [check('configuration', 'fail', ['bad'])]
      })
    ).toEqual({
      kind: 'failed',
      text: 'Not submitted: the configuration check failed.'
    });
    expect(
      outcome({ status: 'submitted', version: 2, checks: [] }).text
    ).toContain('version 2');
    expect(outcome({ status: 'published', version: 1, checks: [] }).kind).toBe(
      'success'
    );
  });

  it('wants remarks of at most 128 characters', () => {
    expect(remarksProblem('  ')).toMatch(/required/);
    expect(remarksProblem('x'.repeat(128))).toBeNull();
    expect(remarksProblem('x'.repeat(129))).toBe(
      'At most 128 characters (it has 129)'
    );
  });
});

/** A task's lineage as the server draws it: orders (2 columns) into ods (2 columns). */
const GRAPH: ILineageGraph = {
  nodes: [
    { id: 'shop:orders', kind: 'table', datasource: 'shop', table: 'orders' },
    { id: 'dw:ods', kind: 'table', datasource: 'dw', table: 'ods' },
    {
      id: 'shop:orders.id',
      kind: 'column',
      datasource: 'shop',
      table: 'orders',
      column: 'id',
      parent: 'shop:orders'
    },
    {
      id: 'dw:ods.order_id',
      kind: 'column',
      datasource: 'dw',
      table: 'ods',
      column: 'order_id',
      parent: 'dw:ods'
    },
    {
      id: 'shop:orders.amount',
      kind: 'column',
      datasource: 'shop',
      table: 'orders',
      column: 'amount',
      parent: 'shop:orders'
    },
    {
      id: 'dw:ods.amount',
      kind: 'column',
      datasource: 'dw',
      table: 'ods',
      column: 'amount',
      parent: 'dw:ods'
    }
  ],
  edges: [
    { source: 'shop:orders', target: 'dw:ods', kind: 'table', task_id: 7 },
    {
      source: 'shop:orders.id',
      target: 'dw:ods.order_id',
      kind: 'column',
      task_id: 7
    },
    {
      source: 'shop:orders.amount',
      target: 'dw:ods.amount',
      kind: 'column',
      task_id: 7
    }
  ]
};

describe('layoutLineage', () => {
  it('puts the source left and the target right, each table listing its columns', () => {
    const layout = layoutLineage(GRAPH);
    const [orders, ods] = layout.tables;
    expect(orders).toMatchObject({
      id: 'shop:orders',
      layer: 0,
      x: LAYOUT.margin,
      y: LAYOUT.margin
    });
    expect(ods).toMatchObject({
      id: 'dw:ods',
      layer: 1,
      x: LAYOUT.margin + LAYOUT.tableWidth + LAYOUT.layerGap
    });
    expect(orders.columns.map(c => c.name)).toEqual(['id', 'amount']);
    expect(ods.columns.map(c => c.name)).toEqual(['order_id', 'amount']);
    const height = LAYOUT.header + 2 * LAYOUT.row + LAYOUT.footer;
    expect(orders.height).toBe(height);
    expect(orders.columns[0].y).toBe(
      LAYOUT.margin + LAYOUT.header + LAYOUT.row / 2
    );
    expect(orders.columns[1].y).toBe(orders.columns[0].y + LAYOUT.row);
    expect(layout.width).toBe(
      2 * LAYOUT.margin + 2 * LAYOUT.tableWidth + LAYOUT.layerGap
    );
    expect(layout.height).toBe(2 * LAYOUT.margin + height);
  });

  it('draws column edges from row to row, and no table edge beside them', () => {
    const layout = layoutLineage(GRAPH);
    const [orders, ods] = layout.tables;
    expect(layout.edges.map(e => [e.kind, e.source, e.target])).toEqual([
      ['column', 'shop:orders.id', 'dw:ods.order_id'],
      ['column', 'shop:orders.amount', 'dw:ods.amount']
    ]);
    expect(layout.edges[0]).toMatchObject({
      x1: orders.x + orders.width,
      y1: orders.columns[0].y,
      x2: ods.x,
      y2: ods.columns[0].y,
      taskId: 7
    });
  });

  it('draws a table edge where no column could be traced, header to header', () => {
    const layout = layoutLineage({
      nodes: [
        { id: 'a:q', kind: 'table', datasource: 'a', table: 'q' },
        { id: 'b:t', kind: 'table', datasource: 'b', table: 't' }
      ],
      edges: [{ source: 'a:q', target: 'b:t', kind: 'table', task_id: 1 }]
    });
    expect(layout.edges).toHaveLength(1);
    expect(layout.edges[0]).toMatchObject({
      kind: 'table',
      y1: LAYOUT.margin + LAYOUT.header / 2,
      y2: LAYOUT.margin + LAYOUT.header / 2
    });
  });

  it('layers a chain by its longest path and centres the shorter layers', () => {
    // a -> b -> c and a -> c: c is two steps from a
    const table = (id: string) => ({
      id,
      kind: 'table' as const,
      datasource: 'd',
      table: id.slice(2)
    });
    const layout = layoutLineage({
      nodes: [table('d:a'), table('d:b'), table('d:c'), table('d:x')],
      edges: [
        { source: 'd:a', target: 'd:b', kind: 'table', task_id: 1 },
        { source: 'd:b', target: 'd:c', kind: 'table', task_id: 2 },
        { source: 'd:a', target: 'd:c', kind: 'table', task_id: 3 },
        { source: 'd:x', target: 'd:b', kind: 'table', task_id: 4 }
      ]
    });
    const byId = new Map(layout.tables.map(t => [t.id, t]));
    expect(['d:a', 'd:x', 'd:b', 'd:c'].map(id => byId.get(id)!.layer)).toEqual(
      [0, 0, 1, 2]
    );
    // layer 0 holds two tables, layer 1 one: that one is centred
    const single = LAYOUT.header + LAYOUT.footer;
    const tallest = 2 * single + LAYOUT.tableGap;
    expect(byId.get('d:b')!.y).toBe(LAYOUT.margin + (tallest - single) / 2);
    expect(layout.height).toBe(2 * LAYOUT.margin + tallest);
  });

  it('survives a cycle and an empty graph', () => {
    const table = (id: string) => ({
      id,
      kind: 'table' as const,
      datasource: 'd',
      table: id
    });
    const layout = layoutLineage({
      nodes: [table('d:a'), table('d:b')],
      edges: [
        { source: 'd:a', target: 'd:b', kind: 'table', task_id: 1 },
        { source: 'd:b', target: 'd:a', kind: 'table', task_id: 2 }
      ]
    });
    expect(layout.tables).toHaveLength(2);
    expect(layoutLineage({ nodes: [], edges: [] })).toEqual({
      width: 2 * LAYOUT.margin,
      height: 2 * LAYOUT.margin,
      tables: [],
      edges: []
    });
  });

  it('draws an S-curve and cuts long labels', () => {
    expect(edgePath({ x1: 0, y1: 10, x2: 200, y2: 50 })).toBe(
      'M 0 10 C 100 10, 100 50, 200 50'
    );
    expect(fitLabel('short', 100)).toBe('short');
    expect(fitLabel('/data/exports/orders_2026.csv', 70)).toBe('/data/exp…');
  });
});

describe('ScheduleAPI', () => {
  it('calls the schedule, submit, lineage and publish endpoints', async () => {
    const calls: Array<{ url: string; method: string; body: unknown }> = [];
    const fetch = async (input: RequestInfo, init?: RequestInit) => {
      const request = new Request(input, init);
      const text = await request.text();
      calls.push({
        url: request.url,
        method: request.method,
        body: text ? JSON.parse(text) : undefined
      });
      return new Response(JSON.stringify({ runs: [] }), { status: 200 });
    };
    const api = new ScheduleAPI(
      ServerConnection.makeSettings({
        baseUrl: 'http://localhost:8888/base/',
        fetch,
        Request,
        Headers
      })
    );
    await api.saveSchedule(7, { schedule: {} });
    await api.preview({ schedule: { timezone: 'UTC' } });
    await api.submit(7, 'first', true);
    await api.taskLineage(7, { depth: 0 });
    await api.tableLineage('shop', 'orders', { direction: 'up', depth: 1 });
    await api.toPublish(3);
    await api.publish(3, [7]);
    expect(
      calls.map(c => {
        const url = new URL(c.url);
        // ServerConnection adds a cache-busting number to each query
        const search = url.search.replace(/[?&]\d+$/, '');
        return [c.method, url.pathname + search, c.body];
      })
    ).toEqual([
      ['PUT', '/base/pipeline/api/tasks/7/schedule', { schedule: {} }],
      [
        'POST',
        '/base/pipeline/api/schedule/preview',
        { schedule: { timezone: 'UTC' }, count: 10 }
      ],
      [
        'POST',
        '/base/pipeline/api/tasks/7/submit',
        { remarks: 'first', confirm_warnings: true }
      ],
      ['GET', '/base/pipeline/api/tasks/7/lineage?depth=0', undefined],
      [
        'GET',
        '/base/pipeline/api/lineage?datasource=shop&table=orders&direction=up&depth=1',
        undefined
      ],
      ['GET', '/base/pipeline/api/projects/3/to-publish', undefined],
      ['POST', '/base/pipeline/api/projects/3/publish', { task_ids: [7] }]
    ]);
  });
});
