/**
 * The store contract, run on both engines: the embedded engine always, the embedded engine
 * reached through another process's bus when nats-server is installed, and the MongoDB
 * engine on the server at MONGO_URL, or without one on the wire test server
 * (test/mongo-wire.ts). Every test uses a
 * fresh collection, so the cases are independent on either engine.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Bus } from "../bus/bus.ts";
import { connectNatsBus } from "../bus/nats.ts";
import { createLogger } from "../core/logger.ts";
import { openEmbeddedStore } from "../store/embedded.ts";
import { openMongoStore, type MongoStore } from "../store/mongo.ts";
import { openSharedStore, type SharedStore } from "../store/shared.ts";
import { type MongoWire, TEST_MONGO, testMongo } from "./mongo-wire.ts";
import { NATS_SKIP, type NatsProcess, spawnNats } from "./processes.ts";
import {
  DuplicateKeyError,
  InvalidQueryError,
  type Collection,
  type Doc,
  type Store,
} from "../store/types.ts";

const day = (n: number) => new Date(Date.UTC(2024, 0, n));

interface Harness {
  open(): Promise<Store>;
  close(store: Store): Promise<void>;
  /** Whether a failing updateMany writes nothing on this engine/deployment. */
  atomicUpdateMany(store: Store): boolean;
}

function contract(h: Harness): void {
  let store: Store;
  let n = 0;
  const fresh = <T extends Doc = Doc>(): Collection<T> =>
    store.collection<T>(`c${++n}_${Date.now()}`);
  beforeAll(async () => void (store = await h.open()));
  afterAll(async () => h.close(store));

  test("insert, find, count and delete", async () => {
    const c = fresh();
    await c.insertOne({ _id: "a", n: 1 });
    await c.insertMany([
      { _id: "b", n: 2 },
      { _id: "c", n: 3 },
    ]);
    expect(await c.findOne({ _id: "a" })).toEqual({ _id: "a", n: 1 });
    expect(await c.findOne({ _id: "zz" })).toBeNull();
    expect((await c.find({ n: { $gte: 2 } }, { sort: { n: 1 } })).map((d) => d._id)).toEqual([
      "b",
      "c",
    ]);
    expect(await c.countDocuments()).toBe(3);
    expect(await c.countDocuments({ n: { $lt: 3 } })).toBe(2);
    expect(await c.deleteOne({ n: { $gt: 1 } })).toBe(1);
    expect(await c.deleteOne({ _id: "nope" })).toBe(0);
    expect(await c.deleteMany({})).toBe(2);
    expect(await c.countDocuments({})).toBe(0);
  });

  test("byte arrays are stored, compared and read back as bytes", async () => {
    const c = fresh();
    await c.insertMany([
      { _id: "long", data: new Uint8Array([1, 2, 3]) },
      { _id: "short", data: new Uint8Array([9]) },
      { _id: "text", data: "abc" },
    ]);

    const back = await c.findOne({ _id: "long" });
    const sorted = await c.find({}, { sort: { data: 1 } });

    expect(back?.data instanceof Uint8Array).toBe(true);
    expect([...(back?.data as Uint8Array)]).toEqual([1, 2, 3]);
    // Strings sort before binary data, and shorter binary data before longer.
    expect(sorted.map((d) => d._id)).toEqual(["text", "short", "long"]);
  });

  test("insertOne without _id generates a string id", async () => {
    const c = fresh();
    await c.insertOne({ x: 1 } as unknown as Doc);
    const [doc] = await c.find({ x: 1 });
    expect(typeof doc?._id).toBe("string");
    expect(doc!._id).toMatch(/^[23456789A-HJ-NP-TW-Za-km-z]{17}$/);
  });

  test("a duplicate _id is rejected and changes nothing", async () => {
    const c = fresh();
    await c.insertOne({ _id: "a", v: 1 });
    const err = await c.insertOne({ _id: "a", v: 2 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DuplicateKeyError);
    expect((err as DuplicateKeyError).code).toBe(11000);
    expect((err as DuplicateKeyError).keyValue).toEqual({ _id: "a" });
    expect(await c.findOne({ _id: "a" })).toEqual({ _id: "a", v: 1 });
  });

  test("$set, $unset, $inc, $rename, $min, $max, $currentDate and dotted paths", async () => {
    const c = fresh();
    await c.insertOne({
      _id: "a",
      name: "x",
      n: 5,
      lo: 10,
      hi: 10,
      when: day(10),
      old: 1,
      gone: true,
      s: { t: 1 },
    });
    const before = Date.now();
    const r = await c.updateOne(
      { _id: "a" },
      {
        $set: { "s.u.v": 2, name: "y" },
        $unset: { gone: "" },
        $inc: { n: 2, "counts.x": 1 },
        $rename: { old: "renamed" },
        $min: { lo: 3, when: day(5) },
        $max: { hi: 7 },
        $currentDate: { at: true },
      },
    );
    expect(r).toEqual({ matchedCount: 1, modifiedCount: 1, upsertedId: null });
    const doc = (await c.findOne({ _id: "a" }))!;
    expect(doc.s).toEqual({ t: 1, u: { v: 2 } });
    expect(doc).toMatchObject({
      name: "y",
      n: 7,
      counts: { x: 1 },
      renamed: 1,
      lo: 3,
      hi: 10,
      when: day(5),
    });
    expect(doc.gone).toBeUndefined();
    expect(doc.old).toBeUndefined();
    expect(doc.at).toBeInstanceOf(Date);
    expect((doc.at as Date).getTime()).toBeGreaterThanOrEqual(before - 1000);
    expect(await c.updateOne({ _id: "a" }, { $set: { name: "y" } })).toEqual({
      matchedCount: 1,
      modifiedCount: 0,
      upsertedId: null,
    });
  });

  test("$push, $pull, $addToSet and the positional $", async () => {
    const c = fresh();
    await c.insertOne({
      _id: "a",
      tags: ["x"],
      nums: [1, 2, 3, 4],
      items: [
        { k: 1, v: 1 },
        { k: 2, v: 2 },
      ],
    });
    await c.updateOne(
      { _id: "a" },
      { $push: { tags: { $each: ["y", "z"] } }, $pull: { nums: { $gte: 3 } } },
    );
    await c.updateOne({ _id: "a" }, { $addToSet: { tags: "x", set: { $each: [1, 1, 2] } } });
    await c.updateOne({ _id: "a", "items.k": 2 }, { $set: { "items.$.v": 20 } });
    await c.updateOne({ _id: "a" }, { $pull: { items: { k: 1 } } });
    expect(await c.findOne({ _id: "a" })).toEqual({
      _id: "a",
      tags: ["x", "y", "z"],
      nums: [1, 2],
      items: [{ k: 2, v: 20 }],
      set: [1, 2],
    });
  });

  test("the positional $ under nested fields, several times in one update, and with $elemMatch", async () => {
    const c = fresh();
    const tokens = [
      { hashed: "a", n: 1 },
      { hashed: "b", n: 2 },
    ];
    await c.insertOne({ _id: "u", services: { resume: { tokens } }, tags: ["p", "q"] });

    await c.updateOne(
      { _id: "u", "services.resume.tokens.hashed": "b" },
      { $set: { "services.resume.tokens.$.n": 20, "services.resume.tokens.$.seen": true } },
    );
    await c.updateOne(
      { _id: "u", "services.resume.tokens": { $elemMatch: { hashed: "a", n: 1 } } },
      { $inc: { "services.resume.tokens.$.n": 10 } },
    );
    await c.updateOne({ _id: "u", tags: "q" }, { $set: { "tags.$": "Q" } });

    expect(await c.findOne({ _id: "u" })).toEqual({
      _id: "u",
      services: {
        resume: {
          tokens: [
            { hashed: "a", n: 11 },
            { hashed: "b", n: 20, seen: true },
          ],
        },
      },
      tags: ["p", "Q"],
    });
  });

  test("a positional $ the filter does not resolve is refused and changes nothing", async () => {
    const c = fresh();
    await c.insertOne({ _id: "u", items: [{ k: 1 }] });

    const err = await c
      .updateOne({ _id: "u" }, { $set: { "items.$.k": 2 } })
      .catch((e: unknown) => e);

    expect(err).toBeInstanceOf(InvalidQueryError);
    expect(await c.findOne({ _id: "u" })).toEqual({ _id: "u", items: [{ k: 1 }] });
  });

  test("$setOnInsert applies only when an upsert inserts; filter equalities are copied", async () => {
    const c = fresh();
    const filter = { rid: "r1", "u._id": "u1", ts: { $gt: day(1) }, t: { $eq: "d" } };
    const update = { $set: { open: true }, $setOnInsert: { created: day(2) }, $inc: { n: 1 } };
    const first = await c.updateOne(filter, update, { upsert: true });
    expect(first.matchedCount).toBe(0);
    expect(first.upsertedId).toMatch(/^.{17}$/);
    const doc = await c.findOne({ _id: first.upsertedId! });
    expect(doc).toEqual({
      _id: first.upsertedId!,
      rid: "r1",
      u: { _id: "u1" },
      t: "d",
      open: true,
      created: day(2),
      n: 1,
    });
    await c.updateOne({ _id: first.upsertedId! }, { $set: { ts: day(3) } });
    const second = await c.updateOne(
      filter,
      { ...update, $setOnInsert: { created: day(9) } },
      { upsert: true },
    );
    expect(second).toEqual({ matchedCount: 1, modifiedCount: 1, upsertedId: null });
    expect(await c.findOne({ _id: first.upsertedId! })).toMatchObject({ created: day(2), n: 2 });
    expect(await c.countDocuments()).toBe(1);
    const third = await c.updateOne({ _id: "given" }, { $set: { a: 1 } }, { upsert: true });
    expect(third.upsertedId).toBe("given");
  });

  test("an upsert's $setOnInsert may choose the new document's _id", async () => {
    const c = fresh();

    const first = await c.updateOne(
      { rid: "r1" },
      { $setOnInsert: { _id: "chosen", n: 1 }, $set: { open: true } },
      { upsert: true },
    );
    const second = await c.updateOne(
      { rid: "r1" },
      { $setOnInsert: { _id: "other", n: 2 }, $set: { open: false } },
      { upsert: true },
    );

    expect(first.upsertedId).toBe("chosen");
    expect(second).toEqual({ matchedCount: 1, modifiedCount: 1, upsertedId: null });
    expect(await c.find({})).toEqual([{ _id: "chosen", rid: "r1", n: 1, open: false }]);
  });

  test("array queries: $elemMatch, $in, $all, $size and multikey equality", async () => {
    const c = fresh();
    await c.insertMany([
      {
        _id: "a",
        tags: ["x", "y"],
        items: [
          { k: 1, v: 5 },
          { k: 2, v: 1 },
        ],
      },
      { _id: "b", tags: ["y"], items: [{ k: 1, v: 1 }] },
      { _id: "c", tags: [], items: [] },
    ]);
    const ids = async (f: Record<string, unknown>) =>
      (await c.find(f, { sort: { _id: 1 } })).map((d) => d._id);
    expect(await ids({ tags: "x" })).toEqual(["a"]);
    expect(await ids({ tags: { $in: ["x", "y"] } })).toEqual(["a", "b"]);
    expect(await ids({ tags: { $all: ["y", "x"] } })).toEqual(["a"]);
    expect(await ids({ tags: { $size: 0 } })).toEqual(["c"]);
    expect(await ids({ "items.k": 2 })).toEqual(["a"]);
    expect(await ids({ items: { $elemMatch: { k: 1, v: { $gt: 2 } } } })).toEqual(["a"]);
    expect(await ids({ "items.k": 1, "items.v": 5 })).toEqual(["a"]);
  });

  test("logical operators, $exists, $regex and comparisons on Dates", async () => {
    const c = fresh();
    await c.insertMany([
      { _id: "a", name: "Alice", ts: day(1), role: "admin" },
      { _id: "b", name: "bob", ts: day(2) },
      { _id: "c", name: "Carol", ts: day(3), role: null },
    ]);
    const ids = async (f: Record<string, unknown>) =>
      (await c.find(f, { sort: { _id: 1 } })).map((d) => d._id);
    expect(await ids({ ts: { $gt: day(1) } })).toEqual(["b", "c"]);
    expect(await ids({ ts: { $gte: day(1), $lt: day(3) } })).toEqual(["a", "b"]);
    expect(await ids({ ts: { $lte: day(2), $ne: day(1) } })).toEqual(["b"]);
    expect(await ids({ ts: day(2) })).toEqual(["b"]);
    expect(await ids({ $or: [{ name: "bob" }, { ts: day(3) }] })).toEqual(["b", "c"]);
    expect(
      await ids({ $and: [{ ts: { $gt: day(1) } }, { name: { $regex: "^c", $options: "i" } }] }),
    ).toEqual(["c"]);
    expect(await ids({ $nor: [{ name: "bob" }, { role: "admin" }] })).toEqual(["c"]);
    expect(await ids({ ts: { $not: { $gt: day(1) } } })).toEqual(["a"]);
    expect(await ids({ role: { $exists: true } })).toEqual(["a", "c"]);
    expect(await ids({ role: { $exists: false } })).toEqual(["b"]);
    expect(await ids({ role: null })).toEqual(["b", "c"]);
    expect(await ids({ name: /^[A-Z]/ })).toEqual(["a", "c"]);
  });

  test("sort (multi-key, asc/desc, Dates), skip, limit and projection", async () => {
    const c = fresh();
    await c.insertMany([
      { _id: "a", g: 2, ts: day(3), x: 1, y: 1 },
      { _id: "b", g: 1, ts: day(1), x: 2, y: 2 },
      { _id: "c", g: 2, ts: day(1), x: 3, y: 3 },
      { _id: "d", g: 1, ts: day(2), x: 4, y: 4 },
    ]);
    const ids = async (o: Parameters<Collection["find"]>[1]) =>
      (await c.find({}, o)).map((d) => d._id);
    expect(await ids({ sort: { ts: 1, _id: 1 } })).toEqual(["b", "c", "d", "a"]);
    expect(await ids({ sort: { ts: -1, _id: 1 } })).toEqual(["a", "d", "b", "c"]);
    expect(await ids({ sort: { g: 1, ts: -1 } })).toEqual(["d", "b", "a", "c"]);
    expect(await ids({ sort: { g: -1, ts: 1 }, skip: 1, limit: 2 })).toEqual(["a", "b"]);
    expect(await ids({ sort: { x: 1 }, limit: 0 })).toEqual(["a", "b", "c", "d"]);
    expect(await c.find({ _id: "a" }, { projection: { x: 1 } })).toEqual([{ _id: "a", x: 1 }]);
    expect(await c.find({ _id: "a" }, { projection: { x: 1, _id: 0 } })).toEqual([
      { x: 1 } as unknown as Doc,
    ]);
    expect(await c.findOne({ _id: "a" }, { projection: { x: 0, y: 0 } })).toEqual({
      _id: "a",
      g: 2,
      ts: day(3),
    });
    expect(await c.findOne({}, { sort: { x: -1 } })).toMatchObject({ _id: "d" });
  });

  test("findOneAndUpdate returns before or after, honours sort, projection and upsert", async () => {
    const c = fresh();
    await c.insertMany([
      { _id: "a", q: 1, n: 0 },
      { _id: "b", q: 1, n: 5 },
    ]);
    const after = await c.findOneAndUpdate({ q: 1 }, { $inc: { n: 1 } }, { sort: { n: -1 } });
    expect(after).toEqual({ _id: "b", q: 1, n: 6 });
    const before = await c.findOneAndUpdate(
      { _id: "a" },
      { $inc: { n: 1 } },
      { returnDocument: "before", projection: { n: 1 } },
    );
    expect(before).toEqual({ _id: "a", n: 0 });
    expect(await c.findOneAndUpdate({ _id: "none" }, { $set: { n: 1 } })).toBeNull();
    const up = await c.findOneAndUpdate(
      { _id: "new" },
      { $set: { n: 9 }, $setOnInsert: { q: 2 } },
      { upsert: true },
    );
    expect(up).toEqual({ _id: "new", n: 9, q: 2 });
    expect(
      await c.findOneAndUpdate(
        { _id: "new2" },
        { $set: { n: 1 } },
        { upsert: true, returnDocument: "before" },
      ),
    ).toBeNull();
    expect(await c.countDocuments()).toBe(4);
  });

  test("a unique index rejects duplicates and the failed write changes nothing", async () => {
    const c = fresh();
    await c.createIndex({ key: { username: 1 }, unique: true });
    await c.createIndex({ key: { username: 1 }, unique: true });
    await c.insertOne({ _id: "a", username: "ann" });
    await c.insertOne({ _id: "b", username: "bob" });
    const e1 = await c.insertOne({ _id: "c", username: "ann" }).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(DuplicateKeyError);
    expect((e1 as DuplicateKeyError).keyValue).toEqual({ username: "ann" });
    const e2 = await c
      .updateOne({ _id: "b" }, { $set: { username: "ann", x: 1 } })
      .catch((e: unknown) => e);
    expect(e2).toBeInstanceOf(DuplicateKeyError);
    expect(await c.find({}, { sort: { _id: 1 } })).toEqual([
      { _id: "a", username: "ann" },
      { _id: "b", username: "bob" },
    ]);
    const e3 = await c
      .updateOne({ username: "ann2" }, { $set: { username: "bob" } }, { upsert: true })
      .catch((e: unknown) => e);
    expect(e3).toBeInstanceOf(DuplicateKeyError);
    expect(await c.countDocuments()).toBe(2);
    // Without sparse, documents lacking the field all index null and collide.
    await c.insertOne({ _id: "n1" });
    expect(await c.insertOne({ _id: "n2" }).catch((e: unknown) => e)).toBeInstanceOf(
      DuplicateKeyError,
    );
  });

  test("a sparse unique index ignores documents without the field", async () => {
    const c = fresh();
    await c.createIndex({ key: { email: 1 }, unique: true, sparse: true, name: "email_u" });
    await c.insertMany([{ _id: "a" }, { _id: "b" }, { _id: "c", email: "c@x" }]);
    const err = await c.insertOne({ _id: "d", email: "c@x" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DuplicateKeyError);
    expect(await c.countDocuments()).toBe(3);
  });

  test("a unique index over an array field (multikey) compares elements across documents", async () => {
    const c = fresh();
    await c.createIndex({ key: { "emails.address": 1 }, unique: true, sparse: true });
    await c.insertOne({ _id: "a", emails: [{ address: "a@x" }, { address: "a2@x" }] });
    const err = await c
      .insertOne({ _id: "b", emails: [{ address: "b@x" }, { address: "a2@x" }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DuplicateKeyError);
    await c.insertOne({ _id: "b", emails: [{ address: "b@x" }] });
    expect((await c.find({ "emails.address": "a2@x" })).map((d) => d._id)).toEqual(["a"]);
  });

  test("creating a unique index over duplicate data fails", async () => {
    const c = fresh();
    await c.insertMany([
      { _id: "a", k: 1 },
      { _id: "b", k: 1 },
    ]);
    expect(
      await c.createIndex({ key: { k: 1 }, unique: true }).catch((e: unknown) => e),
    ).toBeInstanceOf(DuplicateKeyError);
    await c.insertOne({ _id: "c", k: 1 });
    expect(await c.countDocuments({ k: 1 })).toBe(3);
  });

  test("updateMany that hits a unique violation writes nothing", async () => {
    const c = fresh();
    await c.createIndex({ key: { n: 1 }, unique: true });
    await c.insertMany([
      { _id: "a", g: 1, n: 1 },
      { _id: "b", g: 1, n: 5 },
      { _id: "c", n: 10 },
    ]);
    // "a" alone would succeed (1 -> 6); "b" then collides with "c" (5 -> 10).
    const err = await c.updateMany({ g: 1 }, { $inc: { n: 5 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DuplicateKeyError);
    if (h.atomicUpdateMany(store)) {
      expect((await c.find({}, { sort: { _id: 1 } })).map((d) => d.n)).toEqual([1, 5, 10]);
    }
    const ok = await c.updateMany({ g: 1 }, { $inc: { n: 100 } });
    expect(ok.modifiedCount).toBe(2);
  });

  test("insertMany is ordered: documents before a failure stay, later ones are not inserted", async () => {
    const c = fresh();
    const err = await c
      .insertMany([{ _id: "a" }, { _id: "b" }, { _id: "a" }, { _id: "c" }])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DuplicateKeyError);
    expect((await c.find({}, { sort: { _id: 1 } })).map((d) => d._id)).toEqual(["a", "b"]);
  });

  test("documents are copied in and out", async () => {
    const c = fresh();
    const input = { _id: "a", nested: { list: [1, 2] }, when: day(1) };
    await c.insertOne(input);
    input.nested.list.push(3);
    input.when.setTime(0);
    const out = (await c.findOne({ _id: "a" }))!;
    (out.nested as { list: number[] }).list.push(4);
    const operand = { deep: { v: 1 } };
    await c.updateOne({ _id: "a" }, { $set: { operand } });
    operand.deep.v = 2;
    const fresh1 = (await c.find({ _id: "a" }))[0]!;
    expect(fresh1).toEqual({
      _id: "a",
      nested: { list: [1, 2] },
      when: day(1),
      operand: { deep: { v: 1 } },
    });
    (fresh1.operand as { deep: { v: number } }).deep.v = 3;
    expect(await c.findOne({ _id: "a" }, { projection: { operand: 1 } })).toEqual({
      _id: "a",
      operand: { deep: { v: 1 } },
    });
  });

  test("a field named __proto__ is a field like any other", async () => {
    const c = fresh();
    const input = JSON.parse('{"_id":"a","custom":{"__proto__":{"admin":true},"team":"x"}}');
    await c.insertOne(input);
    await c.updateOne({ _id: "a" }, { $set: { "custom.team": "y" } });

    const out = (await c.findOne({ _id: "a" }))!;
    const custom = out.custom as Record<string, unknown>;
    expect(Object.keys(custom)).toEqual(["__proto__", "team"]);
    expect(Object.getPrototypeOf(custom)).toBe(Object.prototype);
    expect(custom.admin).toBeUndefined();
    expect(JSON.stringify(out)).toBe(
      '{"_id":"a","custom":{"__proto__":{"admin":true},"team":"y"}}',
    );
  });

  test("invalid updates and filters are rejected and change nothing", async () => {
    const c = fresh();
    await c.insertOne({ _id: "a", name: "x", list: [1], n: 1 });
    const bad: Record<string, unknown>[] = [
      { name: "replacement" },
      {},
      { $foo: { name: 1 } },
      { $set: 5 },
      { $inc: { name: 1 } },
      { $push: { name: 1 } },
      { $set: { n: 2 }, $inc: { n: 1 } },
      { $set: { "name.first": "y" } },
      { $set: { $bad: 1 } },
    ];
    for (const update of bad) {
      const err = await c.updateOne({ _id: "a" }, update).catch((e: unknown) => e);
      expect(err, JSON.stringify(update)).toBeInstanceOf(InvalidQueryError);
      expect(await c.findOne({ _id: "a" })).toEqual({ _id: "a", name: "x", list: [1], n: 1 });
    }
    expect(await c.updateMany({}, { name: 1 }).catch((e: unknown) => e)).toBeInstanceOf(
      InvalidQueryError,
    );
    expect(await c.find({ n: { $foo: 1 } }).catch((e: unknown) => e)).toBeInstanceOf(
      InvalidQueryError,
    );
    expect(await c.insertOne({ _id: "b", $top: 1 }).catch((e: unknown) => e)).toBeInstanceOf(
      InvalidQueryError,
    );
    expect(await c.countDocuments()).toBe(1);
  });

  test("$text search over a text index", async () => {
    const c = fresh();
    await c.createIndex({ key: { msg: "text" } });
    await c.insertMany([
      { _id: "a", msg: "Hello brave new world" },
      { _id: "b", msg: "hello there" },
      { _id: "c", msg: "goodbye" },
    ]);
    const ids = async (s: string) =>
      (await c.find({ $text: { $search: s } }, { sort: { _id: 1 } })).map((d) => d._id);
    expect(await ids("HELLO")).toEqual(["a", "b"]);
    expect(await ids("brave world")).toEqual(["a"]);
    expect(await ids("goodbye")).toEqual(["c"]);
    expect(await ids("absent")).toEqual([]);
  });
}

describe("store contract: embedded engine", () => {
  const dirs: string[] = [];
  contract({
    open: async () => {
      const dir = mkdtempSync(join(tmpdir(), "parley-store-"));
      dirs.push(dir);
      return openEmbeddedStore({ dataDir: dir });
    },
    close: async (store) => {
      await store.close();
      for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
    },
    atomicUpdateMany: () => true,
  });
});

describe.skipIf(NATS_SKIP !== "")(
  `store contract: embedded engine owned by another bus client${NATS_SKIP}`,
  () => {
    // The owner and the store under test are two bus connections: every operation of the
    // contract crosses NATS, as between two processes.
    let nats: NatsProcess;
    let owner: SharedStore;
    const buses: Bus[] = [];
    const dirs: string[] = [];
    const log = createLogger("silent");
    contract({
      open: async () => {
        nats = await spawnNats();
        const dir = mkdtempSync(join(tmpdir(), "parley-store-"));
        dirs.push(dir);
        for (const name of ["owner", "client"])
          buses.push(await connectNatsBus(nats.url, name, "store-contract", log));
        owner = await openSharedStore({ dataDir: dir, bus: buses[0] as Bus });
        const client = await openSharedStore({ dataDir: dir, bus: buses[1] as Bus });
        expect([owner.isOwner, client.isOwner]).toEqual([true, false]);
        return client;
      },
      close: async (store) => {
        await store.close();
        await owner.close();
        for (const bus of buses.splice(0)) await bus.close();
        await nats.stop();
        for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
      },
      atomicUpdateMany: () => true,
    });
  },
);

describe(`store contract: mongodb engine (${TEST_MONGO})`, () => {
  let mongo: MongoWire;
  contract({
    open: async () => {
      mongo = await testMongo();
      return openMongoStore({ url: mongo.url, dbName: `parley_test_${process.pid}_${Date.now()}` });
    },
    close: async (store) => {
      await (store as MongoStore).db.dropDatabase();
      await store.close();
      await mongo.stop();
    },
    atomicUpdateMany: (store) => (store as MongoStore).transactions,
  });
});
