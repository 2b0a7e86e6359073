/**
 * A layered layout of the server's lineage drawing (table nodes with their
 * column nodes, table and column edges), for an SVG drawn by hand: each table
 * a box of its columns; tables in columns by their distance from the sources
 * (a task's own lineage: sources left, target right); column edges from a
 * source column's row to a target column's row.
 */
import type { ILineageGraph } from '../api/schedule';

export const LAYOUT = {
  margin: 12,
  tableWidth: 230,
  header: 40,
  row: 22,
  footer: 8,
  layerGap: 120,
  tableGap: 24
};

export interface IColumnRow {
  id: string;
  name: string;
  /** The row's vertical middle, in the drawing. */
  y: number;
}

export interface ITableBox {
  id: string;
  datasource: string;
  table: string;
  layer: number;
  x: number;
  y: number;
  width: number;
  height: number;
  columns: IColumnRow[];
}

export interface IEdgeLine {
  id: string;
  kind: 'table' | 'column';
  source: string;
  target: string;
  taskId: number;
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

export interface ILineageLayout {
  width: number;
  height: number;
  tables: ITableBox[];
  edges: IEdgeLine[];
}

/**
 * Place the graph. Layers: the longest path from a table nothing feeds
 * (bounded, so a cycle cannot loop); in a layer, tables in the order the
 * server lists them, each layer centred on the tallest. A table edge is drawn
 * only between tables no column edge joins (the columns say more).
 */
export function layoutLineage(
  graph: ILineageGraph,
  options: Partial<typeof LAYOUT> = {}
): ILineageLayout {
  const o = { ...LAYOUT, ...options };
  const tableNodes = graph.nodes.filter(n => n.kind === 'table');
  const tableIds = tableNodes.map(n => n.id);
  const parentOf = new Map<string, string>();
  const columnsOf = new Map<string, Array<{ id: string; name: string }>>();
  for (const node of graph.nodes) {
    if (node.kind === 'column' && node.parent) {
      parentOf.set(node.id, node.parent);
      const list = columnsOf.get(node.parent) ?? [];
      list.push({ id: node.id, name: node.column ?? node.id });
      columnsOf.set(node.parent, list);
    }
  }
  const tableOf = (id: string) => parentOf.get(id) ?? id;
  // columns that take part only as edge ends still need a table (defensive)
  for (const edge of graph.edges) {
    for (const end of [edge.source, edge.target]) {
      const table = tableOf(end);
      if (!tableIds.includes(table)) {
        tableIds.push(table);
        tableNodes.push({
          id: table,
          kind: 'table',
          datasource: table.split(':')[0],
          table: table.split(':').slice(1).join(':')
        });
      }
    }
  }

  // table-level links, for the layers
  const links: Array<[string, string]> = [];
  const seenLinks = new Set<string>();
  for (const edge of graph.edges) {
    const from = tableOf(edge.source);
    const to = tableOf(edge.target);
    const key = `${from}\n${to}`;
    if (from !== to && !seenLinks.has(key)) {
      seenLinks.add(key);
      links.push([from, to]);
    }
  }
  const layer = new Map(tableIds.map(id => [id, 0]));
  for (let pass = 0; pass < tableIds.length; pass++) {
    let moved = false;
    for (const [from, to] of links) {
      const next = layer.get(from)! + 1;
      if (next > layer.get(to)! && next < tableIds.length) {
        layer.set(to, next);
        moved = true;
      }
    }
    if (!moved) {
      break;
    }
  }

  const heightOf = (id: string) =>
    o.header + (columnsOf.get(id)?.length ?? 0) * o.row + o.footer;
  const layers = new Map<number, string[]>();
  for (const id of tableIds) {
    const list = layers.get(layer.get(id)!) ?? [];
    list.push(id);
    layers.set(layer.get(id)!, list);
  }
  const stackHeight = (ids: string[]) =>
    ids.reduce((sum, id) => sum + heightOf(id), 0) +
    Math.max(0, ids.length - 1) * o.tableGap;
  const tallest = Math.max(0, ...[...layers.values()].map(stackHeight));
  const layerCount = layers.size ? Math.max(...layers.keys()) + 1 : 0;

  const boxes = new Map<string, ITableBox>();
  for (const [index, ids] of layers) {
    let y = o.margin + (tallest - stackHeight(ids)) / 2;
    const x = o.margin + index * (o.tableWidth + o.layerGap);
    for (const id of ids) {
      const node = tableNodes.find(n => n.id === id)!;
      const height = heightOf(id);
      const columns = (columnsOf.get(id) ?? []).map((column, i) => ({
        ...column,
        y: y + o.header + i * o.row + o.row / 2
      }));
      boxes.set(id, {
        id,
        datasource: node.datasource,
        table: node.table,
        layer: index,
        x,
        y,
        width: o.tableWidth,
        height,
        columns
      });
      y += height + o.tableGap;
    }
  }

  const joinedByColumns = new Set(
    graph.edges
      .filter(e => e.kind === 'column')
      .map(e => `${tableOf(e.source)}\n${tableOf(e.target)}`)
  );
  const anchor = (id: string, side: 'out' | 'in') => {
    const box = boxes.get(tableOf(id))!;
    const column = box.columns.find(c => c.id === id);
    return {
      x: side === 'out' ? box.x + box.width : box.x,
      y: column ? column.y : box.y + o.header / 2
    };
  };
  const edges: IEdgeLine[] = [];
  const seenEdges = new Set<string>();
  for (const edge of graph.edges) {
    const tables = `${tableOf(edge.source)}\n${tableOf(edge.target)}`;
    if (edge.kind === 'table' && joinedByColumns.has(tables)) {
      continue;
    }
    const id = `${edge.kind}:${edge.source}->${edge.target}`;
    if (seenEdges.has(id)) {
      continue; // several tasks write the same columns: one line
    }
    seenEdges.add(id);
    const from = anchor(edge.source, 'out');
    const to = anchor(edge.target, 'in');
    edges.push({
      id,
      kind: edge.kind,
      source: edge.source,
      target: edge.target,
      taskId: edge.task_id,
      x1: from.x,
      y1: from.y,
      x2: to.x,
      y2: to.y
    });
  }

  return {
    width:
      layerCount === 0
        ? 2 * o.margin
        : 2 * o.margin +
          layerCount * o.tableWidth +
          (layerCount - 1) * o.layerGap,
    height: 2 * o.margin + tallest,
    tables: tableIds.map(id => boxes.get(id)!),
    edges
  };
}

/** An S-curve from (x1, y1) to (x2, y2), leaving and entering horizontally. */
export function edgePath(edge: {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}): string {
  const dx = Math.max(40, Math.abs(edge.x2 - edge.x1) / 2);
  return `M ${edge.x1} ${edge.y1} C ${edge.x1 + dx} ${edge.y1}, ${edge.x2 - dx} ${edge.y2}, ${edge.x2} ${edge.y2}`;
}

/** A label cut to fit `width` pixels at about `charWidth` a character. */
export function fitLabel(text: string, width: number, charWidth = 7): string {
  const max = Math.max(4, Math.floor(width / charWidth));
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
