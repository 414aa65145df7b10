/**
 * Rocket.Chat's test administrator across restarts: a TEST_MODE start keeps the account
 * that is there (its tokens and rooms), gives it back the admin role and the public
 * password, and processes that start at the same moment on one data folder all come up.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TEST_ADMIN } from "../services/index.ts";
import { openStore } from "../store/index.ts";
import { api, type Credentials, login } from "./helpers.ts";
import { testEngineEnv } from "./mongo-wire.ts";
import {
  NATS_SKIP,
  type NatsProcess,
  type ParleyProcess,
  runParleyToExit,
  spawnNats,
  spawnParley,
} from "./processes.ts";

const dataDirs: string[] = [];
const children: ParleyProcess[] = [];
let nats: NatsProcess | undefined;

afterEach(async () => {
  for (const child of children.splice(0)) child.process.kill(9);
  await nats?.stop();
  nats = undefined;
  for (const dir of dataDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function newDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "parley-test-admin-"));
  dataDirs.push(dir);
  return dir;
}

async function start(dataDir: string, env: Record<string, string> = {}) {
  const child = await spawnParley(dataDir, { HOST: "127.0.0.1", ...env });
  children.push(child);
  return child;
}

async function stop(child: ParleyProcess) {
  child.process.kill("SIGTERM");
  await child.process.exited;
}

/** The test administrator as `auth` sees it: status, id, roles and rooms. */
async function adminAsSeen(url: string, auth: Credentials) {
  const me = await api(url, "me", { auth });
  const rooms = await api(url, "subscriptions.get", { auth });
  return {
    status: me.status,
    _id: me.body._id,
    roles: me.body.roles,
    rooms: ((rooms.body.update ?? []) as { name: string }[]).map((s) => s.name).sort(),
  };
}

describe("the test administrator in TEST_MODE", () => {
  test("a restart on the same data keeps its login and its rooms", async () => {
    const dataDir = newDataDir();
    const first = await start(dataDir);
    const admin = await login(first.url, TEST_ADMIN, TEST_ADMIN);
    const name = `kept-${crypto.randomUUID().slice(0, 8)}`;
    expect((await api(first.url, "channels.create", { auth: admin, body: { name } })).status).toBe(
      200,
    );
    const before = await adminAsSeen(first.url, admin);
    await stop(first);

    const second = await start(dataDir);

    expect(await adminAsSeen(second.url, admin)).toEqual(before);
    expect(before).toEqual({
      status: 200,
      _id: TEST_ADMIN,
      roles: ["admin"],
      rooms: ["general", name].sort(),
    });
  }, 60_000);

  test("a restart gives it back the admin role and the public password", async () => {
    const dataDir = newDataDir();
    await stop(await start(dataDir));
    const store = await openStore({ dataDir, mongoUrl: (await testEngineEnv(dataDir)).MONGO_URL });
    await store
      .collection("users")
      .updateOne(
        { _id: TEST_ADMIN },
        { $set: { roles: ["user"], "services.password.bcrypt": "not a hash", active: false } },
      );
    await store.close();

    const again = await start(dataDir);
    const admin = await login(again.url, TEST_ADMIN, TEST_ADMIN);

    const me = await api(again.url, "me", { auth: admin });
    expect([me.body.roles, me.body.active]).toEqual([["user", "admin"], true]);
  }, 60_000);

  test("an account of another id holding its name stops start-up with a message", async () => {
    const dataDir = newDataDir();
    const store = await openStore({ dataDir, mongoUrl: (await testEngineEnv(dataDir)).MONGO_URL });
    await store.collection("users").insertOne({ _id: "someone", username: TEST_ADMIN });
    await store.close();

    const { code, stderr } = await runParleyToExit({ DATA_DIR: dataDir, TEST_MODE: "true" });

    expect(code).toBe(1);
    expect(stderr).toStartWith(`Parley cannot start: ${TEST_ADMIN} is already in use`);
  }, 60_000);
});

describe.skipIf(NATS_SKIP !== "")(`processes started at the same moment${NATS_SKIP}`, () => {
  test("two TEST_MODE processes on one new data folder both come up, and again on restart", async () => {
    nats = await spawnNats();
    const dataDir = newDataDir();
    const env = (id: string) => ({ NATS_URL: nats?.url ?? "", INSTANCE_ID: id });
    // Every process that came up is kept for afterEach to stop, even when the other failed.
    const both = async (): Promise<[ParleyProcess, ParleyProcess]> => {
      const [x, y] = await Promise.allSettled([
        start(dataDir, env("one")),
        start(dataDir, env("two")),
      ]);
      if (x.status === "rejected") throw x.reason;
      if (y.status === "rejected") throw y.reason;
      return [x.value, y.value];
    };

    const [one, two] = await both();

    const admin = await login(one.url, TEST_ADMIN, TEST_ADMIN);
    const before = await adminAsSeen(two.url, admin);
    await Promise.all([stop(one), stop(two)]);
    const [three, four] = await both();

    expect(before).toMatchObject({ status: 200, _id: TEST_ADMIN, rooms: ["general"] });
    expect(await adminAsSeen(three.url, admin)).toEqual(before);
    expect(await adminAsSeen(four.url, admin)).toEqual(before);
    // One rocket.cat, one test administrator, one general room: nothing made twice.
    const users = await api(three.url, "users.list", { auth: admin });
    const channels = await api(four.url, "channels.list", { auth: admin });
    expect([users.body.total, channels.body.total]).toEqual([2, 1]);
  }, 60_000);
});
