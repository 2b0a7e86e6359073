import { expect, test } from '@jupyterlab/galata';
import type { APIRequestContext, Locator } from '@playwright/test';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { API, ok, openCreateDialog, openSidebar } from './helpers';

/**
 * Data source permissions in the Create Offline Script dialog, as a second
 * user: the UI-test server takes the user from the X-Pipeline-Test-User header
 * (jupyter_server_test_config.py), so the page sends another name while the
 * owner (no header: the server's own user) makes the data sources and grants
 * through REST. A source needs read, a target write: a data source the user
 * may only read is offered as a source and never as a target.
 */

const USER_HEADER = 'X-Pipeline-Test-User';
const FILES = fs.mkdtempSync(path.join(os.tmpdir(), 'pipeline-ui-perm-'));
const SLOW = 30_000;

const suffix = Date.now().toString(36);
/** The second user: the page's every request (and page.request) names them. */
const READER = `reader_${suffix}`;

test.use({ extraHTTPHeaders: { [USER_HEADER]: READER } });

/** The names a side's Datasource select offers (its placeholder left out). */
async function offered(dialog: Locator, side: 'source' | 'target') {
  return dialog
    .locator(`#jp-pipeline-task-${side}_datasource option`)
    .evaluateAll(options =>
      options
        .map(o => (o as HTMLOptionElement).value)
        .filter(value => value !== '')
    );
}

test.describe('Permissions in the UI', () => {
  test('a data source the user may only read is offered as a source, not as a target', async ({
    page,
    playwright,
    baseURL
  }) => {
    // --- the owner (the server's own user, who owns the default project):
    // three SQLite data sources; the reader may read one and write another
    const projects = await ok(page.request.get(`${API}/projects`));
    const ownerName: string = projects.find(
      (p: { name: string }) => p.name === 'default'
    ).owner;
    expect(ownerName).not.toBe(READER);
    const owner: APIRequestContext = await playwright.request.newContext({
      baseURL,
      extraHTTPHeaders: { [USER_HEADER]: ownerName }
    });
    const readable = `perm_readable_${suffix}`;
    const writable = `perm_writable_${suffix}`;
    const hidden = `perm_hidden_${suffix}`;
    try {
      expect((await ok(owner.get('/api/me'))).identity.username).toBe(
        ownerName
      );
      for (const name of [readable, writable, hidden]) {
        await ok(
          owner.post(`${API}/datasources`, {
            data: {
              name,
              type: 'sqlite',
              params: { path: path.join(FILES, `${name}.db`) }
            }
          })
        );
      }
      await ok(
        owner.post(`${API}/datasources/${readable}/grants`, {
          data: { user: READER, permission: 'read' }
        })
      );
      await ok(
        owner.post(`${API}/datasources/${writable}/grants`, {
          data: { user: READER, permission: 'write' }
        })
      );

      // --- the reader's page: the sidebar lists what they may use, with the permission
      expect((await ok(page.request.get('/api/me'))).identity.username).toBe(
        READER
      );
      const sidebar = await openSidebar(page);
      // the page loaded before the grants: read them again
      await sidebar
        .getByRole('button', { name: /Reload the projects/ })
        .click();
      const row = (name: string) =>
        sidebar.locator(`.jp-pipeline-datasource[data-name="${name}"]`);
      const badges = (name: string) => row(name).locator('.jp-pipeline-badge');
      await expect(badges(readable)).toHaveText(['read'], { timeout: SLOW });
      await expect(badges(writable)).toHaveText(['write']);
      await expect(row(hidden)).toHaveCount(0);
      // no Edit for what they do not own
      await expect(
        row(readable).getByRole('button', { name: `Edit ${readable}` })
      ).toHaveCount(0);

      // --- the dialog: read is a source, write is a target, nothing else
      let dialog = await openCreateDialog(page, sidebar);
      await dialog.getByLabel('Source Type').selectOption('sqlite');
      await dialog.getByLabel('Target Type').selectOption('sqlite');
      let sources = await offered(dialog, 'source');
      let targets = await offered(dialog, 'target');
      expect(sources).toContain(readable);
      expect(sources).not.toContain(writable);
      expect(sources).not.toContain(hidden);
      expect(targets).toContain(writable);
      expect(targets).not.toContain(readable);
      expect(targets).not.toContain(hidden);
      // the task can be made from what is offered, as the reader
      const task = `perm_task_${suffix}`;
      await dialog.getByLabel('Task Name').fill(task);
      await dialog
        .locator('#jp-pipeline-task-source_datasource')
        .selectOption(readable);
      await dialog
        .locator('#jp-pipeline-task-target_datasource')
        .selectOption(writable);
      await expect(dialog.locator('.jp-pipeline-fieldError')).toHaveCount(0);
      await dialog.getByRole('button', { name: 'OK' }).click();
      await expect(dialog).toHaveCount(0, { timeout: SLOW });
      const leaf = sidebar.locator('.jp-pipeline-treeItem[data-kind="task"]', {
        hasText: task
      });
      await expect(leaf).toBeVisible();
      const project = projects.find(
        (p: { name: string }) => p.name === 'default'
      ).id;
      const tasks = await ok(
        page.request.get(`${API}/projects/${project}/tasks`)
      );
      const made = tasks.find((t: { name: string }) => t.name === task);
      expect(made).toMatchObject({
        owner: READER,
        source_datasource: readable,
        target_datasource: writable
      });

      // --- the owner grants write too: after a reload it is offered as a target
      await ok(
        owner.post(`${API}/datasources/${readable}/grants`, {
          data: { user: READER, permission: 'write' }
        })
      );
      await sidebar
        .getByRole('button', { name: /Reload the projects/ })
        .click();
      await expect(badges(readable)).toHaveText(['read', 'write'], {
        timeout: SLOW
      });
      dialog = await openCreateDialog(page, sidebar);
      await dialog.getByLabel('Source Type').selectOption('sqlite');
      await dialog.getByLabel('Target Type').selectOption('sqlite');
      sources = await offered(dialog, 'source');
      targets = await offered(dialog, 'target');
      expect(targets).toContain(readable);
      expect(targets).toContain(writable);
      expect(sources).toContain(readable);
      expect(sources).not.toContain(writable);
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      await expect(dialog).toHaveCount(0);
    } finally {
      await owner.dispose();
    }
  });
});
