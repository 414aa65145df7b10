/**
 * How a room command fails when the store refuses one of its writes: as a client error
 * the actor survives, not as a fault that crashes it. The store is the real embedded
 * engine; only the messages collection is made to refuse.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Message } from "../core/models.ts";
import { executeRoomCommand, loadRoomState, StoreRefusal } from "../services/room-commands.ts";
import { type Collection, InvalidQueryError } from "../store/types.ts";
import { startTestServer, type TestServer } from "./helpers.ts";
import { addPerson, addRoom } from "./fixtures/people.ts";

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(() => server.stop());

test("a message the store refuses to insert is answered as a StoreRefusal", async () => {
  const alice = await addPerson(server);
  const room = await addRoom(server, "c", alice);
  const real = server.parley.services.commandDeps;
  const refusing: Collection<Message> = Object.create(real.db.messages, {
    insertOne: { value: () => Promise.reject(new InvalidQueryError("refused by the store")) },
  });
  const deps = { ...real, db: { ...real.db, messages: refusing } };
  const state = await loadRoomState(real, room._id);

  const error = await executeRoomCommand(deps, state!, {
    kind: "send",
    user: alice.user,
    draft: { msg: "hello" },
  }).catch((e: unknown) => e);

  expect(error).toBeInstanceOf(StoreRefusal);
  expect(error).toMatchObject({
    error: "error-invalid-params",
    reason: "The request carries a value that cannot be stored",
    cause: expect.any(InvalidQueryError),
  });
});
