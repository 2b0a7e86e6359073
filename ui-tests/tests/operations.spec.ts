import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import type { APIRequestContext, Locator } from '@playwright/test';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { API, closeToasts, ok, openSidebar, sqlite, unique } from './helpers';

/**
 * The Operation Center against a JupyterLab whose scheduler runs instances in
 * its worker processes: a published task run now, seen to succeed (live
 * refresh), its log, a rerun; a failing run's notification; a backfill of 3
 * dates with parallelism 1 that reaches 3/3.
 */

const SHOTS = path.join(__dirname, '..', 'screenshots');
const FILES = fs.mkdtempSync(path.join(os.tmpdir(), 'pipeline-ui-ops-'));
/** Long enough for a worker process's first start on a slow machine. */
const RUN_TIMEOUT = 90_000;

/** A published task (the default project is basic: submitting publishes). */
async function publishedTask(
  request: APIRequestContext,
  options: {
    name: string;
    scheduleType: 'recurring' | 'manual';
    source: string;
    sourceTable: string;
    target: string;
    targetTable: string;
    reruns?: number;
  }
): Promise<number> {
  const projects = await ok(request.get(`${API}/projects`));
  const project = projects.find(
    (p: { name: string }) => p.name === 'default'
  ).id;
  const task = await ok(
    request.post(`${API}/projects/${project}/tasks`, {
      data: {
        name: options.name,
        schedule_type: options.scheduleType,
        source_type: 'sqlite',
        source_datasource: options.source,
        target_type: 'sqlite',
        target_datasource: options.target,
        source_table: options.sourceTable,
        target_table: options.targetTable
      }
    })
  );
  const detail = await ok(request.get(`${API}/tasks/${task.id}`));
  // the template's columns come from the tables; delete first, so a rerun is clean
  const script = JSON.parse(detail.script);
  script.steps[1].parameter.preSql = ['delete from @table'];
  await ok(
    request.put(`${API}/tasks/${task.id}/script`, {
      data: { script: JSON.stringify(script, null, 2) }
    })
  );
  if (options.reruns !== undefined) {
    const schedule = detail.schedule;
    schedule.run.rerun_on_failure.count = options.reruns;
    await ok(
      request.put(`${API}/tasks/${task.id}/schedule`, { data: schedule })
    );
  }
  const submitted = await ok(
    request.post(`${API}/tasks/${task.id}/submit`, {
      data: { remarks: 'for the Operation Center test' }
    })
  );
  expect(submitted.status).toBe('published');
  return task.id;
}

async function contextMenu(
  page: IJupyterLabPageFixture,
  item: Locator,
  label: string
): Promise<void> {
  await item.click({ button: 'right' });
  await page
    .locator('.lm-Menu .lm-Menu-item')
    .filter({ hasText: label })
    .first()
    .click();
}

test.describe('Operation Center', () => {
  test.setTimeout(6 * 60_000);

  test('run, see it succeed live, read its log, rerun; a failure notifies; a backfill reaches 3/3', async ({
    page
  }) => {
    await page.setViewportSize({ width: 1440, height: 1000 });
    const request = page.request;

    // --- set-up through REST: two SQLite data sources, two published tasks
    const shopFile = path.join(FILES, 'shop.db');
    const dwFile = path.join(FILES, 'dw.db');
    const rows = Array.from(
      { length: 250 },
      (_, i) => `(${i + 1}, ${(i + 1) * 1.5}, '2024-01-0${(i % 3) + 1}')`
    ).join(',');
    sqlite(
      shopFile,
      'create table orders (id integer primary key, amount real, gmt_create text);' +
        `insert into orders values ${rows};` +
        'create table doomed (id integer primary key, amount real);' +
        'insert into doomed values (1, 2.5);'
    );
    sqlite(
      dwFile,
      'create table ods_orders (id integer primary key, amount real, gmt_create text);' +
        'create table ods_doomed (id integer primary key, amount real);'
    );
    const shop = unique('ops_shop');
    const dw = unique('ops_dw');
    for (const [name, file] of [
      [shop, shopFile],
      [dw, dwFile]
    ]) {
      await ok(
        request.post(`${API}/datasources`, {
          data: { name, type: 'sqlite', params: { path: file } }
        })
      );
    }
    const taskName = unique('ops_orders');
    const taskId = await publishedTask(request, {
      name: taskName,
      scheduleType: 'recurring',
      source: shop,
      sourceTable: 'orders',
      target: dw,
      targetTable: 'ods_orders'
    });
    const brokenName = unique('ops_doomed');
    const brokenId = await publishedTask(request, {
      name: brokenName,
      scheduleType: 'manual',
      source: shop,
      sourceTable: 'doomed',
      target: dw,
      targetTable: 'ods_doomed',
      reruns: 0
    });
    const first = await ok(
      request.post(`${API}/tasks/${taskId}/run`, { data: {} })
    );

    // --- the sidebar's context menu opens the Operation Center on the task
    const sidebar = await openSidebar(page);
    await sidebar.getByRole('button', { name: /Reload the projects/ }).click();
    const leaf = sidebar.locator('.jp-pipeline-treeItem[data-kind="task"]', {
      hasText: taskName
    });
    await expect(leaf).toBeVisible();
    await contextMenu(page, leaf, 'Open in Operation Center');
    const center = page.locator('.jp-pipeline-OperationCenter');
    await expect(center).toBeVisible();
    await expect(center.getByLabel('Task filter')).toHaveValue(String(taskId));

    // live refresh: the row reaches success without a click
    const row = center.locator(`tr[data-instance="${first.id}"]`);
    await expect(row).toBeVisible();
    await expect(row).toHaveAttribute('data-state', 'success', {
      timeout: RUN_TIMEOUT
    });
    await expect(row).toContainText('250'); // records written
    await expect(row).toContainText('1/');
    await expect(
      center.locator(`.jp-pipeline-timelineBar[data-instance="${first.id}"]`)
    ).toHaveClass(/jp-mod-success/);

    // --- the instance: fields, statistics, log with the summary
    await row.click();
    const instance = page.locator(`#jp-pipeline-instance-${first.id}`);
    await expect(instance).toBeVisible();
    await expect(
      instance.locator('.jp-pipeline-instanceHeader .jp-pipeline-state')
    ).toHaveText('success');
    await expect(
      instance.locator('.jp-pipeline-statCard[data-stat="Records written"]')
    ).toContainText('250');
    const log = instance.getByLabel('Instance log');
    await expect(log).toContainText('Records written');
    await expect(log).toContainText('Status              : SUCCESS');
    await expect(
      instance.getByRole('link', { name: 'Download log' })
    ).toHaveAttribute(
      'href',
      new RegExp(`instances/${first.id}/log\\?download=1$`)
    );
    await instance.getByRole('tab', { name: "Version's code" }).click();
    await expect(instance.getByLabel('Script')).toContainText(
      'delete from @table'
    );
    await instance.getByRole('tab', { name: 'Log' }).click();

    // --- rerun: back to waiting, then a second attempt that succeeds too
    await instance.getByRole('button', { name: 'Rerun', exact: true }).click();
    await expect(instance.getByRole('status')).toContainText('Rerun requested');
    await expect(log).toContainText('attempt 2', { timeout: RUN_TIMEOUT });
    await expect(
      instance.locator('.jp-pipeline-instanceHeader .jp-pipeline-state')
    ).toHaveText('success', { timeout: RUN_TIMEOUT });
    await expect(row).toHaveAttribute('data-state', 'success');
    await expect(row).toContainText('2/');
    // kill is refused for a finished instance: the button is off
    await expect(instance.getByRole('button', { name: 'Kill' })).toBeDisabled();

    // --- a failing run raises a notification whose Open shows the instance
    sqlite(shopFile, 'drop table doomed;');
    const failing = await ok(
      request.post(`${API}/tasks/${brokenId}/run`, { data: {} })
    );
    const toast = page
      .locator('.Toastify__toast')
      .filter({ hasText: `Instance #${failing.id} of ${brokenName}` });
    await expect(toast).toBeVisible({ timeout: RUN_TIMEOUT });
    await expect(toast).toContainText('failed');
    await toast.getByRole('button', { name: 'Open' }).click();
    const failed = page.locator(`#jp-pipeline-instance-${failing.id}`);
    await expect(failed).toBeVisible();
    await expect(
      failed.locator('.jp-pipeline-instanceHeader .jp-pipeline-state')
    ).toHaveText('failed');
    await expect(failed.locator('.jp-pipeline-instanceError')).toContainText(
      'doomed'
    );
    // Kill on a finished instance would be a 409; Rerun is offered instead
    await expect(
      failed.getByRole('button', { name: 'Rerun', exact: true })
    ).toBeEnabled();

    // --- a backfill of 3 dates, one at a time, reaches 3/3
    await page.getByRole('tab', { name: 'Operation Center' }).click();
    await center.getByRole('tab', { name: 'Production Tasks' }).click();
    const production = center.locator(`tr[data-task="${taskId}"]`);
    await expect(production).toContainText('day');
    await production.getByRole('button', { name: 'Backfill' }).click();
    const dialog = page.locator('.jp-Dialog');
    await expect(dialog.locator('.jp-Dialog-header')).toHaveText('Backfill');
    await expect(dialog.locator('#jp-pipeline-backfill-task_id')).toHaveValue(
      String(taskId)
    );
    await dialog.locator('#jp-pipeline-backfill-from').fill('2024-01-03');
    await dialog.locator('#jp-pipeline-backfill-to').fill('2024-01-01');
    await dialog.getByRole('button', { name: 'Backfill' }).click();
    // the form's own check: first after last
    await expect(
      dialog.locator('[data-field="from"] .jp-pipeline-fieldError')
    ).toContainText('after');
    await dialog.locator('#jp-pipeline-backfill-from').fill('2024-01-01');
    await dialog.locator('#jp-pipeline-backfill-to').fill('2024-01-03');
    await dialog.locator('#jp-pipeline-backfill-parallelism').fill('1');
    await dialog.getByRole('button', { name: 'Backfill' }).click();
    await expect(dialog).toHaveCount(0);
    await expect(
      center.getByRole('tab', { name: 'Backfills' })
    ).toHaveAttribute('aria-selected', 'true');
    const backfills = await ok(
      request.get(`${API}/backfills?task_id=${taskId}`)
    );
    const backfill = center.locator(`tr[data-backfill="${backfills[0].id}"]`);
    await expect(backfill).toContainText('2024-01-01 – 2024-01-03');
    await expect(backfill.getByRole('progressbar')).toHaveText('3/3', {
      timeout: 3 * RUN_TIMEOUT
    });
    await expect(backfill).toHaveAttribute('data-state', 'finished');

    // its instances, by the backfill's filter: three successes in date order
    await backfill.getByRole('button', { name: 'Instances' }).click();
    const instances = center.locator('tbody tr[data-instance]');
    await expect(instances).toHaveCount(3);
    await expect(center.locator('tbody tr[data-state="success"]')).toHaveCount(
      3
    );
    await expect(instances.nth(0)).toContainText('2024-01-03');
    await expect(instances.nth(2)).toContainText('2024-01-01');

    // all instances: the table, the timeline (failures in red) and a log
    await center.getByRole('button', { name: 'Clear filters' }).click();
    await expect(center.getByLabel('Task filter')).toHaveValue('');
    await expect(
      center.locator(`.jp-pipeline-timelineBar[data-instance="${failing.id}"]`)
    ).toHaveClass(/jp-mod-failed/);
    await page
      .getByRole('tab', { name: new RegExp(`^#${first.id} ${taskName}`) })
      .click();
    await expect(log).toContainText('Records written');
    // toasts off the picture (best effort: another test's failure may come)
    await closeToasts(page);
    await page.locator('#jp-main-dock-panel').screenshot({
      path: path.join(SHOTS, 'operation-center.png')
    });
  });
});
