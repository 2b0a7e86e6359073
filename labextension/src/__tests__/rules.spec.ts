import {
  datasourcesFor,
  emptyTaskForm,
  ITaskContext,
  ITaskForm,
  taskFormIssues,
  taskNameProblem
} from '../rules';
import type { IDatasource } from '../types';

function datasource(
  name: string,
  type: string,
  permissions: IDatasource['permissions']
): IDatasource {
  return {
    name,
    type,
    params: {},
    owner: 'someone',
    description: '',
    permissions
  };
}

const DATASOURCES = [
  datasource('shop', 'mysql', ['read']),
  datasource('dw', 'postgresql', ['write']),
  datasource('mine', 'sqlite', ['owner', 'read', 'write']),
  datasource('peek', 'postgresql', ['read'])
];

const CONTEXT: ITaskContext = {
  takenNames: new Set(['orders_daily']),
  datasources: DATASOURCES,
  folderIds: new Set([1, 2])
};

function valid(change: Partial<ITaskForm> = {}): ITaskForm {
  return {
    ...emptyTaskForm(1),
    name: 'orders_hourly',
    source_type: 'mysql',
    source_datasource: 'shop',
    target_type: 'postgresql',
    target_datasource: 'dw',
    ...change
  };
}

describe('task name', () => {
  it.each([
    ['', 'is required'],
    ['   ', 'is required'],
    ['x'.repeat(65), 'must be at most 64 characters (it has 65)'],
    ['a|b', 'must not contain |'],
    ['a:b?c', 'must not contain : ?'],
    ['<>*"/\\', 'must not contain < > * " / \\'],
    [
      'orders_daily',
      "a task named 'orders_daily' already exists in this project"
    ]
  ])('%j: %s', (name, message) => {
    expect(taskNameProblem(name, CONTEXT.takenNames)).toBe(message);
  });

  it.each(['x'.repeat(64), '1st load', '订单 日报', 'orders-daily.v2'])(
    '%j is allowed',
    name => {
      expect(taskNameProblem(name, CONTEXT.takenNames)).toBeNull();
    }
  );
});

describe('the Create Offline Script form', () => {
  it('has no issue when every rule holds', () => {
    expect(taskFormIssues(valid(), CONTEXT)).toEqual({});
  });

  it('names every field that breaks a rule', () => {
    const issues = taskFormIssues(
      { ...emptyTaskForm(9), schedule_type: '', description: 'd'.repeat(1001) },
      CONTEXT
    );
    expect(issues).toEqual({
      name: 'is required',
      schedule_type: 'must be recurring or manual',
      description: 'must be at most 1000 characters (it has 1001)',
      folder_id: 'folder 9 is not in this project',
      source_type: 'is required',
      source_datasource: 'is required',
      target_type: 'is required',
      target_datasource: 'is required'
    });
  });

  it('takes the root folder when none is chosen', () => {
    expect(taskFormIssues(valid({ folder_id: null }), CONTEXT)).toEqual({});
  });

  it('needs read on the source and write on the target', () => {
    expect(
      taskFormIssues(
        valid({ source_type: 'postgresql', source_datasource: 'dw' }),
        CONTEXT
      )
    ).toEqual({
      source_datasource:
        "you may not read data source 'dw': ask its owner for the permission"
    });
    expect(
      taskFormIssues(
        valid({ target_type: 'mysql', target_datasource: 'shop' }),
        CONTEXT
      )
    ).toEqual({
      target_datasource:
        "you may not write data source 'shop': ask its owner for the permission"
    });
  });

  it('needs a data source of the chosen type that exists', () => {
    expect(
      taskFormIssues(valid({ source_type: 'sqlite' }), CONTEXT)
        .source_datasource
    ).toBe("data source 'shop' is mysql, not sqlite");
    expect(
      taskFormIssues(valid({ target_datasource: 'gone' }), CONTEXT)
        .target_datasource
    ).toBe("data source 'gone' does not exist");
  });
});

describe('the data sources offered', () => {
  it('as a source: of the type, readable', () => {
    expect(
      datasourcesFor(DATASOURCES, 'postgresql', 'read').map(d => d.name)
    ).toEqual(['peek']);
  });

  it('as a target: of the type, writable (an owner may do both)', () => {
    expect(
      datasourcesFor(DATASOURCES, 'postgresql', 'write').map(d => d.name)
    ).toEqual(['dw']);
    expect(
      datasourcesFor(DATASOURCES, 'sqlite', 'write').map(d => d.name)
    ).toEqual(['mine']);
    expect(datasourcesFor(DATASOURCES, 'mysql', 'write')).toEqual([]);
  });
});
