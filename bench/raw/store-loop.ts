/**
 * The raw reference for the persistence scenario: a bare write loop of the same shape and
 * durability as Parley's embedded store (store/embedded-sqlite.ts), with nothing else:
 * one SQLite file in WAL mode with synchronous=NORMAL, documents as JSON text in a
 * (coll, id) table, and group commit (writes queued during one event-loop turn are
 * committed in one transaction on the next; each write is acknowledged at its commit).
 *
 * Each message writes what a message costs Parley's store: the message, its room (last
 * message, count) and the subscriptions of the room's members (unread counters).
 * Arguments: a data folder, the rates to try (messages/s), seconds per rate, members per
 * room, rooms. Prints one JSON line: per rate, the messages acknowledged per second and the
 * acknowledgement latency.
 */
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { latencyOf, newHist, now, recordMs } from "../lib/measure.ts";

const [dir = ".", ratesArg = "1000", secondsArg = "5", membersArg = "10", roomsArg = "100"] =
  process.argv.slice(2);
const db = new Database(join(dir, "raw.sqlite"), { create: true, readwrite: true });
db.exec("PRAGMA journal_mode = WAL");
db.exec("PRAGMA synchronous = NORMAL");
db.exec(
  "CREATE TABLE IF NOT EXISTS docs (coll TEXT NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (coll, id)) WITHOUT ROWID",
);
const put = db.query("INSERT OR REPLACE INTO docs (coll, id, body) VALUES (?, ?, ?)");
const members = Number(membersArg);
const ROOMS = Number(roomsArg);

let queue: [string, string, string][] = [];
let waiters: (() => void)[] = [];
let scheduled = false;

function flush(): void {
  const batch = queue;
  const done = waiters;
  queue = [];
  waiters = [];
  scheduled = false;
  db.transaction(() => {
    for (const [coll, id, body] of batch) put.run(coll, id, body);
  })();
  for (const resolve of done) resolve();
}

/** Queues the writes of one message; resolves when they are committed. */
function writeMessage(seq: number): Promise<void> {
  const rid = `room${seq % ROOMS}`;
  const ts = new Date().toISOString();
  const msg = {
    _id: `m${seq}`.padEnd(17, "0"),
    rid,
    msg: `message ${seq}`,
    ts,
    u: { _id: "u1", username: "bench.u1" },
    _updatedAt: ts,
    md: [{ type: "PARAGRAPH", value: [{ type: "PLAIN_TEXT", value: `message ${seq}` }] }],
  };
  queue.push(["rocketchat_message", msg._id, JSON.stringify(msg)]);
  queue.push([
    "rocketchat_room",
    rid,
    JSON.stringify({
      _id: rid,
      t: "c",
      name: rid,
      msgs: seq,
      lm: ts,
      lastMessage: msg,
      _updatedAt: ts,
    }),
  ]);
  for (let k = 0; k < members; k++) {
    const sub = {
      _id: `${rid}-s${k}`,
      rid,
      u: { _id: `u${k}` },
      unread: seq % 50,
      alert: true,
      open: true,
      ls: ts,
      _updatedAt: ts,
    };
    queue.push(["rocketchat_subscription", sub._id, JSON.stringify(sub)]);
  }
  return new Promise((resolve) => {
    waiters.push(resolve);
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  });
}

let seq = 0;
async function atRate(rate: number, seconds: number) {
  const hist = newHist();
  const start = now();
  let sent = 0;
  let acked = 0;
  let outstanding = 0;
  while (now() - start < seconds * 1000) {
    const due = Math.floor((rate * (now() - start)) / 1000) - sent;
    for (let k = 0; k < due; k++) {
      sent += 1;
      outstanding += 1;
      const t = now();
      void writeMessage(++seq).then(() => {
        acked += 1;
        outstanding -= 1;
        recordMs(hist, now() - t);
      });
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const end = now();
  while (outstanding > 0) await new Promise((resolve) => setTimeout(resolve, 5));
  return {
    rate,
    sent,
    ackedPerSecond: Math.round(acked / ((end - start) / 1000)),
    ack: latencyOf(hist),
  };
}

const steps = [];
for (const rate of ratesArg.split(",").map(Number))
  steps.push(await atRate(rate, Number(secondsArg)));
console.log(JSON.stringify({ steps }));
db.close();
