/**
 * Team changes reach a member's DDP connection live, as joining a channel does: being
 * added to a team announces its main room and its auto-join rooms on `rooms-changed` and
 * `subscriptions-changed`, a team room's new `teamId` goes out as `updated`, the new
 * member reads the main room's messages stream, and removal announces `removed`.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Clients, eventsSeen, fence, type SeededUser, seedUser } from "./ddp-helpers.ts";
import { api, type RawDdp, startTestServer, type TestServer } from "./helpers.ts";

let server: TestServer;
const clients = new Clients();
let owner: SeededUser;
let joiner: SeededUser;
let ddp: RawDdp;

beforeAll(async () => {
  server = await startTestServer();
  owner = await seedUser(server, "team.owner");
  joiner = await seedUser(server, "team.joiner");
  ddp = await clients.connect(server, joiner);
  await ddp.sub("stream-notify-user", `${joiner._id}/rooms-changed`, false);
  await ddp.sub("stream-notify-user", `${joiner._id}/subscriptions-changed`, false);
});

afterAll(async () => {
  clients.closeAll();
  await server.stop();
});

function post(path: string, body: Record<string, unknown>) {
  return api(server, path, { auth: owner.credentials, body });
}

/** Whether stream args are about room `rid` (a room event or a subscription event). */
const about = (rid: string) => (args: unknown[]) => {
  const doc = args[1] as { _id?: string; rid?: string };
  return doc._id === rid || doc.rid === rid;
};

describe("a member's connection", () => {
  let team: { _id: string; roomId: string };
  let lobby: { _id: string };

  beforeAll(async () => {
    const tag = `tl${crypto.randomUUID().slice(0, 6)}`;
    team = (await post("teams.create", { name: `${tag}-live`, type: 1 })).body.team;
    lobby = (await post("channels.create", { name: `${tag}-lobby` })).body.channel;
    await post("teams.addRooms", { teamId: team._id, rooms: [lobby._id] });
    await post("teams.updateRoom", { roomId: lobby._id, isDefault: true });
  });

  test("hears of the main room and the auto-join rooms when added to the team", async () => {
    const res = await post("teams.addMembers", {
      teamId: team._id,
      members: [{ userId: joiner._id }],
    });
    expect(res.body).toEqual({ success: true });

    const rooms = `${joiner._id}/rooms-changed`;
    const subs = `${joiner._id}/subscriptions-changed`;
    const main = await ddp.streamEvent("stream-notify-user", rooms, about(team.roomId));
    const auto = await ddp.streamEvent("stream-notify-user", rooms, about(lobby._id));
    const mainSub = await ddp.streamEvent("stream-notify-user", subs, about(team.roomId));
    const autoSub = await ddp.streamEvent("stream-notify-user", subs, about(lobby._id));

    expect(main).toEqual([
      "inserted",
      expect.objectContaining({ _id: team.roomId, t: "p", teamMain: true, teamId: team._id }),
    ]);
    expect(auto).toEqual([
      "inserted",
      expect.objectContaining({ _id: lobby._id, teamId: team._id, teamDefault: true }),
    ]);
    const me = expect.objectContaining({ _id: joiner._id });
    expect(mainSub).toEqual(["inserted", expect.objectContaining({ rid: team.roomId, u: me })]);
    expect(autoSub).toEqual(["inserted", expect.objectContaining({ rid: lobby._id, u: me })]);
  });

  test("reads the main room's messages as they are sent", async () => {
    const sub = await ddp.sub("stream-room-messages", team.roomId, false);
    expect(sub.msg).toBe("ready");

    await post("chat.sendMessage", { message: { rid: team.roomId, msg: "welcome aboard" } });

    const [message] = await ddp.streamEvent("stream-room-messages", team.roomId);
    expect(message).toMatchObject({ rid: team.roomId, msg: "welcome aboard" });
  });

  test("hears that a room it is in joined the team", async () => {
    const tag = `tl${crypto.randomUUID().slice(0, 6)}`;
    const side = (
      await post("channels.create", { name: `${tag}-side`, members: [joiner.username] })
    ).body.channel;
    await ddp.streamEvent("stream-notify-user", `${joiner._id}/rooms-changed`, about(side._id));

    await post("teams.addRooms", { teamId: team._id, rooms: [side._id] });

    const updated = await ddp.streamEvent(
      "stream-notify-user",
      `${joiner._id}/rooms-changed`,
      (args) => args[0] === "updated" && about(side._id)(args),
    );
    expect(updated).toEqual([
      "updated",
      expect.objectContaining({ _id: side._id, teamId: team._id }),
    ]);
  });

  test("hears that it left the team's main room when removed", async () => {
    const res = await post("teams.removeMember", { teamId: team._id, userId: joiner._id });
    expect(res.body).toEqual({ success: true });

    const removed = await ddp.streamEvent(
      "stream-notify-user",
      `${joiner._id}/rooms-changed`,
      (args) => args[0] === "removed" && about(team.roomId)(args),
    );
    expect(removed).toEqual(["removed", { _id: team.roomId }]);
    await fence(ddp);
    const gone = eventsSeen(ddp, "stream-notify-user", `${joiner._id}/rooms-changed`).filter(
      (args) => args[0] === "removed" && about(lobby._id)(args),
    );
    expect(gone).toEqual([]);
  });
});

describe("an outsider's connection", () => {
  test("cannot listen to a private team's channel, a member's can", async () => {
    const tag = `tl${crypto.randomUUID().slice(0, 6)}`;
    const outsider = await seedUser(server, "team.outsider");
    const watcher = await clients.connect(server, outsider);
    const team = (await post("teams.create", { name: `${tag}-closed`, type: 1 })).body.team;
    const hall = (await post("channels.create", { name: `${tag}-hall` })).body.channel;
    await post("teams.addRooms", { teamId: team._id, rooms: [hall._id] });

    const refused = await watcher.sub("stream-room-messages", hall._id, false);
    const own = await clients.connect(server, owner);
    const allowed = await own.sub("stream-room-messages", hall._id, false);

    expect(refused).toMatchObject({ msg: "nosub", error: { error: "not-allowed" } });
    expect(allowed.msg).toBe("ready");
  });
});
