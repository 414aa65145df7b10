import { describe, expect, test } from "bun:test";
import { SimulatedClock } from "xstate";
import { systemClock } from "../core/clock.ts";
import { ClientError } from "../core/errors.ts";
import { createLogger } from "../core/logger.ts";
import {
  type CommandDeps,
  type Outcome,
  type PlainSend,
  type RoomCommand,
  type RoomState,
  StoreRefusal,
} from "../services/room-commands.ts";
import { InvalidQueryError } from "../store/types.ts";
import { type RoomEffects, startRoomSupervisor } from "../supervisors/rooms.ts";

/**
 * Effects over an in-memory log of executed commands, so the actor's ordering is visible.
 * With `batches`, plain messages may run together and each batch's texts are logged too;
 * `gate` holds the first load until it resolves, so that commands queue up meanwhile.
 */
function memoryEffects(options: { batches?: boolean; gate?: Promise<void> } = {}) {
  const executed: string[] = [];
  const batches: string[][] = [];
  let loads = 0;
  const effects: RoomEffects = {
    load: async (rid) => {
      if (loads === 0) await options.gate;
      loads += 1;
      return rid === "missing"
        ? null
        : ({ room: { _id: rid }, members: new Set() } as unknown as RoomState);
    },
    execute: async (state, command: RoomCommand) => {
      const text = command.kind === "send" ? (command.draft.msg ?? "") : command.kind;
      if (text === "invalid") throw new ClientError("error-invalid", "Invalid");
      if (text === "unstorable") throw new StoreRefusal(new InvalidQueryError("refused"));
      executed.push(`${state.room._id}:${text}`);
      return { state, reply: text };
    },
    ...(options.batches && {
      sendBatch: async (state: RoomState, commands: readonly PlainSend[]) => {
        const texts = commands.map((c) => c.draft.msg ?? "");
        if (texts.includes("fault")) throw new TypeError("injected fault");
        batches.push(texts);
        const outcomes = texts.map((text): Outcome => {
          if (text === "invalid") return { ok: false, error: new ClientError("error-invalid") };
          executed.push(`${state.room._id}:${text}`);
          return { ok: true, reply: text };
        });
        return { state, outcomes };
      },
    }),
  };
  return { effects, executed, batches, loads: () => loads };
}

/** A promise and the function that resolves it. */
function gate() {
  let open!: () => void;
  const closed = new Promise<void>((resolve) => (open = resolve));
  return { closed, open };
}

const deps = { log: createLogger("silent"), clock: systemClock } as unknown as CommandDeps;

function send(msg: string, tmid?: string): RoomCommand {
  return { kind: "send", user: {} as never, draft: { msg, ...(tmid && { tmid }) } };
}

/** Each command's answer, or the error code it was refused with. */
function settled(calls: Promise<unknown>[]) {
  return Promise.all(
    calls.map((c) => c.catch((e: { error?: string; name?: string }) => `!${e.error ?? e.name}`)),
  );
}

describe("room actor", () => {
  test("runs a room's commands in arrival order", async () => {
    const { effects, executed } = memoryEffects();
    const rooms = startRoomSupervisor(deps, { effects });

    await Promise.all(["a", "b", "c"].map((m) => rooms.execute("r1", send(m))));

    expect(executed).toEqual(["r1:a", "r1:b", "r1:c"]);
    rooms.stop();
  });

  test("answers a client error and keeps serving the room", async () => {
    const { effects, executed } = memoryEffects();
    const rooms = startRoomSupervisor(deps, { effects });

    const failed = rooms.execute("r1", send("invalid")).catch((e: unknown) => e);
    const next = rooms.execute("r1", send("next"));

    expect(await failed).toBeInstanceOf(ClientError);
    expect((await next) as unknown).toBe("next");
    expect(executed).toEqual(["r1:next"]);
    rooms.stop();
  });

  test("answers a store refusal as a client error and reloads the room's state", async () => {
    const { effects, executed, loads } = memoryEffects();
    const rooms = startRoomSupervisor(deps, { effects });

    const failed = rooms.execute("r1", send("unstorable")).catch((e: unknown) => e);
    const next = rooms.execute("r1", send("next"));

    expect(await failed).toBeInstanceOf(ClientError);
    expect((await next) as unknown).toBe("next");
    expect(executed).toEqual(["r1:next"]);
    expect(loads()).toBe(2);
    rooms.stop();
  });

  test("keeps serving a room after more store refusals than its restart limit", async () => {
    const { effects } = memoryEffects();
    const rooms = startRoomSupervisor(deps, { effects });
    const refusals = Array.from({ length: 7 }, () =>
      rooms.execute("r1", send("unstorable")).catch((e: unknown) => e),
    );

    const next = rooms.execute("r1", send("next"));

    for (const refusal of await Promise.all(refusals)) expect(refusal).toBeInstanceOf(StoreRefusal);
    expect((await next) as unknown).toBe("next");
    rooms.stop();
  });

  test("refuses commands for a room that does not exist", async () => {
    const { effects } = memoryEffects();
    const rooms = startRoomSupervisor(deps, { effects });

    const error = await rooms.execute("missing", send("x")).catch((e: unknown) => e);

    expect(error).toMatchObject({ error: "error-room-not-found" });
    rooms.stop();
  });

  test("passivates an idle room and reloads it from the store on the next command", async () => {
    const clock = new SimulatedClock();
    const { effects, loads } = memoryEffects();
    const rooms = startRoomSupervisor(deps, { effects, idleMs: 60_000, actorClock: clock });
    await rooms.execute("r1", send("first"));
    expect(rooms.activeRooms()).toBe(1);

    clock.increment(60_000);
    expect(rooms.activeRooms()).toBe(0);
    await rooms.execute("r1", send("second"));

    expect(loads()).toBe(2);
    expect(rooms.activeRooms()).toBe(1);
    rooms.stop();
  });

  test("runs plain messages that queued up as one batch and answers each caller in order", async () => {
    const { closed, open } = gate();
    const { effects, executed, batches } = memoryEffects({ batches: true, gate: closed });
    const rooms = startRoomSupervisor(deps, { effects });
    const calls = ["a", "b", "invalid", "c"].map((m) => rooms.execute("r1", send(m)));

    open();

    expect(await settled(calls)).toEqual(["a", "b", "!error-invalid", "c"]);
    expect(batches).toEqual([["a", "b", "invalid", "c"]]);
    expect(executed).toEqual(["r1:a", "r1:b", "r1:c"]);
    rooms.stop();
  });

  test("runs a thread reply or another command alone, between the batches around it", async () => {
    const { closed, open } = gate();
    const { effects, executed, batches } = memoryEffects({ batches: true, gate: closed });
    const rooms = startRoomSupervisor(deps, { effects });
    const commands = [send("a"), send("b"), send("reply", "parent"), send("c"), send("d")];
    const calls = [
      ...commands.map((c) => rooms.execute("r1", c)),
      rooms.execute("r1", { kind: "reload", members: false }),
      rooms.execute("r1", send("e")),
    ];

    open();

    expect(await settled(calls)).toEqual(["a", "b", "reply", "c", "d", "reload", "e"]);
    expect(batches).toEqual([
      ["a", "b"],
      ["c", "d"],
    ]);
    expect(executed).toEqual(["a", "b", "reply", "c", "d", "reload", "e"].map((t) => `r1:${t}`));
    rooms.stop();
  });

  test("refuses every message of a batch that fails as a whole and serves the next", async () => {
    const { closed, open } = gate();
    const { effects, executed } = memoryEffects({ batches: true, gate: closed });
    const rooms = startRoomSupervisor(deps, { effects });
    const failed = ["a", "fault"].map((m) => rooms.execute("r1", send(m)));
    const reload = rooms.execute("r1", { kind: "reload", members: false });
    const after = rooms.execute("r1", send("after"));

    open();

    expect(await settled(failed)).toEqual(["!TypeError", "!TypeError"]);
    expect(await settled([reload, after])).toEqual(["reload", "after"]);
    expect(executed).toEqual(["r1:reload", "r1:after"]);
    rooms.stop();
  });
});
