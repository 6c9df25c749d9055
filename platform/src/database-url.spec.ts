import { expect } from "chai";
import { parseDatabaseUrl } from "./database-url.js";

describe("parseDatabaseUrl", () => {
  it("keeps the URL to connect with and shows it without the password", () => {
    const parsed = parseDatabaseUrl(
      "postgres://mesh:s3cr%40t@db.internal:5432/mesh?sslmode=require",
    );
    expect(parsed.url).to.equal("postgres://mesh:s3cr%40t@db.internal:5432/mesh?sslmode=require");
    expect(parsed.shown).to.equal(
      "postgres://mesh:[redacted]@db.internal:5432/mesh?sslmode=require",
    );
    expect(parseDatabaseUrl("postgresql://db/mesh?password=hunter22").shown).to.equal(
      "postgresql://db/mesh?password=[redacted]",
    );
    expect(parseDatabaseUrl("postgres:///mesh?host=/var/run/postgresql").shown).to.equal(
      "postgres:///mesh?host=/var/run/postgresql",
    );
  });

  it("refuses what is not a postgres:// URL naming a server, never quoting the password", () => {
    const problem = (value: string) => {
      try {
        parseDatabaseUrl(value);
        return "";
      } catch (err) {
        return (err as Error).message;
      }
    };
    expect(problem("mesh:hunter22@db")).to.match(/must be a postgres:\/\/ or postgresql/);
    expect(problem("mysql://root:hunter22@db/mesh")).to.equal(
      "must be a postgres:// or postgresql:// URL, got a mysql: URL",
    );
    expect(problem("postgres://u:hunter22@:5432/x")).to.not.include("hunter22");
    expect(problem("postgres://mesh:hun ter#22@db/mesh")).to.not.include("hun");
    expect(problem("not a url with hunter22")).to.match(/^must be a URL/);
    for (const value of ["mesh:hunter22@db", "postgres://u:hunter22@:5432/x", "x hunter22"]) {
      expect(problem(value)).to.not.include("hunter22");
    }
  });
});
