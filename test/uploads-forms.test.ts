/**
 * How an upload's form is read, over real HTTP: fields are read wherever they come in the
 * form (before or after the file), the `content` of an end-to-end encrypted upload hides
 * its type, and a field that cannot be read answers an error in Rocket.Chat's shape.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type Credentials, type TestServer, api, createUser, startTestServer } from "./helpers.ts";
import { channel, png, traces, upload } from "./upload-helpers.ts";

let server: TestServer;
let alice: Credentials;

beforeAll(async () => {
  server = await startTestServer();
  alice = (await createUser(server)).credentials;
});

afterAll(async () => {
  await server.stop();
});

/** End-to-end encrypted content, as Rocket.Chat's clients send it beside an encrypted file. */
const ENCRYPTED = { algorithm: "rc.v1.aes-sha2", ciphertext: "c2VjcmV0IG5hbWUgYW5kIHR5cGU=" };

/** Bytes of an encrypted file: nothing a server could recognise. */
const CIPHER = new Uint8Array(Array.from({ length: 600 }, (_, i) => (i * 131 + 7) % 256));

/** The upload document of file `id`, as the room's file list shows it once it is sent. */
async function sentFile(rid: string, id: string) {
  const confirm = await api(server, `rooms.mediaConfirm/${rid}/${id}`, { auth: alice, body: {} });
  const list = await api(server, "channels.files", { auth: alice, query: { roomId: rid } });
  return {
    confirmed: confirm.status,
    file: list.body.files.find((file: { _id: string }) => file._id === id),
  };
}

describe("encrypted uploads", () => {
  for (const filesFirst of [true, false]) {
    test(`rooms.media reads content ${filesFirst ? "after" : "before"} the file and stores it as application/octet-stream`, async () => {
      const rid = await channel(server, alice);

      const res = await upload(
        server,
        `rooms.media/${rid}`,
        alice,
        [{ name: "photo.png", type: "image/png", data: CIPHER }],
        { content: JSON.stringify(ENCRYPTED) },
        { filesFirst },
      );

      expect(res.status).toBe(200);
      expect(await sentFile(rid, res.body.file._id)).toMatchObject({
        confirmed: 200,
        file: {
          name: "photo.png",
          type: "application/octet-stream",
          typeGroup: "application",
          size: CIPHER.length,
          content: ENCRYPTED,
        },
      });
    });
  }

  test("content that is not encrypted content is kept, and the file keeps its type", async () => {
    const rid = await channel(server, alice);
    const content = { algorithm: "rc.v1.aes-sha2" };

    const res = await upload(
      server,
      `rooms.media/${rid}`,
      alice,
      [{ name: "notes.txt", type: "text/plain", data: new TextEncoder().encode("plain") }],
      { content: JSON.stringify(content) },
      { filesFirst: true },
    );

    expect((await sentFile(rid, res.body.file._id)).file).toMatchObject({
      type: "text/plain",
      content,
    });
  });

  test("rooms.upload does not read content: the file keeps its type and carries none", async () => {
    const rid = await channel(server, alice);
    const image = await png(8, 8);

    const res = await upload(
      server,
      `rooms.upload/${rid}`,
      alice,
      [{ name: "a.png", type: "image/png", data: image }],
      { content: JSON.stringify(ENCRYPTED) },
    );

    const id = res.body.message.file._id;
    const doc = await server.parley.services.deps.db.uploads.findOne({ _id: id });
    expect({ status: res.status, type: doc?.type, content: doc?.content }).toEqual({
      status: 200,
      type: "image/png",
      content: undefined,
    });
  });
});

describe("fields that cannot be read", () => {
  test("content that is not JSON answers invalid-field-content after the whole body, and leaves nothing", async () => {
    const rid = await channel(server, alice);
    const before = await traces(server);
    const big = new Uint8Array(6 * 1024 * 1024);

    const answers = await Promise.all(
      [false, true].map((filesFirst) =>
        upload(
          server,
          `rooms.media/${rid}`,
          alice,
          [{ name: "big.bin", type: "application/octet-stream", data: big }],
          { content: "notjson" },
          { filesFirst },
        ),
      ),
    );

    for (const res of answers) {
      expect({ status: res.status, body: res.body }).toEqual({
        status: 400,
        body: {
          success: false,
          error: "[invalid-field-content]",
          errorType: "invalid-field-content",
        },
      });
    }
    expect(await traces(server)).toEqual(before);
  });

  test("more than 50 fields answer error-too-many-fields, and leave nothing", async () => {
    const rid = await channel(server, alice);
    const before = await traces(server);
    const filler = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`extra${i}`, "x"]));

    const res = await upload(
      server,
      `rooms.upload/${rid}`,
      alice,
      [{ name: "a.txt", type: "text/plain", data: new TextEncoder().encode("hello") }],
      { ...filler, msg: "the last field" },
      { filesFirst: true },
    );

    expect({ status: res.status, body: res.body }).toEqual({
      status: 400,
      body: {
        success: false,
        error: "Too many fields in upload [error-too-many-fields]",
        errorType: "error-too-many-fields",
      },
    });
    expect(await traces(server)).toEqual(before);
  });

  test("a field over 1 MiB answers error-field-too-large, and leaves nothing", async () => {
    const rid = await channel(server, alice);
    const before = await traces(server);

    const res = await upload(
      server,
      `rooms.media/${rid}`,
      alice,
      [{ name: "a.txt", type: "text/plain", data: new TextEncoder().encode("hello") }],
      { content: JSON.stringify({ algorithm: "rc.v1.aes-sha2", ciphertext: "x".repeat(1 << 20) }) },
    );

    expect({ status: res.status, body: res.body }).toEqual({
      status: 400,
      body: {
        success: false,
        error: 'Form field "content" is longer than 1048576 bytes [error-field-too-large]',
        errorType: "error-field-too-large",
      },
    });
    expect(await traces(server)).toEqual(before);
  });
});
