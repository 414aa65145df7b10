/**
 * Presence across a crash: Parley runs as its own process, 50 users connect, the process
 * is killed with `kill -9` and started again on the same data. Connection records carry
 * the id of the process holding them, so the restarted process removes the ones its
 * previous run left and nobody stays online without a connection; another process's
 * records stay until that process's heartbeat is stale.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { TEST_ADMIN } from "../services/index.ts";
import { api, type Credentials, login, RawDdp, startTestServer } from "./helpers.ts";
import { spawnParley } from "./processes.ts";

const USERS = 50;

/** The ids among `ids` that the server at `url` shows online, away or busy. */
async function shownOnline(url: string, admin: Credentials, ids: string[]): Promise<string[]> {
  const res = await api(url, "users.presence", { auth: admin, query: { ids: ids.join(",") } });
  expect(res.status).toBe(200);
  return res.body.users.map((u: { _id: string }) => u._id).sort();
}

function wsOf(url: string): string {
  return `${url.replace("http", "ws")}/websocket`;
}

describe("presence after a crash", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "parley-presence-"));
  const children: Subprocess[] = [];
  const sockets: RawDdp[] = [];

  afterAll(() => {
    for (const socket of sockets) socket.close();
    for (const child of children) child.kill(9);
    rmSync(dataDir, { recursive: true, force: true });
  });

  test("after kill -9 and a restart every user is offline until they reconnect", async () => {
    const first = await spawnParley(dataDir, { INSTANCE_ID: "parley-a" });
    children.push(first.process);
    const admin = await login(first.url, TEST_ADMIN, TEST_ADMIN);
    const users = await Promise.all(
      Array.from({ length: USERS }, async (_, i) => {
        const username = `crash.${i}.${crypto.randomUUID().slice(0, 6)}`;
        const created = await api(first.url, "users.create", {
          auth: admin,
          body: { username, name: username, email: `${username}@example.com`, password: "pw" },
        });
        const credentials = await login(first.url, username, "pw");
        return { _id: created.body.user._id as string, username, credentials };
      }),
    );
    const ids = users.map((u) => u._id).sort();
    const watcher = await RawDdp.connect(wsOf(first.url));
    sockets.push(watcher);
    await watcher.resume(admin.authToken);
    await watcher.sub("stream-user-presence", "", { added: ids });
    for (const user of users) {
      const client = await RawDdp.connect(wsOf(first.url));
      sockets.push(client);
      await client.resume(user.credentials.authToken);
    }
    await watcher.waitFor(
      () =>
        new Set(
          watcher.frames
            .filter((f) => f.collection === "stream-user-presence")
            .map((f) => f.id as string),
        ).size === USERS,
    );
    expect(await shownOnline(first.url, admin, ids)).toEqual(ids);

    first.process.kill(9);
    await first.process.exited;

    // Another process sharing the data, whose own heartbeat says the first may be alive,
    // leaves the first one's connections alone.
    const other = await startTestServer({ dataDir, env: { INSTANCE_ID: "parley-b" } });
    expect(await shownOnline(other.url, other.admin, ids)).toEqual(ids);
    await other.stop(true);

    const again = await spawnParley(dataDir, { INSTANCE_ID: "parley-a" });
    children.push(again.process);
    const admin2 = await login(again.url, TEST_ADMIN, TEST_ADMIN);
    expect(await shownOnline(again.url, admin2, ids)).toEqual([]);
    const status = await api(again.url, "users.getStatus", {
      auth: admin2,
      query: { userId: ids[0] as string },
    });
    expect(status.body.status).toBe("offline");

    const returning = users[0] as (typeof users)[number];
    const back = await RawDdp.connect(wsOf(again.url));
    sockets.push(back);
    await back.resume(returning.credentials.authToken);
    await back.call("UserPresence:online");
    expect(await shownOnline(again.url, admin2, ids)).toEqual([returning._id]);

    again.process.kill(9);
    await again.process.exited;

    // A process whose heartbeat went stale counts as gone, whichever process notices.
    const later = { now: () => new Date(Date.now() + 10 * 60_000) };
    const survivor = await startTestServer({
      dataDir,
      clock: later,
      env: { INSTANCE_ID: "parley-c" },
    });
    expect(await shownOnline(survivor.url, survivor.admin, ids)).toEqual([]);
    await survivor.stop(true);
  }, 180_000);
});
