/**
 * Helpers for the DDP tests: users seeded straight through the account service (so these
 * tests depend on no REST route but `login`), raw DDP clients logged in over a real
 * WebSocket, the raw text of frames (to see `{$date}` as it travels), a fence that
 * proves a frame was not delivered without waiting for time to pass, and a way to hold a
 * message inside the server's session so that a test decides what happens meanwhile.
 */
import type { SessionHandle } from "../actors/session-effects.ts";
import { type Credentials, login, RawDdp, type TestServer } from "./helpers.ts";

/** A user created for one test, with its password and REST credentials. */
export interface SeededUser {
  readonly _id: string;
  readonly username: string;
  readonly password: string;
  readonly credentials: Credentials;
}

let seeded = 0;

/** Creates a user with a unique name through the account service and logs it in over REST. */
export async function seedUser(server: TestServer, prefix = "ddp"): Promise<SeededUser> {
  seeded += 1;
  const username = `${prefix}.${seeded}.${crypto.randomUUID().slice(0, 8)}`;
  const password = `pw-${username}`;
  const email = `${username}@example.com`;
  const user = await server.parley.services.accounts.createUser({ username, password, email });
  return {
    _id: user._id,
    username,
    password,
    credentials: await login(server, username, password),
  };
}

/** SHA-256 hex digest of `text`, as Meteor clients send passwords. */
export function sha256(text: string): string {
  return new Bun.CryptoHasher("sha256").update(text).digest("hex");
}

/** The clients a test file opened, closed together in `afterAll`. */
export class Clients {
  private readonly open: { close(): void }[] = [];

  /** A raw DDP client, connected and (with `user`) logged in by resume token. */
  async connect(server: TestServer, user?: SeededUser): Promise<RawDdp> {
    const client = await RawDdp.connect(server.wsUrl);
    this.open.push(client);
    if (user) {
      const answer = await client.resume(user.credentials.authToken);
      if (answer.error)
        throw new Error(`login of ${user.username} failed: ${JSON.stringify(answer.error)}`);
    }
    return client;
  }

  /** A raw WebSocket to the DDP endpoint with no handshake, for protocol tests. */
  async socket(
    server: TestServer,
  ): Promise<{ socket: WebSocket; frames: string[]; next: () => Promise<string> }> {
    const socket = new WebSocket(server.wsUrl);
    const frames: string[] = [];
    const waiting: ((frame: string) => void)[] = [];
    socket.addEventListener("message", (event) => {
      const frame = String(event.data);
      const waiter = waiting.shift();
      if (waiter) waiter(frame);
      else frames.push(frame);
    });
    await new Promise((resolve) => socket.addEventListener("open", resolve, { once: true }));
    this.open.push(socket);
    const next = () => {
      const frame = frames.shift();
      return frame !== undefined
        ? Promise.resolve(frame)
        : new Promise<string>((resolve) => waiting.push(resolve));
    };
    return { socket, frames, next };
  }

  closeAll(): void {
    for (const client of this.open.splice(0)) client.close();
  }
}

/** Starts recording the raw text of every frame `client` receives from now on. */
export function rawFrames(client: RawDdp): string[] {
  const frames: string[] = [];
  client.socket.addEventListener("message", (event) => frames.push(String(event.data)));
  return frames;
}

let fences = 0;

/**
 * Resolves once the server has answered a ping sent now. Frames to one socket arrive in
 * the order they were sent, so anything the server sent this client before the pong has
 * arrived by then: a frame not seen after the fence was never sent.
 */
export async function fence(client: RawDdp): Promise<void> {
  const id = `fence-${++fences}`;
  const pong = client.waitFor((f) => f.msg === "pong" && f.id === id);
  client.send({ msg: "ping", id });
  await pong;
}

/** Resolves with the close event of `socket`. */
export function closed(socket: WebSocket): Promise<CloseEvent> {
  if (socket.readyState === WebSocket.CLOSED)
    return Promise.reject(new Error("socket already closed"));
  return new Promise((resolve) => socket.addEventListener("close", resolve, { once: true }));
}

/** The stream events of `collection` named `eventName` that `client` has received so far. */
export function eventsSeen(client: RawDdp, collection: string, eventName: string): unknown[][] {
  return client.frames
    .filter((f) => f.msg === "changed" && f.collection === collection)
    .map((f) => f.fields as { eventName: string; args: unknown[] })
    .filter((fields) => fields.eventName === eventName)
    .map((fields) => fields.args);
}

/** A message held by HeldMessages: `reached` resolves once it is held; `release` lets it go on. */
export interface Held {
  readonly reached: Promise<void>;
  release(): void;
}

/**
 * Holds chosen DDP messages in the server's session handler, after their work is done and
 * before the session applies it, until the test releases them; the session's later frames
 * wait behind it, as behind any slow call. Pass `wrap` as the server's `sessionHandle`.
 */
export class HeldMessages {
  private readonly held = new Map<string, { reached: () => void; released: Promise<void> }>();

  /** Holds the message with DDP id `id` (a method's or a subscription's) when it comes. */
  hold(id: string): Held {
    let reached = () => {};
    let release = () => {};
    const reachedPromise = new Promise<void>((resolve) => {
      reached = resolve;
    });
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.held.set(id, { reached, released });
    return { reached: reachedPromise, release };
  }

  readonly wrap =
    (real: SessionHandle): SessionHandle =>
    async (input) => {
      const outcome = await real(input);
      const id = String(input.message.id);
      const held = this.held.get(id);
      if (held) {
        this.held.delete(id);
        held.reached();
        await held.released;
      }
      return outcome;
    };
}
