/**
 * A MongoDB server for the tests: MongoDB's wire protocol in front of the embedded engine.
 * No mongod can be installed on the machines that run these tests, yet the MongoDB engine
 * (store/mongo.ts) and GridFS (store/files.ts) must run somewhere: here the official driver
 * connects to this server as to a standalone mongod, sends the commands it really sends,
 * and gets MongoDB's reply shapes, error codes and cursor batches back. What a query
 * means is decided by the embedded engine, which holds MongoDB's semantics on its own
 * contract tests; with MONGO_URL set, the tests run against that server instead.
 *
 * It serves the commands the driver sends for Parley's store contract and for GridFS
 * (find, getMore, killCursors, insert, update, delete, findAndModify, the aggregate
 * pipeline of countDocuments, createIndexes, listIndexes, dropDatabase and the handshake)
 * and answers any other command, or any option it does not apply, with an error rather
 * than a guess. ObjectIds, which only GridFS generates, are kept as their hex strings.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BSON, type Document, Long, ObjectId } from "bson";
import { type EmbeddedStore, openEmbeddedStore } from "../store/embedded.ts";
import { DuplicateKeyError, InvalidQueryError, type Doc, type Update } from "../store/types.ts";

const OP_REPLY = 1;
const OP_QUERY = 2004;
const OP_MSG = 2013;
const MAX_BSON = 16 * 1024 * 1024;
// A reply holds one batch and a few fields around it, all within MAX_BSON.
const MAX_BATCH_BYTES = MAX_BSON - 64 * 1024;
const MAX_MESSAGE = 48_000_000;
const DEFAULT_FIRST_BATCH = 101;

/** A running server: its `mongodb://` URL, and stop(), which also removes its data. */
export interface MongoWire {
  readonly url: string;
  stop(): Promise<void>;
}

/** A command refused as MongoDB refuses it: `{ok: 0, code, codeName, errmsg}`. */
class CommandError extends Error {
  constructor(
    readonly code: number,
    readonly codeName: string,
    message: string,
  ) {
    super(message);
  }
}

const badValue = (message: string) => new CommandError(2, "BadValue", message);

// Fields every command may carry: sessions, cluster time, read/write concerns, comments.
const GENERIC_FIELDS = new Set([
  "$db",
  "lsid",
  "txnNumber",
  "$clusterTime",
  "$readPreference",
  "readConcern",
  "writeConcern",
  "comment",
  "maxTimeMS",
  "apiVersion",
  "apiStrict",
  "apiDeprecationErrors",
]);

/** Refuses any field of `doc` (one entry of a command's list) that is not `allowed`. */
function checkFields(doc: Document, allowed: readonly string[], where: string): void {
  for (const key of Object.keys(doc)) {
    if (!allowed.includes(key))
      throw badValue(`the test server does not apply '${key}' in ${where}`);
  }
}

/** Refuses any field of command `cmd` that is not its name, `allowed` or GENERIC_FIELDS. */
function checkCommand(cmd: Document, allowed: readonly string[]): void {
  const name = Object.keys(cmd)[0] ?? "";
  const own = Object.fromEntries(Object.entries(cmd).filter(([key]) => !GENERIC_FIELDS.has(key)));
  checkFields(own, [name, ...allowed], name);
}

/** Incoming values as the embedded engine stores them: ObjectIds become their hex text. */
function fromWire(value: unknown): unknown {
  if (value instanceof ObjectId) return value.toHexString();
  if (Array.isArray(value)) return value.map(fromWire);
  if (value && typeof value === "object" && !(value instanceof Uint8Array)) {
    const proto = Object.getPrototypeOf(value);
    if (value instanceof Date || value instanceof RegExp) return value;
    if (proto !== Object.prototype && proto !== null) {
      const type = (value as { _bsontype?: string })._bsontype ?? proto?.constructor?.name;
      throw badValue(`the test server stores no BSON ${type} values`);
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      Object.defineProperty(out, k, {
        value: fromWire(v),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  return value;
}

const asDoc = (value: unknown, what: string): Doc => {
  if (value === undefined) return {} as Doc;
  if (!value || typeof value !== "object" || Array.isArray(value))
    throw badValue(`${what} must be a document`);
  return fromWire(value) as Doc;
};

const duplicateKey = (db: string, coll: string, err: DuplicateKeyError) => ({
  code: 11000,
  errmsg: `E11000 duplicate key error collection: ${db}.${coll} dup key: ${JSON.stringify(err.keyValue)}`,
  keyPattern: Object.fromEntries(Object.keys(err.keyValue).map((k) => [k, 1])),
  keyValue: err.keyValue,
});

/** The reply fields of a failed write, as one entry of `writeErrors`. */
function writeError(db: string, coll: string, index: number, err: unknown) {
  if (err instanceof DuplicateKeyError) return { index, ...duplicateKey(db, coll, err) };
  if (err instanceof CommandError) return { index, code: err.code, errmsg: err.message };
  if (err instanceof InvalidQueryError) return { index, code: 2, errmsg: err.message };
  throw err;
}

interface Cursor {
  readonly ns: string;
  readonly docs: Document[];
}

class WireServer {
  private readonly root = mkdtempSync(join(tmpdir(), "parley-mongo-wire-"));
  private readonly databases = new Map<string, EmbeddedStore>();
  private readonly cursors = new Map<number, Cursor>();
  private nextCursor = 1;
  private connections = 0;

  private database(name: string): EmbeddedStore {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(name)) throw badValue(`invalid database name '${name}'`);
    let store = this.databases.get(name);
    if (!store) {
      store = openEmbeddedStore({ dataDir: join(this.root, name) });
      this.databases.set(name, store);
    }
    return store;
  }

  private collection(db: string, name: unknown) {
    if (typeof name !== "string" || name.length === 0)
      throw badValue("collection name must be a string");
    return this.database(db).collection(name);
  }

  /** A reply for `cmd` (already parsed) addressed to database `db`. */
  async run(db: string, cmd: Document, connectionId: number): Promise<Document> {
    const name = Object.keys(cmd)[0] ?? "";
    try {
      switch (name) {
        case "hello":
        case "isMaster":
        case "ismaster":
          return this.hello(connectionId);
        case "ping":
        case "endSessions":
          return { ok: 1 };
        case "buildInfo":
        case "buildinfo":
          return { version: "7.0.0", versionArray: [7, 0, 0, 0], ok: 1 };
        case "find":
          return await this.find(db, cmd);
        case "getMore":
          return this.getMore(cmd);
        case "killCursors":
          return this.killCursors(cmd);
        case "insert":
          return await this.insert(db, cmd);
        case "update":
          return await this.update(db, cmd);
        case "delete":
          return await this.delete(db, cmd);
        case "findAndModify":
        case "findandmodify":
          return await this.findAndModify(db, cmd);
        case "aggregate":
          return await this.aggregate(db, cmd);
        case "createIndexes":
          return await this.createIndexes(db, cmd);
        case "listIndexes":
          return this.listIndexes(db, cmd);
        case "dropDatabase":
          return await this.dropDatabase(db);
        default:
          throw new CommandError(59, "CommandNotFound", `no such command: '${name}'`);
      }
    } catch (err) {
      if (err instanceof CommandError)
        return { ok: 0, errmsg: err.message, code: err.code, codeName: err.codeName };
      if (err instanceof DuplicateKeyError) {
        const coll = String(cmd[name]);
        return { ok: 0, codeName: "DuplicateKey", ...duplicateKey(db, coll, err) };
      }
      if (err instanceof InvalidQueryError)
        return { ok: 0, errmsg: err.message, code: 2, codeName: "BadValue" };
      return { ok: 0, errmsg: String(err), code: 1, codeName: "InternalError" };
    }
  }

  private hello(connectionId: number): Document {
    return {
      helloOk: true,
      ismaster: true,
      isWritablePrimary: true,
      maxBsonObjectSize: MAX_BSON,
      maxMessageSizeBytes: MAX_MESSAGE,
      maxWriteBatchSize: 100_000,
      localTime: new Date(),
      logicalSessionTimeoutMinutes: 30,
      connectionId,
      minWireVersion: 0,
      maxWireVersion: 21,
      readOnly: false,
      ok: 1,
    };
  }

  /** The first batch of `docs`, keeping the rest behind a cursor when there is more. */
  private batch(ns: string, docs: Document[], size: number, single: boolean, field: string) {
    const taken = take(docs, size);
    let id = 0;
    if (docs.length > taken.length && !single) {
      id = this.nextCursor++;
      this.cursors.set(id, { ns, docs: docs.slice(taken.length) });
    }
    return { cursor: { id: Long.fromNumber(id), ns, [field]: taken }, ok: 1 };
  }

  private async find(db: string, cmd: Document): Promise<Document> {
    checkCommand(cmd, [
      "filter",
      "sort",
      "projection",
      "skip",
      "limit",
      "batchSize",
      "singleBatch",
    ]);
    const limit = Number(cmd.limit ?? 0);
    const docs = await this.collection(db, cmd.find).find(asDoc(cmd.filter, "filter"), {
      ...(cmd.sort ? { sort: asDoc(cmd.sort, "sort") as never } : {}),
      ...(cmd.projection ? { projection: asDoc(cmd.projection, "projection") as never } : {}),
      skip: Number(cmd.skip ?? 0),
      limit: Math.abs(limit),
    });
    const size = cmd.batchSize === undefined ? DEFAULT_FIRST_BATCH : Number(cmd.batchSize);
    return this.batch(
      `${db}.${cmd.find}`,
      docs,
      size,
      cmd.singleBatch === true || limit < 0,
      "firstBatch",
    );
  }

  private getMore(cmd: Document): Document {
    checkCommand(cmd, ["collection", "batchSize"]);
    const id = Number(cmd.getMore);
    const cursor = this.cursors.get(id);
    if (!cursor) throw new CommandError(43, "CursorNotFound", `cursor id ${id} not found`);
    const taken = take(cursor.docs, cmd.batchSize === undefined ? 0 : Number(cmd.batchSize));
    cursor.docs.splice(0, taken.length);
    if (cursor.docs.length === 0) this.cursors.delete(id);
    const next = cursor.docs.length === 0 ? 0 : id;
    return { cursor: { id: Long.fromNumber(next), ns: cursor.ns, nextBatch: taken }, ok: 1 };
  }

  private killCursors(cmd: Document): Document {
    checkCommand(cmd, ["cursors"]);
    const ids = (cmd.cursors as unknown[]).map(Number);
    for (const id of ids) this.cursors.delete(id);
    return { cursorsKilled: ids.map((id) => Long.fromNumber(id)), ok: 1 };
  }

  private async insert(db: string, cmd: Document): Promise<Document> {
    checkCommand(cmd, ["documents", "ordered", "bypassDocumentValidation"]);
    const coll = this.collection(db, cmd.insert);
    const documents = (cmd.documents ?? []) as unknown[];
    let n = 0;
    const writeErrors = [];
    for (const [index, doc] of documents.entries()) {
      try {
        await coll.insertOne(asDoc(doc, "a document"));
        n++;
      } catch (err) {
        writeErrors.push(writeError(db, coll.name, index, err));
        if (cmd.ordered !== false) break;
      }
    }
    return { n, ...(writeErrors.length ? { writeErrors } : {}), ok: 1 };
  }

  private async update(db: string, cmd: Document): Promise<Document> {
    checkCommand(cmd, ["updates", "ordered", "bypassDocumentValidation"]);
    const coll = this.collection(db, cmd.update);
    let n = 0;
    let nModified = 0;
    const upserted = [];
    const writeErrors = [];
    for (const [index, op] of ((cmd.updates ?? []) as Document[]).entries()) {
      try {
        checkFields(op, ["q", "u", "upsert", "multi"], "an update");
        if (Array.isArray(op.u)) throw badValue("the test server runs no pipeline updates");
        const apply = op.multi === true ? coll.updateMany.bind(coll) : coll.updateOne.bind(coll);
        const r = await apply(asDoc(op.q, "q"), asDoc(op.u, "u") as Update, {
          upsert: op.upsert === true,
        });
        n += r.matchedCount;
        nModified += r.modifiedCount;
        if (r.upsertedId !== null) {
          n++;
          upserted.push({ index, _id: r.upsertedId });
        }
      } catch (err) {
        writeErrors.push(writeError(db, coll.name, index, err));
        if (cmd.ordered !== false) break;
      }
    }
    return {
      n,
      nModified,
      ...(upserted.length ? { upserted } : {}),
      ...(writeErrors.length ? { writeErrors } : {}),
      ok: 1,
    };
  }

  private async delete(db: string, cmd: Document): Promise<Document> {
    checkCommand(cmd, ["deletes", "ordered"]);
    const coll = this.collection(db, cmd.delete);
    let n = 0;
    const writeErrors = [];
    for (const [index, op] of ((cmd.deletes ?? []) as Document[]).entries()) {
      try {
        checkFields(op, ["q", "limit"], "a delete");
        const filter = asDoc(op.q, "q");
        n += Number(op.limit) === 1 ? await coll.deleteOne(filter) : await coll.deleteMany(filter);
      } catch (err) {
        writeErrors.push(writeError(db, coll.name, index, err));
        if (cmd.ordered !== false) break;
      }
    }
    return { n, ...(writeErrors.length ? { writeErrors } : {}), ok: 1 };
  }

  private async findAndModify(db: string, cmd: Document): Promise<Document> {
    checkCommand(cmd, ["query", "sort", "update", "new", "upsert", "fields", "remove"]);
    if (cmd.remove === true) throw badValue("the test server runs no findAndModify removes");
    if (Array.isArray(cmd.update)) throw badValue("the test server runs no pipeline updates");
    const name = Object.keys(cmd)[0]!;
    const value = await this.collection(db, cmd[name]).findOneAndUpdate(
      asDoc(cmd.query, "query"),
      asDoc(cmd.update, "update") as Update,
      {
        upsert: cmd.upsert === true,
        returnDocument: cmd.new === true ? "after" : "before",
        ...(cmd.sort ? { sort: asDoc(cmd.sort, "sort") as never } : {}),
        ...(cmd.fields ? { projection: asDoc(cmd.fields, "fields") as never } : {}),
      },
    );
    return { lastErrorObject: { n: value ? 1 : 0 }, value, ok: 1 };
  }

  /** Only the pipeline the driver's countDocuments sends: $match, $skip, $limit, $group. */
  private async aggregate(db: string, cmd: Document): Promise<Document> {
    checkCommand(cmd, ["pipeline", "cursor"]);
    const stages = (cmd.pipeline ?? []) as Document[];
    const last = stages.at(-1)?.$group as Document | undefined;
    const counting =
      last !== undefined &&
      last._id === 1 &&
      JSON.stringify(last.n) === JSON.stringify({ $sum: 1 }) &&
      stages.slice(0, -1).every((s) => ["$match", "$skip", "$limit"].includes(Object.keys(s)[0]!));
    if (!counting) throw badValue("the test server runs only the countDocuments pipeline");
    const find = { filter: {} as Doc, skip: 0, limit: 0 };
    for (const stage of stages.slice(0, -1)) {
      if (stage.$match) find.filter = asDoc(stage.$match, "$match");
      if (stage.$skip !== undefined) find.skip = Number(stage.$skip);
      if (stage.$limit !== undefined) find.limit = Number(stage.$limit);
    }
    const coll = this.collection(db, cmd.aggregate);
    const n =
      find.skip || find.limit
        ? (
            await coll.find(find.filter, {
              skip: find.skip,
              limit: find.limit,
              projection: { _id: 1 },
            })
          ).length
        : await coll.countDocuments(find.filter);
    const docs = n > 0 ? [{ _id: 1, n }] : [];
    return this.batch(`${db}.${cmd.aggregate}`, docs, DEFAULT_FIRST_BATCH, true, "firstBatch");
  }

  private async createIndexes(db: string, cmd: Document): Promise<Document> {
    checkCommand(cmd, ["indexes"]);
    const coll = this.collection(db, cmd.createIndexes);
    const before = coll.indexSpecs().length + 1;
    for (const index of (cmd.indexes ?? []) as Document[]) {
      checkFields(index, ["key", "name", "unique", "sparse", "background"], "an index");
      await coll.createIndex({
        key: asDoc(index.key, "key") as never,
        ...(index.unique === true ? { unique: true } : {}),
        ...(index.sparse === true ? { sparse: true } : {}),
        ...(typeof index.name === "string" ? { name: index.name } : {}),
      });
    }
    return { numIndexesBefore: before, numIndexesAfter: coll.indexSpecs().length + 1, ok: 1 };
  }

  private listIndexes(db: string, cmd: Document): Document {
    checkCommand(cmd, ["cursor"]);
    const coll = this.collection(db, cmd.listIndexes);
    const specs = [
      { v: 2, key: { _id: 1 }, name: "_id_" },
      ...coll.indexSpecs().map((s) => ({
        v: 2,
        key: s.key,
        name: s.name,
        ...(s.unique ? { unique: true } : {}),
        ...(s.sparse ? { sparse: true } : {}),
      })),
    ];
    return this.batch(`${db}.${cmd.listIndexes}`, specs, DEFAULT_FIRST_BATCH, true, "firstBatch");
  }

  private async dropDatabase(db: string): Promise<Document> {
    const store = this.databases.get(db);
    if (store) {
      this.databases.delete(db);
      await store.close();
      rmSync(join(this.root, db), { recursive: true, force: true });
    }
    return { ok: 1 };
  }

  /** Serves one connection: each message is answered in turn. */
  serve(socket: Socket): void {
    const connectionId = ++this.connections;
    let pending = Buffer.alloc(0);
    let queue = Promise.resolve();
    socket.on("data", (data: Buffer) => {
      pending = Buffer.concat([pending, data]);
      while (pending.length >= 4) {
        const length = pending.readInt32LE(0);
        if (length < 16 || length > MAX_MESSAGE) {
          socket.destroy();
          return;
        }
        if (pending.length < length) break;
        const message = pending.subarray(0, length);
        pending = pending.subarray(length);
        queue = queue.then(async () => {
          const reply = await this.answer(message, connectionId);
          if (reply && !socket.destroyed) socket.write(reply);
        });
      }
    });
    socket.on("error", () => socket.destroy());
  }

  private async answer(message: Buffer, connectionId: number): Promise<Buffer | null> {
    const requestId = message.readInt32LE(4);
    const opCode = message.readInt32LE(12);
    if (opCode === OP_QUERY) {
      // Only the handshake comes as OP_QUERY: `{isMaster: 1}` on `admin.$cmd`.
      let at = 20;
      const nameEnd = message.indexOf(0, at);
      const ns = message.toString("utf8", at, nameEnd);
      at = nameEnd + 1 + 8;
      const query = BSON.deserialize(message.subarray(at, at + message.readInt32LE(at)), {
        promoteBuffers: true,
      });
      const reply = await this.run(ns.split(".")[0]!, query, connectionId);
      const body = BSON.serialize(reply);
      const head = Buffer.alloc(36);
      head.writeInt32LE(36 + body.length, 0);
      head.writeInt32LE(requestId, 8);
      head.writeInt32LE(OP_REPLY, 12);
      head.writeInt32LE(1, 32);
      return Buffer.concat([head, body]);
    }
    if (opCode !== OP_MSG) return null;
    const flags = message.readUInt32LE(16);
    const end = flags & 1 ? message.length - 4 : message.length;
    let body: Document = {};
    const sequences: Document = {};
    for (let at = 20; at < end; ) {
      const kind = message[at]!;
      const size = message.readInt32LE(at + 1);
      if (kind === 0) {
        body = BSON.deserialize(message.subarray(at + 1, at + 1 + size), { promoteBuffers: true });
      } else {
        // A document sequence: a named list of documents that belongs to the command.
        const nameEnd = message.indexOf(0, at + 5);
        const docs: Document[] = [];
        for (let d = nameEnd + 1; d < at + 1 + size; d += message.readInt32LE(d)) {
          const docEnd = d + message.readInt32LE(d);
          docs.push(BSON.deserialize(message.subarray(d, docEnd), { promoteBuffers: true }));
        }
        sequences[message.toString("utf8", at + 5, nameEnd)] = docs;
      }
      at += 1 + size;
    }
    const cmd = { ...body, ...sequences };
    const reply = await this.run(String(cmd.$db ?? "admin"), cmd, connectionId);
    // With moreToCome set the client expects no answer.
    if (flags & 2) return null;
    const out = BSON.serialize(reply);
    const head = Buffer.alloc(21);
    head.writeInt32LE(21 + out.length, 0);
    head.writeInt32LE(requestId, 8);
    head.writeInt32LE(OP_MSG, 12);
    return Buffer.concat([head, out]);
  }

  async close(): Promise<void> {
    for (const store of this.databases.values()) await store.close();
    this.databases.clear();
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** Up to `count` documents from the front of `docs` (0: no count), within 16 MiB of BSON. */
function take(docs: Document[], count: number): Document[] {
  const out: Document[] = [];
  let bytes = 0;
  for (const doc of docs) {
    if (count > 0 && out.length >= count) break;
    bytes += BSON.calculateObjectSize(doc);
    if (out.length > 0 && bytes > MAX_BATCH_BYTES) break;
    out.push(doc);
  }
  return out;
}

/** Starts the server on a free loopback port, over a new temporary folder. */
export async function startMongoWire(): Promise<MongoWire> {
  const wire = new WireServer();
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    wire.serve(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `mongodb://127.0.0.1:${port}/parley`,
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await wire.close();
    },
  };
}

/** Which MongoDB server tests run the MongoDB engine on, for test titles. */
export const TEST_MONGO = process.env.MONGO_URL ? "MONGO_URL" : "wire test server";

/**
 * The MongoDB server tests run the MongoDB engine on: the one at MONGO_URL when it is set,
 * else a new test server (stopped by `stop`; a real one is left running).
 */
export async function testMongo(): Promise<MongoWire> {
  const given = process.env.MONGO_URL;
  return given ? { url: given, stop: async () => undefined } : startMongoWire();
}

let shared: Promise<MongoWire> | undefined;

/**
 * The variables that put a test server on the engine the tests run on: none for the
 * embedded engine; with TEST_ENGINE=mongodb, a MONGO_URL on testMongo's server (one for
 * the whole test run), naming a database after the data folder `dataDir`, so that a
 * server restarted on that folder, in this process or another, finds its data again.
 */
export async function testEngineEnv(dataDir: string): Promise<{ MONGO_URL?: string }> {
  if (process.env.TEST_ENGINE !== "mongodb") return {};
  shared ??= testMongo();
  const url = new URL((await shared).url);
  url.pathname = `/${dataDir
    .split("/")
    .at(-1)!
    .replace(/[^A-Za-z0-9_-]/g, "_")}`;
  return { MONGO_URL: url.toString() };
}
