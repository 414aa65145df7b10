/**
 * The queue actor under faults and races: a queue actor that crashes is restarted with
 * its queue rebuilt from the store, losing no inquiry, and with every agent's count of
 * open conversations recounted from the rooms; two agents taking the same inquiry at the
 * same moment get it once between them.
 */
import { afterAll, afterEach, beforeAll, expect, test } from "bun:test";
import { ServerFault } from "../core/errors.ts";
import { reserveAgent } from "../services/livechat-agents.ts";
import { api, startTestServer, type TestServer } from "./helpers.ts";
import { type Agent, newVisitor, startAgent } from "./livechat-helpers.ts";

let server: TestServer;
const agents: Agent[] = [];
/** How many of the next `take` commands the queue actors' effects fail. */
let failTakes = 0;
/**
 * How many of the next `take` commands crash right after counting the conversation on
 * their agent, before serving it, as a process dying at that point would leave it.
 */
let crashAfterCounting = 0;

beforeAll(async () => {
  server = await startTestServer({
    queueEffects: (real) => ({
      load: real.load,
      async execute(state, command) {
        if (command.kind === "take" && failTakes > 0) {
          failTakes -= 1;
          throw new ServerFault("injected", "Injected queue fault");
        }
        if (command.kind === "take" && crashAfterCounting > 0) {
          crashAfterCounting -= 1;
          await reserveAgent(server.parley.services.deps, command.agent._id, 0);
          throw new ServerFault("injected", "Injected crash after counting the agent");
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
  expect(taken.body).toEqual({ success: true });
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
      error: "Inquiry already taken [error-inquiry-taken]",
      errorType: "error-inquiry-taken",
      details: { method: "livechat:takeInquiry" },
    },
  ]);
  const subs = await server.parley.services.deps.db.subscriptions.find({ rid: inquiry.rid });
  expect(subs).toHaveLength(1);
});

test("a crash between counting a conversation on its agent and serving it does not outlive the restart", async () => {
  const agent = await startAgent(server, "count.agent");
  agents.push(agent);
  await api(server, "settings/Livechat_maximum_chats_per_agent", {
    auth: server.admin,
    body: { value: 1 },
  });
  const inquiry = await waitingInquiry();
  const { db } = server.parley.services.deps;
  crashAfterCounting = 1;

  const crashed = await api(server, "livechat/inquiries.take", {
    auth: agent.credentials,
    body: { inquiryId: inquiry._id },
  });
  // The restarted actor has loaded its queue once a command sent after the crash is answered.
  await server.parley.queues.execute("", { kind: "route" });

  expect(crashed.status).toBe(500);
  expect((await db.users.findOne({ _id: agent.user._id }))?.openLivechats).toBe(0);
  const taken = await api(server, "livechat/inquiries.take", {
    auth: agent.credentials,
    body: { inquiryId: inquiry._id },
  });
  expect(taken.body).toEqual({ success: true });
  expect((await db.users.findOne({ _id: agent.user._id }))?.openLivechats).toBe(1);
  await api(server, "settings/Livechat_maximum_chats_per_agent", {
    auth: server.admin,
    body: { value: 0 },
  });
});
