/**
 * The real livechat widget (`@rocket.chat/livechat`, served by Parley at `/livechat`) in
 * headless Chromium, embedded in a page of a website the test serves on loopback, as a
 * site includes Rocket.Chat's: the visitor writes, an agent on @rocket.chat/ddp-client
 * sees the inquiry in the queue, takes it and replies, the visitor sees the reply, then
 * the agent forwards the conversation to another department whose agent closes it. The
 * widget's header follows the agent: the first one, nobody while the chat waits again, then
 * the second one.
 *
 * Needs Debian's `chromium` at /usr/bin/chromium (.ci/run installs it); where it is
 * absent the test is skipped with that reason.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { api, startTestServer, type TestServer } from "./helpers.ts";
import { type Agent, startAgent } from "./livechat-helpers.ts";

const CHROMIUM = "/usr/bin/chromium";
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  test.skip("the livechat widget test needs Debian's chromium at /usr/bin/chromium", () => {});
}

/** A website page embedding the widget with Rocket.Chat's snippet. */
function sitePage(parley: string): string {
  return `<!doctype html><html><head><title>A shop</title></head><body><p>Welcome to the shop</p>
<script type="text/javascript">
(function(w, d, s, u) {
  w.RocketChat = function(c) { w.RocketChat._.push(c) }; w.RocketChat._ = []; w.RocketChat.url = u;
  var h = d.getElementsByTagName(s)[0], j = d.createElement(s);
  j.async = true; j.src = '${parley}/livechat/rocketchat-livechat.min.js?_=1';
  h.parentNode.insertBefore(j, h);
})(window, document, 'script', '${parley}/livechat');
</script></body></html>`;
}

let server: TestServer;
let site: ReturnType<typeof Bun.serve>;
let browser: BrowserContext;
let profile: string;
const agents: Agent[] = [];

/** An inquiry event of the queue observer that `agent` receives for the matching inquiry. */
function inquirySeen(
  agent: Agent,
  key: string,
  match: (inquiry: Record<string, unknown>) => boolean,
) {
  return new Promise<Record<string, unknown>>((resolve) => {
    const stream = agent.sdk.stream(
      "livechat-inquiry-queue-observer",
      key,
      (...args: unknown[]) => {
        const event = args[0] as Record<string, unknown>;
        if (event.type === "added" && match(event)) {
          stream.stop();
          resolve(event);
        }
      },
    );
  });
}

/**
 * Resolves once the widget in `page` has its `stream-livechat-room` subscription ready (the
 * DDP `ready` frame for it arrives on the page's socket): from then on it hears which agent
 * serves it.
 */
function agentChangesHeard(page: Page): Promise<void> {
  const parse = (payload: string | Buffer) => {
    try {
      return JSON.parse(String(payload)) as {
        msg?: string;
        name?: string;
        id?: string;
        subs?: string[];
      };
    } catch {
      return {};
    }
  };
  return new Promise((resolve) => {
    const ids = new Set<string>();
    page.on("websocket", (socket) => {
      socket.on("framesent", ({ payload }) => {
        const frame = parse(payload);
        if (frame.msg === "sub" && frame.name === "stream-livechat-room" && frame.id)
          ids.add(frame.id);
      });
      socket.on("framereceived", ({ payload }) => {
        const frame = parse(payload);
        if (frame.msg === "ready" && frame.subs?.some((id) => ids.has(id))) resolve();
      });
    });
  });
}

/**
 * Resolves once `agent` has seen a message with `text` in room `rid`: already in its
 * history, or arriving on the room's stream.
 */
async function messageSeen(agent: Agent, rid: string, text: string): Promise<void> {
  let seen: () => void = () => {};
  const arrived = new Promise<void>((resolve) => (seen = resolve));
  const stream = agent.sdk.stream("room-messages", rid, (...args: unknown[]) => {
    if ((args[0] as { msg?: string }).msg === text) seen();
  });
  await stream.ready();
  const history = (await agent.sdk.call("loadHistory", rid, null, 50, null)) as {
    messages: { msg: string }[];
  };
  if (history.messages.some((m) => m.msg === text)) seen();
  await arrived;
  stream.stop();
}

beforeAll(async () => {
  if (!hasChromium) return;
  server = await startTestServer();
  for (const [_id, value] of [
    ["Livechat_registration_form", false],
    ["Livechat_Routing_Method", "Manual_Selection"],
  ] as const) {
    await api(server, `settings/${_id}`, { auth: server.admin, body: { value } });
  }
  site = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch: () => new Response(sitePage(server.url), { headers: { "Content-Type": "text/html" } }),
  });
  profile = mkdtempSync(join(tmpdir(), "parley-chromium-"));
  browser = await chromium.launchPersistentContext(profile, {
    headless: true,
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
});

afterAll(async () => {
  if (!hasChromium) return;
  for (const agent of agents) agent.close();
  await browser?.close();
  site?.stop(true);
  await server?.stop();
  rmSync(profile, { recursive: true, force: true });
});

test.if(hasChromium)(
  "a visitor in the real widget chats with an agent who takes, answers, forwards and closes",
  async () => {
    const first = await startAgent(server, "widget.agent");
    const second = await startAgent(server, "widget.other");
    agents.push(first, second);
    // Forwarding needs transfer-livechat-guest, which managers hold.
    await api(server, "livechat/users/manager", {
      auth: server.admin,
      body: { username: first.user.username },
    });
    const department = await api(server, "livechat/department", {
      auth: server.admin,
      body: {
        department: {
          name: "Billing",
          enabled: true,
          email: "billing@example.com",
          showOnRegistration: false,
          showOnOfflineForm: false,
        },
        agents: [{ agentId: second.user._id }],
      },
    });
    const billing = department.body.department._id as string;

    const page = await browser.newPage();
    const listening = agentChangesHeard(page);
    await page.goto(`http://127.0.0.1:${site.port}/`);
    const widget = page.frameLocator("#rocketchat-iframe");
    await widget.locator("body").click();
    const composer = widget.locator("[contenteditable=true]");
    await composer.waitFor();

    const queued = inquirySeen(first, "public", () => true);
    await composer.fill("Hello, I need help with my order");
    await composer.press("Enter");
    const inquiry = await queued;
    expect(inquiry).toMatchObject({ status: "queued", t: "l" });

    await listening;
    await first.sdk.call("livechat:takeInquiry", inquiry._id);
    const rid = inquiry.rid as string;
    // The widget's header names the agent serving the visitor, as it hears of them.
    const title = widget.locator('[class*="header__title"]');
    await title.filter({ hasText: first.user.username }).waitFor();
    // The widget listens to the room before it sends: once the message is in, so is it.
    await messageSeen(first, rid, "Hello, I need help with my order");
    await first.sdk.call("sendMessage", { rid, msg: "Hi! I'm looking at your order now" });
    await widget.getByText("Hi! I'm looking at your order now").waitFor();
    await widget.getByText("Hello, I need help with my order").waitFor();

    const forwarded = inquirySeen(second, `department/${billing}`, (i) => i.rid === rid);
    const forward = await api(server, "livechat/room.forward", {
      auth: first.credentials,
      body: { roomId: rid, departmentId: billing, comment: "billing question" },
    });
    expect(forward.body).toEqual({ success: true });
    const again = await forwarded;
    // Forwarded to a department the chat waits again: the first agent leaves the header.
    await title.filter({ hasText: first.user.username }).waitFor({ state: "detached" });
    await second.sdk.call("livechat:takeInquiry", again._id);
    await title.filter({ hasText: second.user.username }).waitFor();
    await second.sdk.call("sendMessage", { rid, msg: "Billing here, refund is on its way" });
    await widget.getByText("Billing here, refund is on its way").waitFor();

    await second.sdk.call("livechat:closeRoom", rid, "refunded", { tags: ["refund"] });
    await composer.waitFor({ state: "detached" });
    const room = await server.parley.services.deps.db.rooms.findOne({ _id: rid });
    expect(room).toMatchObject({
      t: "l",
      closer: "user",
      closedBy: { _id: second.user._id },
      tags: ["refund"],
      departmentId: billing,
    });
    expect(room?.open).toBeUndefined();
  },
  60_000,
);
