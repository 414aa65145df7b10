/**
 * A mention storm: twenty senders, half over REST and half over DDP, post at once to one
 * channel, mentioning several of five readers by name or everyone with `@all`, while three
 * of the readers mark the room read again and again (over REST and DDP in turn). Afterwards
 * every reader's counters must be exactly what was sent after their last read, and no
 * counter they were ever told about on `subscriptions-changed` may have gone negative.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { randomSecret } from "../core/ids.ts";
import type { Room } from "../core/models.ts";
import { hashLoginToken } from "../core/password.ts";
import { Clients, fence } from "./ddp-helpers.ts";
import { addRoom, type Person } from "./fixtures/people.ts";
import { api, type RawDdp, startTestServer, type TestServer } from "./helpers.ts";

const READERS = 5;
const SENDERS = 20;
const PER_SENDER = 5;
const TOTAL = SENDERS * PER_SENDER;

type Counters = { unread: number; userMentions: number; groupMentions: number };
type Sent = { ts: string; u: { _id: string }; mentions?: { _id: string }[] };

let server: TestServer;
const clients = new Clients();
let readers: Person[];
let senders: Person[];
let room: Room;

let people = 0;

/**
 * A user with a login token, made without a password: twenty-five bcrypt rounds would
 * make this setup the slowest part of the test. The token is stored hashed, as a login
 * stores it, so REST and DDP authenticate it the usual way.
 */
async function quickPerson(): Promise<Person> {
  people += 1;
  const username = `storm.${process.pid}.${people}`;
  const { accounts, deps } = server.parley.services;
  const user = await accounts.createUser({ username, joinDefaultChannels: false });
  const authToken = randomSecret();
  const loginToken = { when: new Date(), hashedToken: await hashLoginToken(authToken) };
  await deps.db.users.updateOne(
    { _id: user._id },
    { $push: { "services.resume.loginTokens": loginToken } },
  );
  return { user, credentials: { userId: user._id, authToken } };
}

beforeAll(async () => {
  server = await startTestServer();
  readers = await Promise.all(Array.from({ length: READERS }, quickPerson));
  senders = await Promise.all(Array.from({ length: SENDERS }, quickPerson));
  room = await addRoom(server, "c", senders[0] as Person, [...readers, ...senders.slice(1)]);
});

afterAll(async () => {
  clients.closeAll();
  await server.stop();
});

/** A deterministic pseudo-random sequence, so that a failing storm can be replayed. */
function sequence(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

/** The text of message `j` of sender `i`: plain, `@all`, or two to four readers by name. */
function planText(i: number, j: number, random: () => number): string {
  const kind = (i + j) % 5;
  if (kind === 0) return `plain ${i}.${j}`;
  if (kind === 1) return `@all heads up ${i}.${j}`;
  const names = readers.map((r) => r.user.username).sort(() => random() - 0.5);
  const count = 2 + Math.floor(random() * 3);
  return `${names
    .slice(0, count)
    .map((n) => `@${n}`)
    .join(" ")} look ${i}.${j}`;
}

async function connect(person: Person): Promise<RawDdp> {
  const client = await clients.connect(server);
  const answer = await client.resume(person.credentials.authToken);
  if (answer.error) throw new Error(`login failed: ${JSON.stringify(answer.error)}`);
  return client;
}

/** Counts finished sends and lets readers wait until a number of them is reached. */
class Progress {
  private done = 0;
  private readonly waiting: { at: number; resolve: () => void }[] = [];

  sent(): void {
    this.done += 1;
    for (const w of this.waiting.filter((w) => w.at <= this.done)) {
      this.waiting.splice(this.waiting.indexOf(w), 1);
      w.resolve();
    }
  }

  reached(at: number): Promise<void> {
    if (at <= this.done) return Promise.resolve();
    return new Promise((resolve) => this.waiting.push({ at, resolve }));
  }
}

/** What the reader with id `uid` should have counted, from the messages after `ls`. */
function expected(messages: Sent[], uid: string, ls: string): Counters {
  const counters = { unread: 0, userMentions: 0, groupMentions: 0 };
  for (const m of messages.filter((m) => m.ts > ls && m.u._id !== uid)) {
    const ids = (m.mentions ?? []).map((x) => x._id);
    const users = ids.filter((id) => id !== "all" && id !== "here" && id !== m.u._id);
    if (users.includes(uid)) {
      counters.unread += 1;
      counters.userMentions += 1;
    } else if (users.length === 0 && ids.includes("all")) {
      counters.unread += 1;
      counters.groupMentions += 1;
    }
  }
  return counters;
}

async function allMessages(): Promise<Sent[]> {
  const messages: Sent[] = [];
  for (let offset = 0; offset < TOTAL; offset += 100) {
    const page = await api(server, "channels.messages", {
      auth: senders[0]?.credentials,
      query: { roomId: room._id, count: "100", offset: String(offset) },
    });
    expect(page.status).toBe(200);
    messages.push(...page.body.messages);
  }
  return messages;
}

test("a mention storm leaves every reader's counters exact and never negative", async () => {
  const watchers = await Promise.all(readers.map(connect));
  await Promise.all(
    readers.map((r, k) =>
      watchers[k]?.sub("stream-notify-user", `${r.user._id}/subscriptions-changed`, false),
    ),
  );
  const ddpSenders = await Promise.all(senders.map((s, i) => (i % 2 ? connect(s) : null)));
  const progress = new Progress();

  const send = async (i: number) => {
    const random = sequence(i + 1);
    for (let j = 0; j < PER_SENDER; j++) {
      const msg = planText(i, j, random);
      const ddp = ddpSenders[i];
      if (ddp) {
        const answer = await ddp.call("sendMessage", { rid: room._id, msg });
        expect(answer.error).toBeUndefined();
      } else {
        const res = await api(server, "chat.postMessage", {
          auth: senders[i]?.credentials,
          body: { roomId: room._id, text: msg },
        });
        expect(res.status).toBe(200);
      }
      progress.sent();
    }
  };
  const read = async (k: number) => {
    for (let round = 0; round < 4; round++) {
      await progress.reached(20 * (round + 1) + 5 * k);
      if (round % 2 === 0) {
        const res = await api(server, "subscriptions.read", {
          auth: readers[k]?.credentials,
          body: { rid: room._id },
        });
        expect(res.status).toBe(200);
      } else {
        const answer = await watchers[k]?.call("readMessages", room._id);
        expect(answer?.error).toBeUndefined();
      }
    }
  };
  await Promise.all([...senders.map((_, i) => send(i)), ...[0, 1, 2].map((k) => read(k))]);

  const messages = await allMessages();
  expect(messages).toHaveLength(TOTAL);
  for (const [k, reader] of readers.entries()) {
    const res = await api(server, "subscriptions.getOne", {
      auth: reader.credentials,
      query: { roomId: room._id },
    });
    const sub = res.body.subscription;
    const counters = {
      unread: sub.unread,
      userMentions: sub.userMentions,
      groupMentions: sub.groupMentions,
    };

    expect(counters).toEqual(expected(messages, reader.user._id, sub.ls));
    if (k < 3) expect(messages.filter((m) => m.ts <= sub.ls).length).toBeGreaterThan(0);

    const watcher = watchers[k] as RawDdp;
    await fence(watcher);
    const told = watcher.frames
      .filter((f) => f.msg === "changed" && f.collection === "stream-notify-user")
      .map((f) => (f.fields as { args: [string, Counters & { rid: string; ls: Date }] }).args[1])
      .filter((s) => s.rid === room._id);
    expect(told.length).toBeGreaterThan(0);
    for (const s of told) {
      expect(Math.min(s.unread, s.userMentions, s.groupMentions)).toBeGreaterThanOrEqual(0);
    }
    const last = told.at(-1) as Counters & { ls: Date };
    expect({ ...pick(last), ls: last.ls.toISOString() }).toEqual({ ...counters, ls: sub.ls });
  }
});

function pick(s: Counters): Counters {
  return { unread: s.unread, userMentions: s.userMentions, groupMentions: s.groupMentions };
}
