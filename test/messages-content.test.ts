/**
 * What Parley reads out of a message's text, over REST and DDP: the `md` token tree,
 * `@username` mentions (with the private notice for users outside the room), the group
 * mentions `@all`/`@here` under their permissions, and `#name` room links.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import type { Room } from "../core/models.ts";
import { Clients, fence, type SeededUser } from "./ddp-helpers.ts";
import { addPerson, addRoom, type Person } from "./fixtures/people.ts";
import { Switches } from "./fixtures/switches.ts";
import { api, type RawDdp, startTestServer, type TestServer } from "./helpers.ts";

let server: TestServer;
let switches: Switches;
const clients = new Clients();
let owner: Person;
let member: Person;
let outsider: Person;
let channel: Room;

beforeAll(async () => {
  server = await startTestServer();
  switches = new Switches(server);
  [owner, member, outsider] = [
    await addPerson(server),
    await addPerson(server),
    await addPerson(server),
  ];
  channel = await addRoom(server, "c", owner, [member]);
});

afterEach(() => switches.restoreAll());

afterAll(async () => {
  clients.closeAll();
  await server.stop();
});

async function send(person: Person, rid: string, msg: string) {
  return api(server, "chat.sendMessage", {
    auth: person.credentials,
    body: { message: { rid, msg } },
  });
}

function plain(value: string) {
  return { type: "PLAIN_TEXT", value };
}

describe("md", () => {
  test("a sent message carries the token tree of its text", async () => {
    const res = await send(member, channel._id, "**bold** :smile:");

    expect(res.status).toBe(200);
    expect(res.body.message.md).toEqual([
      {
        type: "PARAGRAPH",
        value: [
          { type: "BOLD", value: [plain("bold")] },
          plain(" "),
          { type: "EMOJI", value: plain("smile"), shortCode: "smile" },
        ],
      },
    ]);
  });

  test("an edit replaces the tree with the new text's", async () => {
    const sent = (await send(member, channel._id, "first")).body.message;

    const res = await api(server, "chat.update", {
      auth: member.credentials,
      body: { roomId: channel._id, msgId: sent._id, text: "_second_" },
    });

    expect(res.body.message.md).toEqual([
      { type: "PARAGRAPH", value: [{ type: "ITALIC", value: [plain("second")] }] },
    ]);
  });

  test("a message without text has no tree", async () => {
    const res = await api(server, "chat.postMessage", {
      auth: member.credentials,
      body: { roomId: channel._id, attachments: [{ text: "only an attachment" }] },
    });

    expect(res.status).toBe(200);
    expect(res.body.message).not.toHaveProperty("md");
  });
});

describe("@username", () => {
  test("fills mentions with the users who exist and leaves out names nobody has", async () => {
    const res = await send(owner, channel._id, `hi @${member.user.username} and @nobody.here`);

    expect(res.body.message.mentions).toEqual([
      {
        _id: member.user._id,
        username: member.user.username,
        name: member.user.name,
        type: "user",
      },
    ]);
  });

  test("takes a name like @constructor for a user name, not a group", async () => {
    const res = await send(owner, channel._id, "@constructor @toString");

    expect(res.body.message.mentions).toEqual([]);
  });

  test("counts the mention on the mentioned member's subscription", async () => {
    const room = await addRoom(server, "c", owner, [member]);

    await send(owner, room._id, `look @${member.user.username}`);
    const sub = await api(server, "subscriptions.getOne", {
      auth: member.credentials,
      query: { roomId: room._id },
    });

    expect(sub.body.subscription.userMentions).toBe(1);
  });

  test("keeps a mention of a user outside the room and tells the sender privately", async () => {
    const ddp = await clients.connect(server, asSeeded(owner));
    await ddp.sub("stream-notify-user", `${owner.user._id}/message`, false);

    const res = await send(owner, channel._id, `ping @${outsider.user.username}`);
    const [notice] = await ddp.streamEvent("stream-notify-user", `${owner.user._id}/message`);

    expect(res.body.message.mentions).toEqual([
      expect.objectContaining({ _id: outsider.user._id }),
    ]);
    expect(notice).toEqual({
      groupable: false,
      msg: "",
      mentions: [
        {
          _id: outsider.user._id,
          username: outsider.user.username,
          name: outsider.user.name,
          type: "user",
        },
      ],
      blocks: [
        {
          type: "section",
          text: {
            type: "mrkdwn",
            text: `You mentioned @${outsider.user.username}, but they're not in this room.`,
          },
        },
      ],
      private: true,
      _id: expect.any(String),
      rid: channel._id,
      ts: expect.any(Date),
    });
  });

  test("tells a sender who cannot add members to ask a room admin", async () => {
    const ddp = await clients.connect(server, asSeeded(member));
    await ddp.sub("stream-notify-user", `${member.user._id}/message`, false);

    await send(member, channel._id, `ping @${outsider.user.username}`);
    const [notice] = await ddp.streamEvent("stream-notify-user", `${member.user._id}/message`);

    expect((notice as { blocks: { text: { text: string } }[] }).blocks[0]?.text.text).toBe(
      `You mentioned @${outsider.user.username}, but they're not in this room. You can ask a room admin to add them.`,
    );
  });

  test("sends no notice when every mentioned user is a member", async () => {
    const ddp = await clients.connect(server, asSeeded(owner));
    await ddp.sub("stream-notify-user", `${owner.user._id}/message`, false);

    await send(owner, channel._id, `hello @${member.user.username}`);
    await fence(ddp);

    expect(noticesSeen(ddp, owner)).toEqual([]);
  });
});

describe("@all and @here", () => {
  test("@all fills mentions with the group for a holder of mention-all", async () => {
    const res = await send(member, channel._id, "@all meeting now");

    expect(res.body.message.mentions).toEqual([{ _id: "all", username: "all" }]);
  });

  test("@all without mention-all is refused over REST", async () => {
    await switches.permission("mention-all", ["admin"]);

    const res = await send(member, channel._id, "@all meeting now");

    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      success: false,
      error: "Notify all in this room not allowed [error-action-not-allowed]",
      errorType: "error-action-not-allowed",
      details: { action: "Notify all in this room" },
    });
  });

  test("@here without mention-here is refused over DDP with a private notice", async () => {
    await switches.permission("mention-here", ["admin"]);
    const seeded = asSeeded(member);
    const ddp = await clients.connect(server, seeded);
    await ddp.sub("stream-notify-user", `${member.user._id}/message`, false);

    const answer = await ddp.call("sendMessage", { rid: channel._id, msg: "@here anyone?" });
    const [notice] = await ddp.streamEvent("stream-notify-user", `${member.user._id}/message`);

    expect(answer.error).toMatchObject({
      error: "error-action-not-allowed",
      reason: "Notify here in this room not allowed",
    });
    expect(notice).toMatchObject({ rid: channel._id, msg: "Notify here in this room not allowed" });
  });

  test("@here fills mentions with the group for a holder of mention-here", async () => {
    const res = await send(member, channel._id, "@here anyone?");

    expect(res.body.message.mentions).toEqual([{ _id: "here", username: "here" }]);
  });
});

describe("#name", () => {
  test("fills channels with the rooms that exist, by id and name", async () => {
    const group = await addRoom(server, "p", owner);

    const res = await send(owner, channel._id, `see #${group.name} and #${channel.name} not #gone`);

    expect(res.body.message.channels).toEqual(
      expect.arrayContaining([
        { _id: group._id, name: group.name },
        { _id: channel._id, name: channel.name },
      ]),
    );
    expect(res.body.message.channels).toHaveLength(2);
  });

  test("links rooms in an edit too, over DDP", async () => {
    const ddp = await clients.connect(server, asSeeded(owner));
    const sent = (await send(owner, channel._id, "no link yet")).body.message;

    await ddp.call("updateMessage", { _id: sent._id, rid: channel._id, msg: `#${channel.name}` });
    const after = await api(server, "chat.getMessage", {
      auth: owner.credentials,
      query: { msgId: sent._id },
    });

    expect(after.body.message.channels).toEqual([{ _id: channel._id, name: channel.name }]);
  });
});

/** `person` as a user the DDP helpers log in, by the resume token of their REST login. */
function asSeeded(person: Person): SeededUser {
  return {
    _id: person.user._id,
    username: person.user.username,
    password: "rocket.chat",
    credentials: person.credentials,
  };
}

function noticesSeen(ddp: RawDdp, person: Person) {
  return ddp.frames.filter(
    (f) =>
      f.msg === "changed" &&
      (f.fields as { eventName?: string }).eventName === `${person.user._id}/message`,
  );
}
