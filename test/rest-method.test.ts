import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Room } from "../core/models.ts";
import { parseEJSON, stringifyEJSON } from "../core/ejson.ts";
import { api, type Credentials, startTestServer, type TestServer } from "./helpers.ts";
import { addPerson, addRoom, type Person } from "./fixtures/people.ts";

let server: TestServer;
let alice: Person;
let carol: Person;
let group: Room;

beforeAll(async () => {
  server = await startTestServer();
  [alice, carol] = [await addPerson(server), await addPerson(server)];
  group = await addRoom(server, "p", alice);
});

afterAll(() => server.stop());

/** Calls `method` through the tunnel and returns the HTTP answer and the parsed result frame. */
async function tunnel(
  path: "method.call" | "method.callAnon",
  method: string,
  params: unknown[],
  auth?: Credentials,
) {
  const message = stringifyEJSON({ msg: "method", method, params, id: "42" });
  const res = await api(server, `${path}/${method}`, { body: { message }, ...(auth && { auth }) });
  return {
    res,
    frame: res.body.success === true ? (parseEJSON(res.body.message) as Record<string, any>) : null,
  };
}

describe("method.callAnon", () => {
  test("logs in and answers the id, token and expiry as an EJSON result", async () => {
    const { res, frame } = await tunnel("method.callAnon", "login", [
      { user: { username: alice.user.username }, password: "rocket.chat" },
    ]);

    expect(res.status).toBe(200);
    expect(res.body.success).toBe(true);
    expect(frame).toEqual({
      msg: "result",
      id: "42",
      result: {
        id: alice.user._id,
        token: expect.any(String),
        tokenExpires: expect.any(Date),
        type: "password",
      },
    });
    expect(res.body.message).toContain('"tokenExpires":{"$date":');
  });

  test("answers a failed login inside the message, still with HTTP 200", async () => {
    const { res, frame } = await tunnel("method.callAnon", "login", [
      { user: { username: alice.user.username }, password: "wrong" },
    ]);

    expect(res.status).toBe(200);
    expect(frame?.error).toMatchObject({
      isClientSafe: true,
      errorType: "Meteor.Error",
      error: 403,
    });
  });

  test("runs as nobody: a method that needs a user answers error-invalid-user", async () => {
    const { frame } = await tunnel(
      "method.callAnon",
      "sendMessage",
      [{ rid: group._id, msg: "x" }],
      alice.credentials,
    );

    expect(frame?.error).toEqual({
      isClientSafe: true,
      error: "error-invalid-user",
      reason: "Invalid user",
      message: "Invalid user [error-invalid-user]",
      errorType: "Meteor.Error",
      details: { method: "sendMessage" },
    });
  });
});

describe("method.call", () => {
  test("runs a method as the caller and writes dates as $date", async () => {
    const params = [{ rid: group._id, msg: "tunnelled" }];

    const { res, frame } = await tunnel("method.call", "sendMessage", params, alice.credentials);

    expect(res.status).toBe(200);
    expect(res.body).toEqual({ success: true, message: expect.stringContaining('"ts":{"$date":') });
    expect(frame?.result).toMatchObject({
      rid: group._id,
      msg: "tunnelled",
      u: { _id: alice.user._id },
      ts: expect.any(Date),
    });
  });

  test("answers an unknown method with Meteor's 404 error inside the message", async () => {
    const { res, frame } = await tunnel("method.call", "noSuchMethod", [], alice.credentials);

    expect(res.status).toBe(200);
    expect(frame).toEqual({
      msg: "result",
      id: "42",
      error: {
        isClientSafe: true,
        error: 404,
        reason: "Method 'noSuchMethod' not found",
        message: "Method 'noSuchMethod' not found [404]",
        errorType: "Meteor.Error",
      },
    });
  });

  test("carries a method's refusal in Meteor's shape: a non-member cannot post to a private group", async () => {
    const { frame } = await tunnel(
      "method.call",
      "sendMessage",
      [{ rid: group._id, msg: "x" }],
      carol.credentials,
    );

    expect(frame?.error).toMatchObject({
      error: "error-not-allowed",
      errorType: "Meteor.Error",
      details: { method: "sendMessage" },
    });
  });

  test("answers 401 without credentials", async () => {
    const { res } = await tunnel("method.call", "sendMessage", [{ rid: group._id, msg: "x" }]);

    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({
      success: false,
      status: "error",
      error: "You must be logged in to do this.",
    });
  });

  test("refuses a message that is not an EJSON method call", async () => {
    const res = await api(server, "method.call/login", {
      auth: alice.credentials,
      body: { message: "{not json" },
    });

    expect(res.status).toBe(400);
    expect(res.body).toEqual({ success: false, error: "Invalid method call" });
  });

  test("rejects a message that is not a string with 400", async () => {
    const res = await api(server, "method.call/login", {
      auth: alice.credentials,
      body: { message: { $gt: "" } },
    });

    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ success: false, errorType: "invalid-params" });
  });
});
