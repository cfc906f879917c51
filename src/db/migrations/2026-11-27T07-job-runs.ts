import type { Kysely } from 'kysely';

// Frozen: never edit after it lands; add a new migration instead.
// When each cluster-wide periodic job last ran, so that with many instances a job runs once
// per interval in the whole cluster (src/jobs/scheduler.ts), not once per instance.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('job_runs')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('last_started_at', 'text', (c) => c.notNull())
    .addColumn('last_finished_at', 'text')
    // 'running', 'ok' or 'failed'
    .addColumn('last_status', 'text', (c) => c.notNull())
    .addColumn('last_instance', 'text', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('job_runs').execute();
}
