import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import type { APIRequestContext, Locator } from '@playwright/test';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  API,
  createSqliteDatasources,
  openCreateDialog,
  openSidebar,
  unique
} from './helpers';

/** Screenshots for the README (committed by hand, not compared). */
const SHOTS = path.join(__dirname, '..', 'screenshots');
/** The SQLite files of the data sources the tests create. */
const FILES = fs.mkdtempSync(path.join(os.tmpdir(), 'pipeline-ui-data-'));

async function defaultProject(request: APIRequestContext): Promise<number> {
  const projects = await (await request.get(`${API}/projects`)).json();
  return projects.find((p: { name: string }) => p.name === 'default').id;
}

async function taskNames(request: APIRequestContext): Promise<string[]> {
  const project = await defaultProject(request);
  const tasks = await (
    await request.get(`${API}/projects/${project}/tasks`)
  ).json();
  return tasks.map((t: { name: string }) => t.name);
}

/** Create an SQLite data source through the form generated from its type's schema. */
async function createSqliteDatasource(
  page: IJupyterLabPageFixture,
  name: string
): Promise<void> {
  await page.getByRole('button', { name: 'New Data Source' }).click();
  const dialog = page.locator('.jp-Dialog');
  await expect(dialog.locator('.jp-Dialog-header')).toHaveText(
    'New Data Source'
  );
  await dialog.getByLabel('Data source type').selectOption('sqlite');
  await dialog.locator('#root_name').fill(name);
  await dialog
    .locator('#root_params_path')
    .fill(path.join(FILES, `${name}.db`));
  await dialog.getByRole('button', { name: 'Create' }).click();
  await expect(dialog).toHaveCount(0);
}

async function chooseDatasources(
  dialog: Locator,
  source: string,
  target: string
): Promise<void> {
  await dialog.getByLabel('Source Type').selectOption('sqlite');
  await dialog
    .locator('#jp-pipeline-task-source_datasource')
    .selectOption(source);
  await dialog.getByLabel('Target Type').selectOption('sqlite');
  await dialog
    .locator('#jp-pipeline-task-target_datasource')
    .selectOption(target);
}

function fieldMessage(dialog: Locator, field: string): Locator {
  return dialog.locator(
    `.jp-pipeline-field[data-field="${field}"] .jp-pipeline-fieldError`
  );
}

test.describe('Batch Pipeline', () => {
  test('data sources through the form, Test Connection, and a task through the dialog', async ({
    page
  }) => {
    const sidebar = await openSidebar(page, { heading: true });
    await expect(sidebar.locator('.jp-pipeline-mode')).toHaveText('Basic');

    const shop = unique('shop');
    const warehouse = unique('warehouse');
    for (const name of [shop, warehouse]) {
      await createSqliteDatasource(page, name);
      const row = sidebar.locator(
        `.jp-pipeline-datasource[data-name="${name}"]`
      );
      await expect(row).toContainText('sqlite');
      await expect(row).toContainText('owner');
      await row.getByRole('button', { name: 'Test' }).click();
      await expect(
        row.locator('.jp-pipeline-testResult.jp-mod-ok')
      ).toContainText('SQLite');
    }

    const task = unique('orders_daily');
    const dialog = await openCreateDialog(page, sidebar);
    await dialog.getByLabel('Task Name').fill(task);
    await dialog
      .getByLabel('Description')
      .fill('Orders of the day into the warehouse');
    await chooseDatasources(dialog, shop, warehouse);
    // "New" beside the target opens the data source form in the dialog, then picks it
    const lake = unique('lake');
    await dialog.getByLabel('Target Type').selectOption('duckdb');
    await dialog
      .getByRole('button', { name: 'New target data source' })
      .click();
    await dialog.locator('#root_name').fill(lake);
    await dialog
      .locator('#root_params_path')
      .fill(path.join(FILES, `${lake}.duckdb`));
    await dialog.getByRole('button', { name: 'Create Data Source' }).click();
    await expect(
      dialog.locator('#jp-pipeline-task-target_datasource')
    ).toHaveValue(lake);
    await expect(dialog.locator('.jp-pipeline-fieldError')).toHaveCount(0);
    await dialog.getByRole('button', { name: 'OK' }).click();
    await expect(dialog).toHaveCount(0);

    const leaf = sidebar.locator('.jp-pipeline-treeItem[data-kind="task"]', {
      hasText: task
    });
    await expect(leaf).toBeVisible();
    await expect(leaf.locator('.jp-pipeline-badge')).toHaveText('Draft');
    // pipeline:open-task shows the generated script, read-only for now
    await expect(
      page.getByRole('main').getByRole('tab', { name: task })
    ).toBeVisible();
    const script = page.locator('.jp-pipeline-TaskView .cm-content');
    await expect(script).toContainText(shop);
    await expect(script).toContainText(lake);
    expect(await taskNames(page.request)).toContain(task);
    // (screenshots/sidebar.png is the seed procedure's: seed-procedure.spec.ts)
  });

  test('wrong input shows the field message and creates nothing', async ({
    page
  }) => {
    const source = unique('src');
    const target = unique('dst');
    await createSqliteDatasources(page.request, FILES, [source, target]);
    const sidebar = await openSidebar(page, { heading: true });
    await sidebar.getByRole('button', { name: /Reload the projects/ }).click();
    await expect(
      sidebar.locator(`.jp-pipeline-datasource[data-name="${target}"]`)
    ).toBeVisible();
    const dialog = await openCreateDialog(page, sidebar);
    await chooseDatasources(dialog, source, target);

    // too long: the rule's message as the user types
    const long = 'x'.repeat(65);
    await dialog.getByLabel('Task Name').fill(long);
    await expect(fieldMessage(dialog, 'name')).toHaveText(
      'must be at most 64 characters (it has 65)'
    );
    await dialog.locator('.jp-Dialog-content').screenshot({
      path: path.join(SHOTS, 'create-dialog-field-message.png')
    });
    await dialog.getByRole('button', { name: 'OK' }).click();
    await expect(dialog).toBeVisible();

    // a forbidden character
    await dialog.getByLabel('Task Name').fill('orders|daily');
    await expect(fieldMessage(dialog, 'name')).toHaveText('must not contain |');
    await dialog.getByRole('button', { name: 'OK' }).click();
    await expect(dialog).toBeVisible();

    // a rule only the server can know: the name was taken after the dialog opened
    const name = unique('taken');
    await dialog.getByLabel('Task Name').fill(name);
    await expect(fieldMessage(dialog, 'name')).toHaveCount(0);
    const project = await defaultProject(page.request);
    const behind = await page.request.post(`${API}/projects/${project}/tasks`, {
      data: {
        name,
        schedule_type: 'manual',
        source_type: 'sqlite',
        source_datasource: source,
        target_type: 'sqlite',
        target_datasource: target
      }
    });
    expect(behind.status()).toBe(201);
    await dialog.getByRole('button', { name: 'OK' }).click();
    await expect(fieldMessage(dialog, 'name')).toHaveText(
      `a task named '${name}' already exists in this project`
    );

    const names = await taskNames(page.request);
    expect(names.filter(n => n === name)).toHaveLength(1);
    expect(names).not.toContain(long);
    expect(names).not.toContain('orders|daily');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await expect(dialog).toHaveCount(0);
  });
});
