import { describe, expect, test } from "bun:test";
import { hostname } from "node:os";
import { ConfigError, loadConfig } from "../core/config.ts";
import { runParleyToExit } from "./processes.ts";

describe("configuration", () => {
  test("has documented defaults for an empty environment", () => {
    expect(loadConfig({})).toEqual({
      port: 3000,
      host: "0.0.0.0",
      rootUrl: "http://localhost:3000",
      mongoUrl: undefined,
      natsUrl: undefined,
      dataDir: "./data",
      admin: undefined,
      testMode: false,
      logLevel: "info",
      instanceId: `${hostname()}:3000`,
      presenceHeartbeatMs: 30_000,
      settingOverwrites: {},
      settingInitialValues: {},
      httpForwardedCount: 0,
    });
  });

  test("reads every variable", () => {
    const config = loadConfig({
      PORT: "4000",
      HOST: "127.0.0.1",
      ROOT_URL: "https://chat.example.com",
      MONGO_URL: "mongodb://db:27017/parley",
      NATS_URL: "nats://bus:4222",
      DATA_DIR: "/var/lib/parley",
      ADMIN_USERNAME: "boss",
      ADMIN_PASS: "secret",
      ADMIN_EMAIL: "boss@example.com",
      TEST_MODE: "true",
      LOG_LEVEL: "debug",
      HTTP_FORWARDED_COUNT: "2",
      INSTANCE_ID: "chat-1",
      PRESENCE_HEARTBEAT_MS: "5000",
    });

    expect(config).toEqual({
      port: 4000,
      host: "127.0.0.1",
      rootUrl: "https://chat.example.com",
      mongoUrl: "mongodb://db:27017/parley",
      natsUrl: "nats://bus:4222",
      dataDir: "/var/lib/parley",
      admin: { username: "boss", password: "secret", email: "boss@example.com" },
      testMode: true,
      logLevel: "debug",
      instanceId: "chat-1",
      presenceHeartbeatMs: 5000,
      settingOverwrites: {},
      settingInitialValues: {},
      httpForwardedCount: 2,
    });
  });

  test("names each process on a free port differently", () => {
    const [one, two] = [loadConfig({ PORT: "0" }), loadConfig({ PORT: "0" })];

    expect(one.instanceId).toStartWith(`${hostname()}:0:`);
    expect(one.instanceId).not.toBe(two.instanceId);
  });

  test("is frozen", () => {
    expect(Object.isFrozen(loadConfig({}))).toBe(true);
  });

  test.each([
    ["PORT", "abc"],
    ["PORT", "70000"],
    ["HOST", "not a host"],
    ["ROOT_URL", "not a url"],
    ["ROOT_URL", "ftp://example.com"],
    ["INSTANCE_ID", "two words"],
    ["MONGO_URL", "postgres://db"],
    ["NATS_URL", "redis://bus"],
    ["PRESENCE_HEARTBEAT_MS", "50"],
    ["PRESENCE_HEARTBEAT_MS", "soon"],
    ["TEST_MODE", "yes"],
    ["LOG_LEVEL", "loud"],
    ["HTTP_FORWARDED_COUNT", "one"],
    ["ADMIN_EMAIL", "nobody"],
    ["ADMIN_EMAIL", "root@localhost"],
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

  test("defaults the first administrator's e-mail to an address Parley accepts", () => {
    expect(loadConfig({ ADMIN_USERNAME: "boss", ADMIN_PASS: "x" }).admin?.email).toBe(
      "boss@parley.localhost",
    );
  });
});

describe("start-up with a value Parley cannot use", () => {
  test("a malformed value exits with code 2 and names the variable", async () => {
    const { code, stderr } = await runParleyToExit({ PORT: "not-a-port" });

    expect(code).toBe(2);
    expect(stderr).toStartWith("Parley cannot start: PORT: ");
  });

  test("a data folder that cannot be created exits with code 2 naming DATA_DIR", async () => {
    const { code, stderr } = await runParleyToExit({ DATA_DIR: "/proc/parley-cannot-be-here" });

    expect(code).toBe(2);
    expect(stderr).toStartWith("Parley cannot start: DATA_DIR: ");
  });

  test("a first administrator whose name is taken exits with code 2 naming ADMIN_USERNAME", async () => {
    const { code, stderr } = await runParleyToExit({
      ADMIN_USERNAME: "rocket.cat",
      ADMIN_PASS: "pw",
    });

    expect(code).toBe(2);
    expect(stderr).toStartWith("Parley cannot start: ADMIN_USERNAME: ");
  });

  test("a port that is taken exits with code 2 naming PORT", async () => {
    const taken = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });

    const { code, stderr } = await runParleyToExit({ PORT: String(taken.port) });

    taken.stop(true);
    expect(code).toBe(2);
    expect(stderr).toStartWith("Parley cannot start: PORT: ");
  });
});
