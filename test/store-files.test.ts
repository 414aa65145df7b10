/**
 * The file storage contract, on both engines: files on disk for the embedded store, and
 * GridFS on the server at MONGO_URL, or without one on the wire test server
 * (test/mongo-wire.ts).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openEmbeddedStore } from "../store/embedded.ts";
import { FileTooLargeError, InvalidFileNameError } from "../store/files.ts";
import { type MongoStore, openMongoStore } from "../store/mongo.ts";
import type { Store } from "../store/types.ts";
import { type MongoWire, TEST_MONGO, testMongo } from "./mongo-wire.ts";

const when = new Date(Date.UTC(2024, 4, 1, 12));
const bytes = (text: string) => new TextEncoder().encode(text);
const text = (stream: ReadableStream<Uint8Array> | undefined) => new Response(stream).text();

/** Yields `chunks`, then fails as a connection cut off halfway does. */
async function* cutOff(...chunks: string[]): AsyncIterable<Uint8Array> {
  for (const chunk of chunks) yield bytes(chunk);
  throw new Error("connection reset");
}

function contract(open: () => Promise<Store>, close: (store: Store) => Promise<void>): void {
  let store: Store;
  let n = 0;
  const fresh = () => store.files.bucket(`b${++n}`);
  beforeAll(async () => void (store = await open()));
  afterAll(async () => close(store));

  test("a stored blob reads back with its content type, size and time", async () => {
    const bucket = fresh();

    await bucket.put("alice", bytes("png bytes"), "image/png", when);

    expect(await bucket.get("alice")).toEqual({
      name: "alice",
      contentType: "image/png",
      size: 9,
      uploadedAt: when,
      data: bytes("png bytes"),
    });
  });

  test("writing a name again replaces its blob", async () => {
    const bucket = fresh();
    await bucket.put("alice", bytes("old"), "image/png", when);

    await bucket.put("alice", bytes("newer"), "image/jpeg", new Date(when.getTime() + 1000));

    const stored = await bucket.get("alice");
    expect({ type: stored?.contentType, text: new TextDecoder().decode(stored?.data) }).toEqual({
      type: "image/jpeg",
      text: "newer",
    });
  });

  test("a deleted blob is gone and deleting it again reports nothing removed", async () => {
    const bucket = fresh();
    await bucket.put("bob", bytes("x"), "image/gif", when);

    const first = await bucket.delete("bob");
    const second = await bucket.delete("bob");

    expect({ first, second, after: await bucket.get("bob") }).toEqual({
      first: true,
      second: false,
      after: null,
    });
  });

  test("names differing only in case or dots are different blobs", async () => {
    const bucket = fresh();

    await bucket.put("Bob.Smith", bytes("upper"), "image/png", when);
    await bucket.put("bob.smith", bytes("lower"), "image/png", when);
    await bucket.put("bob%2Esmith", bytes("escaped"), "image/png", when);

    const read = async (name: string) => new TextDecoder().decode((await bucket.get(name))?.data);
    expect([await read("Bob.Smith"), await read("bob.smith"), await read("bob%2Esmith")]).toEqual([
      "upper",
      "lower",
      "escaped",
    ]);
  });

  test("a streamed blob reads back whole and by byte range", async () => {
    const bucket = fresh();

    const size = await bucket.write("doc", [bytes("hello "), bytes("world")], "text/plain", when);
    const whole = await bucket.open("doc");
    const part = await bucket.open("doc", { start: 3, end: 7 });

    expect({
      size,
      whole: { size: whole?.size, type: whole?.contentType, text: await text(whole?.stream) },
      part: { size: part?.size, text: await text(part?.stream) },
      missing: await bucket.open("nothing"),
    }).toEqual({
      size: 11,
      whole: { size: 11, type: "text/plain", text: "hello world" },
      part: { size: 11, text: "lo wo" },
      missing: null,
    });
  });

  test("a blob with a content type of several kilobytes opens with it", async () => {
    const bucket = fresh();
    const type = `text/${"x".repeat(10_000)}`;

    await bucket.write("long", [bytes("hello")], type, when);
    const opened = await bucket.open("long", { start: 1, end: 3 });

    expect({
      type: opened?.contentType,
      size: opened?.size,
      text: await text(opened?.stream),
    }).toEqual({ type, size: 5, text: "ell" });
  });

  test("a write past its limit fails and stores nothing", async () => {
    const bucket = fresh();

    const refused = await bucket
      .write("big", [bytes("12345"), bytes("678")], "text/plain", when, 6)
      .catch((e) => e);

    expect({
      refused: refused instanceof FileTooLargeError,
      after: await bucket.get("big"),
    }).toEqual({ refused: true, after: null });
  });

  test("a write whose source fails halfway stores nothing and keeps the previous blob", async () => {
    const bucket = fresh();
    await bucket.put("kept", bytes("before"), "text/plain", when);

    const failed = await bucket
      .write("kept", cutOff("aa", "bb"), "text/plain", when)
      .catch((e) => e);
    const lost = await bucket.write("new", cutOff("aa"), "text/plain", when).catch((e) => e);

    expect({
      failed: failed.message,
      lost: lost.message,
      kept: await text((await bucket.open("kept"))?.stream),
      fresh: await bucket.get("new"),
    }).toEqual({
      failed: "connection reset",
      lost: "connection reset",
      kept: "before",
      fresh: null,
    });
  });

  test("a name that could leave the bucket is refused", async () => {
    const bucket = fresh();

    const refused = await bucket.put("../x", bytes("x"), "image/png", when).catch((e) => e);

    expect(refused).toBeInstanceOf(InvalidFileNameError);
  });
}

describe("file storage: embedded engine", () => {
  const dir = mkdtempSync(join(tmpdir(), "parley-files-"));
  contract(
    async () => openEmbeddedStore({ dataDir: dir }),
    async (store) => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  );

  test("leaves no temporary file behind once a write is done", async () => {
    const own = mkdtempSync(join(tmpdir(), "parley-files-"));
    const store = openEmbeddedStore({ dataDir: own });
    await store.files.bucket("tidy").put("carol", bytes("x"), "image/png", when);

    const left = readdirSync(join(own, "files", "tidy"));

    expect(left).toEqual(["carol.blob"]);
    await store.close();
    rmSync(own, { recursive: true, force: true });
  });

  test("leaves no temporary file behind when a streamed write fails", async () => {
    const own = mkdtempSync(join(tmpdir(), "parley-files-"));
    const store = openEmbeddedStore({ dataDir: own });
    const bucket = store.files.bucket("tidy-failed");
    await bucket.write("dave", cutOff("x"), "text/plain", when).catch(() => undefined);
    await bucket.write("erin", ["xyz"].map(bytes), "text/plain", when, 1).catch(() => undefined);

    const left = readdirSync(join(own, "files", "tidy-failed"));

    expect(left).toEqual([]);
    await store.close();
    rmSync(own, { recursive: true, force: true });
  });
});

describe(`file storage: mongodb engine (${TEST_MONGO})`, () => {
  let mongo: MongoWire;
  contract(
    async () => {
      mongo = await testMongo();
      return openMongoStore({
        url: mongo.url,
        dbName: `parley_files_${process.pid}_${Date.now()}`,
      });
    },
    async (store) => {
      await (store as MongoStore).db.dropDatabase();
      await store.close();
      await mongo.stop();
    },
  );
});
