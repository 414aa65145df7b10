/**
 * Values of the wrong shape are refused with a 400 in Rocket.Chat's shape and nothing is
 * stored: reactions that are no single shortcode, unknown system message types, attachments
 * that are not objects, a `tshow` that is not a boolean, discussion names holding
 * control characters, bodies nested too deep to validate, and Host headers that make no
 * URL or a short one.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { connect } from "node:net";
import { type SeededUser, seedUser } from "./ddp-helpers.ts";
import { type ApiResponse, api, startTestServer, type TestServer } from "./helpers.ts";

let server: TestServer;
let alice: SeededUser;
let rid: string;
let msgId: string;

beforeAll(async () => {
  server = await startTestServer();
  alice = await seedUser(server, "gaps");
  const name = `gaps-${crypto.randomUUID().slice(0, 8)}`;
  const created = await post("channels.create", { name });
  rid = created.body.channel._id;
  msgId = (await post("chat.sendMessage", { message: { rid, msg: "hello" } })).body.message._id;
});

afterAll(async () => {
  await server.stop();
});

function post(path: string, body: unknown): Promise<ApiResponse> {
  return api(server, path, { auth: alice.credentials, body });
}

async function stored() {
  return server.parley.services.deps.db.messages.findOne({ _id: msgId });
}

test("chat.react refuses a malformed shortcode or a prototype name", async () => {
  const names = [":__proto__:", ":a:b:", ":constructor:", "toString", ":a", "a::"];

  const answers = [];
  for (const emoji of names) answers.push(await post("chat.react", { messageId: msgId, emoji }));

  for (const res of answers) {
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({
      success: false,
      error: "Invalid emoji provided. [error-not-allowed]",
      errorType: "error-not-allowed",
    });
  }
  expect((await stored())?.reactions).toBeUndefined();
});

test("chat.react still takes a well-formed shortcode with or without colons", async () => {
  const sent = await post("chat.sendMessage", { message: { rid, msg: "react here" } });
  const messageId = sent.body.message._id;

  const first = await post("chat.react", { messageId, emoji: ":+1:" });
  const second = await post("chat.react", { messageId, emoji: "flag_fr" });

  expect([first.status, second.status]).toEqual([200, 200]);
  const message = await server.parley.services.deps.db.messages.findOne({ _id: messageId });
  expect(Object.keys(message?.reactions ?? {})).toEqual([":+1:", ":flag_fr:"]);
});

test("rooms.saveRoomSettings refuses system message types Rocket.Chat does not know", async () => {
  const res = await post("rooms.saveRoomSettings", { rid, systemMessages: ["a"] });
  const known = await post("rooms.saveRoomSettings", { rid, systemMessages: ["uj", "ul"] });

  expect(res.status).toBe(400);
  expect(res.body).toMatchObject({ success: false, errorType: "error-invalid-settings" });
  expect(known.status).toBe(200);
  expect((await server.parley.services.rooms.byId(rid))?.sysMes).toEqual(["uj", "ul"]);
});

test("chat.sendMessage and chat.postMessage refuse attachments that are not objects", async () => {
  const res = await post("chat.sendMessage", { message: { rid, msg: "x", attachments: ["a"] } });

  const posted = await post("chat.postMessage", { roomId: rid, text: "x", attachments: ["a"] });

  for (const answer of [res, posted]) {
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ success: false, errorType: "invalid-params" });
  }
  expect(await server.parley.services.deps.db.messages.findOne({ msg: "x" })).toBeNull();
});

test("chat.postMessage refuses a tshow that is not a boolean", async () => {
  const res = await post("chat.postMessage", {
    roomId: rid,
    text: "tshow check",
    tmid: msgId,
    tshow: { $ne: null },
  });

  expect(res.status).toBe(400);
  expect(res.body.success).toBe(false);
  expect(await server.parley.services.deps.db.messages.findOne({ msg: "tshow check" })).toBeNull();
});

test("rooms.createDiscussion refuses a name with control characters", async () => {
  const res = await post("rooms.createDiscussion", { prid: rid, t_name: "\u0000" });
  const tab = await post("rooms.createDiscussion", { prid: rid, t_name: "a\tb" });

  for (const answer of [res, tab]) {
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ success: false, errorType: "error-invalid-arguments" });
  }
  expect(await server.parley.services.deps.db.rooms.findOne({ prid: rid })).toBeNull();
});

test("a body nested thousands of levels deep is refused as an invalid body, not a 500", async () => {
  const deep = `${"[".repeat(5000)}${"]".repeat(5000)}`;

  const res = await api(server, "users.setPreferences", {
    auth: alice.credentials,
    body: `{"data":{"highlights":${deep}}}`,
  });

  expect(res.status).toBe(400);
  expect(res.body).toEqual({ success: false, error: "Invalid request body" });
});

/** Sends `head` (a request line and headers) on a raw connection; answers what came back. */
async function raw(head: string): Promise<string> {
  const { port } = new URL(server.url);
  const socket = connect(Number(port), "127.0.0.1");
  let answer = "";
  socket.on("data", (data) => {
    answer += data.toString();
  });
  await new Promise<void>((resolve, reject) => {
    socket.on("connect", () => socket.end(head));
    socket.on("close", () => resolve());
    socket.on("error", reject);
  });
  return answer;
}

test("a Host header that makes no URL answers 400, never a page of the server's internals", async () => {
  const answers = await Promise.all(
    [
      "GET /api/info HTTP/1.0\r\n\r\n",
      "GET /api/info HTTP/1.1\r\nHost: a b\r\nConnection: close\r\n\r\n",
    ].map(raw),
  );

  for (const answer of answers) {
    expect(answer.split("\r\n")[0]).toBe("HTTP/1.1 400 Bad Request");
    expect(answer).not.toContain(process.cwd());
  }
});

test("a host name of fewer than four characters reaches the routes", async () => {
  const answer = await raw("GET /api/info HTTP/1.1\r\nHost: app\r\nConnection: close\r\n\r\n");

  expect(answer.split("\r\n")[0]).toBe("HTTP/1.1 200 OK");
  expect(answer).toContain('"success":true');
});
