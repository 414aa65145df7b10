/**
 * How access ends on a DDP socket, over real WebSockets: a login as another user ends what
 * the previous one could read, and a kick or a logout takes effect at once, even while
 * the socket's own calls are still running or a subscription is still being authorized.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  Clients,
  closed,
  eventsSeen,
  fence,
  HeldMessages,
  type SeededUser,
  seedUser,
} from "./ddp-helpers.ts";
import {
  api,
  type Credentials,
  login,
  type RawDdp,
  startTestServer,
  type TestServer,
} from "./helpers.ts";

let server: TestServer;
const held = new HeldMessages();
const clients = new Clients();
let alice: SeededUser;
let bob: SeededUser;
let carol: SeededUser;
let ddpAlice: RawDdp;

beforeAll(async () => {
  server = await startTestServer({ sessionHandle: held.wrap });
  alice = await seedUser(server, "alice");
  bob = await seedUser(server, "bob");
  carol = await seedUser(server, "carol");
  ddpAlice = await clients.connect(server, alice);
});

afterAll(async () => {
  clients.closeAll();
  await server.stop();
});

/** Alice's new private group with bob in it; resolves to its id. */
async function groupWithBob(): Promise<string> {
  const name = `revoke-${crypto.randomUUID().slice(0, 8)}`;
  const answer = await ddpAlice.call("createPrivateGroup", name, [bob.username]);
  return (answer.result as { rid: string }).rid;
}

/** Subscribes `client` and resolves to the subscription's id, failing unless it is ready. */
async function subscribe(client: RawDdp, name: string, eventName: string): Promise<string> {
  const answer = await client.sub(name, eventName, false);
  if (answer.msg !== "ready") throw new Error(`${name} ${eventName}: ${JSON.stringify(answer)}`);
  return (answer.subs as string[])[0] as string;
}

async function kickBob(rid: string): Promise<void> {
  const answer = await ddpAlice.call("removeUserFromRoom", { rid, username: bob.username });
  if (answer.error) throw new Error(`kick failed: ${JSON.stringify(answer.error)}`);
}

async function say(rid: string, msg: string): Promise<void> {
  const answer = await ddpAlice.call("sendMessage", { rid, msg });
  if (answer.error) throw new Error(`sendMessage failed: ${JSON.stringify(answer.error)}`);
}

/** Sends a method frame with id `id` without waiting for its answer. */
function callWithId(client: RawDdp, id: string, method: string, ...params: unknown[]): void {
  client.send({ msg: "method", id, method, params });
}

function nosubs(client: RawDdp): unknown[] {
  return client.frames.filter((f) => f.msg === "nosub");
}

describe("a login as another user on the same socket", () => {
  test("ends the previous user's subscriptions with nosub", async () => {
    const rid = await groupWithBob();
    const socket = await clients.connect(server, bob);
    const room = await subscribe(socket, "stream-room-messages", rid);
    const notices = await subscribe(socket, "stream-notify-user", `${bob._id}/notification`);

    const login = await socket.resume(carol.credentials.authToken);

    expect(login.error).toBeUndefined();
    expect(nosubs(socket)).toEqual([
      { msg: "nosub", id: room },
      { msg: "nosub", id: notices },
    ]);
  });

  test("stops the previous user's group messages", async () => {
    const rid = await groupWithBob();
    const socket = await clients.connect(server, bob);
    await subscribe(socket, "stream-room-messages", rid);

    await socket.resume(carol.credentials.authToken);
    await say(rid, "not for carol");
    await fence(socket);

    expect(eventsSeen(socket, "stream-room-messages", rid)).toEqual([]);
  });

  test("keeps the subscriptions of a login as the same user", async () => {
    const rid = await groupWithBob();
    const socket = await clients.connect(server, bob);
    await subscribe(socket, "stream-room-messages", rid);

    await socket.resume(bob.credentials.authToken);
    await say(rid, "still for bob");

    const [message] = await socket.streamEvent("stream-room-messages", rid);
    expect(message).toMatchObject({ rid, msg: "still for bob" });
  });

  test("a kick of the previous user reaches the socket while the new login is still running", async () => {
    const rid = await groupWithBob();
    const socket = await clients.connect(server, bob);
    const room = await subscribe(socket, "stream-room-messages", rid);
    const login = held.hold("login-as-carol");

    callWithId(socket, "login-as-carol", "login", { resume: carol.credentials.authToken });
    await login.reached;
    await kickBob(rid);
    await say(rid, "after the kick");
    await fence(socket);
    login.release();

    expect(nosubs(socket)).toEqual([{ msg: "nosub", id: room }]);
    expect(eventsSeen(socket, "stream-room-messages", rid)).toEqual([]);
  });
});

describe("revocation while the socket's own calls are still running", () => {
  test("a kicked member stops receiving the group at once", async () => {
    const rid = await groupWithBob();
    const socket = await clients.connect(server, bob);
    const room = await subscribe(socket, "stream-room-messages", rid);
    const slow = held.hold("slow-call");

    callWithId(socket, "slow-call", "rooms/get");
    callWithId(socket, "queued-call", "rooms/get");
    await slow.reached;
    await kickBob(rid);
    await say(rid, "after the kick");
    await fence(socket);
    slow.release();

    expect(nosubs(socket)).toEqual([{ msg: "nosub", id: room }]);
    expect(eventsSeen(socket, "stream-room-messages", rid)).toEqual([]);
  });

  test("a subscription authorized before a kick but finishing after it is answered with nosub", async () => {
    const rid = await groupWithBob();
    const socket = await clients.connect(server, bob);
    const authorized = held.hold("late-sub");

    socket.send({ msg: "sub", id: "late-sub", name: "stream-room-messages", params: [rid, false] });
    await authorized.reached;
    await kickBob(rid);
    authorized.release();
    await socket.waitFor((f) => f.id === "late-sub" || (f.subs as string[])?.includes("late-sub"));
    await say(rid, "after the kick");
    await fence(socket);

    const answers = socket.frames.filter(
      (f) => f.id === "late-sub" || (f.subs as string[] | undefined)?.includes("late-sub"),
    );
    expect(answers).toEqual([{ msg: "nosub", id: "late-sub" }]);
    expect(eventsSeen(socket, "stream-room-messages", rid)).toEqual([]);
  });

  test("a logout of the socket's token closes it at once", async () => {
    const user = await seedUser(server, "logout");
    const socket = await clients.connect(server, user);
    const closing = closed(socket.socket);
    const slow = held.hold("slow-before-logout");

    callWithId(socket, "slow-before-logout", "rooms/get");
    await slow.reached;
    await api(server, "logout", { method: "POST", auth: user.credentials });
    const close = await closing;
    slow.release();

    expect({ code: close.code, reason: close.reason }).toEqual({
      code: 1000,
      reason: "Logged out",
    });
  });
});

describe("a revocation while the socket's login is still running", () => {
  /** Bob's status as an administrator reads it. */
  async function statusOf(user: SeededUser): Promise<unknown> {
    const res = await api(server, "users.getStatus", {
      auth: server.admin,
      query: { userId: user._id },
    });
    return res.body.status;
  }

  /** A fresh socket whose resume login by `user` is held after its token was checked. */
  async function heldLogin(user: SeededUser, id: string) {
    const socket = await clients.connect(server);
    const login = held.hold(id);
    callWithId(socket, id, "login", { resume: user.credentials.authToken });
    await login.reached;
    return { socket, login };
  }

  test("a logout of the token closes the socket and leaves the user offline", async () => {
    const user = await seedUser(server, "gap-logout");
    const { socket, login } = await heldLogin(user, "login-then-logout");
    const closing = closed(socket.socket);

    await api(server, "logout", { method: "POST", auth: user.credentials });
    login.release();
    const close = await closing;

    expect({ code: close.code, reason: close.reason }).toEqual({
      code: 1000,
      reason: "Logged out",
    });
    expect(socket.frames.filter((f) => f.id === "login-then-logout")).toEqual([]);
    expect(await statusOf(user)).toBe("offline");
  });

  test("a deactivation of the user closes the socket", async () => {
    const user = await seedUser(server, "gap-deactivate");
    const { socket, login } = await heldLogin(user, "login-then-deactivate");
    const closing = closed(socket.socket);

    const res = await api(server, "users.setActiveStatus", {
      method: "POST",
      auth: server.admin,
      body: { userId: user._id, activeStatus: false },
    });
    login.release();
    const close = await closing;

    expect(res.status).toBe(200);
    expect({ code: close.code, reason: close.reason }).toEqual({
      code: 1000,
      reason: "Logged out",
    });
    expect(await statusOf(user)).toBe("offline");
  });

  test("a logout just after the token was checked refuses the login", async () => {
    const user = await seedUser(server, "gap-early");
    const accounts = server.parley.services.accounts;
    const real = accounts.loginWithToken;
    // The logout lands after the token was found valid and before the socket hears the user.
    accounts.loginWithToken = async (token) => {
      const result = await real.call(accounts, token);
      await api(server, "logout", { method: "POST", auth: user.credentials });
      return result;
    };
    const socket = await clients.connect(server);

    const answer = await socket.resume(user.credentials.authToken).finally(() => {
      accounts.loginWithToken = real;
    });
    const send = await socket.call("sendMessage", { rid: "GENERAL", msg: "not logged in" });

    expect(answer.error).toEqual({
      isClientSafe: true,
      error: 403,
      reason: "You've been logged out by the server. Please log in again.",
      message: "You've been logged out by the server. Please log in again. [403]",
      errorType: "Meteor.Error",
    });
    expect(send.error).toMatchObject({ error: "error-invalid-user" });
    expect(await statusOf(user)).toBe("offline");
  });
});

describe("ending one's other logins", () => {
  /** A user with a DDP socket on one login and REST credentials of another. */
  async function twoLogins(prefix: string) {
    const user = await seedUser(server, prefix);
    const other = await clients.connect(server, user);
    const second = await login(server, user.username, user.password);
    return { user, other, second };
  }

  /** Whether REST accepts `credentials`. */
  async function accepted(credentials: Credentials): Promise<boolean> {
    return (await api(server, "me", { auth: credentials })).status === 200;
  }

  test("users.logoutOtherClients closes the other sessions and answers the caller's token", async () => {
    const { user, other, second } = await twoLogins("rest-others");
    const closing = closed(other.socket);

    const res = await api(server, "users.logoutOtherClients", { method: "POST", auth: second });
    const close = await closing;

    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      token: second.authToken,
      tokenExpires: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      success: true,
    });
    expect({ code: close.code, reason: close.reason }).toEqual({
      code: 1000,
      reason: "Logged out",
    });
    expect(await accepted(user.credentials)).toBe(false);
    expect(await accepted(second)).toBe(true);
  });

  test("users.removeOtherTokens closes the other sessions and keeps the caller's", async () => {
    const { user, other, second } = await twoLogins("rest-tokens");
    const closing = closed(other.socket);

    const res = await api(server, "users.removeOtherTokens", { method: "POST", auth: second });
    const close = await closing;

    expect({ status: res.status, body: res.body }).toEqual({
      status: 200,
      body: { success: true },
    });
    expect(close.reason).toBe("Logged out");
    expect(await accepted(user.credentials)).toBe(false);
    expect(await accepted(second)).toBe(true);
  });

  test("the removeOtherTokens method closes the other sessions and keeps the caller's socket", async () => {
    const { user, other, second } = await twoLogins("ddp-tokens");
    const caller = await clients.connect(server);
    await caller.resume(second.authToken);
    const closing = closed(other.socket);

    const answer = await caller.call("removeOtherTokens");
    const close = await closing;
    const after = await caller.call("rooms/get");

    expect(answer).toEqual({ msg: "result", id: answer.id });
    expect(close.reason).toBe("Logged out");
    expect(after.error).toBeUndefined();
    expect(await accepted(user.credentials)).toBe(false);
    expect(await accepted(second)).toBe(true);
  });

  test("the logoutOtherClients method closes the other sessions and answers a new token", async () => {
    const { user, other, second } = await twoLogins("ddp-others");
    const caller = await clients.connect(server);
    await caller.resume(second.authToken);
    const closing = closed(other.socket);

    const answer = await caller.call("logoutOtherClients");
    const close = await closing;
    const fresh = answer.result as { token: string; tokenExpires: Date };
    const relogin = await (await clients.connect(server)).resume(fresh.token);

    expect(fresh).toEqual({ token: expect.any(String), tokenExpires: expect.any(Date) });
    expect(close.reason).toBe("Logged out");
    expect(relogin.result).toMatchObject({ id: user._id, token: fresh.token });
    expect(await accepted(user.credentials)).toBe(false);
    expect(await accepted(second)).toBe(true);
  });

  test("an anonymous caller is refused as Meteor refuses it", async () => {
    const anonymous = await clients.connect(server);

    const answers = [
      await anonymous.call("removeOtherTokens"),
      await anonymous.call("logoutOtherClients"),
    ];

    const refusal = {
      isClientSafe: true,
      error: "You are not logged in.",
      message: "[You are not logged in.]",
      errorType: "Meteor.Error",
    };
    expect(answers.map((a) => a.error)).toEqual([refusal, refusal]);
  });
});
