/**
 * Helpers of the Omnichannel tests: agents who are logged in over DDP (so present) and
 * available, and visitors registered by token.
 */
import { createHash } from "node:crypto";
import { DDPSDK } from "@rocket.chat/ddp-client";
import { api, type Credentials, createUser, type TestServer } from "./helpers.ts";

/** An agent: their account, REST credentials and a logged-in DDP client. */
export interface Agent {
  readonly user: { _id: string; username: string };
  readonly credentials: Credentials;
  readonly sdk: DDPSDK;
  close(): void;
}

/** Makes a new user an agent, logs them in over DDP (present) and makes them available. */
export async function startAgent(server: TestServer, name: string): Promise<Agent> {
  const { user, credentials, password } = await createUser(server, {
    username: `${name}.${Date.now()}.${Math.floor(Math.random() * 1e6)}`,
  });
  const made = await api(server, "livechat/users/agent", {
    auth: server.admin,
    body: { username: user.username },
  });
  if (made.status !== 200)
    throw new Error(`livechat/users/agent failed: ${JSON.stringify(made.body)}`);
  const sdk = await DDPSDK.createAndConnect(server.url);
  const digest = createHash("sha256").update(password).digest("hex");
  await sdk.account.loginWithPassword(user.username, digest);
  // Awaited by the user's presence actor after the login's own connect: the agent is online.
  await sdk.call("UserPresence:online");
  await sdk.call("livechat/changeLivechatStatus", { status: "available" });
  return {
    user,
    credentials,
    sdk,
    close() {
      sdk.timeoutControl.stop();
      sdk.connection.close();
    },
  };
}

let visitorCounter = 0;

/** Registers a new visitor; resolves to their token and record. */
export async function newVisitor(server: TestServer, extra: Record<string, unknown> = {}) {
  visitorCounter += 1;
  const token = `visitor-token-${Date.now()}-${visitorCounter}`;
  const res = await api(server, "livechat/visitor", {
    body: { visitor: { token, name: `Visitor ${visitorCounter}`, ...extra } },
  });
  if (res.status !== 200) throw new Error(`livechat/visitor failed: ${JSON.stringify(res.body)}`);
  return { token, visitor: res.body.visitor };
}
