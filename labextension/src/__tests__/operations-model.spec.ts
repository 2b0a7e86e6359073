import type {
  IInstanceFilters,
  IInstancePage,
  OperationsClient
} from '../api/operations';
import { OperationCenterModel } from '../operations/model';

/** A client whose instance pages answer when the test says so. */
function fakeClient() {
  const queries: IInstanceFilters[] = [];
  const pending: Array<(page: IInstancePage) => void> = [];
  const client = {
    productionTasks: async () => [],
    backfills: async () => [],
    instances: (query: IInstanceFilters) => {
      queries.push(query);
      return new Promise<IInstancePage>(resolve => pending.push(resolve));
    }
  } as unknown as OperationsClient;
  return { client, queries, pending };
}

const page = (ids: number[], total = ids.length): IInstancePage => ({
  instances: ids.map(id => ({ id }) as IInstancePage['instances'][0]),
  total
});

/** Let the model's awaits run. */
const settle = () => new Promise(resolve => setTimeout(resolve, 0));

describe('OperationCenterModel', () => {
  it('goes back to the first page when a filter changes', async () => {
    const { client, queries, pending } = fakeClient();
    const model = new OperationCenterModel(client);
    const paged = model.setPage(100);
    await settle();
    pending.shift()!(page([1], 150));
    await paged;
    expect(queries[0]).toMatchObject({ offset: 100, limit: 50 });

    const filtered = model.setFilters({ states: ['failed'], taskId: 3 });
    await settle();
    pending.shift()!(page([2]));
    await filtered;
    expect(queries[1]).toMatchObject({
      offset: 0,
      taskId: 3,
      states: ['failed']
    });
    expect(model.instances.map(i => i.id)).toEqual([2]);
  });

  it('drops an answer to filters changed meanwhile and loads again', async () => {
    const { client, queries, pending } = fakeClient();
    const model = new OperationCenterModel(client);
    const first = model.refresh();
    await settle();
    // the user picks a task while the first page is on its way
    void model.setFilters({ taskId: 7 });
    pending.shift()!(page([1, 2, 3]));
    await first;
    expect(model.instances).toEqual([]); // the stale answer is not shown
    await settle();
    expect(queries.map(q => q.taskId)).toEqual([null, 7]);
    pending.shift()!(page([9]));
    await settle();
    await settle();
    expect(model.instances.map(i => i.id)).toEqual([9]);
  });

  it('opens on a task with every other filter cleared', async () => {
    const { client, pending } = fakeClient();
    const model = new OperationCenterModel(client);
    const done = model.setFilters({ kind: 'backfill', from: '2024-01-01' });
    await settle();
    pending.shift()!(page([]));
    await done;
    model.tab = 'tasks';
    await settle();
    const shown = model.showTask(4);
    await settle();
    pending.shift()!(page([]));
    await shown;
    expect(model.tab).toBe('instances');
    expect(model.filters).toEqual({
      taskId: 4,
      from: '',
      to: '',
      states: [],
      kind: '',
      backfillId: null
    });
  });
});
