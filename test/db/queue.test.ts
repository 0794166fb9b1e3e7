// The job queue's SQL against a real Postgres: claims are fair across organizations and respect the
// per-organization limit, a lease can only be renewed or released by its holder, and the reaper sends
// jobs of dead workers back to the queue (or fails them after too many attempts).
import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { type Database, openDatabase } from '../../src/db/client.ts';
import { migrate } from '../../src/db/migrate.ts';
import * as jobRows from '../../src/db/repositories/jobs.ts';
import * as orgs from '../../src/db/repositories/organizations.ts';
import { jobs } from '../../src/db/schema/index.ts';
import { newId } from '../../src/ids.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.ts';

let testDb: TestDatabase;
let database: Database;
let orgA: string;
let orgB: string;

before(async () => {
  testDb = await createTestDatabase();
  database = await openDatabase({ url: testDb.url, dataDir: '/tmp', poolSize: 4 });
  await migrate(database);
  orgA = (await orgs.ensureOrganization(database.db, newId('org'), 'a')).id;
  orgB = (await orgs.ensureOrganization(database.db, newId('org'), 'b')).id;
});
after(async () => {
  await database.close();
  await testDb.drop();
});
beforeEach(async () => {
  await database.db.delete(jobs);
});

let clock = 0;
async function queued(organizationId: string): Promise<string> {
  const id = newId('ftjob');
  await jobRows.insertJob(database.db, {
    id,
    organizationId,
    model: 'glm-tiny',
    baseModel: 'glm-tiny',
    trainingFile: 'file-x',
    status: 'queued',
    hyperparameters: {},
    method: {},
    training: {},
    seed: 1,
    requestHash: id,
    createdByKey: 'key-x',
    createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, clock++)), // a strict creation order
  });
  return id;
}

test('claims go to the organization with the fewest running jobs, oldest job first, within the limit', async () => {
  const a1 = await queued(orgA);
  const a2 = await queued(orgA);
  const a3 = await queued(orgA);
  const b1 = await queued(orgB);
  const claim = () => jobRows.claimNextJob(database.db, 'w1', 30, 2).then((j) => j?.id);
  assert.equal(await claim(), a1, 'oldest first while nobody runs');
  assert.equal(await claim(), b1, 'then the organization with no running job, although a2 is older');
  assert.equal(await claim(), a2);
  assert.equal(await claim(), undefined, 'organization a is at its limit of 2; b has nothing queued');
  const running = await database.db.select().from(jobs).where(sql`${jobs.status} = 'running'`);
  assert.equal(running.length, 3);
  assert.ok(running.every((j) => j.lockedBy === 'w1' && j.attempts === 1 && j.lockedUntil! > new Date()));
  await jobRows.release(database.db, a1, 'w1', 'succeeded');
  assert.equal(await claim(), a3, 'a slot of organization a is free again');
});

test('concurrent claimers never take the same job', async () => {
  const ids = await Promise.all(Array.from({ length: 6 }, (_, i) => queued(i % 2 ? orgA : orgB)));
  const claims = await Promise.all(Array.from({ length: 10 }, (_, i) => jobRows.claimNextJob(database.db, `w${i}`, 30, 10)));
  const got = claims.flatMap((j) => (j ? [j.id] : []));
  assert.equal(got.length, 6);
  assert.deepEqual([...got].sort(), [...ids].sort());
});

test('only the holder renews or releases a lease; a lost lease is reaped to the queue, then failed', async () => {
  const id = await queued(orgA);
  await jobRows.claimNextJob(database.db, 'w1', 30, 2);
  assert.equal(await jobRows.heartbeat(database.db, id, 'w2', 30), undefined, 'not the holder');
  assert.deepEqual(await jobRows.heartbeat(database.db, id, 'w1', 30), { cancelRequested: false, pauseRequested: false });
  assert.equal(await jobRows.release(database.db, id, 'w2', 'succeeded'), undefined);

  const expire = () => database.db.update(jobs).set({ lockedUntil: sql`now() - interval '1 second'` }).where(sql`${jobs.id} = ${id}`);
  await expire();
  const first = await jobRows.reapExpiredLeases(database.db, 2, 0);
  assert.deepEqual(first.requeued.map((j) => j.id), [id]);
  assert.equal(first.requeued[0].status, 'queued');
  assert.equal(first.requeued[0].lockedBy, null);
  assert.equal(await jobRows.heartbeat(database.db, id, 'w1', 30), undefined, 'the old holder cannot renew a reaped job');

  const again = await jobRows.claimNextJob(database.db, 'w3', 30, 2);
  assert.equal(again?.attempts, 2);
  await expire();
  const second = await jobRows.reapExpiredLeases(database.db, 2, 0);
  assert.deepEqual(second.failed.map((j) => j.id), [id], 'out of attempts');
  assert.equal(second.failed[0].error?.code, 'worker_lost');
});

test('a job waits for its backoff before it can be claimed again', async () => {
  const id = await queued(orgA);
  await database.db.update(jobs).set({ runAfter: sql`now() + interval '1 hour'` }).where(sql`${jobs.id} = ${id}`);
  assert.equal(await jobRows.claimNextJob(database.db, 'w1', 30, 2), undefined);
});
