/**
 * The queue actor under faults and races: a queue actor that crashes is restarted with
 * its queue rebuilt from the store, losing no inquiry; two agents taking the same inquiry
 * at the same moment get it once between them.
 */
import { afterAll, afterEach, beforeAll, expect, test } from "bun:test";
import { ServerFault } from "../core/errors.ts";
import { api, startTestServer, type TestServer } from "./helpers.ts";
import { type Agent, newVisitor, startAgent } from "./livechat-helpers.ts";

let server: TestServer;
const agents: Agent[] = [];
/** How many of the next `take` commands the queue actors' effects fail. */
let failTakes = 0;

beforeAll(async () => {
  server = await startTestServer({
    queueEffects: (real) => ({
      load: real.load,
      async execute(state, command) {
        if (command.kind === "take" && failTakes > 0) {
          failTakes -= 1;
          throw new ServerFault("injected", "Injected queue fault");
        }
        return real.execute(state, command);
      },
    }),
  });
  await api(server, "settings/Livechat_Routing_Method", {
    auth: server.admin,
    body: { value: "Manual_Selection" },
  });
});

afterEach(() => {
  for (const agent of agents.splice(0)) agent.close();
});

afterAll(async () => {
  await server.stop();
});

/** Opens a conversation for a new visitor; resolves to its waiting inquiry. */
async function waitingInquiry() {
  const { token } = await newVisitor(server);
  const opened = await api(server, "livechat/room", { query: { token } });
  const inquiry = await api(server, "livechat/inquiries.getOne", {
    auth: server.admin,
    query: { roomId: opened.body.room._id },
  });
  return inquiry.body.inquiry as { _id: string; rid: string; status: string };
}

test("a queue actor that crashes is restarted and its waiting inquiries are still there", async () => {
  const agent = await startAgent(server, "crash.agent");
  agents.push(agent);
  const first = await waitingInquiry();
  const second = await waitingInquiry();
  failTakes = 1;

  const failed = await api(server, "livechat/inquiries.take", {
    auth: agent.credentials,
    body: { inquiryId: first._id },
  });
  expect(failed.status).toBe(500);

  const listed = await api(server, "livechat/inquiries.queuedForUser", { auth: agent.credentials });
  const ids = listed.body.inquiries.map((i: { _id: string }) => i._id);
  expect(ids).toEqual(expect.arrayContaining([first._id, second._id]));
  const taken = await api(server, "livechat/inquiries.take", {
    auth: agent.credentials,
    body: { inquiryId: first._id },
  });
  expect(taken.body).toMatchObject({ success: true, inquiry: { _id: first._id, status: "taken" } });
  const room = await server.parley.services.deps.db.rooms.findOne({ _id: first.rid });
  expect(room?.servedBy).toMatchObject({ _id: agent.user._id });
});

test("two agents taking the same inquiry at once get it once between them", async () => {
  const one = await startAgent(server, "race.one");
  const two = await startAgent(server, "race.two");
  agents.push(one, two);
  const inquiry = await waitingInquiry();

  const answers = await Promise.all(
    [one, two].map((agent) =>
      api(server, "livechat/inquiries.take", {
        auth: agent.credentials,
        body: { inquiryId: inquiry._id },
      }),
    ),
  );

  const won = answers.filter((a) => a.status === 200);
  const lost = answers.filter((a) => a.status !== 200);
  expect(won).toHaveLength(1);
  expect(lost.map((a) => a.body)).toEqual([
    {
      success: false,
      error: "Inquiry already taken [error-not-allowed]",
      errorType: "error-not-allowed",
      details: { method: "livechat:takeInquiry" },
    },
  ]);
  const subs = await server.parley.services.deps.db.subscriptions.find({ rid: inquiry.rid });
  expect(subs).toHaveLength(1);
});
