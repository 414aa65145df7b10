import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { TEST_ADMIN } from "../services/index.ts";
import { api, type Credentials, login, RawDdp } from "./helpers.ts";
import { spawnParley } from "./processes.ts";

describe("durability of the embedded store", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "parley-durability-"));
  const children: Subprocess[] = [];

  afterAll(() => {
    for (const child of children) child.kill(9);
    rmSync(dataDir, { recursive: true, force: true });
  });

  test("every message acknowledged over REST and DDP survives kill -9", async () => {
    const first = await spawnParley(dataDir);
    children.push(first.process);
    const admin: Credentials = await login(first.url, TEST_ADMIN, TEST_ADMIN);
    const created = await api(first.url, "channels.create", {
      auth: admin,
      body: { name: `durable-${Date.now()}` },
    });
    expect(created.status).toBe(200);
    const rid: string = created.body.channel._id;

    const ddp = await RawDdp.connect(`${first.url.replace("http", "ws")}/websocket`);
    await ddp.resume(admin.authToken);
    const acknowledged: string[] = [];
    const overRest = Array.from({ length: 250 }, async (_, i) => {
      const res = await api(first.url, "chat.sendMessage", {
        auth: admin,
        body: { message: { rid, msg: `rest ${i}` } },
      });
      if (res.status === 200) acknowledged.push(res.body.message._id);
    });
    const overDdp = Array.from({ length: 250 }, async (_, i) => {
      const res = await ddp.call("sendMessage", { rid, msg: `ddp ${i}` });
      if (!res.error) acknowledged.push((res.result as { _id: string })._id);
    });
    await Promise.all([...overRest, ...overDdp]);
    expect(acknowledged).toHaveLength(500);

    first.process.kill(9);
    await first.process.exited;

    const second = await spawnParley(dataDir);
    children.push(second.process);
    const again = await login(second.url, TEST_ADMIN, TEST_ADMIN);
    const reader = await RawDdp.connect(`${second.url.replace("http", "ws")}/websocket`);
    await reader.resume(again.authToken);
    const history = await reader.call("loadHistory", rid, null, 1000);
    reader.close();
    const messages = (history.result as { messages: { _id: string }[] }).messages;
    const stored = new Set(messages.map((m) => m._id));
    expect(acknowledged.filter((id) => !stored.has(id))).toEqual([]);
    second.process.kill(9);
  }, 120_000);
});
