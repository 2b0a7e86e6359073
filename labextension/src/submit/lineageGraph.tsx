import * as React from 'react';

import type { ILineageGraph } from '../api/schedule';
import { edgePath, fitLabel, layoutLineage } from './lineageLayout';

/**
 * The lineage as an SVG: table boxes listing their columns, column edges from
 * source table.column to target table.column (table edges where no column
 * could be traced). Hovering a column highlights its edges.
 */
export function LineageGraph(props: {
  graph: ILineageGraph;
  /** The task whose edges are drawn strongest. */
  taskId?: number;
}): JSX.Element {
  const layout = React.useMemo(() => layoutLineage(props.graph), [props.graph]);
  const [hovered, setHovered] = React.useState<string | null>(null);
  if (layout.tables.length === 0) {
    return (
      <div className="jp-pipeline-Lineage-empty">No lineage was recorded.</div>
    );
  }
  const touches = (edge: { source: string; target: string }) =>
    hovered !== null && (edge.source === hovered || edge.target === hovered);
  return (
    <div className="jp-pipeline-Lineage">
      <svg
        className="jp-pipeline-Lineage-svg"
        role="img"
        aria-label="Lineage graph"
        width={layout.width}
        height={layout.height}
        viewBox={`0 0 ${layout.width} ${layout.height}`}
      >
        <defs>
          <marker
            id="jp-pipeline-Lineage-arrow"
            viewBox="0 0 10 10"
            refX="9"
            refY="5"
            markerWidth="8"
            markerHeight="8"
            markerUnits="userSpaceOnUse"
            orient="auto-start-reverse"
          >
            <path
              d="M 0 0 L 10 5 L 0 10 z"
              className="jp-pipeline-Lineage-arrow"
            />
          </marker>
        </defs>
        <g className="jp-pipeline-Lineage-edges">
          {layout.edges.map(edge => (
            <path
              key={edge.id}
              d={edgePath(edge)}
              data-source={edge.source}
              data-target={edge.target}
              data-kind={edge.kind}
              className={[
                'jp-pipeline-Lineage-edge',
                `jp-mod-${edge.kind}`,
                props.taskId !== undefined && edge.taskId !== props.taskId
                  ? 'jp-mod-other'
                  : '',
                touches(edge) ? 'jp-mod-highlight' : ''
              ].join(' ')}
              markerEnd="url(#jp-pipeline-Lineage-arrow)"
            >
              <title>{`${label(edge.source)} → ${label(edge.target)}`}</title>
            </path>
          ))}
        </g>
        {layout.tables.map(table => (
          <g
            key={table.id}
            className="jp-pipeline-Lineage-table"
            data-table={table.id}
            transform={`translate(${table.x}, ${table.y})`}
          >
            <title>{`${table.datasource} · ${table.table}`}</title>
            <rect
              className="jp-pipeline-Lineage-box"
              width={table.width}
              height={table.height}
              rx={4}
            />
            <rect
              className="jp-pipeline-Lineage-header"
              width={table.width}
              height={36}
              rx={4}
            />
            <text className="jp-pipeline-Lineage-tableName" x={10} y={16}>
              {fitLabel(table.table, table.width - 20)}
            </text>
            <text className="jp-pipeline-Lineage-datasource" x={10} y={30}>
              {fitLabel(table.datasource, table.width - 20, 6)}
            </text>
            {table.columns.map(column => (
              <g
                key={column.id}
                className={`jp-pipeline-Lineage-column${hovered === column.id ? ' jp-mod-highlight' : ''}`}
                data-column={column.id}
                onMouseEnter={() => setHovered(column.id)}
                onMouseLeave={() => setHovered(null)}
              >
                <rect
                  x={1}
                  y={column.y - table.y - 11}
                  width={table.width - 2}
                  height={22}
                  className="jp-pipeline-Lineage-columnRow"
                />
                <text x={12} y={column.y - table.y + 4}>
                  {fitLabel(column.name, table.width - 24)}
                </text>
              </g>
            ))}
          </g>
        ))}
      </svg>
    </div>
  );
}

/** `datasource:table.column` (or a table id) as people read it. */
function label(id: string): string {
  const at = id.indexOf(':');
  return at === -1 ? id : `${id.slice(at + 1)} (${id.slice(0, at)})`;
}
