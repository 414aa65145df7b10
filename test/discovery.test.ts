import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { api, type Credentials, createUser, startTestServer, type TestServer } from "./helpers.ts";

type TestUser = { user: { _id: string; username: string }; credentials: Credentials };

let server: TestServer;
let alice: TestUser;
let bob: TestUser;
let outsider: TestUser;
let tag: string;
let open: { _id: string; name: string };
let secret: { _id: string; name: string };

beforeAll(async () => {
  server = await startTestServer();
  tag = `zq${crypto.randomUUID().slice(0, 6)}`;
  alice = await createUser(server, { username: `${tag}.alice`, name: "Alice Liddell" });
  bob = await createUser(server, { username: `${tag}.bob`, name: "Bob Builder" });
  outsider = await createUser(server, { username: `${tag}.outsider`, name: "Olive Outsider" });
  const channel = await api(server, "channels.create", {
    auth: alice.credentials,
    body: { name: `${tag}-lobby` },
  });
  open = channel.body.channel;
  const groupRes = await api(server, "groups.create", {
    auth: alice.credentials,
    body: { name: `${tag}-secret`, members: [bob.user.username] },
  });
  secret = groupRes.body.group;
});

afterAll(async () => {
  await server.stop();
});

function spotlight(who: TestUser, query: string) {
  return api(server, "spotlight", { auth: who.credentials, query: { query } });
}

function directory(who: TestUser, query: Record<string, string>) {
  return api(server, "directory", { auth: who.credentials, query });
}

describe("spotlight", () => {
  test("finds a user by exact username first, marked as outside", async () => {
    const res = await spotlight(outsider, `@${bob.user.username}`);

    expect(res.body).toEqual({
      success: true,
      users: [
        {
          _id: bob.user._id,
          username: bob.user.username,
          name: "Bob Builder",
          status: "offline",
          outside: true,
        },
      ],
      rooms: [],
    });
  });

  test("finds a public channel the caller has not joined by part of its name", async () => {
    const res = await spotlight(outsider, `#${tag}-lob`);

    expect(res.body.users).toEqual([]);
    expect(res.body.rooms).toEqual([{ _id: open._id, t: "c", name: open.name, fname: open.name }]);
  });

  test("never shows a private group, not even to its members", async () => {
    const byOutsider = await spotlight(outsider, `#${tag}-secret`);
    const byMember = await spotlight(bob, `#${tag}-secret`);

    expect(byOutsider.body.rooms).toEqual([]);
    expect(byMember.body.rooms).toEqual([]);
  });

  test("searches users and rooms at once for plain text", async () => {
    const res = await spotlight(outsider, tag);

    const usernames = res.body.users.map((u: { username: string }) => u.username);
    expect(usernames).toEqual([alice.user.username, bob.user.username, outsider.user.username]);
    expect(res.body.rooms.map((r: { _id: string }) => r._id)).toEqual([open._id]);
  });

  test("requires query in ajv's wording", async () => {
    const res = await api(server, "spotlight", { auth: alice.credentials });

    expect(res.status).toBe(400);
    expect(res.body.error).toBe("must have required property 'query' [invalid-params]");
  });
});

describe("directory", () => {
  test("lists channels with Rocket.Chat's fields, private groups only to members", async () => {
    const byMember = await directory(bob, { type: "channels", text: tag, sort: '{"name":1}' });
    const byOutsider = await directory(outsider, { type: "channels", text: tag });

    expect(byMember.body).toEqual({
      success: true,
      result: [
        {
          _id: open._id,
          t: "c",
          name: open.name,
          fname: open.name,
          ts: expect.any(String),
          default: false,
          usersCount: 1,
        },
        {
          _id: secret._id,
          t: "p",
          name: secret.name,
          fname: secret.name,
          ts: expect.any(String),
          default: false,
          usersCount: 2,
        },
      ],
      count: 2,
      offset: 0,
      total: 2,
    });
    expect(byOutsider.body.result.map((r: { _id: string }) => r._id)).toEqual([open._id]);
  });

  test("orders by name descending when no sort is given, as Rocket.Chat does", async () => {
    const res = await directory(bob, { type: "channels", text: tag });

    expect(res.body.result.map((r: { _id: string }) => r._id)).toEqual([secret._id, open._id]);
  });

  test("shows users without e-mail addresses to a non-administrator", async () => {
    const res = await directory(outsider, { type: "users", text: bob.user.username });

    expect(res.body.result).toEqual([
      {
        _id: bob.user._id,
        username: bob.user.username,
        name: "Bob Builder",
        createdAt: expect.any(String),
      },
    ]);
  });

  test("shows e-mail addresses to an administrator", async () => {
    const res = await directory(
      { user: alice.user, credentials: server.admin },
      {
        type: "users",
        text: bob.user.username,
      },
    );

    expect(res.body.result[0].emails).toEqual([
      { address: `${bob.user.username}@example.com`, verified: false },
    ]);
  });

  test("does not let a non-administrator find a user by e-mail address", async () => {
    const res = await directory(outsider, {
      type: "users",
      workspace: "all",
      text: `${bob.user.username}@example`,
    });

    expect(res.body.result).toEqual([]);
  });

  test("answers teams as an empty list", async () => {
    const res = await directory(alice, { type: "teams" });

    expect(res.body).toEqual({ success: true, result: [], count: 0, offset: 0, total: 0 });
  });

  test("refuses an unknown type", async () => {
    const res = await directory(alice, { type: "invalid" });

    expect(res.body).toEqual({ success: false, error: "Please verify the parameters" });
  });

  test("refuses more than one sort field", async () => {
    const res = await directory(alice, { type: "channels", sort: '{"name":1,"ts":1}' });

    expect(res.body).toEqual({
      success: false,
      error: 'This method support only one "sort" parameter',
    });
  });
});

describe("rooms.nameExists", () => {
  test("answers whether a room of that name exists, ignoring case", async () => {
    const taken = await api(server, "rooms.nameExists", {
      auth: outsider.credentials,
      query: { roomName: open.name.toUpperCase() },
    });
    const free = await api(server, "rooms.nameExists", {
      auth: outsider.credentials,
      query: { roomName: `${tag}-nothing` },
    });

    expect(taken.body).toEqual({ success: true, exists: true });
    expect(free.body).toEqual({ success: true, exists: false });
  });
});

describe("rooms.isMember", () => {
  test("answers whether a user is a member, by username or id", async () => {
    const yes = await api(server, "rooms.isMember", {
      auth: alice.credentials,
      query: { roomId: secret._id, username: bob.user.username },
    });
    const no = await api(server, "rooms.isMember", {
      auth: alice.credentials,
      query: { roomId: secret._id, userId: outsider.user._id },
    });

    expect(yes.body).toEqual({ success: true, isMember: true });
    expect(no.body).toEqual({ success: true, isMember: false });
  });

  test("answers the bare 403 to someone who cannot read the room", async () => {
    const res = await api(server, "rooms.isMember", {
      auth: outsider.credentials,
      query: { roomId: secret._id, username: bob.user.username },
    });

    expect(res.status).toBe(403);
    expect(res.body).toEqual({ success: false, error: "unauthorized" });
  });

  test("answers error-user-not-found for an unknown user", async () => {
    const res = await api(server, "rooms.isMember", {
      auth: alice.credentials,
      query: { roomId: open._id, username: "nobody-at-all" },
    });

    expect(res.body).toEqual({ success: false, error: "error-user-not-found" });
  });
});

describe("rooms.autocomplete.channelAndPrivate", () => {
  test("offers the caller's own channels and groups whose name starts with the text", async () => {
    const res = await api(server, "rooms.autocomplete.channelAndPrivate", {
      auth: bob.credentials,
      query: { selector: JSON.stringify({ name: tag }) },
    });

    expect(res.body).toEqual({
      success: true,
      items: [{ _id: secret._id, fname: secret.name, name: secret.name, t: "p" }],
    });
  });

  test("requires selector in Rocket.Chat's words", async () => {
    const res = await api(server, "rooms.autocomplete.channelAndPrivate", {
      auth: bob.credentials,
    });

    expect(res.body).toEqual({ success: false, error: "The 'selector' param is required" });
  });
});
