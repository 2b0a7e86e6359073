import { Widget } from '@lumino/widgets';

import { IProblem, SCRIPT_LIMIT, summary } from './diagnostics';

/**
 * The problems panel below the script: every diagnostic with its line and
 * column and the check that found it; a click (or Enter) jumps to it.
 */
export class ProblemsPanel extends Widget {
  constructor(private readonly onJump: (problem: IProblem) => void) {
    super();
    this.addClass('jp-pipeline-Problems');
    const header = document.createElement('div');
    header.className = 'jp-pipeline-problemsHeader';
    const title = document.createElement('span');
    title.className = 'jp-pipeline-problemsTitle';
    title.textContent = 'Problems';
    this._summary.className = 'jp-pipeline-problemsSummary';
    this._status.className = 'jp-pipeline-problemsStatus';
    this._length.className = 'jp-pipeline-problemsLength';
    header.append(title, this._summary, this._status, this._length);
    this._list.className = 'jp-pipeline-problemList';
    this._list.setAttribute('role', 'list');
    this._list.setAttribute('aria-label', 'Problems');
    this.node.append(header, this._list);
    this._list.addEventListener('click', this);
    this._list.addEventListener('keydown', this);
    this.setProblems([]);
  }

  get problems(): readonly IProblem[] {
    return this._problems;
  }

  handleEvent(event: Event): void {
    const item = (event.target as HTMLElement).closest<HTMLElement>(
      '.jp-pipeline-problem'
    );
    if (!item) {
      return;
    }
    if (
      event.type === 'keydown' &&
      (event as KeyboardEvent).key !== 'Enter' &&
      (event as KeyboardEvent).key !== ' '
    ) {
      return;
    }
    const problem = this._problems[Number(item.dataset.index)];
    if (problem) {
      event.preventDefault();
      this.onJump(problem);
    }
  }

  /** What the validation is doing: "Validating…", "Validated", an error... */
  setStatus(text: string, kind: 'busy' | 'ok' | 'error' = 'ok'): void {
    this._status.textContent = text;
    this._status.dataset.kind = kind;
  }

  /** The text's length against the limit. */
  setLength(length: number, limit = SCRIPT_LIMIT): void {
    this._length.textContent = `${length.toLocaleString('en-US')} / ${limit.toLocaleString('en-US')} characters`;
    this._length.classList.toggle('jp-mod-over', length > limit);
  }

  setProblems(problems: readonly IProblem[]): void {
    this._problems = [...problems];
    this._summary.textContent = summary(problems);
    this._list.replaceChildren(
      ...this._problems.map((problem, index) => this._item(problem, index))
    );
    if (!problems.length) {
      const empty = document.createElement('li');
      empty.className = 'jp-pipeline-problemsEmpty';
      empty.textContent = 'No problems found in the script.';
      this._list.append(empty);
    }
  }

  private _item(problem: IProblem, index: number): HTMLElement {
    const item = document.createElement('li');
    item.className = 'jp-pipeline-problem';
    item.dataset.index = String(index);
    item.dataset.severity = problem.severity;
    item.dataset.line = String(problem.line);
    item.dataset.column = String(problem.column);
    item.dataset.source = problem.source;
    item.tabIndex = 0;
    item.setAttribute('role', 'listitem');
    item.title = problem.pointer
      ? `${problem.message} (${problem.pointer})`
      : problem.message;
    const severity = document.createElement('span');
    severity.className = 'jp-pipeline-problemSeverity';
    severity.textContent = problem.severity;
    const message = document.createElement('span');
    message.className = 'jp-pipeline-problemMessage';
    message.textContent = problem.message;
    const position = document.createElement('span');
    position.className = 'jp-pipeline-problemPosition';
    position.textContent = `${problem.line}:${problem.column}`;
    const source = document.createElement('span');
    source.className = 'jp-pipeline-problemSource';
    source.textContent = problem.source;
    item.append(severity, message, position, source);
    return item;
  }

  private _problems: IProblem[] = [];
  private _summary = document.createElement('span');
  private _status = document.createElement('span');
  private _length = document.createElement('span');
  private _list = document.createElement('ul');
}
