import { Widget } from '@lumino/widgets';

import { IVersion, ScriptsAPI } from '../api/scripts';

export type DiffLineKind = 'file' | 'hunk' | 'add' | 'del' | 'context';

/** What a line of a unified diff is. */
export function diffLineKind(line: string): DiffLineKind {
  if (line.startsWith('+++') || line.startsWith('---')) {
    return 'file';
  }
  if (line.startsWith('@@')) {
    return 'hunk';
  }
  if (line.startsWith('+')) {
    return 'add';
  }
  if (line.startsWith('-')) {
    return 'del';
  }
  return 'context';
}

/** The pair compared first: the newest version against the one before. */
export function defaultPair(
  versions: readonly Pick<IVersion, 'number'>[]
): [number, number] | null {
  const numbers = versions.map(v => v.number).sort((a, b) => b - a);
  return numbers.length >= 2 ? [numbers[1], numbers[0]] : null;
}

/**
 * A task's submitted versions (number, change, remarks, author, when,
 * published) and the diff between two of them, + and - lines coloured.
 */
export class VersionsPanel extends Widget {
  constructor(
    readonly taskId: number,
    readonly taskName: string,
    private readonly api: ScriptsAPI
  ) {
    super();
    this.addClass('jp-pipeline-Versions');
    this.id = `jp-pipeline-versions-${taskId}`;
    this.title.label = `Versions: ${taskName}`;
    this.title.closable = true;
    const heading = document.createElement('h2');
    heading.className = 'jp-pipeline-versionsTitle';
    heading.textContent = `Versions of ${taskName}`;
    this._table.className = 'jp-pipeline-versionTable';
    const compare = document.createElement('div');
    compare.className = 'jp-pipeline-compare';
    const fromLabel = document.createElement('label');
    fromLabel.textContent = 'From ';
    fromLabel.append(this._from);
    const toLabel = document.createElement('label');
    toLabel.textContent = 'To ';
    toLabel.append(this._to);
    this._from.className = this._to.className = 'jp-mod-styled';
    this._from.setAttribute('aria-label', 'From version');
    this._to.setAttribute('aria-label', 'To version');
    this._show.className = 'jp-mod-styled jp-mod-accept jp-pipeline-showDiff';
    this._show.textContent = 'Show diff';
    this._show.addEventListener('click', () => void this.showDiff());
    compare.append(fromLabel, toLabel, this._show);
    this._message.className = 'jp-pipeline-versionsMessage';
    this._diff.className = 'jp-pipeline-diff';
    this._diff.setAttribute('aria-label', 'Diff');
    this.node.append(heading, this._table, compare, this._message, this._diff);
  }

  /** Read the versions again and show the newest pair's diff. */
  async refresh(): Promise<void> {
    this._message.textContent = 'Loading…';
    try {
      this._versions = await this.api.versions(this.taskId);
    } catch (error) {
      this._message.textContent = `The versions cannot be read: ${(error as Error).message}`;
      return;
    }
    this._renderTable();
    const options = this._versions.map(v => {
      const option = document.createElement('option');
      option.value = String(v.number);
      option.textContent = `V${v.number} (${v.change})`;
      return option;
    });
    this._from.replaceChildren(...options.map(o => o.cloneNode(true)));
    this._to.replaceChildren(...options);
    const pair = defaultPair(this._versions);
    this._show.disabled = pair === null;
    if (!this._versions.length) {
      this._message.textContent =
        'No version yet: submitting the task makes its first.';
      this._diff.replaceChildren();
      return;
    }
    if (!pair) {
      this._message.textContent =
        'One version: a diff needs two. Submit again to compare.';
      this._diff.replaceChildren();
      return;
    }
    this._from.value = String(pair[0]);
    this._to.value = String(pair[1]);
    await this.showDiff();
  }

  /** The diff between the chosen versions. */
  async showDiff(): Promise<void> {
    const from = Number(this._from.value);
    const to = Number(this._to.value);
    if (!from || !to) {
      return;
    }
    this._message.textContent = `Changes from V${from} to V${to}`;
    try {
      const diff = await this.api.diff(this.taskId, from, to);
      this._renderDiff(diff);
    } catch (error) {
      this._message.textContent = `The diff cannot be read: ${(error as Error).message}`;
    }
  }

  private _renderTable(): void {
    const head = document.createElement('tr');
    for (const title of [
      'Version',
      'Change',
      'Remarks',
      'Author',
      'Submitted',
      'Published'
    ]) {
      const th = document.createElement('th');
      th.textContent = title;
      head.append(th);
    }
    const rows = this._versions.map(v => {
      const row = document.createElement('tr');
      row.dataset.version = String(v.number);
      for (const text of [
        `V${v.number}`,
        v.change,
        v.remarks,
        v.author,
        when(v.created_at),
        v.published_at ? `${when(v.published_at)} by ${v.published_by}` : '—'
      ]) {
        const td = document.createElement('td');
        td.textContent = text;
        row.append(td);
      }
      return row;
    });
    const thead = document.createElement('thead');
    thead.append(head);
    const tbody = document.createElement('tbody');
    tbody.append(...rows);
    this._table.replaceChildren(thead, tbody);
  }

  private _renderDiff(diff: string): void {
    if (!diff.trim()) {
      this._diff.replaceChildren();
      this._message.textContent += ': none (the versions are the same)';
      return;
    }
    const lines = diff.replace(/\n$/, '').split('\n');
    this._diff.replaceChildren(
      ...lines.map(line => {
        const node = document.createElement('div');
        node.className = `jp-pipeline-diffLine jp-mod-${diffLineKind(line)}`;
        node.textContent = line || ' ';
        return node;
      })
    );
  }

  private _versions: IVersion[] = [];
  private _table = document.createElement('table');
  private _from = document.createElement('select');
  private _to = document.createElement('select');
  private _show = document.createElement('button');
  private _message = document.createElement('div');
  private _diff = document.createElement('div');
}

function when(time: string): string {
  const date = new Date(time);
  return isNaN(date.getTime()) ? time : date.toLocaleString();
}
