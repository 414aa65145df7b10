/**
 * What only the embedded engine promises beyond the shared contract (test/store.test.ts):
 * durability across close and `kill -9`, group commit, Date round trips through SQLite,
 * index usage of the hot queries (no full scans), and index results equal to scans.
 */
import { Database } from "bun:sqlite";
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import pino from "pino";
import { openEmbeddedStore, type EmbeddedStore } from "../store/embedded.ts";
import { openStore } from "../store/index.ts";
import { DuplicateKeyError, InvalidQueryError, type Doc } from "../store/types.ts";

const dirs: string[] = [];
const stores: EmbeddedStore[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "parley-embedded-"));
  dirs.push(dir);
  return dir;
}
function open(dataDir: string, logger?: pino.Logger): EmbeddedStore {
  const store = openEmbeddedStore({ dataDir, ...(logger ? { logger } : {}) });
  stores.push(store);
  return store;
}
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("embedded engine: durability", () => {
  test("openStore picks the embedded engine without a MongoDB URL and creates dataDir", async () => {
    const dir = join(tempDir(), "nested", "data");
    const store = await openStore({ dataDir: dir });
    expect(store.engine).toBe("embedded");
    stores.push(store as EmbeddedStore);
    await store.collection("x").insertOne({ _id: "a" });
    expect(await store.collection("x").countDocuments()).toBe(1);
  });

  test("documents, updates, deletes and unique indexes survive close and reopen", async () => {
    const dir = tempDir();
    const first = open(dir);
    const users = first.collection("users");
    await users.createIndex({ key: { username: 1 }, unique: true });
    await users.insertMany([
      { _id: "a", username: "ann", n: 1 },
      { _id: "b", username: "bob" },
      { _id: "c", username: "cy" },
    ]);
    await users.updateOne({ _id: "a" }, { $inc: { n: 1 } });
    await users.deleteOne({ _id: "b" });
    await first.close();
    const users2 = open(dir).collection("users");
    expect(await users2.find({}, { sort: { _id: 1 } })).toEqual([
      { _id: "a", username: "ann", n: 2 },
      { _id: "c", username: "cy" },
    ]);
    expect(
      await users2.insertOne({ _id: "d", username: "ann" }).catch((e: unknown) => e),
    ).toBeInstanceOf(DuplicateKeyError);
    expect(users2.explain({ username: "cy" })).toEqual({ index: "username_1", scanned: 1 });
  });

  test("Dates and bytes round-trip, nested and in arrays; `$` field names are refused", async () => {
    const dir = tempDir();
    const first = open(dir);
    const doc = {
      _id: "a",
      ts: new Date(1),
      nested: { at: new Date(2), list: [new Date(3), { deep: new Date(4) }] },
      n: Infinity,
      bytes: [new Uint8Array([0, 255, 7]), new Uint8Array(70_000).fill(9)],
    };
    await first.collection("d").insertOne(doc);
    const err = await first
      .collection("d")
      .insertOne({ _id: "b", x: { $date: 5 } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidQueryError);
    await first.close();
    const back = (await open(dir).collection("d").findOne({ _id: "a" }))!;
    expect(back).toEqual(doc);
    const nested = back.nested as { at: Date; list: [Date, { deep: Date }] };
    expect(back.ts).toBeInstanceOf(Date);
    expect(nested.at).toBeInstanceOf(Date);
    expect(nested.list[0]).toBeInstanceOf(Date);
    expect(nested.list[1].deep.getTime()).toBe(4);
    expect((back.bytes as unknown[]).every((b) => b instanceof Uint8Array)).toBe(true);
  });

  test("a value nested deeper than 100 levels is refused as an invalid query, not a stack overflow", async () => {
    let deep: unknown = 1;
    for (let i = 0; i < 20_000; i++) deep = { a: deep };
    const docs = open(tempDir()).collection("d");

    const err = await docs.insertOne({ _id: "deep", deep }).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(InvalidQueryError);
    expect((err as Error).message).toStartWith("Value nests deeper than 100 levels");
    expect(await docs.countDocuments({})).toBe(0);
  });

  test("every write acknowledged before kill -9 is present after reopening", async () => {
    const dir = tempDir();
    const child = Bun.spawn(
      [process.execPath, join(import.meta.dir, "fixtures", "store-writer.ts"), dir],
      {
        stdout: "pipe",
        stderr: "pipe",
      },
    );
    const acked: string[] = [];
    const reader = child.stdout.getReader();
    const decoder = new TextDecoder();
    let buffered = "";
    let killed = false;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffered += decoder.decode(value, { stream: true });
      const lines = buffered.split("\n");
      buffered = lines.pop()!;
      acked.push(...lines.filter((l) => l.length > 0));
      if (!killed && acked.length >= 400) {
        child.kill("SIGKILL");
        killed = true;
      }
    }
    await child.exited;
    expect(child.signalCode, await new Response(child.stderr).text()).toBe("SIGKILL");
    expect(acked.length).toBeGreaterThanOrEqual(400);
    const coll = open(dir).collection("acked");
    const present = new Set((await coll.find({}, { projection: { _id: 1 } })).map((d) => d._id));
    expect(acked.filter((id) => !present.has(id))).toEqual([]);
  });

  test("group commit: reads see a write at once, the file only when its promise resolves", async () => {
    const dir = tempDir();
    const coll = open(dir).collection("g");
    await coll.insertOne({ _id: "first" });
    const file = new Database(join(dir, "parley.sqlite"), { readonly: true });
    const rows = () =>
      file.query<{ n: number }, []>("SELECT count(*) AS n FROM docs WHERE coll = 'g'").get()!.n;
    const writes = Array.from({ length: 50 }, (_, i) => coll.insertOne({ _id: `d${i}` }));
    expect(await coll.countDocuments()).toBe(51);
    expect(rows()).toBe(1);
    await Promise.all(writes);
    expect(rows()).toBe(51);
    file.close();
  });

  test("a failed flush rejects the waiting writes and is logged", async () => {
    const dir = tempDir();
    const lines: string[] = [];
    const sink = new Writable({
      write: (chunk, _enc, done) => (lines.push(String(chunk)), done()),
    });
    const coll = open(dir, pino({ level: "error" }, sink)).collection("f");
    await coll.insertOne({ _id: "ok" });
    const other = new Database(join(dir, "parley.sqlite"));
    other.exec("DROP TABLE docs");
    other.close();
    const err = await coll.insertOne({ _id: "lost" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(lines.join("")).toContain("flush to SQLite failed");
  });
});

describe("embedded engine: indexes", () => {
  async function seed(store: EmbeddedStore) {
    const users = store.collection("users");
    const subs = store.collection("rocketchat_subscription");
    const msgs = store.collection("rocketchat_message");
    await users.createIndex({ key: { username: 1 }, unique: true, sparse: true });
    await users.createIndex({ key: { "services.resume.loginTokens.hashedToken": 1 } });
    await subs.createIndex({ key: { rid: 1, "u._id": 1 }, unique: true });
    await subs.createIndex({ key: { "u._id": 1 } });
    await msgs.createIndex({ key: { rid: 1, ts: -1 } });
    const tokens = (i: number) => [{ hashedToken: `h${i}a` }, { hashedToken: `h${i}b` }];
    await users.insertMany(
      Array.from({ length: 200 }, (_, i) => ({
        _id: `U${i}`,
        username: `u${i}`,
        services: { resume: { loginTokens: tokens(i) } },
      })),
    );
    await subs.insertMany(
      Array.from({ length: 1000 }, (_, i) => ({
        _id: `S${i}`,
        rid: `r${i % 5}`,
        u: { _id: `U${Math.floor(i / 5)}` },
      })),
    );
    await msgs.insertMany(
      Array.from({ length: 3000 }, (_, i) => ({
        _id: `M${i}`,
        rid: `r${i % 10}`,
        ts: new Date(1_000_000 + i * 1000),
        msg: `m-${i}`,
      })),
    );
    return { users, subs, msgs };
  }

  test("hot queries are served by indexes, never by a full scan", async () => {
    const { users, subs, msgs } = await seed(open(tempDir()));
    const latest = { sort: { ts: -1 as const }, limit: 50 };
    expect(msgs.explain({ rid: "r3" }, latest)).toEqual({ index: "rid_1_ts_-1", scanned: 50 });
    const page = await msgs.find({ rid: "r3" }, latest);
    expect(page.map((m) => m._id)).toEqual(
      Array.from({ length: 50 }, (_, k) => `M${2993 - k * 10}`),
    );
    const before = new Date(1_000_000 + 1503 * 1000);
    expect(
      msgs.explain({ rid: "r3", ts: { $lt: before } }, { sort: { ts: -1 }, limit: 20 }),
    ).toEqual({ index: "rid_1_ts_-1", scanned: 20 });
    expect(
      (await msgs.findOne({ rid: "r3", ts: { $lt: before } }, { sort: { ts: -1 } }))?._id,
    ).toBe("M1493");
    expect(msgs.explain({ rid: "r3", ts: { $gte: before } }, { sort: { ts: 1 } })).toEqual({
      index: "rid_1_ts_-1",
      scanned: 150,
    });
    expect(msgs.explain({ rid: "r3", _hidden: { $ne: true } }, latest)).toEqual({
      index: "rid_1_ts_-1",
      scanned: 50,
    });
    expect(subs.explain({ "u._id": "U7" })).toEqual({ index: "u._id_1", scanned: 5 });
    expect(subs.explain({ rid: "r2", "u._id": "U7" })).toEqual({
      index: "rid_1_u._id_1",
      scanned: 1,
    });
    expect((await subs.findOne({ rid: "r2", "u._id": "U7" }))?._id).toBe("S37");
    expect(users.explain({ username: "u42" })).toEqual({ index: "username_1", scanned: 1 });
    const byToken = { "services.resume.loginTokens.hashedToken": "h42b" };
    expect(users.explain(byToken)).toEqual({
      index: "services.resume.loginTokens.hashedToken_1",
      scanned: 1,
    });
    expect((await users.findOne(byToken))?._id).toBe("U42");
    expect(users.explain({ _id: { $in: ["U1", "U2"] } })).toEqual({ index: "_id_", scanned: 2 });
    // The control: a filter no index covers is reported as a full scan.
    expect(msgs.explain({ msg: "m-5" })).toEqual({ index: null, scanned: 3000 });
  });

  test("indexes follow updates and deletes: indexed results equal full-scan results", async () => {
    const store = open(tempDir());
    const indexed = store.collection("indexed");
    const plain = store.collection("plain");
    await indexed.createIndex({ key: { k: 1, ts: -1 } });
    await indexed.createIndex({ key: { tags: 1 } });
    await indexed.createIndex({ key: { "sub.x": 1 } });
    let seed = 7;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648), seed % n);
    for (let step = 0; step < 600; step++) {
      const id = `d${rand(60)}`;
      const op = rand(6);
      // Each ts is distinct, so sorted results have one right order.
      const run = async (c: typeof plain) => {
        if (op === 0)
          await c
            .insertOne({ _id: id, k: rand(4), ts: new Date(step), tags: [], sub: { x: rand(3) } })
            .catch(() => undefined);
        else if (op === 1)
          await c.updateOne({ _id: id }, { $set: { k: step % 4, ts: new Date(step) } });
        else if (op === 2) await c.updateOne({ _id: id }, { $push: { tags: `t${step % 5}` } });
        else if (op === 3)
          await c.updateMany({ tags: `t${step % 5}` }, { $pull: { tags: `t${step % 5}` } });
        else if (op === 4) await c.updateOne({ _id: id }, { $unset: { sub: "" } });
        else await c.deleteOne({ _id: id });
      };
      const saved = seed;
      await run(indexed);
      seed = saved;
      await run(plain);
    }
    const queries: [Record<string, unknown>, { sort?: Record<string, 1 | -1>; limit?: number }][] =
      [
        [{ k: 1 }, { sort: { ts: -1 }, limit: 5 }],
        [{ k: 2, ts: { $gte: new Date(300) } }, { sort: { ts: 1 } }],
        [{ k: { $in: [0, 3] } }, { sort: { ts: -1 } }],
        [{ tags: "t2" }, { sort: { _id: 1 } }],
        [{ "sub.x": 1 }, { sort: { _id: 1 } }],
      ];
    expect(await plain.countDocuments()).toBeGreaterThan(5);
    for (const [filter, options] of queries) {
      expect(indexed.explain(filter, options).index).not.toBeNull();
      expect(plain.explain(filter, options).index).toBeNull();
      const ids = async (c: typeof plain) => (await c.find(filter, options)).map((d: Doc) => d._id);
      expect(await ids(indexed), JSON.stringify(filter)).toEqual(await ids(plain));
    }
  });
});
