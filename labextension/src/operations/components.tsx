import * as React from 'react';

import type { IInstance } from '../api/operations';
import { STATE_LABELS } from './format';
import { layoutTimeline } from './timeline';

/** An instance state as a coloured badge. */
export function StateBadge(props: { state: string }): JSX.Element {
  return (
    <span
      className={`jp-pipeline-state jp-mod-${props.state}`}
      data-state={props.state}
      title={STATE_LABELS[props.state] ?? props.state}
    >
      {props.state}
    </span>
  );
}

/** A progress bar: `done` of `total`. */
export function Progress(props: {
  done: number;
  total: number;
  label?: string;
}): JSX.Element {
  const percent = props.total ? (100 * props.done) / props.total : 0;
  return (
    <span
      className="jp-pipeline-progress"
      role="progressbar"
      aria-valuemin={0}
      aria-valuemax={props.total}
      aria-valuenow={props.done}
    >
      <span className="jp-pipeline-progressTrack">
        <span
          className="jp-pipeline-progressBar"
          style={{ width: `${percent}%` }}
        />
      </span>
      <span className="jp-pipeline-progressLabel">
        {props.label ?? `${props.done}/${props.total}`}
      </span>
    </span>
  );
}

/** The width of an element, followed as it resizes. */
function useWidth(ref: React.RefObject<HTMLElement>): number {
  const [width, setWidth] = React.useState(0);
  React.useEffect(() => {
    const element = ref.current;
    if (!element) {
      return;
    }
    setWidth(element.clientWidth);
    if (typeof ResizeObserver === 'undefined') {
      return;
    }
    const observer = new ResizeObserver(() => setWidth(element.clientWidth));
    observer.observe(element);
    return () => observer.disconnect();
  }, [ref.current]);
  return width;
}

/**
 * The run timeline: one bar per instance of the page that started, from its
 * start to its end, by task, coloured by state. Clicking a bar opens it.
 */
export function Timeline(props: {
  instances: readonly IInstance[];
  onOpen: (instanceId: number) => void;
}): JSX.Element {
  const ref = React.useRef<HTMLDivElement>(null);
  const width = useWidth(ref);
  const layout = layoutTimeline(props.instances, {
    width: width || 800,
    now: Date.now()
  });
  return (
    <div className="jp-pipeline-timeline" ref={ref}>
      {layout.bars.length === 0 ? (
        <div className="jp-pipeline-timelineEmpty">
          No instance of this page has started yet: the timeline shows runs from
          their start to their end.
        </div>
      ) : (
        <svg
          width={layout.width}
          height={layout.height}
          role="img"
          aria-label="Run timeline"
        >
          {layout.lanes.map((lane, i) => (
            <g key={lane.taskId} className="jp-pipeline-timelineLane">
              {i % 2 === 1 && (
                <rect
                  className="jp-pipeline-timelineStripe"
                  x={0}
                  y={lane.y - 2}
                  width={layout.width}
                  height={lane.height}
                />
              )}
              <text className="jp-pipeline-timelineLabel" x={4} y={lane.y + 11}>
                {lane.taskName.length > 20
                  ? `${lane.taskName.slice(0, 19)}…`
                  : lane.taskName}
              </text>
            </g>
          ))}
          {layout.ticks.map(tick => (
            <g key={tick.time} className="jp-pipeline-timelineTick">
              <line x1={tick.x} x2={tick.x} y1={0} y2={layout.axisY} />
              <text x={tick.x} y={layout.axisY + 14} textAnchor="middle">
                {tick.label}
              </text>
            </g>
          ))}
          <line
            className="jp-pipeline-timelineAxis"
            x1={layout.labelWidth}
            x2={layout.width - 8}
            y1={layout.axisY}
            y2={layout.axisY}
          />
          {layout.bars.map(bar => (
            <rect
              key={bar.id}
              className={`jp-pipeline-timelineBar jp-mod-${bar.state}${bar.running ? ' jp-mod-live' : ''}`}
              data-instance={bar.id}
              x={bar.x}
              y={bar.y}
              width={bar.width}
              height={bar.height}
              rx={2}
              onClick={() => props.onOpen(bar.id)}
            >
              <title>{bar.title}</title>
            </rect>
          ))}
        </svg>
      )}
    </div>
  );
}

/** A row of tabs (`role="tablist"`), the current one marked active. */
export function Tabs<T extends string>(props: {
  tabs: ReadonlyArray<[T, string]>;
  current: T;
  onSelect: (tab: T) => void;
}): JSX.Element {
  const { tabs, current, onSelect } = props;
  return (
    <div className="jp-pipeline-opsTabs" role="tablist">
      {tabs.map(([tab, label]) => (
        <button
          key={tab}
          role="tab"
          aria-selected={current === tab}
          className={`jp-pipeline-opsTab${current === tab ? ' jp-mod-active' : ''}`}
          onClick={() => onSelect(tab)}
        >
          {label}
        </button>
      ))}
    </div>
  );
}
