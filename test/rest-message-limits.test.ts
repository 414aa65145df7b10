/**
 * Hostile and oversized input over REST: structures the store cannot hold, nesting and
 * sizes beyond Parley's limits. Each is refused with a 400 in Rocket.Chat's shape before
 * it reaches a room actor, so no member can crash or quarantine a room with it.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Room } from "../core/models.ts";
import { MAX_REQUEST_BODY_BYTES } from "../server.ts";
import { api, startTestServer, type TestServer } from "./helpers.ts";
import { addPerson, addRoom, type Person } from "./fixtures/people.ts";

let server: TestServer;
let alice: Person;
let channel: Room;

beforeAll(async () => {
  server = await startTestServer();
  alice = await addPerson(server);
  channel = await addRoom(server, "c", alice);
});

afterAll(() => server.stop());

/** Posts a raw JSON body to chat.postMessage as alice. */
function postRaw(json: string) {
  return api(server, "chat.postMessage", { auth: alice.credentials, body: json });
}

function postAttachments(attachments: unknown) {
  const body = { roomId: channel._id, text: "look", attachments };
  return api(server, "chat.postMessage", { auth: alice.credentials, body });
}

function invalidParams(reason: string, field: string) {
  return {
    success: false,
    error: `${reason} [error-invalid-params]`,
    errorType: "error-invalid-params",
    details: { field },
  };
}

describe("free-form structures", () => {
  test("an attachment key that starts with $ is refused", async () => {
    const res = await postAttachments([{ $x: 1 }]);

    expect(res.status).toBe(400);
    expect(res.body).toEqual(
      invalidParams("Key '$x' at attachments.0 may not start with '$'", "attachments"),
    );
  });

  test("an attachment key that contains a dot is refused", async () => {
    const res = await postAttachments([{ title: "t", fields: [{ "a.b": 1 }] }]);

    expect(res.status).toBe(400);
    expect(res.body).toEqual(
      invalidParams("Key 'a.b' at attachments.0.fields.0 may not contain '.'", "attachments"),
    );
  });

  test("an attachment key named __proto__ is refused", async () => {
    const json = `{"roomId":"${channel._id}","text":"x","attachments":[{"__proto__":{"a":1}}]}`;

    const res = await postRaw(json);

    expect(res.status).toBe(400);
    expect(res.body).toEqual(
      invalidParams("Key '__proto__' at attachments.0 is reserved", "attachments"),
    );
  });

  test("attachments nested 20,000 levels deep are refused", async () => {
    const deep = `${'{"a":'.repeat(20_000)}1${"}".repeat(20_000)}`;
    const json = `{"roomId":"${channel._id}","text":"x","attachments":[{"b":${deep}}]}`;

    const res = await postRaw(json);

    expect(res.status).toBe(400);
    expect(res.body).toEqual(
      invalidParams("attachments nests deeper than 32 levels", "attachments"),
    );
  });

  test("a room keeps serving after more refused messages than its restart limit", async () => {
    for (let i = 0; i < 7; i++) expect((await postAttachments([{ $x: i }])).status).toBe(400);

    const res = await postAttachments([{ title: "fine" }]);

    expect(res.status).toBe(200);
  });

  test("a group's custom fields with a $ key are refused", async () => {
    const body = { name: `fields-${Date.now()}`, customFields: { nested: { $set: 1 } } };

    const res = await api(server, "groups.create", { auth: alice.credentials, body });

    expect(res.status).toBe(400);
    expect(res.body).toEqual(
      invalidParams("Key '$set' at customFields.nested may not start with '$'", "customFields"),
    );
  });
});

describe("sizes", () => {
  test("attachments over 65,536 characters are refused", async () => {
    // Each text stays under Message_MaxAllowedSize; together they pass the limit.
    const attachments = Array.from({ length: 20 }, () => ({
      title: "big",
      text: "x".repeat(4000),
    }));

    const res = await postAttachments(attachments);

    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      success: false,
      error: "Message attachments exceed 65536 characters [error-message-size-exceeded]",
      errorType: "error-message-size-exceeded",
      details: { method: "sendMessage", field: "attachments" },
    });
  });

  test.each([
    ["longer than 64 characters", "m".repeat(65)],
    ["empty", ""],
    ["with a NUL character", "abc\u0000def"],
    ["with a lone surrogate", "abc\ud800def"],
  ])("a message _id %s is refused", async (_case, _id) => {
    const body = { message: { _id, rid: channel._id, msg: "hi" } };

    const res = await api(server, "chat.sendMessage", { auth: alice.credentials, body });

    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      success: false,
      error: "_id must be 1 to 64 characters without control characters [error-invalid-params]",
      errorType: "error-invalid-params",
      details: { method: "sendMessage", field: "_id" },
    });
  });

  test.each([
    ["alias", 257],
    ["emoji", 65],
    ["avatar", 2049],
    ["tmid", 65],
  ])("a message %s longer than its limit is refused", async (field, length) => {
    const body = { message: { rid: channel._id, msg: "hi", [field]: "a".repeat(length) } };

    const res = await api(server, "chat.sendMessage", { auth: alice.credentials, body });

    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ errorType: "error-invalid-params", details: { field } });
  });

  test("a room name of 100,000 characters is refused without being echoed whole", async () => {
    const name = "n".repeat(100_000);

    const res = await api(server, "channels.create", { auth: alice.credentials, body: { name } });

    expect(res.status).toBe(400);
    const shown = `${"n".repeat(100)}…`;
    expect(res.body).toEqual({
      success: false,
      error: `${shown} is not a valid room name. [error-invalid-room-name]`,
      errorType: "error-invalid-room-name",
      details: { function: "RocketChat.createRoom", channel_name: shown },
    });
  });

  test("a request body over the limit is refused with 413", async () => {
    const text = "x".repeat(MAX_REQUEST_BODY_BYTES);

    const res = await api(server, "chat.postMessage", {
      auth: alice.credentials,
      body: { roomId: channel._id, text },
    });

    expect(res.status).toBe(413);
  });
});
