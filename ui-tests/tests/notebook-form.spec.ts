import { expect, test } from '@jupyterlab/galata';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { API, createSqliteDatasources, unique } from './helpers';

/**
 * The ipywidgets schedule form of the kernel side, rendered by JupyterLab's widget
 * manager (jupyterlab_widgets) in a real notebook: run, edited in the browser, saved.
 * It also takes the README's screenshot of the form.
 */

const SHOTS = path.join(__dirname, '..', 'screenshots');
const FILES = fs.mkdtempSync(path.join(os.tmpdir(), 'pipeline-ui-form-'));

test.use({ viewport: { width: 1400, height: 1000 } });

test.describe('Notebook forms', () => {
  test('schedule_form renders, previews the next runs, checks a field and saves', async ({
    page
  }) => {
    test.setTimeout(240 * 1000); // a kernel's first start and imports
    const shop = unique('nb_shop');
    const warehouse = unique('nb_warehouse');
    const task = unique('orders_nightly');
    await createSqliteDatasources(page.request, FILES, [shop, warehouse]);
    const projects = await (await page.request.get(`${API}/projects`)).json();
    const project = projects.find(
      (p: { name: string }) => p.name === 'default'
    ).id;
    const created = await page.request.post(
      `${API}/projects/${project}/tasks`,
      {
        data: {
          name: task,
          schedule_type: 'recurring',
          description: 'Orders of the day into the warehouse',
          source_type: 'sqlite',
          source_datasource: shop,
          target_type: 'sqlite',
          target_datasource: warehouse
        }
      }
    );
    expect(created.status()).toBe(201);
    const taskId = (await created.json()).id;

    await page.notebook.createNew(`${task}.ipynb`);
    await page.notebook.setCell(
      0,
      'code',
      [
        'from jupyter_offline_pipeline import schedule_form',
        '',
        `form = schedule_form("${task}")`,
        'form.update({"schedule.cycle": {"type": "week", "weekdays": [1, 3, 5], "time": "02:30"},',
        '             "schedule.timezone": "Asia/Shanghai"})',
        'form'
      ].join('\n')
    );
    await page.notebook.runCell(0);

    const output = page.locator('.jp-Cell').first().locator('.jp-OutputArea');
    const form = output.locator('.jupyter-widgets').first();
    await expect(output.getByText('Next 10 runs')).toBeVisible({
      timeout: 120 * 1000
    });
    await expect(output.getByText('scheduled (Asia/Shanghai)')).toBeVisible();
    const runs = output.locator('table tr');
    await expect(runs).toHaveCount(11); // the header and ten runs
    await expect(runs.nth(1)).toContainText(/(Mon|Wed|Fri) 02:30/);
    await expect(output.getByRole('tab', { name: 'Schedule' })).toBeVisible();
    // the cell, its code above the form, for the README
    await page
      .locator('.jp-Cell')
      .first()
      .screenshot({
        path: path.join(SHOTS, 'notebook-schedule-form.png')
      });

    // typed in the browser: the kernel checks it and shows the message beside it
    const timeRow = form.locator('.jop-field-schedule-cycle-time');
    const time = timeRow.locator('input');
    await time.fill('25:00');
    await time.press('Enter');
    await expect(timeRow).toContainText(
      "'25:00' is not a time of day: use HH:MM, 00:00 to 23:59"
    );
    await expect(output.getByText('Fix the fields marked')).toBeVisible();
    await form.screenshot({
      path: path.join(SHOTS, 'notebook-schedule-form-message.png')
    });
    await output.getByRole('button', { name: 'Save' }).click();
    await expect(output.getByText('not saved: 1 field to fix')).toBeVisible();

    await time.fill('03:15');
    await time.press('Enter');
    await expect(timeRow).not.toContainText('is not a time of day');
    await output.getByRole('button', { name: 'Save' }).click();
    await expect(
      output.getByText(/saved at .*weekdays 1, 3, 5 at 03:15/)
    ).toBeVisible();

    const stored = await (
      await page.request.get(`${API}/tasks/${taskId}`)
    ).json();
    expect(stored.schedule.schedule.cycle).toEqual({
      type: 'week',
      weekdays: [1, 3, 5],
      time: '03:15'
    });
    expect(stored.schedule.schedule.timezone).toBe('Asia/Shanghai');
  });
});
