/**
 * Who hears of a thread reply: only users who may read the room. Mentioning a stranger in a
 * private group, a kick, or a channel made private must keep replies from reaching anyone
 * outside the room, on `<uid>/notification` or as a follower of the thread.
 */
import { afterAll, afterEach, beforeAll, expect, test } from "bun:test";
import { Clients, eventsSeen, fence, type SeededUser, seedUser } from "./ddp-helpers.ts";
import { api, type RawDdp, startTestServer, type TestServer } from "./helpers.ts";

type Person = SeededUser & { ddp: RawDdp };

let server: TestServer;
const clients = new Clients();

beforeAll(async () => {
  server = await startTestServer();
});

afterEach(() => {
  clients.closeAll();
});

afterAll(async () => {
  await server.stop();
});

/** A new user, connected over DDP and listening to their own notifications. */
async function person(): Promise<Person> {
  const user = await seedUser(server, "tp");
  const ddp = await clients.connect(server, user);
  await ddp.sub("stream-notify-user", `${user._id}/notification`, false);
  return { ...user, ddp };
}

/** A new room of `owner`'s with `members`: a private group, or a public channel. */
async function room(owner: Person, members: Person[], kind: "groups" | "channels") {
  const res = await api(server, `${kind}.create`, {
    auth: owner.credentials,
    body: {
      name: `tp-${crypto.randomUUID().slice(0, 8)}`,
      members: members.map((m) => m.username),
    },
  });
  expect(res.status).toBe(200);
  return (kind === "groups" ? res.body.group : res.body.channel)._id as string;
}

async function send(who: Person, rid: string, msg: string, tmid?: string): Promise<string> {
  const res = await api(server, "chat.sendMessage", {
    auth: who.credentials,
    body: { message: { rid, msg, ...(tmid && { tmid }) } },
  });
  expect(res.status).toBe(200);
  return res.body.message._id;
}

async function followers(who: Person, mid: string): Promise<string[]> {
  const res = await api(server, "chat.getMessage", {
    auth: who.credentials,
    query: { msgId: mid },
  });
  return res.body.message.replies ?? [];
}

/** Waits until `who` is notified of message `mid`. */
function notifiedOf(who: Person, mid: string) {
  return who.ddp.streamEvent("stream-notify-user", `${who._id}/notification`, (args) => {
    return (args[0] as { payload: { _id: string } }).payload._id === mid;
  });
}

/** The ids of the messages of room `rid` that `who` was notified of, once the server is idle. */
async function notices(who: Person, rid: string): Promise<string[]> {
  await fence(who.ddp);
  return eventsSeen(who.ddp, "stream-notify-user", `${who._id}/notification`)
    .map((args) => (args[0] as { payload: { _id: string; rid: string } }).payload)
    .filter((payload) => payload.rid === rid)
    .map((payload) => payload._id);
}

test("a stranger mentioned in a private group's thread is neither told nor made a follower", async () => {
  const [owner, member, stranger] = [await person(), await person(), await person()];
  const rid = await room(owner, [member], "groups");
  const root = await send(owner, rid, "plans");

  await send(member, rid, `hey @${stranger.username}`, root);
  const secret = await send(owner, rid, "the secret plan", root);
  await notifiedOf(member, secret);

  expect(await followers(owner, root)).toEqual([owner._id, member._id]);
  expect(await notices(stranger, rid)).toEqual([]);
});

test("a member kicked from a private group hears no more of the threads they followed", async () => {
  const [owner, member, kicked] = [await person(), await person(), await person()];
  const rid = await room(owner, [member, kicked], "groups");
  const root = await send(owner, rid, "plans");
  await send(member, rid, "me too", root);
  const before = await send(kicked, rid, "and me", root);
  const kick = await api(server, "groups.kick", {
    auth: owner.credentials,
    body: { roomId: rid, userId: kicked._id },
  });
  expect(kick.status).toBe(200);

  const after = await send(owner, rid, "now that they are gone", root);
  await notifiedOf(member, after);

  expect(await notices(kicked, rid)).not.toContain(after);
  expect(await notices(member, rid)).toEqual([before, after]);
});

test("a follower of a channel's thread hears no more of it once the channel is private", async () => {
  const [owner, member, outsider] = [await person(), await person(), await person()];
  const rid = await room(owner, [member], "channels");
  const root = await send(owner, rid, "plans");
  await send(member, rid, "me too", root);
  const follow = await api(server, "chat.followMessage", {
    auth: outsider.credentials,
    body: { mid: root },
  });
  expect(follow.body).toEqual({ success: true });
  const open = await send(owner, rid, "while public", root);
  await notifiedOf(outsider, open);

  const made = await api(server, "channels.setType", {
    auth: owner.credentials,
    body: { roomId: rid, type: "p" },
  });
  expect(made.status).toBe(200);
  const closed = await send(owner, rid, "now private", root);
  await notifiedOf(member, closed);

  expect(await notices(outsider, rid)).toEqual([open]);
});

test("a stranger cannot follow a private group's thread", async () => {
  const [owner, member, stranger] = [await person(), await person(), await person()];
  const rid = await room(owner, [member], "groups");
  const root = await send(owner, rid, "plans");
  await send(member, rid, "me too", root);

  const follow = await api(server, "chat.followMessage", {
    auth: stranger.credentials,
    body: { mid: root },
  });

  expect(follow.status).toBe(400);
  expect(follow.body.errorType).toBe("error-not-allowed");
  expect(await followers(owner, root)).toEqual([owner._id, member._id]);
});
