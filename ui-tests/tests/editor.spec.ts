import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import type { APIRequestContext, Locator } from '@playwright/test';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { API, lineOf, unique } from './helpers';

/** Screenshots for the README (committed by hand, not compared). */
const SHOTS = path.join(__dirname, '..', 'screenshots');
/** The SQLite files of the data sources the tests create. */
const FILES = fs.mkdtempSync(path.join(os.tmpdir(), 'pipeline-ui-editor-'));

/** An SQLite file with one table (made with Python's sqlite3: the server's Python is there). */
function sqliteFile(name: string, table: string): string {
  const file = path.join(FILES, `${name}.db`);
  execFileSync(process.env.PYTHON || 'python3', [
    '-c',
    'import sqlite3, sys\n' +
      'db = sqlite3.connect(sys.argv[1])\n' +
      'db.execute(f"create table {sys.argv[2]} (id integer primary key, amount real, gmt_create text)")\n' +
      'db.commit()',
    file,
    table
  ]);
  return file;
}

interface ITask {
  id: number;
  name: string;
  script: string;
}

/** Two SQLite data sources with their tables, and a task from the one to the other. */
async function createTask(request: APIRequestContext): Promise<ITask> {
  const source = unique('shop');
  const target = unique('dwh');
  for (const [name, table] of [
    [source, 'orders'],
    [target, 'ods_orders']
  ]) {
    const created = await request.post(`${API}/datasources`, {
      data: {
        name,
        type: 'sqlite',
        params: { path: sqliteFile(name, table) }
      }
    });
    expect(created.status()).toBe(201);
  }
  const projects = await (await request.get(`${API}/projects`)).json();
  const project = projects.find(
    (p: { name: string }) => p.name === 'default'
  ).id;
  const created = await request.post(`${API}/projects/${project}/tasks`, {
    data: {
      name: unique('orders_daily'),
      schedule_type: 'recurring',
      source_type: 'sqlite',
      source_datasource: source,
      source_table: 'orders',
      target_type: 'sqlite',
      target_datasource: target,
      target_table: 'ods_orders'
    }
  });
  expect(created.status()).toBe(201);
  const { id } = await created.json();
  return getTask(request, id);
}

async function getTask(request: APIRequestContext, id: number): Promise<ITask> {
  return (await request.get(`${API}/tasks/${id}`)).json();
}

async function openFromSidebar(
  page: IJupyterLabPageFixture,
  task: ITask
): Promise<Locator> {
  await page
    .locator('.jp-SideBar .lm-TabBar-tab[data-id="jp-pipeline-sidebar"]')
    .click();
  const sidebar = page.locator('#jp-pipeline-sidebar');
  await sidebar.getByRole('button', { name: /Reload the projects/ }).click();
  const leaf = sidebar.locator('.jp-pipeline-treeItem[data-kind="task"]', {
    hasText: task.name
  });
  await leaf.dblclick();
  const doc = page.locator(
    `.jp-pipeline-TaskDocument[data-task-id="${task.id}"]`
  );
  await expect(doc).toBeVisible();
  await expect(
    page.getByRole('main').getByRole('tab', { name: task.name, exact: true })
  ).toBeVisible();
  await expect(doc.locator('.cm-content')).toContainText('"type": "job"');
  return doc;
}

/** Put the cursor just before the closing quote of the first line holding `needle`. */
async function cursorBeforeClosingQuote(
  doc: Locator,
  needle: string
): Promise<void> {
  await doc.locator('.cm-line', { hasText: needle }).first().click();
  const page = doc.page();
  await page.keyboard.press('End');
  const line = (await doc
    .locator('.cm-line', { hasText: needle })
    .first()
    .textContent())!;
  // past a trailing comma, then before the quote
  await page.keyboard.press('ArrowLeft');
  if (line.trimEnd().endsWith(',')) {
    await page.keyboard.press('ArrowLeft');
  }
}

/** The text of the line the editor's cursor is on. */
async function cursorLine(doc: Locator): Promise<string> {
  return doc.evaluate(node => {
    const cursor = node.querySelector('.cm-cursor-primary');
    if (!cursor) {
      return '';
    }
    const y = cursor.getBoundingClientRect().top + 2;
    for (const line of Array.from(node.querySelectorAll('.cm-line'))) {
      const box = line.getBoundingClientRect();
      if (box.top <= y && y < box.bottom) {
        return line.textContent ?? '';
      }
    }
    return '';
  });
}

test.describe('Script editor', () => {
  test('squiggle and problem at the right line, fixed, saved, close prompt', async ({
    page
  }) => {
    const task = await createTask(page.request);
    const source = /"datasource": "(shop_[^"]+)"/.exec(task.script)![1];
    const line = lineOf(task.script, `"datasource": "${source}"`);
    const doc = await openFromSidebar(page, task);
    const problems = doc.locator('.jp-pipeline-Problems');
    await expect(problems.locator('.jp-pipeline-problemsStatus')).toContainText(
      'Validated'
    );
    await expect(problems.locator('.jp-pipeline-problemsSummary')).toHaveText(
      'No problems'
    );
    // the toolbar: save, validate, and the task's actions
    for (const name of ['Save', 'Validate', 'Schedule', 'Run', 'Versions']) {
      await expect(
        doc.locator('.jp-Toolbar').getByRole('button', { name, exact: true })
      ).toBeVisible();
    }
    // Publish only in dev_prod projects; the default one is basic
    await expect(
      doc.locator('.jp-Toolbar').getByRole('button', { name: 'Publish' })
    ).toBeHidden();

    // a mistake: an unknown data source, typed
    await cursorBeforeClosingQuote(doc, `"datasource": "${source}"`);
    await page.keyboard.type('_typo', { delay: 30 });
    await page.keyboard.press('Escape');
    const problem = problems.locator('.jp-pipeline-problem', {
      hasText: `data source '${source}_typo' does not exist`
    });
    await expect(problem).toBeVisible();
    await expect(problem).toHaveAttribute('data-line', String(line));
    await expect(problem).toHaveAttribute('data-source', 'catalog');
    await expect(problem.locator('.jp-pipeline-problemPosition')).toHaveText(
      new RegExp(`^${line}:\\d+$`)
    );
    await expect(doc.locator('.cm-lintRange-error')).toHaveText(
      `"${source}_typo"`
    );
    await expect(doc.locator('.cm-lint-marker-error')).toHaveCount(1);
    // the tab shows the unsaved change
    await expect(
      page.locator('.lm-DockPanel-tabBar .lm-TabBar-tab.jp-mod-dirty', {
        hasText: task.name
      })
    ).toBeVisible();
    // the squiggle's tooltip: the server's message
    await doc.locator('.cm-lintRange-error').hover();
    await expect(page.locator('.cm-tooltip-lint')).toContainText(
      `data source '${source}_typo' does not exist`
    );
    // (screenshots/editor.png is the seed procedure's: seed-procedure.spec.ts)

    // a click on the problem puts the cursor on it
    await doc.locator('.cm-line', { hasText: '"type": "job"' }).click();
    await problem.click();
    await expect.poll(() => cursorLine(doc)).toContain(`"${source}_typo"`);

    // fixed: the problem and the squiggle go
    await cursorBeforeClosingQuote(doc, `"datasource": "${source}_typo"`);
    for (let i = 0; i < '_typo'.length; i++) {
      await page.keyboard.press('Backspace');
    }
    await page.keyboard.press('Escape');
    await expect(problems.locator('.jp-pipeline-problemsSummary')).toHaveText(
      'No problems'
    );
    await expect(doc.locator('.cm-lintRange-error')).toHaveCount(0);

    // a schema mistake the editor itself sees: a writeMode that does not exist
    await cursorBeforeClosingQuote(doc, '"writeMode": "insert"');
    await page.keyboard.type('x', { delay: 30 });
    await page.keyboard.press('Escape');
    await expect(
      problems.locator('.jp-pipeline-problem', { hasText: 'writeMode' })
    ).toHaveAttribute(
      'data-line',
      String(lineOf(task.script, '"writeMode": "insert"'))
    );
    await page.keyboard.press('Backspace');
    await expect(problems.locator('.jp-pipeline-problemsSummary')).toHaveText(
      'No problems'
    );

    // a real change, then Ctrl+S saves the draft
    await cursorBeforeClosingQuote(doc, '"where": ""');
    await page.keyboard.type('id > 0', { delay: 20 });
    await page.keyboard.press('Escape');
    await page.keyboard.press('Control+s');
    await expect(
      page.locator('.lm-DockPanel-tabBar .lm-TabBar-tab.jp-mod-dirty')
    ).toHaveCount(0);
    await expect
      .poll(async () => (await getTask(page.request, task.id)).script)
      .toContain('"where": "id > 0"');

    // closing with unsaved changes asks; Cancel keeps it, Discard closes it
    await cursorBeforeClosingQuote(doc, '"where": "id > 0"');
    await page.keyboard.type(' and 1 = 1', { delay: 10 });
    await page.keyboard.press('Escape');
    const tab = page.locator('.lm-DockPanel-tabBar .lm-TabBar-tab', {
      hasText: task.name
    });
    await expect(tab).toHaveClass(/jp-mod-dirty/);
    await tab.locator('.lm-TabBar-tabCloseIcon').click();
    const dialog = page.locator('.jp-Dialog');
    await expect(dialog).toContainText('Save your work');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await expect(doc).toBeVisible();
    await tab.locator('.lm-TabBar-tabCloseIcon').click();
    await dialog.getByRole('button', { name: 'Discard' }).click();
    await expect(doc).toHaveCount(0);
    expect((await getTask(page.request, task.id)).script).not.toContain(
      '1 = 1'
    );
  });

  test('completion of enum values and data source names, hover docs, undo', async ({
    page
  }) => {
    const task = await createTask(page.request);
    const target = /"datasource": "(dwh_[^"]+)"/.exec(task.script)![1];
    const source = /"datasource": "(shop_[^"]+)"/.exec(task.script)![1];
    const doc = await openFromSidebar(page, task);
    await expect(doc.locator('.jp-pipeline-problemsSummary')).toHaveText(
      'No problems'
    );
    const completions = page.locator('.cm-tooltip-autocomplete');

    // writeMode: the schema's enum
    await cursorBeforeClosingQuote(doc, '"writeMode": "insert"');
    for (let i = 0; i < 'insert'.length; i++) {
      await page.keyboard.press('Backspace');
    }
    await page.keyboard.press('Control+Space');
    for (const mode of ['insert', 'replace', 'update', 'ignore']) {
      await expect(completions).toContainText(mode);
    }
    await page.keyboard.press('Escape');

    // datasource: the names of the data sources
    await cursorBeforeClosingQuote(doc, `"datasource": "${target}"`);
    for (let i = 0; i < target.length; i++) {
      await page.keyboard.press('Backspace');
    }
    await page.keyboard.press('Control+Space');
    await expect(completions).toContainText(source);
    await expect(completions).toContainText(target);
    await page.keyboard.press('Escape');

    // undo brings the text back
    await expect(doc.locator('.cm-content')).not.toContainText(target);
    const content = doc.locator('.cm-content');
    for (let i = 0; i < 40; i++) {
      if (
        (await content.textContent())!.includes(`"datasource": "${target}"`)
      ) {
        break;
      }
      await page.keyboard.press('Control+z');
    }
    await expect(content).toContainText(`"datasource": "${target}"`);
    // and redo takes it away again
    await page.keyboard.press('Control+Shift+z');
    await expect(content).not.toContainText(`"datasource": "${target}"`);

    // hover docs from the schema's descriptions
    await doc
      .locator('.cm-line', { hasText: '"splitPk"' })
      .getByText('"splitPk"')
      .hover();
    await expect(page.locator('.cm-tooltip-hover')).toContainText(
      'integer column'
    );
    await doc.screenshot({ path: path.join(SHOTS, 'editor-hover.png') });
  });

  test('Run: 409 before production, an instance after; versions and their diff', async ({
    page
  }) => {
    const task = await createTask(page.request);
    const doc = await openFromSidebar(page, task);
    await doc
      .locator('.jp-Toolbar')
      .getByRole('button', { name: 'Run', exact: true })
      .click();
    const dialog = page.locator('.jp-Dialog');
    await expect(dialog.locator('.jp-Dialog-header')).toHaveText(
      `Run ${task.name}`
    );
    await expect(dialog.getByLabel('Business date')).not.toHaveValue('');
    await dialog.getByRole('button', { name: 'Run' }).click();
    await expect(dialog.locator('.jp-pipeline-runError')).toContainText(
      'is not in production'
    );
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await expect(dialog).toHaveCount(0);

    const versionsButton = doc
      .locator('.jp-Toolbar')
      .getByRole('button', { name: 'Versions', exact: true });
    await versionsButton.click();
    const versions = page.locator('.jp-pipeline-Versions');
    await expect(
      versions.locator('.jp-pipeline-versionsMessage')
    ).toContainText('No version yet');

    // submitted twice (REST): in production, and two versions to compare
    const submit = async (remarks: string) => {
      const answer = await page.request.post(`${API}/tasks/${task.id}/submit`, {
        data: { remarks }
      });
      expect(answer.status()).toBe(200);
      expect((await answer.json()).status).not.toBe('failed');
    };
    await submit('first');
    const changed = task.script.replace('"concurrent": 1', '"concurrent": 2');
    expect(
      (
        await page.request.put(`${API}/tasks/${task.id}/script`, {
          data: { script: changed }
        })
      ).status()
    ).toBe(200);
    await submit('more channels');
    await page
      .getByRole('main')
      .getByRole('tab', { name: task.name, exact: true })
      .click();
    await versionsButton.click();
    await expect(versions.locator('tr[data-version]')).toHaveCount(2);
    await expect(versions.locator('.jp-pipeline-versionsMessage')).toHaveText(
      'Changes from V1 to V2'
    );
    await expect(
      versions.locator('.jp-pipeline-diffLine.jp-mod-del')
    ).toContainText(['"concurrent": 1']);
    await expect(
      versions.locator('.jp-pipeline-diffLine.jp-mod-add')
    ).toContainText(['"concurrent": 2']);
    await versions.screenshot({
      path: path.join(SHOTS, 'editor-versions.png')
    });

    // now in production: Run starts a manual instance
    await page
      .getByRole('main')
      .getByRole('tab', { name: task.name, exact: true })
      .click();
    await doc
      .locator('.jp-Toolbar')
      .getByRole('button', { name: 'Run', exact: true })
      .click();
    await dialog.getByLabel('Business date').fill('2026-01-15');
    await dialog.getByRole('button', { name: 'Run' }).click();
    await expect(dialog).toHaveCount(0);
    await expect(page.locator('.Toastify__toast').last()).toContainText(
      `Run of ${task.name} started`
    );
    const instances = await (
      await page.request.get(`${API}/instances?task_id=${task.id}`)
    ).json();
    expect(
      instances.instances.map((i: { business_date: string }) => i.business_date)
    ).toContain('2026-01-15');
  });

  test("the tree's Run and Versions act on the right-clicked task, not the open script", async ({
    page
  }) => {
    const open = await createTask(page.request);
    const other = await createTask(page.request);
    await openFromSidebar(page, open);
    const sidebar = page.locator('#jp-pipeline-sidebar');
    const leaf = sidebar.locator('.jp-pipeline-treeItem[data-kind="task"]', {
      hasText: other.name
    });
    const menuItem = (label: string) =>
      page.locator('.lm-Menu .lm-Menu-item').filter({ hasText: label }).first();

    await leaf.click({ button: 'right' });
    await menuItem('Run Task Now').click();
    const dialog = page.locator('.jp-Dialog');
    await expect(dialog.locator('.jp-Dialog-header')).toHaveText(
      `Run ${other.name}`
    );
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await expect(dialog).toHaveCount(0);

    await leaf.click({ button: 'right' });
    await menuItem('Show Task Versions').click();
    await expect(
      page
        .getByRole('main')
        .getByRole('tab', { name: `Versions: ${other.name}` })
    ).toBeVisible();
    await expect(
      page
        .getByRole('main')
        .getByRole('tab', { name: `Versions: ${open.name}` })
    ).toHaveCount(0);

    // the toolbar's Run is still the open script's
    await page
      .getByRole('main')
      .getByRole('tab', { name: open.name, exact: true })
      .click();
    await page
      .locator(
        `.jp-pipeline-TaskDocument[data-task-id="${open.id}"] .jp-Toolbar`
      )
      .getByRole('button', { name: 'Run', exact: true })
      .click();
    await expect(dialog.locator('.jp-Dialog-header')).toHaveText(
      `Run ${open.name}`
    );
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await expect(dialog).toHaveCount(0);
  });

  test('a *.pipeline.json file opens in the same editor with the same validation', async ({
    page,
    tmpPath
  }) => {
    const script = JSON.stringify(
      {
        type: 'job',
        version: '2.0',
        steps: [
          {
            stepType: 'sqlite',
            category: 'reader',
            name: 'Reader',
            parameter: { datasource: 'nowhere', table: ['t'], column: ['*'] }
          }
        ],
        bogus: 1
      },
      null,
      2
    );
    const file = 'orders.pipeline.json';
    await page.contents.uploadContent(script, 'text', `${tmpPath}/${file}`);
    await page.filebrowser.refresh();
    await page.filebrowser.open(file);
    const doc = page.locator('.jp-pipeline-ScriptEditor');
    await expect(doc).toBeVisible();
    await expect(
      page.getByRole('main').getByRole('tab', { name: file })
    ).toBeVisible();
    const problems = doc.locator('.jp-pipeline-problem');
    await expect(
      problems.filter({ hasText: "data source 'nowhere' does not exist" })
    ).toHaveAttribute('data-line', String(lineOf(script, '"nowhere"')));
    await expect(problems.filter({ hasText: 'bogus' }).first()).toHaveAttribute(
      'data-line',
      String(lineOf(script, '"bogus"'))
    );
  });

  test('the 500000-character limit: shown, and typing past it refused', async ({
    page,
    tmpPath
  }) => {
    const head = '{"type": "job", "version": "2.0", "steps": [], "x": "';
    const tail = '"}\n';
    const script = head + 'a'.repeat(500010 - head.length - tail.length) + tail;
    expect(script.length).toBe(500010);
    const file = 'big.pipeline.json';
    await page.contents.uploadContent(script, 'text', `${tmpPath}/${file}`);
    await page.filebrowser.refresh();
    await page.filebrowser.open(file);
    const doc = page.locator('.jp-pipeline-ScriptEditor');
    const length = doc.locator('.jp-pipeline-problemsLength');
    await expect(length).toHaveText('500,010 / 500,000 characters');
    await expect(length).toHaveClass(/jp-mod-over/);
    await expect(
      doc.locator('.jp-pipeline-problem[data-source="limit"]')
    ).toContainText('The script has 500010 characters: at most 500000');
    // typing more is refused; deleting is not
    await doc.locator('.cm-line').first().click();
    await page.keyboard.press('Control+Home');
    await page.keyboard.type('xyz');
    await expect(doc.locator('.jp-pipeline-problemsStatus')).toContainText(
      'Change refused'
    );
    await expect(length).toHaveText('500,010 / 500,000 characters');
    await page.keyboard.press('Delete');
    await expect(length).toHaveText('500,009 / 500,000 characters');
  });
});
