import { Dialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

/** A dialog body whose accept button sends a request. */
export interface ISubmittable<T> extends Widget {
  getValue(): T;
  /** Check and send; false keeps the dialog open, showing what went wrong. */
  submit(): Promise<boolean>;
}

/**
 * A dialog that stays open while its body's submit fails, so that the user
 * sees the client's and the server's field messages on the form they filled.
 * (Nested dialogs fight over the document's focus, so a form's "New" opens
 * inside its dialog rather than in a second one.)
 */
export class SubmitDialog<T> extends Dialog<T> {
  constructor(
    options: Partial<Dialog.IOptions<T>> & {
      body: ISubmittable<T>;
      buttons: ReadonlyArray<Dialog.IButton>;
    }
  ) {
    const defaultButton = options.buttons.findIndex(b => b.accept);
    super({ ...options, defaultButton });
    this._submittable = options.body;
    this._buttonList = options.buttons;
    this._acceptIndex = defaultButton;
  }

  resolve(index: number = this._acceptIndex): void {
    if (!this._buttonList[index]?.accept) {
      super.resolve(index);
      return;
    }
    if (this._busy) {
      return;
    }
    this._busy = true;
    this.addClass('jp-mod-busy');
    this._submittable
      .submit()
      .then(done => {
        if (done) {
          super.resolve(index);
        }
      })
      .finally(() => {
        this._busy = false;
        this.removeClass('jp-mod-busy');
      });
  }

  private _submittable: ISubmittable<T>;
  private _buttonList: ReadonlyArray<Dialog.IButton>;
  private _acceptIndex: number;
  private _busy = false;
}
