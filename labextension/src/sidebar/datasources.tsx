import { ReactWidget, UseSignal } from '@jupyterlab/apputils';
import { addIcon, editIcon } from '@jupyterlab/ui-components';
import { CommandRegistry } from '@lumino/commands';
import * as React from 'react';

import { datasourceIcon } from '../icons';
import type { PipelineModel } from '../model';
import { CommandIDs } from '../tokens';
import type { IDatasource, IPermissionRequest } from '../types';

const PERMISSION_TITLES: Record<string, string> = {
  owner: 'You own it: read, write, grant',
  read: 'You may read from it (sync-read)',
  write: 'You may write to it (sync-write)'
};

function DatasourceRow(props: {
  model: PipelineModel;
  commands: CommandRegistry;
  datasource: IDatasource;
}) {
  const { model, commands, datasource } = props;
  const selected = model.selectedDatasource?.name === datasource.name;
  const owner = datasource.permissions.includes('owner');
  const tested = model.testResult(datasource.name);
  return (
    <li
      className={`jp-pipeline-datasource${selected ? ' jp-mod-selected' : ''}`}
      data-name={datasource.name}
      data-owner={owner ? 'true' : undefined}
      title={datasource.description || datasource.name}
      onClick={() => (model.selectedDatasource = datasource)}
      onContextMenu={() => (model.selectedDatasource = datasource)}
      onDoubleClick={() =>
        owner &&
        void commands.execute(CommandIDs.editDatasource, {
          name: datasource.name
        })
      }
    >
      <div className="jp-pipeline-datasourceName">
        <datasourceIcon.react tag="span" className="jp-pipeline-treeIcon" />
        <span className="jp-pipeline-treeName">{datasource.name}</span>
      </div>
      <div className="jp-pipeline-datasourceMeta">
        <span className="jp-pipeline-type">{datasource.type}</span>
        {datasource.permissions.map(p => (
          <span
            key={p}
            className={`jp-pipeline-badge jp-mod-${p}`}
            title={PERMISSION_TITLES[p]}
          >
            {p}
          </span>
        ))}
        <button
          type="button"
          className="jp-pipeline-rowButton"
          onClick={event => {
            event.stopPropagation();
            void commands.execute(CommandIDs.testDatasource, {
              name: datasource.name
            });
          }}
        >
          Test
        </button>
        {owner && (
          <button
            type="button"
            className="jp-pipeline-rowButton"
            title={`Edit ${datasource.name}`}
            aria-label={`Edit ${datasource.name}`}
            onClick={event => {
              event.stopPropagation();
              void commands.execute(CommandIDs.editDatasource, {
                name: datasource.name
              });
            }}
          >
            <editIcon.react tag="span" className="jp-pipeline-buttonIcon" />
          </button>
        )}
      </div>
      {tested && (
        <div
          className={`jp-pipeline-testResult jp-mod-${tested.ok ? 'ok' : 'failed'}`}
          role="status"
        >
          {tested.message}
        </div>
      )}
    </li>
  );
}

function RequestRow(props: {
  request: IPermissionRequest;
  commands: CommandRegistry;
  decide: boolean;
}) {
  const { request, commands } = props;
  return (
    <li className="jp-pipeline-request" data-id={request.id}>
      <span className="jp-pipeline-requestText">
        {props.decide
          ? `${request.user} asks to ${request.permission} ${request.datasource}`
          : `${request.permission} on ${request.datasource}`}
        {request.reason && <em>: {request.reason}</em>}
      </span>
      {props.decide ? (
        <>
          <button
            type="button"
            className="jp-pipeline-rowButton"
            onClick={() =>
              void commands.execute(CommandIDs.grantRequest, { id: request.id })
            }
          >
            Grant
          </button>
          <button
            type="button"
            className="jp-pipeline-rowButton"
            onClick={() =>
              void commands.execute(CommandIDs.refuseRequest, {
                id: request.id
              })
            }
          >
            Refuse
          </button>
        </>
      ) : (
        <span className={`jp-pipeline-badge jp-mod-${request.status}`}>
          {request.status}
        </span>
      )}
    </li>
  );
}

/** The data sources the user sees, and the permission requests. */
export class DatasourcesView extends ReactWidget {
  constructor(
    private _model: PipelineModel,
    private _commands: CommandRegistry
  ) {
    super();
    this.addClass('jp-pipeline-Datasources');
    this.title.label = 'Data Sources';
  }

  render(): JSX.Element {
    const model = this._model;
    const commands = this._commands;
    return (
      <UseSignal signal={model.changed}>
        {() => (
          <>
            <div className="jp-pipeline-actions">
              <button
                type="button"
                className="jp-pipeline-rowButton"
                onClick={() => void commands.execute(CommandIDs.newDatasource)}
              >
                <addIcon.react tag="span" className="jp-pipeline-buttonIcon" />
                New Data Source
              </button>
              <button
                type="button"
                className="jp-pipeline-rowButton"
                onClick={() =>
                  void commands.execute(CommandIDs.requestPermission)
                }
              >
                Request Permission
              </button>
            </div>
            <ul
              className="jp-pipeline-datasourceList"
              aria-label="Data sources"
            >
              {model.datasources.map(d => (
                <DatasourceRow
                  key={d.name}
                  model={model}
                  commands={commands}
                  datasource={d}
                />
              ))}
            </ul>
            {!model.datasources.length && (
              <div className="jp-pipeline-empty">
                No data source yet: create one, or request a permission on
                another's.
              </div>
            )}
            {model.requestsToDecide.length > 0 && (
              <>
                <h4 className="jp-pipeline-subhead">Requests waiting on you</h4>
                <ul
                  className="jp-pipeline-requests"
                  aria-label="Requests waiting on you"
                >
                  {model.requestsToDecide.map(r => (
                    <RequestRow
                      key={r.id}
                      request={r}
                      commands={commands}
                      decide
                    />
                  ))}
                </ul>
              </>
            )}
            {model.myRequests.length > 0 && (
              <>
                <h4 className="jp-pipeline-subhead">Your requests</h4>
                <ul className="jp-pipeline-requests" aria-label="Your requests">
                  {model.myRequests.map(r => (
                    <RequestRow
                      key={r.id}
                      request={r}
                      commands={commands}
                      decide={false}
                    />
                  ))}
                </ul>
              </>
            )}
          </>
        )}
      </UseSignal>
    );
  }
}
