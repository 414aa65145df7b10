/**
 * File uploads over real HTTP: rooms.media and rooms.mediaConfirm, rooms.upload, the room
 * file lists, downloads (whole, by range, with headers or cookies) and what deleting a
 * message or a room does to its files.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import sharp from "sharp";
import { MAX_DECODED_IMAGE_BYTES } from "../services/images.ts";
import {
  type Credentials,
  type TestServer,
  api,
  createUser,
  setSettings,
  startTestServer,
} from "./helpers.ts";
import {
  authHeaders,
  channel,
  download,
  PDF,
  png,
  storedFiles,
  traces,
  upload,
} from "./upload-helpers.ts";

let server: TestServer;
let alice: Credentials;
let bob: Credentials;
let image: Uint8Array;

beforeAll(async () => {
  server = await startTestServer();
  alice = (await createUser(server)).credentials;
  bob = (await createUser(server)).credentials;
  image = await png(1024, 768);
});

afterAll(async () => {
  await server.stop();
});

/** Uploads `image` to `rid` with rooms.media and confirms it; answers the message. */
async function shareImage(rid: string, auth: Credentials, fields: Record<string, unknown> = {}) {
  const media = await upload(server, `rooms.media/${rid}`, auth, [
    { name: "photo.png", type: "image/png", data: image },
  ]);
  const confirm = await api(server, `rooms.mediaConfirm/${rid}/${media.body.file._id}`, {
    auth,
    body: fields,
  });
  return { media, confirm, message: confirm.body.message };
}

describe("uploading", () => {
  test("rooms.media stores a PNG and answers its id and URL", async () => {
    const rid = await channel(server, alice);

    const res = await upload(server, `rooms.media/${rid}`, alice, [
      { name: "photo.png", type: "image/png", data: image },
    ]);

    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(res.body).toEqual({
      file: { _id: expect.any(String), url: `/file-upload/${res.body.file._id}/photo.png` },
      success: true,
    });
  });

  test("rooms.mediaConfirm sends an image message with dimensions, preview and thumbnail", async () => {
    const rid = await channel(server, alice);

    const { media, confirm, message } = await shareImage(rid, alice, {
      msg: "look",
      description: "a gradient",
    });

    const id = media.body.file._id;
    const thumb = message.files[1];
    const preview = await sharp(
      Buffer.from(String(message.attachments[0].image_preview), "base64"),
    ).metadata();
    expect(confirm.status).toBe(200);
    expect(message).toMatchObject({
      rid,
      msg: "look",
      file: { _id: id, name: "photo.png", type: "image/png", size: image.length, format: "png" },
      files: [
        { _id: id, name: "photo.png", type: "image/png", typeGroup: "image" },
        { name: "thumb-photo.png", type: "image/png", typeGroup: "thumb" },
      ],
      attachments: [
        {
          title: "photo.png",
          type: "file",
          description: "a gradient",
          image_alt: "a gradient",
          title_link: `/file-upload/${id}/photo.png`,
          title_link_download: true,
          image_url: `/file-upload/${thumb._id}/photo.png`,
          image_type: "image/png",
          image_size: image.length,
          image_dimensions: { width: 480, height: 360 },
          image_preview: expect.any(String),
          fileId: id,
        },
      ],
    });
    expect({ format: preview.format, width: preview.width }).toEqual({ format: "jpeg", width: 32 });
  });

  test("the thumbnail is a real image of the thumbnail's size", async () => {
    const rid = await channel(server, alice);
    const { message } = await shareImage(rid, alice);

    const res = await download(server, message.attachments[0].image_url, authHeaders(alice));

    const meta = await sharp(Buffer.from(res.data)).metadata();
    expect({ status: res.status, w: meta.width, h: meta.height }).toEqual({
      status: 200,
      w: 480,
      h: 360,
    });
  });

  test("rooms.upload sends a PDF in one call as a file attachment with format and size", async () => {
    const rid = await channel(server, alice);

    const res = await upload(
      server,
      `rooms.upload/${rid}`,
      alice,
      [{ name: "report.pdf", type: "application/pdf", data: PDF }],
      { msg: "the report", description: "Q3" },
    );

    const id = res.body.message.file._id;
    expect(res.status).toBe(200);
    expect(res.body.message).toMatchObject({
      rid,
      msg: "the report",
      file: { _id: id, name: "report.pdf", type: "application/pdf", size: PDF.length },
      files: [{ _id: id, name: "report.pdf", typeGroup: "application" }],
      attachments: [
        {
          title: "report.pdf",
          type: "file",
          format: "PDF",
          description: "Q3",
          size: PDF.length,
          title_link: `/file-upload/${id}/report.pdf`,
          title_link_download: true,
          fileId: id,
        },
      ],
    });
    expect(res.body.message.files).toHaveLength(1);
  });

  test("a file declared as octet-stream takes the type its name says", async () => {
    const rid = await channel(server, alice);

    const res = await upload(server, `rooms.upload/${rid}`, alice, [
      { name: "notes.pdf", type: "application/octet-stream", data: PDF },
    ]);

    expect(res.body.message.file.type).toBe("application/pdf");
  });

  test("a path in the file name never reaches the disk: the file keeps its last part", async () => {
    const rid = await channel(server, alice);

    const res = await upload(server, `rooms.upload/${rid}`, alice, [
      { name: "../../etc/evil.pdf", type: "application/pdf", data: PDF },
    ]);

    expect(res.body.message.file.name).toBe("evil.pdf");
    expect((await storedFiles(server)).every((name) => /^[\w%-]+(\.blob)?$/.test(name))).toBe(true);
  });

  test("the file lists of channels, groups and direct messages show the room's files", async () => {
    const rid = await channel(server, alice);
    await shareImage(rid, alice);
    await upload(server, `rooms.upload/${rid}`, alice, [
      { name: "a.pdf", type: "application/pdf", data: PDF },
    ]);
    const group = await api(server, "groups.create", {
      auth: alice,
      body: { name: `files-group-${Date.now()}` },
    });
    const gid = group.body.group._id;
    await upload(server, `rooms.upload/${gid}`, alice, [
      { name: "g.pdf", type: "application/pdf", data: PDF },
    ]);

    const channelFiles = await api(server, "channels.files", {
      auth: alice,
      query: { roomId: rid },
    });
    const groupFiles = await api(server, "groups.files", { auth: alice, query: { roomId: gid } });
    const outsider = await api(server, "groups.files", { auth: bob, query: { roomId: gid } });

    expect(channelFiles.body).toMatchObject({ count: 2, offset: 0, total: 2, success: true });
    expect(channelFiles.body.files.map((f: { name: string }) => f.name)).toEqual([
      "a.pdf",
      "photo.png",
    ]);
    expect(channelFiles.body.files[0]).toMatchObject({
      rid,
      type: "application/pdf",
      store: server.parley.store.engine === "mongodb" ? "GridFS:Uploads" : "FileSystem:Uploads",
      complete: true,
      path: expect.stringMatching(/^\/file-upload\/.+\/a\.pdf$/),
      user: { username: expect.any(String) },
    });
    expect(groupFiles.body.files.map((f: { name: string }) => f.name)).toEqual(["g.pdf"]);
    expect(outsider.status).toBe(400);
  });
});

describe("listing", () => {
  test("the description sent with a file is kept on its upload, as the file lists show", async () => {
    const rid = await channel(server, alice);
    await shareImage(rid, alice, { description: "the view" });
    await upload(
      server,
      `rooms.upload/${rid}`,
      alice,
      [{ name: "q.pdf", type: "application/pdf", data: PDF }],
      { description: "Q4" },
    );

    const res = await api(server, "channels.files", { auth: alice, query: { roomId: rid } });

    expect(
      res.body.files.map((f: { name: string; description?: string }) => [f.name, f.description]),
    ).toEqual([
      ["photo.png", "the view"],
      ["q.pdf", "Q4"],
    ]);
  });

  test("the file lists filter by name, ignoring case and taken literally, and by typeGroup", async () => {
    const rid = await channel(server, alice);
    await shareImage(rid, alice);
    for (const name of ["Report.PDF", "notes(1).pdf"]) {
      await upload(server, `rooms.upload/${rid}`, alice, [
        { name, type: "application/pdf", data: PDF },
      ]);
    }
    const names = async (query: Record<string, string>) => {
      const res = await api(server, "channels.files", {
        auth: alice,
        query: { roomId: rid, ...query },
      });
      return res.body.files?.map((f: { name: string }) => f.name) ?? res.body;
    };

    expect({
      report: await names({ name: "report" }),
      paren: await names({ name: "(1)" }),
      image: await names({ typeGroup: "image" }),
      pdfImage: await names({ name: "report", typeGroup: "image" }),
      thumb: await names({ typeGroup: "thumb" }),
    }).toEqual({
      report: ["Report.PDF"],
      paren: ["notes(1).pdf"],
      image: ["photo.png"],
      pdfImage: [],
      thumb: [],
    });
  });
});

describe("direct message file lists", () => {
  test("im.files names its room as im.messages does: roomId or username, and a direct message", async () => {
    const rid = await channel(server, alice);
    const refs: Record<string, string>[] = [{}, { roomId: "no-such-room" }, { roomId: rid }];
    const ask = (route: string) =>
      Promise.all(
        refs.map(async (query) => {
          const res = await api(server, route, { auth: alice, query });
          return { status: res.status, body: res.body };
        }),
      );
    const invalidChannel = {
      status: 400,
      body: { success: false, error: "[invalid-channel]", errorType: "invalid-channel" },
    };

    const [files, messages] = await Promise.all([ask("im.files"), ask("im.messages")]);

    expect(files).toEqual(messages);
    expect(files).toEqual([
      {
        status: 400,
        body: {
          success: false,
          error:
            "must have required property 'roomId'\n must have required property 'username'\n must match exactly one schema in oneOf [invalid-params]",
          errorType: "invalid-params",
        },
      },
      invalidChannel,
      invalidChannel,
    ]);
  });
});

describe("downloading", () => {
  test("a file downloads whole with its type, length, disposition and bytes", async () => {
    const rid = await channel(server, alice);
    const res = await upload(server, `rooms.upload/${rid}`, alice, [
      { name: "Q3 report.pdf", type: "application/pdf", data: PDF },
    ]);
    const url = res.body.message.attachments[0].title_link;

    const got = await download(server, url, authHeaders(alice));
    const attached = await download(server, `${url}?download`, authHeaders(alice));

    expect(got.status).toBe(200);
    expect({
      type: got.headers.get("content-type"),
      length: got.headers.get("content-length"),
      disposition: got.headers.get("content-disposition"),
      attached: attached.headers.get("content-disposition"),
      ranges: got.headers.get("accept-ranges"),
      sniff: got.headers.get("x-content-type-options"),
      policy: got.headers.get("content-security-policy"),
    }).toEqual({
      type: "application/pdf",
      length: String(PDF.length),
      disposition: `inline; filename="Q3 report.pdf"; filename*=UTF-8''Q3%20report.pdf`,
      attached: `attachment; filename="Q3 report.pdf"; filename*=UTF-8''Q3%20report.pdf`,
      ranges: "bytes",
      sniff: "nosniff",
      policy: "default-src 'none'; form-action 'none'; base-uri 'none'",
    });
    expect(got.data).toEqual(PDF);
  });

  test("a range answers 206 with those bytes; a suffix range the last ones; past the end 416", async () => {
    const rid = await channel(server, alice);
    const { media } = await shareImage(rid, alice);
    const url = media.body.file.url;

    const part = await download(server, url, { ...authHeaders(alice), Range: "bytes=10-19" });
    const tail = await download(server, url, { ...authHeaders(alice), Range: "bytes=-5" });
    const past = await download(server, url, {
      ...authHeaders(alice),
      Range: `bytes=${image.length}-`,
    });

    expect({
      status: part.status,
      range: part.headers.get("content-range"),
      length: part.headers.get("content-length"),
    }).toEqual({ status: 206, range: `bytes 10-19/${image.length}`, length: "10" });
    expect(part.data).toEqual(image.slice(10, 20));
    expect(tail.data).toEqual(image.slice(-5));
    expect({ status: past.status, range: past.headers.get("content-range") }).toEqual({
      status: 416,
      range: `bytes */${image.length}`,
    });
  });

  test("an invalid Range is ignored and answers the whole file; the unit is matched in any case", async () => {
    const rid = await channel(server, alice);
    const { media } = await shareImage(rid, alice);
    const url = media.body.file.url;
    const get = (range: string) => download(server, url, { ...authHeaders(alice), Range: range });

    const answers = await Promise.all(["bytes=5-2", "bytes=-", "Bytes=0-3"].map(get));

    expect(answers.map((r) => [r.status, r.data.length, r.headers.get("content-range")])).toEqual([
      [200, image.length, null],
      [200, image.length, null],
      [206, 4, `bytes 0-3/${image.length}`],
    ]);
  });

  test("filename* percent-encodes the quote, parentheses and star", async () => {
    const rid = await channel(server, alice);
    const res = await upload(server, `rooms.upload/${rid}`, alice, [
      { name: "it's (a) *draft*.pdf", type: "application/pdf", data: PDF },
    ]);

    const got = await download(
      server,
      res.body.message.attachments[0].title_link,
      authHeaders(alice),
    );

    expect(got.headers.get("content-disposition")).toBe(
      `inline; filename="it's (a) *draft*.pdf"; filename*=UTF-8''it%27s%20%28a%29%20%2Adraft%2A.pdf`,
    );
  });

  test("the older /ufs/ address serves the same file", async () => {
    const rid = await channel(server, alice);
    const { media } = await shareImage(rid, alice);
    const old = media.body.file.url.replace("/file-upload/", "/ufs/FileSystem:Uploads/");

    const got = await download(server, old, authHeaders(alice));

    expect({ status: got.status, type: got.headers.get("content-type") }).toEqual({
      status: 200,
      type: "image/png",
    });
  });

  test("a file of an unknown id answers 404", async () => {
    const got = await download(server, "/file-upload/nothing/here.png", authHeaders(alice));

    expect(got.status).toBe(404);
  });
});

describe("deleting", () => {
  test("deleting the message removes its file and its thumbnail", async () => {
    const rid = await channel(server, alice);
    const before = await storedFiles(server);
    const { message } = await shareImage(rid, alice);
    const urls = [message.attachments[0].title_link, message.attachments[0].image_url];
    const during = (await storedFiles(server)).length - before.length;

    const res = await api(server, "chat.delete", {
      auth: alice,
      body: { roomId: rid, msgId: message._id },
    });

    const after = await Promise.all(urls.map((url) => download(server, url, authHeaders(alice))));
    expect(res.status).toBe(200);
    expect(during).toBe(2);
    expect(after.map((r) => r.status)).toEqual([404, 404]);
    expect(await storedFiles(server)).toEqual(before);
    expect(await server.parley.services.deps.db.uploads.countDocuments({ rid })).toBe(0);
  });

  test("deleting a user whose messages are erased removes the files they shared", async () => {
    const carol = await createUser(server);
    const rid = await channel(server, alice, [carol.user.username]);
    const before = await storedFiles(server);
    await upload(server, `rooms.upload/${rid}`, carol.credentials, [
      { name: "c.pdf", type: "application/pdf", data: PDF },
    ]);

    const res = await api(server, "users.delete", {
      auth: server.admin,
      body: { userId: carol.user._id },
    });

    expect(res.status).toBe(200);
    expect(await storedFiles(server)).toEqual(before);
    expect(await server.parley.services.deps.db.uploads.countDocuments({ rid })).toBe(0);
  });

  test("deleting a room removes its files", async () => {
    const rid = await channel(server, alice);
    const before = await storedFiles(server);
    await shareImage(rid, alice);
    await upload(server, `rooms.upload/${rid}`, alice, [
      { name: "r.pdf", type: "application/pdf", data: PDF },
    ]);

    const res = await api(server, "rooms.delete", { auth: alice, body: { roomId: rid } });

    expect(res.status).toBe(200);
    expect(await storedFiles(server)).toEqual(before);
    expect(await server.parley.services.deps.db.uploads.countDocuments({ rid })).toBe(0);
  });
});

describe("refusals", () => {
  test("a file in another field answers invalid-field and leaves nothing", async () => {
    const rid = await channel(server, alice);
    const before = await traces(server);

    const res = await upload(server, `rooms.media/${rid}`, alice, [
      { name: "photo.png", type: "image/png", data: image, field: "test" },
    ]);

    expect({ status: res.status, body: res.body }).toEqual({
      status: 400,
      body: { success: false, error: "[invalid-field]", errorType: "invalid-field" },
    });
    expect(await traces(server)).toEqual(before);
  });

  test("two files answer Rocket.Chat's bare 'Just 1 file is allowed' and leave nothing", async () => {
    const rid = await channel(server, alice);
    const before = await traces(server);

    const res = await upload(server, `rooms.media/${rid}`, alice, [
      { name: "a.pdf", type: "application/pdf", data: PDF },
      { name: "b.pdf", type: "application/pdf", data: PDF },
    ]);

    expect({ status: res.status, body: res.body }).toEqual({
      status: 400,
      body: { success: false, error: "Just 1 file is allowed" },
    });
    expect(await traces(server)).toEqual(before);
  });

  test("a body that is not multipart answers 400", async () => {
    const rid = await channel(server, alice);

    const res = await api(server, `rooms.media/${rid}`, { auth: alice, body: { file: "x" } });

    expect({ status: res.status, success: res.body.success }).toEqual({
      status: 400,
      success: false,
    });
  });

  test("a user who cannot read the room is refused with 403 before the file is read", async () => {
    const group = await api(server, "groups.create", {
      auth: alice,
      body: { name: `secret-${Date.now()}` },
    });

    const res = await upload(server, `rooms.media/${group.body.group._id}`, bob, [
      { name: "a.pdf", type: "application/pdf", data: PDF },
    ]);

    expect({ status: res.status, body: res.body }).toEqual({
      status: 403,
      body: { success: false, error: "unauthorized" },
    });
  });

  test("confirming someone else's upload answers invalid-file", async () => {
    const rid = await channel(server, alice, [
      (await api(server, "me", { auth: bob })).body.username,
    ]);
    const media = await upload(server, `rooms.media/${rid}`, alice, [
      { name: "a.pdf", type: "application/pdf", data: PDF },
    ]);

    const res = await api(server, `rooms.mediaConfirm/${rid}/${media.body.file._id}`, {
      auth: bob,
      body: {},
    });

    expect({ status: res.status, body: res.body }).toEqual({
      status: 400,
      body: { success: false, error: "[invalid-file]", errorType: "invalid-file" },
    });
  });

  test("of several confirms of one file at once, one sends it and the others answer invalid-file", async () => {
    const rid = await channel(server, alice);
    const media = await upload(server, `rooms.media/${rid}`, alice, [
      { name: "a.pdf", type: "application/pdf", data: PDF },
    ]);
    const id = media.body.file._id;

    const answers = await Promise.all(
      Array.from({ length: 4 }, () =>
        api(server, `rooms.mediaConfirm/${rid}/${id}`, { auth: alice, body: {} }),
      ),
    );

    const history = await api(server, "channels.messages", { auth: alice, query: { roomId: rid } });
    const sharing = history.body.messages.filter(
      (m: { file?: { _id: string } }) => m.file?._id === id,
    );
    expect(answers.map((r) => r.body.errorType ?? r.status).sort()).toEqual([
      200,
      "invalid-file",
      "invalid-file",
      "invalid-file",
    ]);
    expect(sharing).toHaveLength(1);
  });

  test("a confirm that fails to send leaves no thumbnail behind and the file can be confirmed again", async () => {
    const rid = await channel(server, alice);
    const media = await upload(server, `rooms.media/${rid}`, alice, [
      { name: "photo.png", type: "image/png", data: image },
    ]);
    const id = media.body.file._id;
    const before = await traces(server);

    const failed = await api(server, `rooms.mediaConfirm/${rid}/${id}`, {
      auth: alice,
      body: { tmid: "no-such-message" },
    });
    const after = await traces(server);
    const retry = await api(server, `rooms.mediaConfirm/${rid}/${id}`, { auth: alice, body: {} });

    expect({ status: failed.status, success: failed.body.success }).toEqual({
      status: 400,
      success: false,
    });
    expect(after).toEqual(before);
    expect({ status: retry.status, files: retry.body.message?.files?.length }).toEqual({
      status: 200,
      files: 2,
    });
  });

  test("a confirm body that cannot be read answers 400 as chat.postMessage does, and the file stays confirmable", async () => {
    const rid = await channel(server, alice);
    const media = await upload(server, `rooms.media/${rid}`, alice, [
      { name: "a.pdf", type: "application/pdf", data: PDF },
    ]);
    const send = (body: string, type = "application/json") =>
      fetch(`${server.url}/api/v1/rooms.mediaConfirm/${rid}/${media.body.file._id}`, {
        method: "POST",
        headers: { ...authHeaders(alice), "Content-Type": type },
        body,
      }).then(async (res) => ({ status: res.status, body: await res.json() }));
    const unreadable = { status: 400, body: { success: false, error: "Invalid request body" } };

    const answers = [
      await send('{"msg":"hello", bad'),
      await send('"hello"'),
      await send('["hello"]'),
      await send("hello", "text/plain"),
    ];
    const wrongType = await send('{"msg":5}');
    const postMessage = await api(server, "chat.postMessage", {
      auth: alice,
      body: '{"roomId":"x", bad',
    });
    const confirmed = await send("");

    expect(answers).toEqual([unreadable, unreadable, unreadable, unreadable]);
    expect({ status: postMessage.status, body: postMessage.body }).toEqual(unreadable);
    expect(wrongType).toEqual({
      status: 400,
      body: {
        success: false,
        error: "must match the schema at 'msg': expected string [invalid-params]",
        errorType: "invalid-params",
      },
    });
    expect({ status: confirmed.status, msg: confirmed.body.message?.msg }).toEqual({
      status: 200,
      msg: "",
    });
  });

  test("a description longer than Message_MaxAllowedSize answers error-message-size-exceeded", async () => {
    const rid = await channel(server, alice);

    const { confirm } = await shareImage(rid, alice, { description: "x".repeat(5001) });

    expect({ status: confirm.status, type: confirm.body.errorType }).toEqual({
      status: 400,
      type: "error-message-size-exceeded",
    });
  });
});

describe("large images", () => {
  test("an image past the decoding limit is shared whole, unmeasured, without preview or thumbnail", async () => {
    const rid = await channel(server, alice);
    const side = 2500;
    const noise = crypto.getRandomValues(new Uint8Array(side * side * 3));
    const big = new Uint8Array(
      await sharp(noise, { raw: { width: side, height: side, channels: 3 } })
        .png({ compressionLevel: 0 })
        .toBuffer(),
    );

    const res = await upload(server, `rooms.upload/${rid}`, alice, [
      { name: "big.png", type: "image/png", data: big },
    ]);

    const id = res.body.message.file._id;
    expect(big.byteLength).toBeGreaterThan(MAX_DECODED_IMAGE_BYTES);
    expect(res.status).toBe(200);
    expect(res.body.message.files).toHaveLength(1);
    expect(res.body.message.attachments[0]).toEqual({
      title: "big.png",
      type: "file",
      title_link: `/file-upload/${id}/big.png`,
      title_link_download: true,
      image_url: `/file-upload/${id}/big.png`,
      image_type: "image/png",
      image_size: big.byteLength,
      fileId: id,
    });
  });
});

describe("image orientation", () => {
  /** A 40 × 20 JPEG whose EXIF orientation 6 says to show it turned: 20 × 40. */
  const sideways = () =>
    sharp(new Uint8Array(40 * 20 * 3).fill(200), { raw: { width: 40, height: 20, channels: 3 } })
      .jpeg()
      .withMetadata({ orientation: 6 })
      .toBuffer()
      .then((b) => new Uint8Array(b));

  async function shareJpeg(data: Uint8Array) {
    const rid = await channel(server, alice);
    const res = await upload(server, `rooms.upload/${rid}`, alice, [
      { name: "phone.jpg", type: "image/jpeg", data },
    ]);
    const got = await download(
      server,
      `/file-upload/${res.body.message.file._id}/phone.jpg`,
      authHeaders(alice),
    );
    const metadata = await sharp(got.data).metadata();
    return {
      stored: { width: metadata.width, height: metadata.height, orientation: metadata.orientation },
      size: res.body.message.file.size,
      bytes: got.data,
      dimensions: res.body.message.attachments[0].image_dimensions,
    };
  }

  test("with FileUpload_RotateImages on, a photo is stored upright, its orientation applied", async () => {
    const photo = await sideways();

    const shared = await shareJpeg(photo);

    expect(shared.stored).toEqual({ width: 20, height: 40, orientation: undefined });
    expect(shared.size).toBe(shared.bytes.byteLength);
    expect(shared.dimensions).toEqual({ width: 20, height: 40 });
  });

  test("with FileUpload_RotateImages off, a photo is stored as it was sent", async () => {
    const photo = await sideways();
    await setSettings(server, { FileUpload_RotateImages: false });

    const shared = await shareJpeg(photo).finally(() =>
      setSettings(server, { FileUpload_RotateImages: true }),
    );

    expect(shared.bytes).toEqual(photo);
    expect(shared.stored).toEqual({ width: 40, height: 20, orientation: 6 });
    expect(shared.dimensions).toEqual({ width: 20, height: 40 });
  });
});
