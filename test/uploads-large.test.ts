/**
 * A 50 MB file through a Parley process of its own: uploaded as a stream, confirmed,
 * downloaded whole and by range, and deleted, while the server's resident memory is
 * measured from outside (/proc/<pid>/status) and must stay far below the file's size
 * when the file is stored on disk.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TEST_ADMIN } from "../services/index.ts";
import { type Credentials, api, login } from "./helpers.ts";
import { type MongoStore, openMongoStore } from "../store/mongo.ts";
import { testEngineEnv } from "./mongo-wire.ts";
import { type ParleyProcess, spawnParley } from "./processes.ts";
import { storedFiles } from "./upload-helpers.ts";

const CHUNK = 256 * 1024;
const CHUNKS = 200;
const SIZE = CHUNK * CHUNKS;
/** How much the server's memory may grow while the file passes: well below its 50 MB. */
const MAX_GROWTH = 25 * 1024 * 1024;

let dataDir: string;
let parley: ParleyProcess;
let admin: Credentials;
/** The server's database, when the tests run on the MongoDB engine. */
let mongo: MongoStore | undefined;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "parley-large-"));
  parley = await spawnParley(dataDir);
  admin = await login(parley.url, TEST_ADMIN, TEST_ADMIN);
  const { MONGO_URL } = await testEngineEnv(dataDir);
  if (MONGO_URL) mongo = await openMongoStore({ url: MONGO_URL });
});

afterAll(async () => {
  parley.process.kill();
  await parley.process.exited;
  await mongo?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** The server's resident memory in bytes, as the kernel reports it. */
function rss(): number {
  const status = readFileSync(`/proc/${parley.process.pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]) * 1024;
}

/** Chunk `k` of the file: bytes that differ from chunk to chunk and within each. */
function chunk(k: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(CHUNK);
  for (let i = 0; i < CHUNK; i += 1) bytes[i] = (i * 131 + k * 7) & 255;
  return bytes;
}

/** Samples the server's memory every few milliseconds until `work` ends; answers the peak. */
async function peakDuring(work: Promise<unknown>): Promise<number> {
  let done = false;
  let peak = rss();
  const finished = work.finally(() => {
    done = true;
  });
  while (!done) {
    peak = Math.max(peak, rss());
    await Promise.race([finished, new Promise((resolve) => setTimeout(resolve, 5))]);
  }
  await finished;
  return peak;
}

/** A multipart body carrying the whole file as `big.bin`, made chunk by chunk as it is sent. */
function streamingBody(boundary: string, hash: ReturnType<typeof createHash>) {
  const encoder = new TextEncoder();
  let next = -1;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (next === -1) {
        controller.enqueue(
          encoder.encode(
            `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`,
          ),
        );
      } else if (next < CHUNKS) {
        const bytes = chunk(next);
        hash.update(bytes);
        controller.enqueue(bytes);
      } else {
        controller.enqueue(encoder.encode(`\r\n--${boundary}--\r\n`));
        controller.close();
      }
      next += 1;
    },
  });
}

test("a 50 MB file goes up, comes back whole and by range, and goes away, in flat memory", async () => {
  const channel = await api(parley.url, "channels.create", {
    auth: admin,
    body: { name: `large-${Date.now()}` },
  });
  const rid = channel.body.channel._id;
  const headers = { "X-User-Id": admin.userId, "X-Auth-Token": admin.authToken };
  const before = await storedFiles(dataDir, mongo);
  const baseline = rss();

  const sent = createHash("sha256");
  const boundary = "----parley-large";
  const uploading = fetch(`${parley.url}/api/v1/rooms.media/${rid}`, {
    method: "POST",
    headers: { ...headers, "Content-Type": `multipart/form-data; boundary=${boundary}` },
    body: streamingBody(boundary, sent),
    duplex: "half",
  } as RequestInit).then((res) => res.json());
  const uploadPeak = await peakDuring(uploading);
  const media = await uploading;

  const confirm = await api(parley.url, `rooms.mediaConfirm/${rid}/${media.file._id}`, {
    auth: admin,
    body: { msg: "a large file" },
  });

  const received = createHash("sha256");
  let length = 0;
  const beforeDownload = rss();
  const response = await fetch(`${parley.url}${media.file.url}`, { headers });
  const downloading = (async () => {
    for await (const part of response.body as unknown as AsyncIterable<Uint8Array>) {
      received.update(part);
      length += part.byteLength;
    }
  })();
  const downloadPeak = await peakDuring(downloading);

  const tail = await fetch(`${parley.url}${media.file.url}`, {
    headers: { ...headers, Range: `bytes=${SIZE - CHUNK}-` },
  });
  const tailBytes = new Uint8Array(await tail.arrayBuffer());

  expect(media.success).toBe(true);
  expect(confirm.body.message.file).toMatchObject({ name: "big.bin", size: SIZE });
  expect({
    status: response.status,
    length: response.headers.get("content-length"),
    received: length,
    same: received.digest("hex") === sent.digest("hex"),
  }).toEqual({
    status: 200,
    // A large file streamed from GridFS goes without its length (see routes/file-download.ts).
    length: mongo ? null : String(SIZE),
    received: SIZE,
    same: true,
  });
  expect({ status: tail.status, range: tail.headers.get("content-range") }).toEqual({
    status: 206,
    range: `bytes ${SIZE - CHUNK}-${SIZE - 1}/${SIZE}`,
  });
  expect(tailBytes).toEqual(chunk(CHUNKS - 1));
  // Through GridFS every byte passes through the driver's buffers, and the server's memory
  // grows with the file (up to about 90 MB here) until the collector runs: there the
  // file's bytes are checked, not the memory.
  if (!mongo) {
    expect({
      upload: uploadPeak - baseline < MAX_GROWTH,
      download: downloadPeak - beforeDownload < MAX_GROWTH,
    }).toEqual({ upload: true, download: true });
  }

  const deleted = await api(parley.url, "chat.delete", {
    auth: admin,
    body: { roomId: rid, msgId: confirm.body.message._id },
  });
  const gone = await fetch(`${parley.url}${media.file.url}`, { headers });

  expect([deleted.status, gone.status]).toEqual([200, 404]);
  expect(await storedFiles(dataDir, mongo)).toEqual(before);
}, 120_000);
