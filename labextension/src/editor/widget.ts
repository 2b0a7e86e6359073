import { Notification } from '@jupyterlab/apputils';
import { CodeEditorWrapper } from '@jupyterlab/codeeditor';
import {
  ABCWidgetFactory,
  DocumentRegistry,
  DocumentWidget
} from '@jupyterlab/docregistry';
import { autocompletion } from '@codemirror/autocomplete';
import { jsonParseLinter } from '@codemirror/lang-json';
import {
  Diagnostic,
  forEachDiagnostic,
  lintGutter,
  setDiagnostics
} from '@codemirror/lint';
import { EditorState, Extension, Transaction } from '@codemirror/state';
import { EditorView, hoverTooltip } from '@codemirror/view';
import { ISignal, Signal } from '@lumino/signaling';
import { SplitPanel } from '@lumino/widgets';
import {
  jsonCompletion,
  jsonSchemaHover,
  jsonSchemaLinter,
  stateExtensions,
  updateSchema
} from 'codemirror-json-schema';
import type { JSONSchema7 } from 'json-schema';

import { taskParameters } from '../api/scripts';
import { Debouncer } from './debounce';
import {
  fromEditor,
  fromServer,
  IProblem,
  limitMessage,
  limitProblem,
  mergeDiagnostics,
  refuseGrowth,
  SCRIPT_LIMIT,
  summary
} from './diagnostics';
import { taskIdOfPath } from './drive';
import { ScriptEnvironment } from './environment';
import { ProblemsPanel } from './problems';

/** The widget factory's name: tasks and `*.pipeline.json` files open with it. */
export const FACTORY = 'Offline Pipeline Script Editor';

/** The file type of `*.pipeline.json` files. */
export const FILE_TYPE = 'pipeline-json';

/** Quiet time after typing before the server validates. */
export const VALIDATE_DELAY = 500;

/**
 * CodeMirror's tooltips (hover docs, lint messages, completion) live outside
 * the editor's DOM, so they are styled by a CodeMirror theme.
 */
const TOOLTIP_THEME = EditorView.theme({
  '.cm-tooltip': {
    maxWidth: '480px',
    fontSize: 'var(--jp-ui-font-size1)'
  },
  '.cm-tooltip-hover, .cm-tooltip-lint': { padding: '4px 8px' },
  '.cm6-json-schema-hover p': { margin: '2px 0' },
  '.cm6-json-schema-hover--code': {
    fontFamily: 'var(--jp-code-font-family)',
    color: 'var(--jp-ui-font-color2)'
  }
});

/** An editor diagnostic of a source the server never reports. */
const EDITOR_SOURCE = 'schema';

/**
 * The script's editor (JupyterLab's CodeMirror 6 editor with JSON, the
 * script's schema for squiggles, gutter markers, hover docs and completion)
 * above the problems panel; the server's validation is merged in, debounced.
 */
export class ScriptEditor extends SplitPanel {
  constructor(options: ScriptEditor.IOptions) {
    super({ orientation: 'vertical', spacing: 1 });
    this.addClass('jp-pipeline-ScriptEditor');
    // Ctrl+Z / Ctrl+Shift+Z go to the Edit menu's undoers (plugins/editor.ts)
    this.node.dataset.jpUndoer = 'true';
    this.context = options.context;
    this.taskId = options.taskId;
    this._env = options.env;
    const model = this.context.model;
    model.mimeType = 'application/json';

    this.editorWidget = new CodeEditorWrapper({
      factory: this._env.editorServices.factoryService.newDocumentEditor,
      model,
      editorOptions: {
        config: { lineNumbers: true },
        extensions: this._extensions()
      }
    });
    this.editorWidget.addClass('jp-pipeline-scriptText');
    this.problems = new ProblemsPanel(problem => this.jumpTo(problem));
    this.addWidget(this.editorWidget);
    this.addWidget(this.problems);
    this.setRelativeSizes([3, 1]);
    SplitPanel.setStretch(this.editorWidget, 3);
    SplitPanel.setStretch(this.problems, 1);

    this._debouncer = new Debouncer(() => void this._run(), VALIDATE_DELAY);
    model.contentChanged.connect(this._onContentChanged, this);
    this._env.schemaChanged.connect(this._onSchema, this);
    if (this._env.schema) {
      this._onSchema(this._env, this._env.schema);
    }
    this.problems.setStatus('Loading…', 'busy');
    void this.context.ready.then(() => {
      if (!this.isDisposed) {
        this.problems.setLength(model.sharedModel.getSource().length);
        void this._env.load().then(
          () => undefined,
          error =>
            this.problems.setStatus(`No schema: ${error.message}`, 'error')
        );
        void this.validate();
      }
    });
  }

  readonly context: DocumentRegistry.IContext<DocumentRegistry.ICodeModel>;
  /** The task of a task document; null for a `*.pipeline.json` file. */
  readonly taskId: number | null;
  readonly editorWidget: CodeEditorWrapper;
  readonly problems: ProblemsPanel;

  /** Emitted after each validation with the problems shown. */
  get validated(): ISignal<this, readonly IProblem[]> {
    return this._validated;
  }

  /** CodeMirror's view of the editor. */
  get view(): EditorView {
    return (this.editorWidget.editor as unknown as { editor: EditorView })
      .editor;
  }

  /**
   * Validate now: the editor's schema check and the server's, merged.
   *
   * @param refresh read the task again first (its custom parameters may have changed)
   */
  async validate(refresh = false): Promise<readonly IProblem[]> {
    if (refresh && this.taskId !== null) {
      try {
        this._env.drive.remember(await this._env.api.task(this.taskId));
      } catch {
        // validate with what is known
      }
    }
    return this._run();
  }

  /** Put the cursor on a problem and show it. */
  jumpTo(problem: IProblem): void {
    const view = this.view;
    let { from, to } = problem;
    const shown = this._shown.get(problem);
    if (shown) {
      forEachDiagnostic(view.state, (diagnostic, dFrom, dTo) => {
        if (diagnostic === shown) {
          from = dFrom;
          to = dTo;
        }
      });
    }
    const length = view.state.doc.length;
    from = Math.min(from, length);
    to = Math.min(Math.max(from, to), length);
    view.dispatch({
      selection: { anchor: from, head: to },
      effects: EditorView.scrollIntoView(from, { y: 'center' })
    });
    this.editorWidget.editor.focus();
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._debouncer.dispose();
    this._abort?.abort();
    Signal.clearData(this);
    super.dispose();
  }

  private _extensions(): Extension[] {
    const complete = jsonCompletion();
    return [
      stateExtensions(this._env.schema ?? undefined),
      hoverTooltip(jsonSchemaHover()),
      autocompletion({
        override: [
          context => {
            const result = complete(context);
            return Array.isArray(result) ? null : result;
          }
        ]
      }),
      lintGutter(),
      EditorState.transactionFilter.of(tr => this._limit(tr)),
      TOOLTIP_THEME
    ];
  }

  /** Refuse the user's changes that take the text past the limit. */
  private _limit(tr: Transaction): Transaction | readonly [] {
    if (
      !tr.docChanged ||
      tr.annotation(Transaction.userEvent) === undefined ||
      !refuseGrowth(tr.startState.doc.length, tr.newDoc.length)
    ) {
      return tr;
    }
    const message =
      limitMessage(tr.newDoc.length) ??
      `The script is limited to ${SCRIPT_LIMIT} characters.`;
    this.problems.setStatus(
      `Change refused: it would make ${tr.newDoc.length} characters (at most ${SCRIPT_LIMIT})`,
      'error'
    );
    const now = Date.now();
    if (now - this._lastLimitNote > 3000) {
      this._lastLimitNote = now;
      Notification.warning(`Change refused. ${message}`, { autoClose: 6000 });
    }
    return [];
  }

  private _onSchema(_: ScriptEnvironment, schema: JSONSchema7): void {
    updateSchema(this.view, schema);
    if (this.context.isReady) {
      this._debouncer.invoke();
    }
  }

  private _onContentChanged(): void {
    const length = this.context.model.sharedModel.getSource().length;
    this.problems.setLength(length);
    this.problems.setStatus('Editing…', 'busy');
    this._debouncer.invoke();
  }

  private async _run(): Promise<readonly IProblem[]> {
    this._debouncer.cancel();
    this._abort?.abort();
    const abort = (this._abort = new AbortController());
    const seq = ++this._seq;
    const view = this.view;
    const text = view.state.doc.toString();
    const editor = fromEditor(
      text,
      this._env.schema ? jsonSchemaLinter()(view) : [],
      EDITOR_SOURCE
    );
    const tooLong = limitProblem(text);
    let server: IProblem[] = [];
    let failure: string | null = null;
    if (tooLong) {
      failure = 'Not sent to the server: the script is too long';
    } else {
      this.problems.setStatus('Validating…', 'busy');
      try {
        const parameters =
          this.taskId === null
            ? undefined
            : taskParameters(this._env.drive.task(this.taskId));
        server = fromServer(
          text,
          await this._env.api.validate(text, parameters, abort.signal)
        );
      } catch (error) {
        if (abort.signal.aborted) {
          return this.problems.problems;
        }
        failure = `Server validation failed: ${(error as Error).message}`;
        // the syntax, at least, without the server
        editor.push(...fromEditor(text, jsonParseLinter()(view), 'syntax'));
      }
    }
    if (
      seq !== this._seq ||
      this.isDisposed ||
      view.state.doc.toString() !== text
    ) {
      return this.problems.problems; // a newer run is on its way
    }
    const problems = mergeDiagnostics(
      tooLong ? [...editor, tooLong] : editor,
      server
    );
    this._show(problems);
    if (failure) {
      this.problems.setStatus(failure, 'error');
    } else {
      this.problems.setStatus(
        `Validated at ${new Date().toLocaleTimeString()}`,
        'ok'
      );
    }
    this._validated.emit(problems);
    return problems;
  }

  private _show(problems: IProblem[]): void {
    const view = this.view;
    const length = view.state.doc.length;
    this._shown = new Map();
    const diagnostics: Diagnostic[] = problems.map(problem => {
      const from = Math.min(problem.from, length);
      const diagnostic: Diagnostic = {
        from,
        to: Math.min(Math.max(from, problem.to), length),
        severity: problem.severity,
        message: problem.message,
        source: problem.source
      };
      this._shown.set(problem, diagnostic);
      return diagnostic;
    });
    view.dispatch(setDiagnostics(view.state, diagnostics));
    this.problems.setProblems(problems);
    this.title.caption = summary(problems);
  }

  private _env: ScriptEnvironment;
  private _debouncer: Debouncer;
  private _abort: AbortController | null = null;
  private _seq = 0;
  private _shown = new Map<IProblem, Diagnostic>();
  private _lastLimitNote = 0;
  private _validated = new Signal<this, readonly IProblem[]>(this);
}

export namespace ScriptEditor {
  export interface IOptions {
    context: DocumentRegistry.IContext<DocumentRegistry.ICodeModel>;
    env: ScriptEnvironment;
    taskId: number | null;
  }
}

/** A task's script or a `*.pipeline.json` file, as a JupyterLab document. */
export class PipelineDocument extends DocumentWidget<
  ScriptEditor,
  DocumentRegistry.ICodeModel
> {
  constructor(
    options: DocumentWidget.IOptions<ScriptEditor, DocumentRegistry.ICodeModel>
  ) {
    super(options);
    this.addClass('jp-pipeline-TaskView');
    this.taskId = options.content.taskId;
    if (this.taskId !== null) {
      this.addClass('jp-pipeline-TaskDocument');
      this.node.dataset.taskId = String(this.taskId);
    }
  }

  /** The task of a task document; null for a file. */
  readonly taskId: number | null;
}

/** Opens tasks' scripts and `*.pipeline.json` files in the script editor. */
export class ScriptEditorFactory extends ABCWidgetFactory<
  PipelineDocument,
  DocumentRegistry.ICodeModel
> {
  constructor(
    options: DocumentRegistry.IWidgetFactoryOptions<PipelineDocument> & {
      env: ScriptEnvironment;
    }
  ) {
    super(options);
    this._env = options.env;
  }

  protected createNewWidget(
    context: DocumentRegistry.IContext<DocumentRegistry.ICodeModel>
  ): PipelineDocument {
    const content = new ScriptEditor({
      context,
      env: this._env,
      taskId: taskIdOfPath(context.path)
    });
    return new PipelineDocument({ content, context });
  }

  private _env: ScriptEnvironment;
}
