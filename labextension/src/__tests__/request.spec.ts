import { ServerConnection } from '@jupyterlab/services';

import { PipelineClient, PipelineError } from '../request';

interface ICall {
  url: string;
  method: string;
  body: unknown;
}

/** A client whose fetch records each request and answers from `replies`, in turn. */
function client(...replies: Array<{ status: number; body?: unknown }>) {
  const calls: ICall[] = [];
  const fetch = async (input: RequestInfo, init?: RequestInit) => {
    const request = new Request(input, init);
    const text = await request.text();
    calls.push({
      url: request.url,
      method: request.method,
      body: text ? JSON.parse(text) : undefined
    });
    const reply = replies.shift() ?? { status: 204 };
    return new Response(
      reply.body === undefined ? null : JSON.stringify(reply.body),
      {
        status: reply.status
      }
    );
  };
  const settings = ServerConnection.makeSettings({
    baseUrl: 'http://localhost:8888/base/',
    fetch,
    Request,
    Headers
  });
  return { api: new PipelineClient(settings), calls };
}

describe('PipelineClient', () => {
  it('calls the endpoints under /pipeline/api/ with their methods and bodies', async () => {
    const task = { id: 7, name: 'orders' };
    const { api, calls } = client(
      { status: 201, body: task },
      { status: 200, body: [] }
    );
    const created = await api.createTask(3, {
      name: 'orders',
      schedule_type: 'recurring',
      source_type: 'sqlite',
      source_datasource: 'shop',
      target_type: 'sqlite',
      target_datasource: 'dw'
    });
    await api.listTasks(3, 'ord ers');
    expect(created).toEqual(task);
    expect(calls[0].method).toBe('POST');
    expect(new URL(calls[0].url).pathname).toBe(
      '/base/pipeline/api/projects/3/tasks'
    );
    expect(calls[0].body).toMatchObject({
      name: 'orders',
      source_datasource: 'shop'
    });
    const search = new URL(calls[1].url);
    expect(search.pathname).toBe('/base/pipeline/api/projects/3/tasks');
    expect(search.searchParams.get('search')).toBe('ord ers');
  });

  it('escapes names in paths and sends queries', async () => {
    const { api, calls } = client(
      { status: 200, body: { ok: true, message: 'SQLite 3' } },
      { status: 200, body: {} },
      { status: 200, body: [] }
    );
    expect(await api.testDatasource('a/b')).toEqual({
      ok: true,
      message: 'SQLite 3'
    });
    await api.deleteTask(4, 'not needed');
    await api.permissionRequests('owned', 'pending');
    expect(new URL(calls[0].url).pathname).toBe(
      '/base/pipeline/api/datasources/a%2Fb/test'
    );
    expect(calls[1].method).toBe('DELETE');
    expect(new URL(calls[1].url).searchParams.get('remarks')).toBe(
      'not needed'
    );
    const query = new URL(calls[2].url).searchParams;
    expect([query.get('scope'), query.get('status')]).toEqual([
      'owned',
      'pending'
    ]);
  });

  it('answers undefined for 204', async () => {
    const { api, calls } = client({ status: 204 });
    await expect(api.deleteFolder(5)).resolves.toBeUndefined();
    expect(calls[0].method).toBe('DELETE');
    expect(new URL(calls[0].url).pathname).toBe('/base/pipeline/api/folders/5');
  });

  it("throws the server's message and field issues", async () => {
    const { api } = client({
      status: 400,
      body: {
        message: 'the task cannot be created: name: is required',
        issues: [
          { field: 'name', message: 'is required' },
          { field: 'name', message: 'a second message' },
          {
            field: 'target_datasource',
            message: "you may not write data source 'dw'"
          }
        ]
      }
    });
    const error = await api.createTask(1, {} as any).catch(e => e);
    expect(error).toBeInstanceOf(PipelineError);
    expect(error.status).toBe(400);
    expect(error.message).toBe('the task cannot be created: name: is required');
    expect(error.fieldMessages).toEqual({
      name: 'is required',
      target_datasource: "you may not write data source 'dw'"
    });
  });

  it('keeps an error answer that is not JSON as the message', async () => {
    const { api } = client({ status: 403, body: undefined });
    const error = await api.listProjects().catch(e => e);
    expect(error).toBeInstanceOf(PipelineError);
    expect(error.status).toBe(403);
    expect(error.issues).toEqual([]);
  });
});
