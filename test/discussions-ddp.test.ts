/**
 * Discussions and spotlight over DDP: the `createDiscussion` and `spotlight` methods, the
 * stream that carries a discussion's counters to the parent's listeners, and the setting
 * and permissions that switch discussions off.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Clients, type SeededUser, seedUser } from "./ddp-helpers.ts";
import { api, type RawDdp, startTestServer, type TestServer } from "./helpers.ts";

let server: TestServer;
const clients = new Clients();
let alice: SeededUser;
let bob: SeededUser;
let ddpAlice: RawDdp;
let ddpBob: RawDdp;
let parent: string;

async function createChannel(owner: RawDdp, members: string[]): Promise<string> {
  const name = `ddp-disc-${crypto.randomUUID().slice(0, 8)}`;
  const answer = await owner.call("createChannel", name, members);
  return (answer.result as { rid: string }).rid;
}

async function discussion(client: RawDdp, params: Record<string, unknown>) {
  const answer = await client.call("createDiscussion", params);
  if (answer.error) throw new Error(`createDiscussion failed: ${JSON.stringify(answer.error)}`);
  return answer.result as Record<string, unknown> & { _id: string; rid: string };
}

const notAllowed = {
  isClientSafe: true,
  error: "error-action-not-allowed",
  reason: "You are not allowed to create a discussion",
  message: "You are not allowed to create a discussion [error-action-not-allowed]",
  errorType: "Meteor.Error",
  details: { method: "createDiscussion" },
};

beforeAll(async () => {
  server = await startTestServer();
  alice = await seedUser(server, "alice");
  bob = await seedUser(server, "bob");
  ddpAlice = await clients.connect(server, alice);
  ddpBob = await clients.connect(server, bob);
  parent = await createChannel(ddpAlice, [bob.username]);
});

afterAll(async () => {
  clients.closeAll();
  await server.stop();
});

describe("createDiscussion", () => {
  test("answers the discussion with rid, dates as EJSON", async () => {
    const created = await discussion(ddpAlice, { prid: parent, t_name: "Over DDP" });

    expect(created).toMatchObject({
      rid: created._id,
      inserted: true,
      prid: parent,
      fname: "Over DDP",
      t: "c",
      usersCount: 1,
    });
    expect(created.ts).toBeInstanceOf(Date);
  });

  test("sends the parent's listeners the linking message as its counters change", async () => {
    await ddpBob.sub("stream-room-messages", parent, false);
    const created = await discussion(ddpAlice, { prid: parent, t_name: "Watched" });
    const drid = created._id;
    const linked = (args: unknown[]) => (args[0] as { drid?: string }).drid === drid;
    await ddpBob.streamEvent("stream-room-messages", parent, linked);

    await ddpAlice.call("sendMessage", { rid: drid, msg: "counted" });

    const [update] = await ddpBob.streamEvent(
      "stream-room-messages",
      parent,
      (args) => linked(args) && (args[0] as { dcount?: number }).dcount === 1,
    );
    expect(update).toMatchObject({ t: "discussion-created", drid, dcount: 1 });
    expect((update as { dlm: unknown }).dlm).toBeInstanceOf(Date);
  });

  test("answers Match failed for a parameter of the wrong type", async () => {
    const answer = await ddpAlice.call("createDiscussion", { prid: parent, t_name: 5 });

    expect(answer.error).toMatchObject({ error: 400, reason: "Match failed" });
  });

  test("answers error-invalid-user to an anonymous connection", async () => {
    const anonymous = await clients.connect(server);

    const answer = await anonymous.call("createDiscussion", { prid: parent, t_name: "x" });

    expect(answer.error).toMatchObject({ error: "error-invalid-user" });
  });
});

describe("switching discussions off", () => {
  test("Discussion_enabled off refuses new discussions", async () => {
    const { db } = server.parley.services.deps;
    await db.settings.updateOne({ _id: "Discussion_enabled" }, { $set: { value: false } });
    await server.parley.services.settings.reload();

    const answer = await ddpAlice.call("createDiscussion", { prid: parent, t_name: "off" });
    await db.settings.updateOne({ _id: "Discussion_enabled" }, { $set: { value: true } });
    await server.parley.services.settings.reload();

    expect(answer.error).toEqual(notAllowed);
  });

  test("without start-discussion nor start-discussion-other-user a user cannot start one", async () => {
    const { db } = server.parley.services.deps;
    const ids = ["start-discussion", "start-discussion-other-user"];
    await db.permissions.updateMany({ _id: { $in: ids } }, { $set: { roles: ["admin"] } });
    await server.parley.services.authz.reload();

    const res = await api(server, "rooms.createDiscussion", {
      auth: bob.credentials,
      body: { prid: parent, t_name: "not mine to start" },
    });
    await db.permissions.updateOne(
      { _id: ids[0] },
      { $set: { roles: ["admin", "user", "guest", "app"] } },
    );
    await db.permissions.updateOne(
      { _id: ids[1] },
      { $set: { roles: ["admin", "user", "owner", "app"] } },
    );
    await server.parley.services.authz.reload();

    expect(res.body).toEqual({
      success: false,
      error: "You are not allowed to create a discussion [error-action-not-allowed]",
      errorType: "error-action-not-allowed",
      details: { method: "createDiscussion" },
    });
  });
});

describe("spotlight", () => {
  test("finds a public channel by #name and no users", async () => {
    const rid = await createChannel(ddpBob, []);
    const name = (await server.parley.services.rooms.byId(rid))?.name as string;

    const answer = await ddpAlice.call("spotlight", `#${name}`, [], { users: true, rooms: true });

    expect(answer.result).toEqual({ users: [], rooms: [{ _id: rid, t: "c", name, fname: name }] });
  });

  test("leaves out the usernames it is given", async () => {
    const answer = await ddpAlice.call("spotlight", `@${bob.username}`, [bob.username]);

    expect(answer.result).toEqual({ users: [], rooms: [] });
  });

  test("answers error-invalid-user to an anonymous connection", async () => {
    const anonymous = await clients.connect(server);

    const answer = await anonymous.call("spotlight", "anything");

    expect(answer.error).toMatchObject({
      error: "error-invalid-user",
      details: { method: "spotlight" },
    });
  });
});
