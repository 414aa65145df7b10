/**
 * What the upload settings allow and refuse, over real HTTP: size and media type limits,
 * uploads turned off, who may download a file (members, cookies, FileUpload_ProtectFiles),
 * and that a refused or cut-off upload leaves no file and no document behind.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { connect } from "node:net";
import { type Credentials, type TestServer, api, createUser, startTestServer } from "./helpers.ts";
import {
  authHeaders,
  channel,
  download,
  PDF,
  png,
  setSetting,
  storedFiles,
  traces,
  upload,
} from "./upload-helpers.ts";

let server: TestServer;
let alice: Credentials;
let bob: Credentials;
let bobName: string;

/** Settings changed by a test, with the values to put back. */
const restore: [string, unknown][] = [];

async function change(id: string, value: unknown, original: unknown) {
  restore.push([id, original]);
  await setSetting(server, id, value);
}

beforeAll(async () => {
  server = await startTestServer();
  alice = (await createUser(server)).credentials;
  const created = await createUser(server);
  bob = created.credentials;
  bobName = created.user.username;
});

afterEach(async () => {
  for (const [id, value] of restore.splice(0).reverse()) await setSetting(server, id, value);
});

afterAll(async () => {
  await server.stop();
});

/**
 * Uploads a small file to `rid` as alice with the `Content-Type` line `type` written as
 * is (FormData would clean it); answers status and body.
 */
async function uploadDeclaring(rid: string, type: string) {
  const boundary = "----parley-declared-type";
  const body = [
    `--${boundary}`,
    'Content-Disposition: form-data; name="file"; filename="t.dat"',
    `Content-Type: ${type}`,
    "",
    "hello",
    `--${boundary}--`,
    "",
  ].join("\r\n");
  const res = await fetch(`${server.url}/api/v1/rooms.upload/${rid}`, {
    method: "POST",
    headers: {
      ...authHeaders(alice),
      "Content-Type": `multipart/form-data; boundary=${boundary}`,
    },
    body,
  });
  return { status: res.status, body: await res.json() };
}

describe("limits", () => {
  test("a file over FileUpload_MaxFileSize answers error-file-too-large and leaves nothing", async () => {
    const rid = await channel(server, alice);
    await change("FileUpload_MaxFileSize", 1000, 104857600);
    const before = await traces(server);

    const res = await upload(server, `rooms.media/${rid}`, alice, [
      { name: "big.bin", type: "application/octet-stream", data: new Uint8Array(1001) },
    ]);
    const after = await traces(server);
    const fits = await upload(server, `rooms.media/${rid}`, alice, [
      { name: "fits.bin", type: "application/octet-stream", data: new Uint8Array(1000) },
    ]);

    expect({ status: res.status, body: res.body }).toEqual({
      status: 400,
      body: {
        success: false,
        error: "[error-file-too-large]",
        errorType: "error-file-too-large",
      },
    });
    expect(after).toEqual(before);
    expect(fits.status).toBe(200);
  });

  test("a blocked media type answers error-invalid-file-type and leaves nothing", async () => {
    const rid = await channel(server, alice);
    const before = await traces(server);
    const svg = new TextEncoder().encode('<svg xmlns="http://www.w3.org/2000/svg"/>');

    const res = await upload(server, `rooms.media/${rid}`, alice, [
      { name: "logo.svg", type: "image/svg+xml", data: svg },
    ]);

    expect({ status: res.status, body: res.body }).toEqual({
      status: 400,
      body: {
        success: false,
        error: "File type is not accepted. [error-invalid-file-type]",
        errorType: "error-invalid-file-type",
      },
    });
    expect(await traces(server)).toEqual(before);
  });

  test("a media type longer than RFC 6838 allows answers error-invalid-file-type and leaves nothing", async () => {
    const rid = await channel(server, alice);
    const before = await traces(server);
    const types = [
      `text/${"x".repeat(5000)}`,
      `${"x".repeat(128)}/plain`,
      `text/${"y".repeat(128)}`,
    ];

    const answers = await Promise.all(types.map((type) => uploadDeclaring(rid, type)));

    expect(answers.map((res) => [res.status, res.body.errorType])).toEqual(
      types.map(() => [400, "error-invalid-file-type"]),
    );
    expect(await traces(server)).toEqual(before);
  });

  test("with a white list only the listed types (or type/*) go up", async () => {
    const rid = await channel(server, alice);
    await change("FileUpload_MediaTypeWhiteList", "image/*,text/plain", "");

    const pdf = await upload(server, `rooms.upload/${rid}`, alice, [
      { name: "a.pdf", type: "application/pdf", data: PDF },
    ]);
    const image = await upload(server, `rooms.upload/${rid}`, alice, [
      { name: "a.png", type: "image/png", data: await png(8, 8) },
    ]);

    expect([pdf.body.errorType, image.status]).toEqual(["error-invalid-file-type", 200]);
  });

  test("a white list of * allows every type the black list does not refuse", async () => {
    const rid = await channel(server, alice);
    await change("FileUpload_MediaTypeWhiteList", "*", "");

    const pdf = await upload(server, `rooms.upload/${rid}`, alice, [
      { name: "a.pdf", type: "application/pdf", data: PDF },
    ]);
    const svg = await upload(server, `rooms.upload/${rid}`, alice, [
      { name: "a.svg", type: "image/svg+xml", data: new TextEncoder().encode("<svg/>") },
    ]);

    expect([pdf.status, svg.body.errorType]).toEqual([200, "error-invalid-file-type"]);
  });

  test("an encrypted upload is checked against application/octet-stream, not the white list", async () => {
    const rid = await channel(server, alice);
    const encrypted = (name: string) =>
      upload(
        server,
        `rooms.media/${rid}`,
        alice,
        [{ name, type: "text/plain", data: new TextEncoder().encode("ciphertext") }],
        { content: JSON.stringify({ algorithm: "rc.v1.aes-sha2", ciphertext: "x" }) },
        { filesFirst: true },
      );
    await change("FileUpload_MediaTypeWhiteList", "image/*", "");

    const listed = await encrypted("a.txt");
    await change("FileUpload_MediaTypeBlackList", "application/octet-stream", "image/svg+xml");
    const before = await traces(server);
    const blocked = await encrypted("b.txt");

    expect([listed.status, blocked.status, blocked.body.errorType]).toEqual([
      200,
      400,
      "error-invalid-file-type",
    ]);
    expect(await traces(server)).toEqual(before);
  });

  test("bytes that are not the image their type declares are refused and leave nothing", async () => {
    const rid = await channel(server, alice);
    const before = await traces(server);

    const res = await upload(server, `rooms.media/${rid}`, alice, [
      { name: "fake.png", type: "image/png", data: new TextEncoder().encode("<html>hi</html>") },
    ]);

    expect({ status: res.status, type: res.body.errorType }).toEqual({
      status: 400,
      type: "error-invalid-file-type",
    });
    expect(await traces(server)).toEqual(before);
  });

  test("uploads turned off, or off in direct messages, are refused", async () => {
    const rid = await channel(server, alice);
    const dm = await api(server, "im.create", { auth: alice, body: { username: bobName } });
    const file = [{ name: "a.pdf", type: "application/pdf", data: PDF }];
    await change("FileUpload_Enabled_Direct", false, true);

    const inDirect = await upload(server, `rooms.media/${dm.body.room._id}`, alice, file);
    await change("FileUpload_Enabled", false, true);
    const anywhere = await upload(server, `rooms.media/${rid}`, alice, file);

    expect([inDirect.body, anywhere.body]).toEqual([
      {
        success: false,
        error:
          "File sharing not allowed in direct messages. [error-direct-message-file-upload-not-allowed]",
        errorType: "error-direct-message-file-upload-not-allowed",
      },
      {
        success: false,
        error: "File uploads are disabled. [error-file-upload-disabled]",
        errorType: "error-file-upload-disabled",
      },
    ]);
  });
});

describe("who may download", () => {
  /** A PDF alice shares in a new public channel; answers its URL. */
  async function sharedFile(): Promise<string> {
    const rid = await channel(server, alice);
    const res = await upload(server, `rooms.upload/${rid}`, alice, [
      { name: "a.pdf", type: "application/pdf", data: PDF },
    ]);
    return res.body.message.attachments[0].title_link;
  }

  test("a user who is not a member of the room is refused the file", async () => {
    const url = await sharedFile();

    const member = await download(server, url, authHeaders(alice));
    const outsider = await download(server, url, authHeaders(bob));

    expect([member.status, outsider.status]).toEqual([200, 403]);
  });

  test("Rocket.Chat's cookies and query credentials log the caller in", async () => {
    const url = await sharedFile();

    const byCookie = await download(server, url, {
      Cookie: `rc_uid=${alice.userId}; rc_token=${alice.authToken}`,
    });
    const byQuery = await download(
      server,
      `${url}?rc_uid=${alice.userId}&rc_token=${alice.authToken}`,
    );
    const badCookie = await download(server, url, {
      Cookie: `rc_uid=${alice.userId}; rc_token=wrong`,
    });

    expect([byCookie.status, byQuery.status, badCookie.status]).toEqual([200, 200, 403]);
    expect(byCookie.data).toEqual(PDF);
  });

  test("a cookie that is not valid percent-encoding logs nobody in and answers 403", async () => {
    const url = await sharedFile();

    const answers = await Promise.all(
      [
        "rc_uid=%E0%A4%A; rc_token=x",
        `rc_uid=${alice.userId}; rc_token=%`,
        `rc_token=%zz; rc_uid=${alice.userId}`,
      ].map((Cookie) => download(server, url, { Cookie })),
    );

    expect(answers.map((res) => res.status)).toEqual([403, 403, 403]);
  });

  test("nobody gets a file without logging in while FileUpload_ProtectFiles is on", async () => {
    const url = await sharedFile();

    const protectedFile = await download(server, url);
    await change("FileUpload_ProtectFiles", false, true);
    const open = await download(server, url);

    expect([protectedFile.status, open.status]).toEqual([403, 200]);
  });

  test("without the members restriction any logged-in user reads it; with the access one, readers of the room", async () => {
    const url = await sharedFile();
    await change("FileUpload_Restrict_to_room_members", false, true);
    const anyUser = await download(server, url, authHeaders(bob));
    await change("FileUpload_Restrict_to_users_who_can_access_room", true, false);
    const reader = await download(server, url, authHeaders(bob));

    expect([anyUser.status, reader.status]).toEqual([200, 200]);
  });
});

describe("interrupted uploads", () => {
  test("an upload cut off halfway leaves no file and no document", async () => {
    const rid = await channel(server, alice);
    const before = await traces(server);
    const { port } = new URL(server.url);
    const boundary = "----parley-cut-off";
    const head = [
      `--${boundary}`,
      'Content-Disposition: form-data; name="file"; filename="half.bin"',
      "Content-Type: application/octet-stream",
      "",
      "",
    ].join("\r\n");
    const socket = connect(Number(port), "127.0.0.1");
    await new Promise((resolve) => socket.once("connect", resolve));
    socket.write(
      [
        `POST /api/v1/rooms.media/${rid} HTTP/1.1`,
        `Host: 127.0.0.1:${port}`,
        `X-User-Id: ${alice.userId}`,
        `X-Auth-Token: ${alice.authToken}`,
        `Content-Type: multipart/form-data; boundary=${boundary}`,
        `Content-Length: ${10 * 1024 * 1024}`,
        "",
        head,
      ].join("\r\n"),
    );
    socket.write(new Uint8Array(512 * 1024));

    // The upload is under way once its temporary file exists; then the client goes away.
    const started = await waitFor(
      async () => (await storedFiles(server)).length > before.files.length,
    );
    socket.destroy();
    const cleaned = await waitFor(
      async () => (await storedFiles(server)).length === before.files.length,
    );

    expect({ started, cleaned }).toEqual({ started: true, cleaned: true });
    expect(await traces(server)).toEqual(before);
  });
});

/** Checks `condition` on each turn of the event loop for at most 10 s; answers whether it held. */
async function waitFor(condition: () => Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await new Promise((resolve) => setImmediate(resolve));
  }
  return false;
}
