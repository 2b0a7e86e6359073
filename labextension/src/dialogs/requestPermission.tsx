import { Dialog, ReactWidget, showDialog } from '@jupyterlab/apputils';
import { HTMLSelect } from '@jupyterlab/ui-components';
import * as React from 'react';

import type { IDirectoryEntry, Permission } from '../types';

const PERMISSION_LABELS: Record<Permission, string> = {
  read: 'read (sync-read: use it as a source)',
  write: 'write (sync-write: use it as a target)'
};

interface IRequest {
  datasource: string;
  permission: Permission;
  reason: string;
}

/** What can be asked for: a permission the user neither holds nor waits for. */
function askable(entry: IDirectoryEntry, permission: Permission): boolean {
  return (
    !entry.permissions.includes('owner') &&
    !entry.permissions.includes(permission) &&
    !entry.pending.includes(permission)
  );
}

class RequestBody extends ReactWidget {
  constructor(
    private _entries: IDirectoryEntry[],
    datasource?: string
  ) {
    super();
    this.addClass('jp-pipeline-DialogBody');
    const first =
      this._entries.find(e => e.name === datasource) ?? this._entries[0];
    this._value = {
      datasource: first?.name ?? '',
      permission: first && askable(first, 'read') ? 'read' : 'write',
      reason: ''
    };
  }

  getValue(): IRequest {
    return this._value;
  }

  render(): JSX.Element {
    const set = (change: Partial<IRequest>) => {
      this._value = { ...this._value, ...change };
      this.update();
    };
    const entry = this._entries.find(e => e.name === this._value.datasource);
    return (
      <div className="jp-pipeline-CreateTask">
        <label className="jp-pipeline-field">
          <span className="jp-pipeline-label">Data source</span>
          <HTMLSelect
            value={this._value.datasource}
            onChange={event => set({ datasource: event.currentTarget.value })}
            options={this._entries.map(e => ({
              value: e.name,
              label: `${e.name} (${e.type}, owner ${e.owner})`
            }))}
          />
        </label>
        <label className="jp-pipeline-field">
          <span className="jp-pipeline-label">Permission</span>
          <HTMLSelect
            value={this._value.permission}
            onChange={event =>
              set({ permission: event.currentTarget.value as Permission })
            }
            options={(['read', 'write'] as Permission[]).map(p => ({
              value: p,
              label: PERMISSION_LABELS[p],
              disabled: !!entry && !askable(entry, p)
            }))}
          />
        </label>
        <label className="jp-pipeline-field">
          <span className="jp-pipeline-label">Reason</span>
          <textarea
            className="jp-mod-styled"
            rows={2}
            value={this._value.reason}
            onChange={event => set({ reason: event.currentTarget.value })}
          />
        </label>
      </div>
    );
  }

  private _value: IRequest;
}

/** Ask a data source's owner for a permission; the request, or null when cancelled. */
export async function showRequestPermissionDialog(
  directory: IDirectoryEntry[],
  datasource?: string
): Promise<IRequest | null> {
  const entries = directory.filter(
    e => askable(e, 'read') || askable(e, 'write')
  );
  if (!entries.length) {
    await showDialog({
      title: 'Request Permission',
      body: 'You hold or have asked for every permission on every data source.',
      buttons: [Dialog.okButton()]
    });
    return null;
  }
  const result = await showDialog({
    title: 'Request Permission',
    body: new RequestBody(entries, datasource),
    buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Request' })]
  });
  return result.button.accept ? result.value : null;
}
