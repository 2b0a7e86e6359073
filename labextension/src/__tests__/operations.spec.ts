import { ServerConnection } from '@jupyterlab/services';

import {
  ILogChunk,
  INotificationEvent,
  instancesQuery,
  IProductionTask,
  OperationsClient
} from '../api/operations';
import { backfillIssues } from '../operations/backfillForm';
import {
  downstreamClosure,
  formatBytes,
  formatDuration,
  pageLabel
} from '../operations/format';
import { byteLength, LogFollower } from '../operations/logFollower';
import {
  newestPerInstance,
  notificationMessage,
  NotificationPoller
} from '../operations/notifier';
import {
  ITimelineInstance,
  layoutTimeline,
  tickLabel,
  ticks,
  tickStep
} from '../operations/timeline';
import { PipelineError } from '../request';

const T0 = Date.parse('2024-03-01T10:00:00Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();

function run(
  id: number,
  task: number,
  start: number | null,
  end: number | null,
  state = 'success'
): ITimelineInstance {
  return {
    id,
    task_id: task,
    task_name: `task${task}`,
    business_date: '2024-02-29',
    state,
    started_at: start === null ? null : at(start),
    finished_at: end === null ? null : at(end)
  };
}

describe('instancesQuery (filters -> query string)', () => {
  it('leaves out the filters not set', () => {
    expect(instancesQuery({})).toBe('');
    expect(
      instancesQuery({
        taskId: null,
        from: '',
        to: '',
        states: [],
        kind: '',
        backfillId: null
      })
    ).toBe('');
  });

  it('sends every filter set, states comma-separated in the server order', () => {
    const query = instancesQuery({
      taskId: 7,
      from: '2024-01-01',
      to: '2024-01-31',
      states: ['killed', 'failed', 'running'],
      kind: 'backfill',
      owner: ' alice ',
      backfillId: 3,
      limit: 50,
      offset: 100
    });
    const params = new URLSearchParams(query.slice(1));
    expect(query.startsWith('?')).toBe(true);
    const entries: Record<string, string> = {};
    params.forEach((value, key) => (entries[key] = value));
    expect(entries).toEqual({
      task_id: '7',
      state: 'running,failed,killed',
      kind: 'backfill',
      owner: 'alice',
      from: '2024-01-01',
      to: '2024-01-31',
      backfill_id: '3',
      limit: '50',
      offset: '100'
    });
  });

  it('drops unknown states and a zero offset', () => {
    const params = new URLSearchParams(
      instancesQuery({ states: ['nope', 'success'], offset: 0, limit: 20 })
    );
    expect(params.get('state')).toBe('success');
    expect(params.has('offset')).toBe(false);
    expect(params.get('limit')).toBe('20');
  });
});

describe('OperationsClient', () => {
  function client(...replies: Array<{ status: number; body?: unknown }>) {
    const calls: Array<{ url: string; method: string; body: unknown }> = [];
    const fetch = async (input: RequestInfo, init?: RequestInit) => {
      const request = new Request(input, init);
      const text = await request.text();
      calls.push({
        url: request.url,
        method: request.method,
        body: text ? JSON.parse(text) : undefined
      });
      const reply = replies.shift() ?? { status: 200, body: {} };
      return new Response(
        reply.body === undefined ? null : JSON.stringify(reply.body),
        { status: reply.status }
      );
    };
    const settings = ServerConnection.makeSettings({
      baseUrl: 'http://localhost:8888/base/',
      fetch,
      Request,
      Headers
    });
    return { api: new OperationsClient(settings), calls };
  }

  it('calls the Operation Center endpoints', async () => {
    const { api, calls } = client();
    await api.instances({ taskId: 2, states: ['failed'], limit: 10 });
    await api.log(5, { tail: 200 });
    await api.log(5, { offset: 1234 });
    await api.rerun(5, { force: true });
    await api.kill(5);
    await api.createBackfill({
      task_id: 2,
      from: '2024-01-01',
      to: '2024-01-03',
      downstream: [3],
      parallelism: 1
    });
    await api.cancelBackfill(9);
    await api.notifications(41);
    await api.runNow(2, { bizdate: '2024-01-01' });
    const seen = calls.map(c => {
      const url = new URL(c.url);
      // ServerConnection adds a cache-busting timestamp: not ours to check
      const search = url.search.replace(/[?&][0-9]+$/, '');
      return `${c.method} ${url.pathname}${search}`;
    });
    expect(seen).toEqual([
      'GET /base/pipeline/api/instances?task_id=2&state=failed&limit=10',
      'GET /base/pipeline/api/instances/5/log?tail=200',
      'GET /base/pipeline/api/instances/5/log?offset=1234',
      'POST /base/pipeline/api/instances/5/rerun',
      'POST /base/pipeline/api/instances/5/kill',
      'POST /base/pipeline/api/backfills',
      'POST /base/pipeline/api/backfills/9/cancel',
      'GET /base/pipeline/api/notifications?after=41',
      'POST /base/pipeline/api/tasks/2/run'
    ]);
    expect(calls[3].body).toEqual({ force: true, downstream: false });
    expect(calls[5].body).toMatchObject({ downstream: [3], parallelism: 1 });
    expect(calls[8].body).toEqual({ bizdate: '2024-01-01' });
    expect(api.logDownloadUrl(5)).toBe(
      'http://localhost:8888/base/pipeline/api/instances/5/log?download=1'
    );
  });

  it("turns a refusal into a PipelineError with the server's message", async () => {
    const { api } = client({
      status: 409,
      body: { message: 'instance 5 is running: only ... can be rerun' }
    });
    await expect(api.rerun(5)).rejects.toMatchObject({
      status: 409,
      message: 'instance 5 is running: only ... can be rerun'
    });
  });
});

describe('layoutTimeline', () => {
  const options = { width: 1000, labelWidth: 100, now: T0 + 600_000 };

  it('draws one bar per started instance, from start to end on the axis', () => {
    const layout = layoutTimeline(
      [run(1, 1, 0, 60), run(2, 1, 120, 180, 'failed'), run(3, 1, null, null)],
      { ...options, utc: true }
    );
    expect(layout.bars.map(b => b.id)).toEqual([1, 2]);
    const [a, b] = layout.bars;
    // the axis covers the runs with a margin, bars are in time order
    expect(layout.start).toBeLessThan(T0);
    expect(layout.end).toBeGreaterThan(T0 + 180_000);
    expect(a.x).toBeGreaterThanOrEqual(100);
    expect(b.x + b.width).toBeLessThanOrEqual(1000 - 8 + 0.001);
    expect(b.x).toBeGreaterThan(a.x + a.width);
    // equal durations, equal widths
    expect(a.width).toBeCloseTo(b.width, 6);
    expect(b.state).toBe('failed');
    // bars that do not overlap share the task's lane
    expect(a.y).toBe(b.y);
    expect(layout.lanes).toEqual([
      { taskId: 1, taskName: 'task1', y: 0, height: 18 }
    ]);
  });

  it('maps times linearly: a run twice as long is twice as wide', () => {
    const layout = layoutTimeline(
      [run(1, 1, 0, 100), run(2, 2, 0, 200)],
      options
    );
    const [a, b] = layout.bars;
    expect(b.width / a.width).toBeCloseTo(2, 6);
    expect(a.x).toBeCloseTo(b.x, 6);
  });

  it('puts overlapping runs of a task in further lanes, tasks one under the other', () => {
    const layout = layoutTimeline(
      [
        run(1, 1, 0, 100),
        run(2, 1, 50, 150),
        run(3, 2, 0, 10),
        run(4, 1, 120, 130)
      ],
      options
    );
    const y: Record<number, number> = {};
    layout.bars.forEach(b => (y[b.id] = b.y));
    expect(y[1]).toBe(0);
    expect(y[2]).toBe(18); // overlaps #1
    expect(y[4]).toBe(0); // after #1 ended
    expect(layout.lanes.map(l => [l.taskId, l.y, l.height])).toEqual([
      [1, 0, 36],
      [2, 36, 18]
    ]);
    expect(y[3]).toBe(36);
    expect(layout.axisY).toBe(54 + 2);
    expect(layout.height).toBe(layout.axisY + 20);
  });

  it('ends a running instance now, and gives a short run a visible width', () => {
    const layout = layoutTimeline(
      [
        run(1, 1, 0, null, 'running'),
        { ...run(2, 1, 300, 300), finished_at: at(300) }
      ],
      { ...options, now: T0 + 600_000 }
    );
    const [live, short] = layout.bars;
    expect(live.running).toBe(true);
    expect(live.end).toBe(T0 + 600_000);
    expect(live.title).toContain('so far');
    expect(short.width).toBe(2);
  });

  it('lays out nothing when nothing started', () => {
    const layout = layoutTimeline([run(1, 1, null, null)], options);
    expect(layout.bars).toEqual([]);
    expect(layout.height).toBe(0);
  });

  it('puts ticks at whole steps within the axis', () => {
    const layout = layoutTimeline([run(1, 1, 0, 3600)], {
      ...options,
      utc: true,
      maxTicks: 8
    });
    expect(layout.ticks.length).toBeGreaterThan(2);
    expect(layout.ticks.length).toBeLessThanOrEqual(9);
    const step = layout.ticks[1].time - layout.ticks[0].time;
    expect(step).toBe(10 * 60 * 1000);
    for (const tick of layout.ticks) {
      expect(tick.time % step).toBe(0);
      expect(tick.time).toBeGreaterThanOrEqual(layout.start);
      expect(tick.time).toBeLessThanOrEqual(layout.end);
      expect(tick.x).toBeGreaterThanOrEqual(100);
    }
    expect(layout.ticks.map(t => t.label)).toContain('10:30');
  });
});

describe('ticks', () => {
  it('chooses the smallest step giving few enough ticks', () => {
    expect(tickStep(30_000, 8)).toBe(5000);
    expect(tickStep(3_600_000, 6)).toBe(10 * 60_000);
    expect(tickStep(3_600_001, 6)).toBe(15 * 60_000);
    expect(tickStep(3 * 86_400_000, 8)).toBe(12 * 3_600_000);
  });

  it('labels seconds, minutes or dates by the step', () => {
    const t = Date.parse('2024-03-01T10:05:07Z');
    expect(tickLabel(t, 1000, true)).toBe('10:05:07');
    expect(tickLabel(t, 60_000, true)).toBe('10:05');
    expect(tickLabel(t, 86_400_000, true)).toBe('03-01');
  });

  it('gives whole UTC days for a long span', () => {
    const start = Date.parse('2024-03-01T10:00:00Z');
    const found = ticks(start, start + 5 * 86_400_000, 8, true);
    expect(found[0].label).toBe('03-02');
    expect(found.map(t => new Date(t.time).getUTCHours())).toEqual(
      found.map(() => 0)
    );
  });
});

describe('LogFollower', () => {
  /** A log file that grows: reads answer as the server does. */
  function server(initial: string) {
    const state = { text: initial, finished: false, chunk: 1 << 20 };
    const reads: Array<{ tail: number } | { offset: number }> = [];
    const read = async (
      from: { tail: number } | { offset: number }
    ): Promise<ILogChunk> => {
      reads.push(from);
      const bytes = new TextEncoder().encode(state.text);
      if ('tail' in from) {
        const lines = state.text.split(/(?<=\n)/).filter(Boolean);
        const text = lines
          .slice(Math.max(0, lines.length - from.tail))
          .join('');
        return {
          text,
          offset: bytes.length,
          size: bytes.length,
          finished: state.finished
        };
      }
      if (from.offset > bytes.length) {
        throw new PipelineError(400, 'past the end', [
          { field: 'offset', message: 'too far' }
        ]);
      }
      const part = bytes.subarray(from.offset, from.offset + state.chunk);
      return {
        text: new TextDecoder().decode(part),
        offset: from.offset + part.length,
        size: bytes.length,
        finished: state.finished
      };
    };
    return { state, reads, read };
  }

  it('reads the tail first, then only what was written since, from the offset', async () => {
    const log = server('one\ntwo\nthree\n');
    const follower = new LogFollower(log.read, { tail: 2 });
    expect(await follower.poll()).toBe(true);
    expect(follower.text).toBe('two\nthree\n');
    expect(follower.offset).toBe(14);
    expect(follower.truncated).toBe(true);
    expect(follower.done).toBe(false);

    expect(await follower.poll()).toBe(false); // nothing new
    log.state.text += 'four é\n';
    expect(await follower.poll()).toBe(true);
    expect(follower.text).toBe('two\nthree\nfour é\n');
    expect(follower.offset).toBe(14 + byteLength('four é\n'));
    expect(byteLength('four é\n')).toBe(8);

    log.state.finished = true;
    await follower.poll();
    expect(follower.done).toBe(true);
    expect(log.reads).toEqual([
      { tail: 2 },
      { offset: 14 },
      { offset: 14 },
      { offset: 22 }
    ]);
  });

  it('is not truncated when the tail holds the whole log', async () => {
    const log = server('a\nb\n');
    const follower = new LogFollower(log.read, { tail: 200 });
    await follower.poll();
    expect(follower.text).toBe('a\nb\n');
    expect(follower.truncated).toBe(false);
  });

  it('reads on at once while the server has more than one answer holds', async () => {
    const log = server('');
    const follower = new LogFollower(log.read);
    await follower.poll();
    log.state.text = 'x'.repeat(25);
    log.state.chunk = 10;
    log.state.finished = true;
    await follower.poll();
    expect(follower.text).toBe('x'.repeat(25));
    expect(follower.offset).toBe(25);
    expect(follower.done).toBe(true);
    expect(log.reads.slice(1)).toEqual([
      { offset: 0 },
      { offset: 10 },
      { offset: 20 }
    ]);
  });

  it('starts again from the tail when the log was replaced by a shorter one', async () => {
    const log = server('a long first log\n');
    const follower = new LogFollower(log.read);
    await follower.poll();
    log.state.text = 'new\n';
    await follower.poll();
    expect(follower.text).toBe('new\n');
    expect(follower.offset).toBe(4);
  });

  it('does not overlap polls', async () => {
    const log = server('a\n');
    const follower = new LogFollower(log.read);
    await Promise.all([follower.poll(), follower.poll()]);
    expect(log.reads).toHaveLength(1);
  });

  it('keeps at most maxChars, dropping the oldest text', async () => {
    const log = server('0123456789\n');
    const follower = new LogFollower(log.read, { maxChars: 5 });
    await follower.poll();
    expect(follower.text).toBe('6789\n');
    expect(follower.truncated).toBe(true);
  });
});

describe('NotificationPoller', () => {
  function event(
    id: number,
    instance: number,
    state: 'failed' | 'killed' = 'failed',
    reason = 'boom'
  ): INotificationEvent {
    return {
      id,
      instance_id: instance,
      task_id: 1,
      task_name: 'orders',
      business_date: '2024-01-01',
      kind: 'manual',
      state,
      reason,
      at: '2024-01-02T00:00:00Z',
      timed_out: reason.startsWith('timed out')
    };
  }

  it('starts from the current last event: old failures are not told', async () => {
    const told: number[] = [];
    const afters: Array<number | undefined> = [];
    const pages = [
      { events: [event(3, 30), event(5, 50)], last: 5 },
      { events: [event(6, 60)], last: 6 },
      { events: [], last: 6 }
    ];
    const poller = new NotificationPoller(
      async after => {
        afters.push(after);
        return pages.shift()!;
      },
      e => told.push(e.id)
    );
    expect(await poller.poll()).toEqual([]);
    expect(poller.last).toBe(5);
    await poller.poll();
    await poller.poll();
    expect(told).toEqual([6]);
    expect(afters).toEqual([undefined, 5, 6]);
  });

  it('tells each event once, even when the feed gives it again', async () => {
    const told: number[] = [];
    const pages = [
      { events: [], last: 0 },
      { events: [event(1, 10), event(2, 20)], last: 2 },
      // an overlapping answer: 2 again, and 3
      { events: [event(2, 20), event(3, 30)], last: 3 }
    ];
    const poller = new NotificationPoller(
      async () => pages.shift()!,
      e => told.push(e.id)
    );
    await poller.poll();
    await poller.poll();
    await poller.poll();
    expect(told).toEqual([1, 2, 3]);
    expect(poller.last).toBe(3);
  });

  it('tells only the newest failure of an instance in one poll', async () => {
    const told: INotificationEvent[] = [];
    const pages = [
      { events: [], last: 0 },
      {
        events: [event(1, 10), event(2, 11), event(3, 10, 'killed')],
        last: 3
      }
    ];
    const poller = new NotificationPoller(
      async () => pages.shift()!,
      e => told.push(e)
    );
    await poller.poll();
    await poller.poll();
    expect(told.map(e => [e.id, e.instance_id, e.state])).toEqual([
      [2, 11, 'failed'],
      [3, 10, 'killed']
    ]);
  });

  it('keeps its place when a poll fails, and does not overlap polls', async () => {
    const told: number[] = [];
    let fail = false;
    let calls = 0;
    const poller = new NotificationPoller(
      async after => {
        calls++;
        if (fail) {
          throw new Error('server away');
        }
        return after === undefined
          ? { events: [], last: 4 }
          : { events: [event(5, 50)], last: 5 };
      },
      e => told.push(e.id)
    );
    await poller.poll();
    fail = true;
    await expect(poller.poll()).rejects.toThrow('server away');
    expect(poller.last).toBe(4);
    fail = false;
    await Promise.all([poller.poll(), poller.poll()]);
    expect(calls).toBe(3);
    expect(told).toEqual([5]);
  });

  it('words the failure, the time-out and the kill', () => {
    expect(notificationMessage(event(1, 10))).toBe(
      'Instance #10 of orders (2024-01-01, manual) failed: boom'
    );
    expect(
      notificationMessage(event(1, 10, 'failed', 'timed out after 60 s'))
    ).toContain('timed out: timed out after 60 s');
    expect(notificationMessage(event(1, 10, 'killed', 'by alice'))).toContain(
      'was killed'
    );
    expect(newestPerInstance([])).toEqual([]);
  });
});

describe('the backfill form and helpers', () => {
  const form = {
    taskId: 1,
    downstream: [],
    from: '2024-01-01',
    to: '2024-01-03',
    parallelism: '1'
  };

  it('accepts a good form and names each field at fault', () => {
    expect(backfillIssues(form)).toEqual({});
    expect(
      Object.keys(
        backfillIssues({
          ...form,
          taskId: null,
          from: '',
          to: '2024/01/03',
          parallelism: '33'
        })
      ).sort()
    ).toEqual(['from', 'parallelism', 'task_id', 'to']);
    expect(backfillIssues({ ...form, from: '2024-01-04' }).from).toContain(
      'after'
    );
    expect(backfillIssues({ ...form, parallelism: '0' }).parallelism).toBe(
      'a whole number from 1 to 32'
    );
    expect(backfillIssues({ ...form, parallelism: '1.5' }).parallelism).toBe(
      'a whole number from 1 to 32'
    );
    expect(backfillIssues({ ...form, parallelism: '32' })).toEqual({});
  });

  it('finds every downstream task, nearest first, once', () => {
    const task = (id: number, downstream: number[]): IProductionTask =>
      ({
        id,
        name: `t${id}`,
        downstream: downstream.map(d => ({ id: d, name: `t${d}` }))
      }) as IProductionTask;
    const tasks = [
      task(1, [2, 3]),
      task(2, [4]),
      task(3, [4]),
      task(4, []),
      task(5, [1])
    ];
    expect(downstreamClosure(tasks, 1).map(t => t.id)).toEqual([2, 3, 4]);
    expect(downstreamClosure(tasks, 4)).toEqual([]);
    expect(downstreamClosure(tasks, 5).map(t => t.id)).toEqual([1, 2, 3, 4]);
  });

  it('formats durations, bytes and pages', () => {
    expect(formatDuration(null)).toBe('');
    expect(formatDuration(0.42)).toBe('0.4s');
    expect(formatDuration(42)).toBe('42s');
    expect(formatDuration(185)).toBe('3m 05s');
    expect(formatDuration(7260)).toBe('2h 01m');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.50 KB');
    expect(formatBytes(50 * 1024 * 1024)).toBe('50.0 MB');
    expect(pageLabel(0, 0, 0)).toBe('0 of 0');
    expect(pageLabel(50, 20, 70)).toBe('51–70 of 70');
  });
});
