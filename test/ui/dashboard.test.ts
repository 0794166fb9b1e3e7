// The dashboard in headless Chromium against the real service on embedded defaults (PGlite, the
// embedded S3 server, glm-tiny trained by a worker in this process): sign in, upload, a bad dataset's
// report, a LoRA job created from the form and watched live, pause/resume/cancel, downloads, the
// models page and the playground beside the base model. Screenshots go to test/artifacts/ui-*.png.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { call } from '../helpers/http.ts';
import { qaDataset, TINY_LORA, waitForJob } from '../helpers/jobs.ts';
import { startTestService, type TestService } from '../helpers/service.ts';
import { assertLabelled, assertUiBuildIsCurrent, launchBrowser, screenshot, signIn, watchErrors } from './browser.ts';

// Functions passed to page.evaluate run in the browser; the root tsconfig has Node's types only.
declare const document: any, window: any, sessionStorage: any, MutationObserver: any;

let svc: TestService;
let browser: Browser;

before(async () => {
  assertUiBuildIsCurrent();
  svc = await startTestService({ mode: 'embedded', worker: true });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await svc?.destroy();
});

async function newPage(viewport = { width: 1280, height: 900 }): Promise<{ page: Page; problems: string[] }> {
  const page = await (await browser.newContext({ viewport })).newPage();
  return { page, problems: watchErrors(page) };
}

/** Uploads a JSONL text through the Files page form; returns the new file's id. */
async function upload(page: Page, name: string, content: string): Promise<string> {
  await page.getByRole('link', { name: 'Files', exact: true }).click();
  await page.getByLabel('JSONL file').setInputFiles({ name, mimeType: 'application/jsonl', buffer: Buffer.from(content) });
  await page.getByRole('button', { name: 'Upload' }).click();
  const result = page.locator('.upload-result');
  await result.locator('code').waitFor();
  assert.equal(await page.locator('#upload-progress').evaluate((p: any) => p.value), 100, 'the progress bar is full');
  return (await result.locator('code').textContent())!;
}

test('the key is asked once per tab, kept in sessionStorage and never put in a URL', async () => {
  const { page, problems } = await newPage();
  await page.goto(`${svc.url}/ui/`);
  await screenshot(page, 'sign-in');
  const input = page.getByLabel('API key');
  assert.ok(await input.evaluate((el) => el === document.activeElement), 'the key field has the focus');

  await input.fill('sk-glm-not-a-key-of-this-service');
  await input.press('Enter');
  await page.getByText('The service does not accept this key.').waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.length), 0, 'a refused key is not kept');

  await input.fill(svc.apiKey);
  await input.press('Enter');
  await page.getByRole('heading', { name: 'Jobs', level: 1 }).waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.getItem('glmtune.apiKey')), svc.apiKey);

  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Jobs', 'the focus moves to the page heading');

  await page.reload();
  await page.getByRole('heading', { name: 'Jobs', level: 1 }).waitFor();
  assert.equal(await page.getByLabel('API key').count(), 0, 'a reload keeps the key');
  // Keyboard: the first Tab reaches the skip link, which moves the focus to the page content.
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to content');
  await page.keyboard.press('Enter');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'main');

  const otherTab = await page.context().newPage();
  await otherTab.goto(`${svc.url}/ui/#/files`);
  await otherTab.getByLabel('API key').waitFor();
  await otherTab.close();

  await page.getByRole('button', { name: 'Forget key' }).click();
  await page.getByLabel('API key').waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.length), 0);
  for (const url of [page.url(), ...(await page.evaluate(() => performance.getEntriesByType('resource').map((e) => e.name)))]) {
    assert.ok(!url.includes(svc.apiKey), `the key appears in ${url}`);
  }
  assert.deepEqual(problems, []);
  await page.close();
});

test('a dataset with bad lines shows its problems by line number', async () => {
  const { page, problems } = await newPage();
  await signIn(page, svc.url, svc.apiKey);
  const bad = `${JSON.stringify({ messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello' }] })}\n{"messages": []}\nnot json\n`;
  await upload(page, 'bad.jsonl', bad);
  const rows = page.locator('.upload-result .validation-report tbody tr');
  await rows.first().waitFor();
  const report = await rows.evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td: any) => td.textContent as string)));
  assert.deepEqual(report.map(([line]) => line), ['2', '3']);
  assert.equal(report[0][1], 'messages is empty');
  assert.match(report[1][1]!, /^invalid JSON/);
  await page.getByRole('heading', { name: '2 problems in bad.jsonl' }).waitFor();
  await page.locator('tr', { hasText: 'bad.jsonl' }).getByText('has errors').waitFor();
  await screenshot(page, 'files-bad-dataset');

  await page.locator('.upload-result').getByRole('link', { name: 'bad.jsonl' }).click();
  await page.getByRole('heading', { name: 'bad.jsonl', level: 1 }).waitFor();
  assert.deepEqual(await page.locator('.validation-report tbody tr td.num').allTextContents(), ['2', '3']);
  await screenshot(page, 'file-detail');
  assert.deepEqual(problems, []);
  await page.close();
});

test('upload, create a LoRA job from the form, watch its loss chart grow, pause/resume, download the adapter, chat beside the base model', async (t) => {
  const { page, problems } = await newPage();
  await signIn(page, svc.url, svc.apiKey);
  const fileId = await upload(page, 'qa.jsonl', qaDataset());
  await page.locator('.upload-result').getByText('processed').waitFor();
  await page.locator('.files-list tr', { hasText: 'qa.jsonl' }).waitFor();
  await assertLabelled(page);
  await screenshot(page, 'files');

  // The create form; the API's validation message appears beside the field it names.
  await page.getByRole('link', { name: 'Jobs', exact: true }).click();
  await page.getByRole('link', { name: 'New fine-tuning job' }).click();
  await page.getByRole('heading', { name: 'New fine-tuning job' }).waitFor();
  await page.getByLabel('Model', { exact: true }).fill('glm-tiny');
  await page.getByLabel('Suffix').fill('qa bot');
  await page.getByLabel('Training file').selectOption(fileId);
  await page.getByLabel('Validation file (optional)').selectOption(fileId);
  await page.getByLabel('Batch size').fill('1');
  await page.getByLabel('Rank r').fill(String(TINY_LORA.r));
  await page.getByLabel('Alpha', { exact: true }).fill(String(TINY_LORA.alpha));
  await page.getByLabel('Dropout', { exact: true }).fill('0');
  for (const module of TINY_LORA.target_modules) await page.getByLabel(module, { exact: true }).check();
  await page.getByText('Training settings').click();
  await page.getByLabel('Learning rate', { exact: true }).fill('5e-3');
  await page.getByLabel('Schedule').selectOption('constant');
  // Long enough (about ten seconds here) for the page to see the curve grow while the job runs.
  await page.getByLabel('Max steps').fill('300');
  await page.getByText('Evaluation and checkpoints').click();
  await page.getByLabel('Evaluate every (steps)').fill('50');
  await assertLabelled(page);
  await page.getByRole('button', { name: 'Create job' }).click();

  const suffix = page.getByLabel('Suffix');
  await page.locator('#f-suffix-error').getByText(/use letters, digits/).waitFor();
  assert.equal(await suffix.getAttribute('aria-invalid'), 'true');
  assert.ok(await suffix.evaluate((el) => el === document.activeElement), 'the focus moves to the field in error');
  assert.match((await suffix.getAttribute('aria-describedby'))!, /f-suffix-error/);
  await screenshot(page, 'job-form-error');

  await suffix.fill('qa-bot');
  await page.getByRole('button', { name: 'Create job' }).click();
  await page.waitForURL(/#\/jobs\/ftjob-/);
  const jobId = decodeURIComponent(page.url().split('#/jobs/')[1]);

  // Live: the loss chart gains points while the job is running (read together, in one evaluation).
  const runningPoints = async (more: number) =>
    Number(
      await (
        await page.waitForFunction(
          (min) => {
            const points = Number(document.querySelector('[data-chart="loss"]')?.getAttribute('data-points'));
            return document.querySelector('.job-status .status')?.getAttribute('data-status') === 'running' && points > min ? points : null;
          },
          more,
          { timeout: 60_000 },
        )
      ).jsonValue(),
    );
  const first = await runningPoints(0);
  const later = await runningPoints(first);
  assert.ok(later > first, `${first} → ${later} points while running`);
  t.diagnostic(`loss chart while running: ${first} points, then ${later}`);
  await screenshot(page, 'job-running');

  await page.getByRole('button', { name: 'Pause' }).click();
  await page.locator('.job-status [data-status="paused"]').waitFor({ timeout: 60_000 });
  await page.getByRole('button', { name: 'Resume' }).click();
  await page.locator('.job-status [data-status="succeeded"]').waitFor({ timeout: 120_000 });
  const job = await waitForJob(svc.url, svc.apiKey, jobId, ['succeeded']);
  assert.equal(job.tuning.method.type, 'lora');
  assert.deepEqual(job.tuning.method.target_modules, TINY_LORA.target_modules);
  assert.equal(job.validation_file, fileId);

  // Every recorded step is on the chart; the learning rate too; validation loss was evaluated.
  await page.waitForFunction((steps) => document.querySelector('[data-chart="loss"]')?.getAttribute('data-points') === String(steps), job.progress.step);
  assert.equal(await page.locator('[data-chart="learning-rate"]').getAttribute('data-points'), String(job.progress.step));
  assert.match((await page.locator('[data-chart="loss"] .chart-summary').textContent())!, /training loss: 300 points, latest [\d.e-]+ at step 300\. validation loss: \d+ points/);
  await page.getByRole('button', { name: /^Show all \d+ evaluations$/ }).click();
  assert.ok((await page.locator('.evaluations tbody tr').count()) >= 300 / 50, 'at least an evaluation every 50 steps');
  await page.locator('.events').getByText('The job has successfully completed').waitFor();
  assert.ok((await page.locator('section[aria-labelledby="section-checkpoints"] tbody tr').count()) >= 2, 'the pause and the end saved checkpoints');

  // Downloads go through fetch with the key: the file arrives byte for byte as the API lists it.
  const listed = (await call(`${svc.url}/v1/models/${encodeURIComponent(job.fine_tuned_model)}/artifacts`, { key: svc.apiKey })).body.data as { name: string; bytes: number }[];
  const adapter = listed.find((a) => a.name === 'adapter_model.safetensors')!;
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download adapter_model.safetensors' }).click()]);
  assert.equal(download.suggestedFilename(), 'adapter_model.safetensors');
  assert.equal(readFileSync((await download.path())!).length, adapter.bytes);
  await page.getByRole('button', { name: 'Download step_metrics.csv' }).waitFor();
  await assertLabelled(page);
  await screenshot(page, 'job-succeeded');

  // Playground: the fine-tune beside its base, streamed.
  await page.getByRole('link', { name: 'Chat with it' }).click();
  await page.getByRole('heading', { name: 'Playground' }).waitFor();
  await page.waitForFunction((model) => document.querySelector('#pg-model')?.value === model, job.fine_tuned_model);
  assert.ok(await page.getByLabel('Compare with the base model').isChecked());
  await page.locator('[data-pane="base"]').getByText('glm-tiny').waitFor();
  await page.getByLabel('Temperature').fill('0');
  await page.getByLabel('Max tokens').fill('24');
  await assertLabelled(page);
  // Counts how often the fine-tune's reply text changes: more than once means it streamed.
  await page.evaluate(() => {
    const w = window;
    w.replyUpdates = 0;
    new MutationObserver(() => (w.replyUpdates += 1)).observe(document.querySelector('[data-pane="model"] .transcript')!, { subtree: true, characterData: true, childList: true });
  });
  await page.getByLabel('Message', { exact: true }).fill('What is the capital of France?');
  await page.getByLabel('Message', { exact: true }).press('Enter');
  const reply = (pane: string) => page.locator(`[data-pane="${pane}"] .message.assistant[data-done="true"] .content`);
  await reply('model').waitFor();
  await reply('base').waitFor();
  assert.equal(await reply('model').textContent(), 'Paris.');
  assert.notEqual(await reply('base').textContent(), 'Paris.', 'the untrained base answers otherwise');
  assert.ok((await page.evaluate(() => window.replyUpdates)) > 2, 'the reply arrived in pieces');
  await screenshot(page, 'playground');

  // Models: sizes, and a checkpoint deleted through the confirmation dialog.
  await page.getByRole('link', { name: 'Models', exact: true }).click();
  const tunedRow = page.locator(`tr[data-model-id="${job.fine_tuned_model}"]`);
  await tunedRow.waitFor();
  assert.match((await tunedRow.locator('td.num').nth(1).textContent())!, /^\d+(\.\d+)? KiB$/);
  await page.locator('tr[data-model-id="glm-tiny"]').waitFor();
  const checkpoint = `${job.fine_tuned_model}:ckpt-step-300`;
  await assertLabelled(page);
  await screenshot(page, 'models');
  await page.locator(`tr[data-model-id="${checkpoint}"]`).getByRole('button', { name: /^Delete/ }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Delete model' }).click();
  await page.locator(`tr[data-model-id="${checkpoint}"]`).waitFor({ state: 'detached' });
  assert.equal((await call(`${svc.url}/v1/models/${encodeURIComponent(checkpoint)}`, { key: svc.apiKey })).status, 404);
  assert.deepEqual(problems, []);

  // A phone: the job page and the jobs list fit the width (tables scroll inside themselves).
  const phone = await newPage({ width: 390, height: 844 });
  await signIn(phone.page, svc.url, svc.apiKey);
  const phonePages = [
    [`#/jobs/${jobId}`, 'phone-job', '[data-download="step_metrics.csv"]'],
    ['#/jobs', 'phone-jobs', `tr[data-job-id="${jobId}"]`],
    ['#/models', 'phone-models', `tr[data-model-id="${job.fine_tuned_model}"]`],
    ['#/playground', 'phone-playground', '#pg-model optgroup'],
  ];
  for (const [hash, name, loaded] of phonePages) {
    await phone.page.goto(`${svc.url}/ui/${hash}`);
    await phone.page.locator(loaded).first().waitFor({ state: 'attached' });
    await screenshot(phone.page, name);
    const overflow = await phone.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `${hash} is ${overflow}px wider than the phone (see ui-${name}.png)`);
  }
  assert.deepEqual(phone.problems, []);
  await phone.page.close();
  await page.close();
});

test('a running job is cancelled from its page', async () => {
  const files = await call(`${svc.url}/v1/files?purpose=fine-tune`, { key: svc.apiKey });
  const trainingFile = (files.body.data as { id: string; status: string }[]).find((f) => f.status === 'processed')!.id;
  const created = await call(`${svc.url}/v1/fine_tuning/jobs`, {
    key: svc.apiKey,
    method: 'POST',
    json: { model: 'glm-tiny', training_file: trainingFile, hyperparameters: { batch_size: 1 }, tuning: { method: TINY_LORA, max_steps: 100_000 } },
  });
  assert.equal(created.status, 200, JSON.stringify(created.body));
  const { page, problems } = await newPage();
  await signIn(page, svc.url, svc.apiKey);
  await page.goto(`${svc.url}/ui/#/jobs/${created.body.id}`);
  await page.locator('.job-status [data-status="running"]').waitFor({ timeout: 60_000 });
  await page.getByRole('button', { name: 'Cancel job' }).click();
  await page.locator('.job-status [data-status="cancelled"]').waitFor({ timeout: 30_000 });
  assert.ok(await page.getByRole('button', { name: 'Cancel job' }).isDisabled());
  await page.getByRole('link', { name: 'Jobs', exact: true }).click();
  await page.locator(`tr[data-job-id="${created.body.id}"] [data-status="cancelled"]`).waitFor();
  await screenshot(page, 'jobs');
  assert.deepEqual(problems, []);
  await page.close();
});
