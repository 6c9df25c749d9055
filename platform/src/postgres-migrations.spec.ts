import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import pg from "pg";
import { migrate, readMigrations, type Migration } from "./postgres-migrations.js";
import { startTestPostgres, type TestPostgres } from "./testing/test-postgres.js";

describe("PostgreSQL migrations", function () {
  this.timeout(60_000);
  let server: TestPostgres;
  before(async () => {
    server = await startTestPostgres();
  });
  after(() => server.stop());

  const migrations: Migration[] = [
    { version: 1, name: "runs", sql: "CREATE TABLE runs (id text PRIMARY KEY)" },
    { version: 2, name: "runs_account", sql: "ALTER TABLE runs ADD COLUMN account text" },
  ];

  it("applies each migration once, in order, when two replicas start at the same time", async () => {
    const url = await server.createDatabase();
    const pools = [new pg.Pool({ connectionString: url }), new pg.Pool({ connectionString: url })];
    try {
      const applied = await Promise.all(
        pools.map((pool) => migrate(pool, "rebalancer", migrations)),
      );
      expect(applied.map((versions) => versions.join(",")).sort()).to.deep.equal(["", "1,2"]);
      const { rows } = await pools[0]!.query(
        "SELECT version FROM schema_migrations WHERE service = 'rebalancer' ORDER BY version",
      );
      expect(rows.map((r: { version: number }) => r.version)).to.deep.equal([1, 2]);
      await pools[0]!.query("INSERT INTO runs (id, account) VALUES ('r1', 'DU1')");
      expect(await migrate(pools[1]!, "rebalancer", migrations)).to.deep.equal([]);
    } finally {
      await Promise.all(pools.map((pool) => pool.end()));
    }
  });

  it("applies nothing of a migration that fails", async () => {
    const url = await server.createDatabase();
    const pool = new pg.Pool({ connectionString: url });
    try {
      const broken = [
        ...migrations,
        { version: 3, name: "broken", sql: "ALTER TABLE nope ADD x int" },
      ];
      const error = await migrate(pool, "subscriber", broken).catch((e: Error) => e);
      expect(error).to.be.instanceOf(Error);
      const { rows } = await pool.query("SELECT to_regclass('runs') AS runs");
      expect(rows[0].runs).to.equal(null);
    } finally {
      await pool.end();
    }
  });

  it("reads NNN_name.sql files in version order", () => {
    const dir = mkdtempSync(join(tmpdir(), "migrations-"));
    try {
      writeFileSync(join(dir, "010_later.sql"), "SELECT 10");
      writeFileSync(join(dir, "002_first.sql"), "SELECT 2");
      writeFileSync(join(dir, "README.md"), "not a migration");
      expect(readMigrations(dir).map((m) => `${m.version} ${m.name}`)).to.deep.equal([
        "2 first",
        "10 later",
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
