import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import type { APIRequestContext, Locator } from '@playwright/test';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { API, CHECK_ORDER, checkNames, ok, sqlite, unique } from './helpers';

/**
 * The schedule panel (a daily cycle at 02:00 in a time zone, the ten-run
 * preview, a client and a server field message, save, dependencies found from
 * lineage), then the submit dialog (checks one by one, confirming past the
 * table duplication warning, the lineage graph), and publishing from the
 * to-publish list of a dev_prod project. (screenshots/schedule.png and
 * submit-lineage.png are taken by seed-procedure.spec.ts.)
 */

const FILES = fs.mkdtempSync(path.join(os.tmpdir(), 'pipeline-ui-schedule-'));

async function projectId(
  request: APIRequestContext,
  name = 'default'
): Promise<number> {
  const projects = await ok(request.get(`${API}/projects`));
  return projects.find((p: { name: string }) => p.name === name).id;
}

/** A task whose script template names real tables (so every check can pass). */
async function createTask(
  request: APIRequestContext,
  project: number,
  options: {
    name: string;
    source: string;
    sourceTable: string;
    target: string;
    targetTable: string;
  }
): Promise<number> {
  const task = await ok(
    request.post(`${API}/projects/${project}/tasks`, {
      data: {
        name: options.name,
        schedule_type: 'recurring',
        source_type: 'sqlite',
        source_datasource: options.source,
        target_type: 'sqlite',
        target_datasource: options.target,
        source_table: options.sourceTable,
        target_table: options.targetTable
      }
    })
  );
  return task.id;
}

async function submitByRest(
  request: APIRequestContext,
  taskId: number
): Promise<void> {
  const answer = await ok(
    request.post(`${API}/tasks/${taskId}/submit`, {
      data: { remarks: 'set up by the test', confirm_warnings: true }
    })
  );
  expect(['submitted', 'published'], JSON.stringify(answer)).toContain(
    answer.status
  );
}

async function taskStatus(
  request: APIRequestContext,
  taskId: number
): Promise<string> {
  return (await ok(request.get(`${API}/tasks/${taskId}`))).status;
}

/** Run a command; one that opens a modal dialog is not awaited. */
async function execute(
  page: IJupyterLabPageFixture,
  command: string,
  args: Record<string, unknown>,
  wait = true
): Promise<void> {
  await page.evaluate(
    async ({ command, args, wait }) => {
      const done = (window as any).jupyterapp.commands.execute(command, args);
      if (wait) {
        await done;
      }
    },
    { command, args, wait }
  );
}

function field(panel: Locator, id: string): Locator {
  return panel.locator(`#${id}`);
}

/** The messages rjsf shows under a field (its form group). */
function fieldErrors(panel: Locator, id: string): Locator {
  return panel
    .locator('.form-group', { has: panel.page().locator(`#${id}`) })
    .last()
    .locator('.validationErrors');
}

/** YYYY-MM-DD one day earlier. */
function dayBefore(date: string): string {
  const day = new Date(`${date}T00:00:00Z`);
  day.setUTCDate(day.getUTCDate() - 1);
  return day.toISOString().slice(0, 10);
}

test.use({ viewport: { width: 1440, height: 900 } });

test.describe('Schedule, submit and publish', () => {
  test('schedule panel, submit with checks and lineage, publish in dev_prod', async ({
    page
  }) => {
    test.setTimeout(120_000);
    const request = page.request;

    // --- data: shop.raw_orders -> shop.orders (upstream), shop.orders -> dw.ods_orders
    const shop = unique('shop');
    const dw = unique('dw');
    sqlite(
      path.join(FILES, `${shop}.db`),
      'create table raw_orders (id integer primary key, amount real, gmt_create text);' +
        'create table orders (id integer primary key, amount real, gmt_create text);' +
        "insert into orders values (1, 9.5, '2026-11-26');"
    );
    sqlite(
      path.join(FILES, `${dw}.db`),
      'create table ods_orders (id integer primary key, amount real, gmt_create text);' +
        'create table ods_orders_dp (id integer primary key, amount real, gmt_create text);'
    );
    for (const name of [shop, dw]) {
      await ok(
        request.post(`${API}/datasources`, {
          data: {
            name,
            type: 'sqlite',
            params: { path: path.join(FILES, `${name}.db`) }
          }
        })
      );
    }
    const project = await projectId(request);
    const upstream = unique('raw_to_orders');
    const upstreamId = await createTask(request, project, {
      name: upstream,
      source: shop,
      sourceTable: 'raw_orders',
      target: shop,
      targetTable: 'orders'
    });
    await submitByRest(request, upstreamId);
    const twin = unique('orders_twin');
    const twinId = await createTask(request, project, {
      name: twin,
      source: shop,
      sourceTable: 'orders',
      target: dw,
      targetTable: 'ods_orders'
    });
    await submitByRest(request, twinId);
    const task = unique('orders_daily');
    const taskId = await createTask(request, project, {
      name: task,
      source: shop,
      sourceTable: 'orders',
      target: dw,
      targetTable: 'ods_orders'
    });

    // --- the schedule panel
    await execute(page, 'pipeline:open-schedule', { taskId });
    await expect(
      page.getByRole('main').getByRole('tab', { name: `Schedule: ${task}` })
    ).toBeVisible();
    const panel = page.locator('.jp-pipeline-ScheduleView');
    await expect(
      panel.getByRole('tab', { name: 'Schedule', exact: true })
    ).toHaveAttribute('aria-selected', 'true');
    for (const title of [
      'Basic Information',
      'Dependency',
      'Parameters',
      'Run Configuration'
    ]) {
      await expect(panel.getByRole('tab', { name: title })).toBeVisible();
    }
    await expect(panel.getByLabel('Cycle type')).toHaveValue('day');

    // daily at 02:00 in Asia/Shanghai: ten runs at 02:00 +08:00, each with the day before
    await field(panel, 'root_schedule_cycle_time').fill('02:00');
    await field(panel, 'root_schedule_timezone').fill('Asia/Shanghai');
    const runs = panel.locator('.jp-pipeline-Schedule-run');
    await expect(runs).toHaveCount(10);
    await expect(runs.first()).toContainText('02:00');
    await expect(runs.first()).toContainText('+08:00');
    await expect(panel.locator('.jp-pipeline-Schedule-previewZone')).toHaveText(
      'Asia/Shanghai'
    );
    const scheduled = await runs.locator('td:nth-child(2)').allTextContents();
    const business = await runs
      .locator('.jp-pipeline-Schedule-bizdate')
      .allTextContents();
    expect(scheduled).toHaveLength(10);
    scheduled.forEach((text, i) => {
      const date = /\d{4}-\d{2}-\d{2}/.exec(text)![0];
      expect(business[i]).toBe(dayBefore(date));
      if (i > 0) {
        const previous = /\d{4}-\d{2}-\d{2}/.exec(scheduled[i - 1])![0];
        expect(dayBefore(date)).toBe(previous);
      }
    });

    // a wrong value: the rule's message on its field, a badge on the tab, no save
    await panel.getByLabel('Cycle type').selectOption('minute');
    await field(panel, 'root_schedule_cycle_every_minutes').fill('0');
    await expect(
      fieldErrors(panel, 'root_schedule_cycle_every_minutes')
    ).toHaveText('must be at least 1');
    await expect(
      panel
        .getByRole('tab', { name: /^Schedule/ })
        .locator('.jp-pipeline-Schedule-tabBadge')
    ).toHaveText('1');
    await expect(panel.locator('.jp-pipeline-Schedule-preview')).toContainText(
      "Fix the schedule's problems"
    );
    await panel.getByRole('button', { name: 'Save' }).first().click();
    await expect(
      panel.locator('.jp-pipeline-Schedule-message.jp-mod-error')
    ).toContainText('Not saved: 1 problem to fix first.');

    // a rule only the server knows: its message on the field, live and on save
    await field(panel, 'root_schedule_cycle_every_minutes').fill('15');
    await expect(
      fieldErrors(panel, 'root_schedule_cycle_every_minutes')
    ).toHaveText('');
    await field(panel, 'root_schedule_timezone').fill('Mars/Olympus_Mons');
    await expect(fieldErrors(panel, 'root_schedule_timezone')).toContainText(
      "'Mars/Olympus_Mons' is not a time zone"
    );
    await panel.getByRole('button', { name: 'Save' }).first().click();
    await expect(
      panel.locator('.jp-pipeline-Schedule-message.jp-mod-error')
    ).toContainText('schedule.timezone');
    expect(
      (await ok(request.get(`${API}/tasks/${taskId}`))).schedule.schedule
        .timezone
    ).toBe('UTC');

    // back to daily at 02:00 in Shanghai, and save
    await panel.getByLabel('Cycle type').selectOption('day');
    await field(panel, 'root_schedule_cycle_time').fill('02:00');
    await field(panel, 'root_schedule_timezone').fill('Asia/Shanghai');
    await expect(fieldErrors(panel, 'root_schedule_timezone')).toHaveText('');
    await expect(runs).toHaveCount(10);

    // dependencies: found from lineage, one picked by hand, self-dependency
    await panel.getByRole('tab', { name: 'Dependency' }).click();
    const found = panel.getByLabel('Upstream tasks found from lineage');
    await expect(found).toContainText(upstream);
    await expect(found).toContainText('writes orders');
    await expect(found).not.toContainText(twin);
    await panel.getByLabel('Add an upstream task').selectOption(String(twinId));
    await expect(
      panel.locator(`.jp-pipeline-Schedule-chip[data-task-id="${twinId}"]`)
    ).toContainText(twin);
    await field(panel, 'root_dependency_self_dependent').check();

    // Ctrl+S in the panel saves
    await field(panel, 'root_dependency_self_dependent').press('Control+s');
    await expect(
      panel.locator('.jp-pipeline-Schedule-message.jp-mod-saved')
    ).toHaveText('Schedule saved.');
    const saved = (await ok(request.get(`${API}/tasks/${taskId}`))).schedule;
    expect(saved.schedule.cycle).toEqual({ type: 'day', time: '02:00' });
    expect(saved.schedule.timezone).toBe('Asia/Shanghai');
    expect(saved.dependency).toMatchObject({
      upstream: [twinId],
      self_dependent: true
    });

    // --- submit: remarks, the checks one by one, confirm past the warning, lineage
    await execute(page, 'pipeline:submit-task', { taskId }, false);
    const dialog = page.locator('.jp-pipeline-SubmitDialog');
    await expect(dialog.locator('.jp-Dialog-header')).toHaveText(
      `Submit ${task}`
    );
    const submit = dialog.locator('.jp-Dialog-footer .jp-mod-accept');
    await expect(submit).toHaveText('Submit');
    await expect(dialog.getByRole('button', { name: 'Submit' })).toBeVisible();
    await submit.click();
    const remarksMessage = dialog.locator('.jp-pipeline-Submit-remarksError');
    await expect(remarksMessage).toHaveText(
      'Remarks are required: say what this version changes'
    );
    const remarks = dialog.getByLabel('Remarks');
    await remarks.fill('x'.repeat(130));
    await expect(dialog.locator('.jp-pipeline-Submit-counter')).toHaveText(
      '130/128'
    );
    await expect(remarksMessage).toHaveText(
      'At most 128 characters (it has 130)'
    );
    await remarks.fill('Daily at 02:00 Shanghai time');
    await expect(dialog.locator('.jp-pipeline-Submit-counter')).toHaveText(
      '28/128'
    );
    await expect(remarksMessage).toHaveText('');
    await submit.click();

    const checks = dialog.locator('.jp-pipeline-Submit-check');
    await expect(checks).toHaveCount(5);
    // revealed in order: the first answers while the later ones still wait
    await expect(checks.nth(0)).toHaveAttribute('data-status', 'pass');
    await expect(checks.nth(4)).toHaveAttribute(
      'data-status',
      /waiting|running/
    );
    await expect(checks.nth(3)).toHaveAttribute('data-status', 'warning');
    await expect(checks.nth(3)).toContainText(`task '${twin}' already writes`);
    await expect(checks.nth(4)).toHaveAttribute('data-status', 'skipped');
    expect(await checkNames(checks)).toEqual(CHECK_ORDER);
    await expect(dialog.locator('.jp-pipeline-Submit-outcome')).toContainText(
      'Confirm to submit anyway'
    );
    await expect(submit).toHaveText('Confirm and submit');
    await dialog.getByRole('button', { name: 'Confirm and submit' }).click();
    await expect(checks.nth(4)).toHaveAttribute('data-status', 'pass');
    await expect(checks.nth(3)).toHaveAttribute('data-status', 'warning');
    await expect(dialog.locator('.jp-pipeline-Submit-outcome')).toContainText(
      'published'
    );
    await expect(submit).toHaveText('Done');

    const graph = dialog.locator('.jp-pipeline-Lineage-svg');
    await expect(graph).toBeVisible();
    await expect(graph.locator(`[data-table="${shop}:orders"]`)).toContainText(
      'orders'
    );
    await expect(
      graph.locator(`[data-table="${dw}:ods_orders"]`)
    ).toContainText('ods_orders');
    await expect(
      graph.locator(
        `[data-table="${dw}:ods_orders"] .jp-pipeline-Lineage-column`
      )
    ).toHaveCount(3);
    const edges = graph.locator('.jp-pipeline-Lineage-edge.jp-mod-column');
    await expect(edges).toHaveCount(3);
    await expect(
      graph.locator(
        `.jp-pipeline-Lineage-edge[data-source="${shop}:orders.amount"][data-target="${dw}:ods_orders.amount"]`
      )
    ).toHaveCount(1);
    await submit.click();
    await expect(dialog).toHaveCount(0);
    expect(await taskStatus(request, taskId)).toBe('published');

    // --- dev_prod: submit in the dialog, then Publish from its to-publish list
    const devProd = unique('devprod');
    const devProject = (
      await ok(
        request.post(`${API}/projects`, {
          data: { name: devProd, mode: 'dev_prod' }
        })
      )
    ).id;
    const devTask = unique('orders_dp');
    const devTaskId = await createTask(request, devProject, {
      name: devTask,
      source: shop,
      sourceTable: 'orders',
      target: dw,
      targetTable: 'ods_orders_dp'
    });
    await execute(page, 'pipeline:submit-task', { taskId: devTaskId }, false);
    await dialog.getByLabel('Remarks').fill('First version in Dev-Prod');
    await dialog.getByLabel('Remarks').press('Enter');
    await expect(dialog.locator('.jp-pipeline-Submit-outcome')).toContainText(
      'waits in the to-publish list'
    );
    expect(await taskStatus(request, devTaskId)).toBe('to_publish');
    const row = dialog.locator(
      `.jp-pipeline-Publish-row[data-task-id="${devTaskId}"]`
    );
    await expect(row).toContainText(devTask);
    await expect(row).toContainText('First version in Dev-Prod');
    await expect(row.getByRole('checkbox')).toBeChecked();
    await dialog.getByRole('button', { name: 'Publish (1)' }).click();
    await expect(dialog.locator('.jp-pipeline-Publish-done')).toContainText(
      `${devTask} (version 1)`
    );
    await expect(row).toHaveCount(0);
    expect(await taskStatus(request, devTaskId)).toBe('published');
    await dialog.getByRole('button', { name: 'Done' }).click();
    await expect(dialog).toHaveCount(0);

    // pipeline:publish-task opens the list with the task chosen
    const second = unique('orders_dp2');
    const secondId = await createTask(request, devProject, {
      name: second,
      source: shop,
      sourceTable: 'orders',
      target: dw,
      targetTable: 'ods_orders_dp'
    });
    await submitByRest(request, secondId);
    expect(await taskStatus(request, secondId)).toBe('to_publish');
    await execute(page, 'pipeline:publish-task', { taskId: secondId }, false);
    const publish = page.locator('.jp-Dialog', {
      has: page.locator('.jp-pipeline-Publish')
    });
    await expect(publish.locator('.jp-Dialog-header')).toHaveText(
      `Publish: ${devProd}`
    );
    const secondRow = publish.locator(
      `.jp-pipeline-Publish-row[data-task-id="${secondId}"]`
    );
    await expect(secondRow.getByRole('checkbox')).toBeChecked();
    await publish.getByRole('button', { name: 'Publish (1)' }).click();
    await expect(publish.locator('.jp-pipeline-Publish-done')).toContainText(
      second
    );
    expect(await taskStatus(request, secondId)).toBe('published');
    await publish.getByRole('button', { name: 'Close' }).click();
    await expect(publish).toHaveCount(0);
  });
});
