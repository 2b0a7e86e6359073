/**
 * Helpers shared by the UI specs: names, REST calls through `page.request`,
 * the sidebar, the create dialog and the notifications.
 */
import { expect, IJupyterLabPageFixture } from '@jupyterlab/galata';
import type { APIRequestContext, APIResponse, Locator } from '@playwright/test';
import { execFileSync } from 'child_process';
import * as path from 'path';

export const API = '/pipeline/api';

/** A name no earlier test or run used: the store lives as long as the server. */
export function unique(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}`;
}

/** SQLite files with their tables, written by Python's sqlite3 (Node 20 has none). */
export function sqlite(file: string, sql: string): void {
  execFileSync(
    'python3',
    [
      '-c',
      'import sqlite3, sys\n' +
        'with sqlite3.connect(sys.argv[1]) as c: c.executescript(sys.argv[2])',
      file,
      sql
    ],
    { stdio: 'inherit' }
  );
}

/** The JSON body of a request that must succeed (the body shown when not). */
export async function ok(response: Promise<APIResponse>): Promise<any> {
  const answer = await response;
  const body = await answer.json().catch(() => null);
  expect(answer.ok(), JSON.stringify(body)).toBe(true);
  return body;
}

/** SQLite data sources by REST, one file each in `dir`. */
export async function createSqliteDatasources(
  request: APIRequestContext,
  dir: string,
  names: string[]
): Promise<void> {
  for (const name of names) {
    const created = await request.post(`${API}/datasources`, {
      data: {
        name,
        type: 'sqlite',
        params: { path: path.join(dir, `${name}.db`) }
      }
    });
    expect(created.status()).toBe(201);
  }
}

/** The 1-based line of the first line of `text` holding `needle`. */
export function lineOf(text: string, needle: string): number {
  return text.split('\n').findIndex(line => line.includes(needle)) + 1;
}

/** Open the pipeline sidebar; `heading` also checks its Batch Pipeline heading. */
export async function openSidebar(
  page: IJupyterLabPageFixture,
  options: { heading?: boolean } = {}
): Promise<Locator> {
  await page
    .locator('.jp-SideBar .lm-TabBar-tab[data-id="jp-pipeline-sidebar"]')
    .click();
  const sidebar = page.locator('#jp-pipeline-sidebar');
  if (options.heading) {
    await expect(
      sidebar.getByRole('heading', { name: 'Batch Pipeline' })
    ).toBeVisible();
  }
  await expect(
    sidebar.locator('.jp-pipeline-treeItem[data-root]')
  ).toContainText('Offline Pipeline');
  return sidebar;
}

/** New > Offline Pipeline Script in the sidebar: the Create Offline Script dialog. */
export async function openCreateDialog(
  page: IJupyterLabPageFixture,
  sidebar: Locator
): Promise<Locator> {
  await sidebar
    .locator('.jp-Toolbar-item')
    .getByText('New', { exact: true })
    .click();
  await page
    .locator('.jp-pipeline-newMenu')
    .getByText('Offline Pipeline Script')
    .click();
  const dialog = page.locator('.jp-Dialog');
  await expect(dialog.locator('.jp-Dialog-header')).toHaveText(
    'Create Offline Script'
  );
  return dialog;
}

/**
 * Close the notifications, so that they hide nothing in a screenshot: one at
 * a time, each click short, since one may close by itself meanwhile.
 */
export async function closeToasts(
  page: IJupyterLabPageFixture,
  timeout = 30_000
): Promise<void> {
  const toasts = page.locator('.Toastify__toast');
  await expect(async () => {
    if ((await toasts.count()) > 0) {
      await toasts
        .first()
        .locator('.jp-Notification-Toast-Close')
        .click({ timeout: 2000 })
        .catch(() => undefined);
    }
    await expect(toasts).toHaveCount(0, { timeout: 1000 });
  }).toPass({ timeout });
}

/** The submit dialog's checks, in the order the server runs them. */
export const CHECK_ORDER = [
  'configuration',
  'permission',
  'schema',
  'table_duplication',
  'dependency'
];

/** The `data-check` of each check row, in order. */
export async function checkNames(checks: Locator): Promise<(string | null)[]> {
  return checks.evaluateAll(rows =>
    rows.map(r => r.getAttribute('data-check'))
  );
}
