import { describe, expect, test } from "bun:test";
import { SimulatedClock } from "xstate";
import { systemClock } from "../core/clock.ts";
import { ClientError } from "../core/errors.ts";
import { createLogger } from "../core/logger.ts";
import {
  type CommandDeps,
  type RoomCommand,
  type RoomState,
  StoreRefusal,
} from "../services/room-commands.ts";
import { InvalidQueryError } from "../store/types.ts";
import { type RoomEffects, startRoomSupervisor } from "../supervisors/rooms.ts";

/** Effects over an in-memory log of executed commands, so the actor's ordering is visible. */
function memoryEffects() {
  const executed: string[] = [];
  let loads = 0;
  const effects: RoomEffects = {
    load: async (rid) => {
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
  };
  return { effects, executed, loads: () => loads };
}

const deps = { log: createLogger("silent"), clock: systemClock } as unknown as CommandDeps;

function send(msg: string): RoomCommand {
  return { kind: "send", user: {} as never, draft: { msg } };
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
});
