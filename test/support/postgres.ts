import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The machine's PostgreSQL, as an admin who may create databases (`BATON_TEST_PG` overrides). */
export const PG_ADMIN_URL = process.env.BATON_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function asAdmin(query: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    await client.query(query);
  } finally {
    await client.end();
  }
}

/** A new, empty database named `<prefix>_<random>`: its URL, and a function that drops it (closing any session left on it). */
export async function freshDatabase(prefix: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  await asAdmin(`create database ${name}`);
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => asAdmin(`drop database if exists ${name} with (force)`) };
}
