/**
 * The run timeline's layout, pure: one bar per instance that started, from its
 * start to its end (now while it runs), on a time axis, in lanes grouped by
 * task. Within a task, runs that overlap (a backfill's parallel dates, a rerun
 * of a date while the next one runs) go to further lanes, greedily.
 */

/** What the layout reads of an instance. */
export interface ITimelineInstance {
  id: number;
  task_id: number;
  task_name: string;
  business_date: string;
  state: string;
  started_at: string | null;
  finished_at: string | null;
}

export interface ITimelineOptions {
  /** The whole chart's width in pixels, the task labels included. */
  width: number;
  /** Now, in milliseconds: the end of a run still running. */
  now: number;
  /** The task labels' column. */
  labelWidth?: number;
  laneHeight?: number;
  /** Gap between two bars of one lane, and the height of the axis under them. */
  barGap?: number;
  axisHeight?: number;
  /** A bar is at least this wide, so that a run of a second still shows. */
  minBarWidth?: number;
  /** At most this many ticks on the axis. */
  maxTicks?: number;
  /** Tick labels in UTC (tests) instead of the browser's time zone. */
  utc?: boolean;
}

export interface ITimelineBar {
  id: number;
  taskId: number;
  state: string;
  x: number;
  y: number;
  width: number;
  height: number;
  /** Start and end in milliseconds. */
  start: number;
  end: number;
  running: boolean;
  /** The tooltip. */
  title: string;
}

export interface ITimelineLane {
  taskId: number;
  taskName: string;
  /** The task's first lane's top and its lanes' total height. */
  y: number;
  height: number;
}

export interface ITimelineTick {
  x: number;
  time: number;
  label: string;
}

export interface ITimelineLayout {
  /** The axis' first and last moments, in milliseconds. */
  start: number;
  end: number;
  width: number;
  height: number;
  labelWidth: number;
  /** Where the time axis' line is. */
  axisY: number;
  bars: ITimelineBar[];
  lanes: ITimelineLane[];
  ticks: ITimelineTick[];
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** The tick steps the axis chooses from: the first that gives few enough ticks. */
export const TICK_STEPS = [
  SECOND,
  2 * SECOND,
  5 * SECOND,
  10 * SECOND,
  15 * SECOND,
  30 * SECOND,
  MINUTE,
  2 * MINUTE,
  5 * MINUTE,
  10 * MINUTE,
  15 * MINUTE,
  30 * MINUTE,
  HOUR,
  2 * HOUR,
  3 * HOUR,
  6 * HOUR,
  12 * HOUR,
  DAY,
  2 * DAY,
  7 * DAY,
  14 * DAY,
  30 * DAY
];

function parse(time: string | null): number | null {
  if (!time) {
    return null;
  }
  const ms = Date.parse(time);
  return Number.isNaN(ms) ? null : ms;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** A tick's label: seconds when the step is under a minute, the date from a day on. */
export function tickLabel(time: number, step: number, utc = false): string {
  const d = new Date(time);
  const [month, day, hours, minutes, seconds] = utc
    ? [
        d.getUTCMonth() + 1,
        d.getUTCDate(),
        d.getUTCHours(),
        d.getUTCMinutes(),
        d.getUTCSeconds()
      ]
    : [
        d.getMonth() + 1,
        d.getDate(),
        d.getHours(),
        d.getMinutes(),
        d.getSeconds()
      ];
  if (step >= DAY) {
    return `${pad(month)}-${pad(day)}`;
  }
  if (step >= MINUTE) {
    return `${pad(hours)}:${pad(minutes)}`;
  }
  return `${pad(hours)}:${pad(minutes)}:${pad(seconds)}`;
}

/** The smallest step giving at most `maxTicks` ticks over `span` milliseconds. */
export function tickStep(span: number, maxTicks: number): number {
  for (const step of TICK_STEPS) {
    if (span / step <= maxTicks) {
      return step;
    }
  }
  return Math.ceil(span / maxTicks / DAY) * DAY;
}

/** Ticks at whole steps (whole local days, hours... unless `utc`) within start..end. */
export function ticks(
  start: number,
  end: number,
  maxTicks: number,
  utc = false
): Array<{ time: number; label: string }> {
  const step = tickStep(Math.max(end - start, 1), Math.max(maxTicks, 1));
  // align on the local clock: whole minutes, hours and days there, not in UTC
  const offset = utc ? 0 : new Date(start).getTimezoneOffset() * MINUTE;
  let time = Math.ceil((start - offset) / step) * step + offset;
  const found: Array<{ time: number; label: string }> = [];
  while (time <= end && found.length <= maxTicks) {
    found.push({ time, label: tickLabel(time, step, utc) });
    time += step;
  }
  return found;
}

function seconds(ms: number): string {
  const total = Math.round(ms / SECOND);
  if (total < 60) {
    return `${total}s`;
  }
  const m = Math.floor(total / 60);
  if (m < 60) {
    return `${m}m ${pad(total % 60)}s`;
  }
  return `${Math.floor(m / 60)}h ${pad(m % 60)}m`;
}

/**
 * Lay the instances out: those that never started are left out; bars are
 * sorted by task (in the order tasks first appear) and start time.
 */
export function layoutTimeline(
  instances: readonly ITimelineInstance[],
  options: ITimelineOptions
): ITimelineLayout {
  const labelWidth = options.labelWidth ?? 140;
  const laneHeight = options.laneHeight ?? 14;
  const barGap = options.barGap ?? 4;
  const axisHeight = options.axisHeight ?? 20;
  const minBarWidth = options.minBarWidth ?? 2;
  const maxTicks = options.maxTicks ?? 8;
  const width = Math.max(options.width, labelWidth + 40);
  const plotWidth = width - labelWidth - 8;

  const runs = instances
    .map(instance => {
      const start = parse(instance.started_at);
      if (start === null) {
        return null;
      }
      const running = instance.state === 'running';
      const finished = parse(instance.finished_at);
      const end = running || finished === null ? options.now : finished;
      return { instance, start, end: Math.max(end, start), running };
    })
    .filter((r): r is NonNullable<typeof r> => r !== null);

  if (!runs.length) {
    return {
      start: options.now,
      end: options.now,
      width,
      height: 0,
      labelWidth,
      axisY: 0,
      bars: [],
      lanes: [],
      ticks: []
    };
  }

  let start = Math.min(...runs.map(r => r.start));
  let end = Math.max(...runs.map(r => r.end));
  // a margin of 2% each side, and at least 10 s shown
  const span = Math.max(end - start, 10 * SECOND);
  const margin = span * 0.02;
  start -= margin;
  end = start + span + 2 * margin;
  const x = (time: number) =>
    labelWidth + ((time - start) / (end - start)) * plotWidth;

  // tasks in the order they first appear, then each task's runs by start
  const order = new Map<number, { name: string; runs: typeof runs }>();
  for (const run of runs) {
    const task = order.get(run.instance.task_id);
    if (task) {
      task.runs.push(run);
    } else {
      order.set(run.instance.task_id, {
        name: run.instance.task_name,
        runs: [run]
      });
    }
  }

  const bars: ITimelineBar[] = [];
  const lanes: ITimelineLane[] = [];
  let top = 0;
  for (const [taskId, task] of order) {
    task.runs.sort(
      (a, b) => a.start - b.start || a.instance.id - b.instance.id
    );
    // the right end (pixels) of each lane's last bar
    const laneEnds: number[] = [];
    for (const run of task.runs) {
      const left = x(run.start);
      const barWidth = Math.max(x(run.end) - left, minBarWidth);
      let lane = laneEnds.findIndex(right => right + 1 <= left);
      if (lane === -1) {
        lane = laneEnds.length;
        laneEnds.push(0);
      }
      laneEnds[lane] = left + barWidth;
      const { instance } = run;
      bars.push({
        id: instance.id,
        taskId,
        state: instance.state,
        x: left,
        y: top + lane * (laneHeight + barGap),
        width: barWidth,
        height: laneHeight,
        start: run.start,
        end: run.end,
        running: run.running,
        title:
          `#${instance.id} ${instance.task_name} ${instance.business_date}: ` +
          `${instance.state}, ${seconds(run.end - run.start)}` +
          (run.running ? ' so far' : '')
      });
    }
    const height = laneEnds.length * (laneHeight + barGap);
    lanes.push({ taskId, taskName: task.name, y: top, height });
    top += height;
  }

  const axisY = top + 2;
  return {
    start,
    end,
    width,
    height: axisY + axisHeight,
    labelWidth,
    axisY,
    bars,
    lanes,
    ticks: ticks(start, end, maxTicks, options.utc).map(tick => ({
      ...tick,
      x: x(tick.time)
    }))
  };
}
