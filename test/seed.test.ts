import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../core/config.ts";
import { startServer } from "../server.ts";
import { TEST_ADMIN } from "../services/index.ts";
import { api } from "./helpers.ts";

const dataDir = mkdtempSync(join(tmpdir(), "parley-seed-"));

async function start(env: Record<string, string>) {
  const config = loadConfig({ PORT: "0", DATA_DIR: dataDir, LOG_LEVEL: "silent", ...env });
  return startServer(config);
}

/** GENERAL's member count and its actual subscriptions, read from the store. */
async function generalMembership(parley: Awaited<ReturnType<typeof start>>) {
  const room = await parley.services.deps.db.rooms.findOne({ _id: "GENERAL" });
  const subs = await parley.services.deps.db.subscriptions.countDocuments({ rid: "GENERAL" });
  return { usersCount: room?.usersCount, subs };
}

describe("the data every workspace starts with", () => {
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  test("a first start creates GENERAL, rocket.cat and the first administrator", async () => {
    const parley = await start({ ADMIN_USERNAME: "boss", ADMIN_PASS: "pw" });

    const general = await parley.services.deps.db.rooms.findOne({ _id: "GENERAL" });
    const cat = await parley.services.deps.db.users.findOne({ _id: "rocket.cat" });
    const login = await api(parley.url, "login", { body: { user: "boss", password: "pw" } });
    await parley.stop();

    expect(general).toMatchObject({ t: "c", name: "general", default: true });
    expect(cat).toMatchObject({ username: "rocket.cat", type: "bot", roles: ["bot"] });
    expect(login.status).toBe(200);
  });

  test("each test-mode start leaves one test administrator who can log in, without drifting GENERAL's count", async () => {
    for (let i = 0; i < 2; i++) {
      const parley = await start({ TEST_MODE: "true" });
      const login = await api(parley.url, "login", {
        body: { user: TEST_ADMIN, password: TEST_ADMIN },
      });
      const membership = await generalMembership(parley);
      await parley.stop();

      expect(login.status).toBe(200);
      expect(membership).toEqual({ usersCount: 2, subs: 2 });
    }
  });

  test("a start without test mode removes the test administrator and its public password", async () => {
    const parley = await start({});

    const login = await api(parley.url, "login", {
      body: { user: TEST_ADMIN, password: TEST_ADMIN },
    });
    const membership = await generalMembership(parley);
    await parley.stop();

    expect(login.status).toBe(401);
    expect(membership).toEqual({ usersCount: 1, subs: 1 });
  });
});
