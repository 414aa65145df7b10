import { describe, expect, test } from "bun:test";
import { ConfigError, loadConfig } from "../core/config.ts";

describe("configuration", () => {
  test("has documented defaults for an empty environment", () => {
    expect(loadConfig({})).toEqual({
      port: 3000,
      rootUrl: "http://localhost:3000",
      mongoUrl: undefined,
      dataDir: "./data",
      admin: undefined,
      testMode: false,
      logLevel: "info",
    });
  });

  test("reads every variable", () => {
    const config = loadConfig({
      PORT: "4000",
      ROOT_URL: "https://chat.example.com",
      MONGO_URL: "mongodb://db:27017/parley",
      DATA_DIR: "/var/lib/parley",
      ADMIN_USERNAME: "boss",
      ADMIN_PASS: "secret",
      ADMIN_EMAIL: "boss@example.com",
      TEST_MODE: "true",
      LOG_LEVEL: "debug",
    });

    expect(config).toEqual({
      port: 4000,
      rootUrl: "https://chat.example.com",
      mongoUrl: "mongodb://db:27017/parley",
      dataDir: "/var/lib/parley",
      admin: { username: "boss", password: "secret", email: "boss@example.com" },
      testMode: true,
      logLevel: "debug",
    });
  });

  test("is frozen", () => {
    expect(Object.isFrozen(loadConfig({}))).toBe(true);
  });

  test.each([
    ["PORT", "abc"],
    ["PORT", "70000"],
    ["ROOT_URL", "not a url"],
    ["ROOT_URL", "ftp://example.com"],
    ["MONGO_URL", "postgres://db"],
    ["TEST_MODE", "yes"],
    ["LOG_LEVEL", "loud"],
    ["ADMIN_EMAIL", "nobody"],
  ])("refuses %s=%s with an error naming the variable", (variable, value) => {
    const env = { [variable]: value, ...(variable === "ADMIN_EMAIL" && { ADMIN_PASS: "x" }) };

    const error = (() => {
      try {
        loadConfig(env);
      } catch (e) {
        return e;
      }
    })();

    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe(variable);
    expect((error as ConfigError).message).toStartWith(`${variable}: `);
  });

  test("stops the server process with a message naming the bad variable", async () => {
    const child = Bun.spawn([process.execPath, "main.ts"], {
      cwd: `${import.meta.dir}/..`,
      env: { ...process.env, PORT: "not-a-port" },
      stdout: "pipe",
      stderr: "pipe",
    });

    const [code, stderr] = await Promise.all([child.exited, new Response(child.stderr).text()]);

    expect(code).toBe(2);
    expect(stderr).toContain("PORT");
  });
});
