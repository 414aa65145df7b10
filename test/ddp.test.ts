/**
 * DDP over /websocket, spoken by a raw client over a real WebSocket: the handshake,
 * heartbeats, frames the server cannot use, login and logout, and faults in a handler.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Clients, closed, rawFrames, type SeededUser, seedUser, sha256 } from "./ddp-helpers.ts";
import { api, startTestServer, type TestServer } from "./helpers.ts";

const INTERNAL_ERROR = {
  isClientSafe: true,
  error: 500,
  reason: "Internal server error",
  message: "Internal server error [500]",
  errorType: "Meteor.Error",
};

let server: TestServer;
const clients = new Clients();

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  clients.closeAll();
  await server.stop();
});

describe("DDP handshake", () => {
  test("a new socket gets server_id, and connect is answered with connected and a session id", async () => {
    const { socket, next } = await clients.socket(server);

    const greeting = await next();
    socket.send(JSON.stringify({ msg: "connect", version: "1", support: ["1", "pre2", "pre1"] }));
    const answer = JSON.parse(await next());

    expect(greeting).toBe('{"server_id":"0"}');
    expect(answer).toEqual({ msg: "connected", session: expect.stringMatching(/^\w{17}$/) });
  });

  test("an unsupported protocol version is answered with failed and the socket is closed", async () => {
    const { socket, next } = await clients.socket(server);
    await next();
    const closing = closed(socket);

    socket.send(JSON.stringify({ msg: "connect", version: "99", support: ["99"] }));

    expect(JSON.parse(await next())).toEqual({ msg: "failed", version: "1" });
    expect((await closing).code).toBe(1002);
  });

  test("a first frame other than connect closes the socket with a protocol error", async () => {
    const { socket, next } = await clients.socket(server);
    await next();
    const closing = closed(socket);

    socket.send(JSON.stringify({ msg: "method", method: "rooms/get", params: [], id: "1" }));

    expect((await closing).code).toBe(1002);
  });

  test("malformed JSON is answered with Bad request and the socket stays open", async () => {
    const client = await clients.connect(server);

    client.socket.send("{this is not json");
    const error = await client.waitFor((f) => f.msg === "error");
    client.send({ msg: "ping", id: "after" });
    const pong = await client.waitFor((f) => f.msg === "pong");

    expect(error).toEqual({ msg: "error", reason: "Bad request" });
    expect(pong).toEqual({ msg: "pong", id: "after" });
  });

  test("a frame of unknown type is answered with Bad request naming the frame", async () => {
    const client = await clients.connect(server);

    client.send({ msg: "dance", id: "x" });

    expect(await client.waitFor((f) => f.msg === "error")).toEqual({
      msg: "error",
      reason: "Bad request",
      offendingMessage: { msg: "dance", id: "x" },
    });
  });

  test("a second connect on an open session is answered with Already connected", async () => {
    const client = await clients.connect(server);

    client.send({ msg: "connect", version: "1", support: ["1"] });

    expect(await client.waitFor((f) => f.msg === "error")).toEqual({
      msg: "error",
      reason: "Already connected",
      offendingMessage: { msg: "connect", version: "1", support: ["1"] },
    });
  });
});

describe("DDP heartbeats", () => {
  test("a ping with an id is answered with a pong echoing it", async () => {
    const client = await clients.connect(server);
    const raw = rawFrames(client);

    client.send({ msg: "ping", id: "p-1" });
    await client.waitFor((f) => f.msg === "pong");

    expect(raw).toEqual(['{"msg":"pong","id":"p-1"}']);
  });

  test("a ping without an id is answered with a bare pong", async () => {
    const client = await clients.connect(server);
    const raw = rawFrames(client);

    client.send({ msg: "ping" });
    await client.waitFor((f) => f.msg === "pong");

    expect(raw).toEqual(['{"msg":"pong"}']);
  });

  test("an idle client is pinged and closed with 4000 TIMEOUT when it does not answer", async () => {
    const quick = await startTestServer({ pingMs: 20, timeoutMs: 20 });
    try {
      const { socket, next } = await clients.socket(quick);
      await next();
      socket.send(JSON.stringify({ msg: "connect", version: "1", support: ["1"] }));
      await next();
      const closing = closed(socket);

      const ping = JSON.parse(await next());
      const close = await closing;

      expect(ping).toEqual({ msg: "ping" });
      expect({ code: close.code, reason: close.reason }).toEqual({ code: 4000, reason: "TIMEOUT" });
    } finally {
      await quick.stop();
    }
  });
});

describe("DDP login", () => {
  let user: SeededUser;

  beforeAll(async () => {
    user = await seedUser(server, "login");
  });

  test("a resume token logs in and the answer carries tokenExpires as $date", async () => {
    const client = await clients.connect(server);
    const raw = rawFrames(client);

    const answer = await client.resume(user.credentials.authToken);

    expect(answer.result).toEqual({
      id: user._id,
      token: user.credentials.authToken,
      tokenExpires: expect.any(Date),
      type: "resume",
    });
    expect(raw[0]).toMatch(/"tokenExpires":\{"\$date":\d+\}/);
  });

  test("a SHA-256 password digest logs in with a new token that REST accepts", async () => {
    const client = await clients.connect(server);

    const answer = await client.call("login", {
      user: { username: user.username },
      password: { digest: sha256(user.password), algorithm: "sha-256" },
    });
    const { id, token } = answer.result as { id: string; token: string };
    const me = await api(server, "me", { auth: { userId: id, authToken: token } });

    const fresh = { token: expect.any(String), tokenExpires: expect.any(Date) };
    expect(answer.result).toEqual({ id: user._id, ...fresh, type: "password" });
    expect(token).not.toBe(user.credentials.authToken);
    expect(me.body.username).toBe(user.username);
  });

  test("a wrong password is refused with Meteor's 403 error", async () => {
    const client = await clients.connect(server);

    const answer = await client.call("login", {
      user: { username: user.username },
      password: { digest: sha256("not the password"), algorithm: "sha-256" },
    });

    expect(answer).toEqual({
      msg: "result",
      id: answer.id,
      error: {
        isClientSafe: true,
        error: 403,
        reason: "Incorrect password",
        message: "Incorrect password [403]",
        errorType: "Meteor.Error",
      },
    });
  });

  test("an unknown resume token is refused with 403 logged out by the server", async () => {
    const client = await clients.connect(server);

    const answer = await client.resume("no-such-token");

    expect(answer.error).toEqual({
      isClientSafe: true,
      error: 403,
      reason: "You've been logged out by the server. Please log in again.",
      message: "You've been logged out by the server. Please log in again. [403]",
      errorType: "Meteor.Error",
    });
  });

  test("a method that needs a user is refused with error-invalid-user before login", async () => {
    const client = await clients.connect(server);

    const answer = await client.call("sendMessage", { rid: "GENERAL", msg: "anonymous" });

    expect(answer.error).toEqual({
      isClientSafe: true,
      error: "error-invalid-user",
      reason: "Invalid user",
      message: "Invalid user [error-invalid-user]",
      errorType: "Meteor.Error",
      details: { method: "sendMessage" },
    });
  });
});

describe("DDP logout", () => {
  test("logout ends the user's subscriptions and voids the token", async () => {
    const user = await seedUser(server, "logout");
    const client = await clients.connect(server, user);
    const sub = await client.sub("stream-notify-user", `${user._id}/rooms-changed`, false);

    const answer = await client.call("logout");
    const nosub = await client.waitFor(
      (f) => f.msg === "nosub" && f.id === (sub.subs as string[])[0],
    );
    const rest = await api(server, "me", { auth: user.credentials });
    const after = await client.call("sendMessage", { rid: "GENERAL", msg: "after logout" });

    expect(answer).toEqual({ msg: "result", id: answer.id });
    expect(nosub).toEqual({ msg: "nosub", id: (sub.subs as string[])[0] });
    expect(rest.status).toBe(401);
    expect((after.error as { error: string }).error).toBe("error-invalid-user");
  });

  test("logging out one session closes the other sockets that used the same token", async () => {
    const user = await seedUser(server, "logout2");
    const first = await clients.connect(server, user);
    const second = await clients.connect(server, user);
    const closing = closed(second.socket);

    await first.call("logout");

    expect((await closing).code).toBe(1000);
  });
});

describe("DDP faults", () => {
  test("a handler that throws is answered with an internal error and the session keeps serving", async () => {
    const faulty = await startTestServer({
      sessionHandle: (real) => async (input) => {
        if (input.message.method === "explode") throw new TypeError("boom");
        return real(input);
      },
    });
    try {
      const user = await seedUser(faulty, "fault");
      const client = await clients.connect(faulty, user);

      const failed = await client.call("explode");
      const next = await client.call("sendMessage", { rid: "GENERAL", msg: "still here" });

      expect(failed).toEqual({ msg: "result", id: failed.id, error: INTERNAL_ERROR });
      expect((next.result as { msg: string }).msg).toBe("still here");
    } finally {
      await faulty.stop();
    }
  });
});
