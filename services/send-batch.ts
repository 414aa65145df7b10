/**
 * Plain messages sent to one room together: the room actor hands over the messages that
 * queued up while it worked, so that a busy room pays one wait for durability and one
 * update of its room and its members' subscriptions per batch instead of per message.
 *
 * Each message is checked as if sent alone, one after another, each stamped after the
 * one before; a message refused by a check, or as a duplicate, is answered with its
 * error and leaves the others alone. The rest are stored together (the embedded store
 * commits them in one transaction) and only then counted, streamed in order and
 * answered, so a message acknowledged to its sender is durable, as for one sent alone.
 */
import { ClientError } from "../core/errors.ts";
import type { Message } from "../core/models.ts";
import { DuplicateKeyError } from "../store/types.ts";
import { draftMessage, duplicateAsClientError, recordStored } from "./message-commands.ts";
import type { BatchResult, CommandDeps, Outcome, PlainSend, RoomState } from "./room-commands.ts";

/**
 * Sends `commands` (plain messages, in arrival order) to the room of `state`; resolves to
 * the room's new state and each command's outcome, in order. Throws what is not a client
 * error (a fault), after which nothing is acknowledged.
 */
export async function sendBatch(
  deps: CommandDeps,
  state: RoomState,
  commands: readonly PlainSend[],
): Promise<BatchResult> {
  const outcomes: Outcome[] = [];
  const drafted: { readonly index: number; readonly message: Message }[] = [];
  const ids = new Set<string>();
  let room = state.room;
  for (const [index, command] of commands.entries()) {
    try {
      const message = await draftMessage(deps, { ...state, room }, command.user, command.draft);
      if (ids.has(message._id)) {
        throw duplicateAsClientError(new DuplicateKeyError("messages", { _id: message._id }));
      }
      ids.add(message._id);
      drafted.push({ index, message });
      // The next message is stamped after this one, as if this one were stored already.
      room = { ...room, lm: message.ts };
    } catch (error) {
      if (!(error instanceof ClientError)) throw error;
      outcomes[index] = { ok: false, error };
    }
  }

  // One group commit for all; an insert refused as a duplicate refuses only its message.
  const inserts = await Promise.allSettled(
    drafted.map(({ message }) => deps.db.messages.insertOne(message)),
  );
  const stored: Message[] = [];
  inserts.forEach((insert, k) => {
    const { index, message } = drafted[k] as (typeof drafted)[number];
    if (insert.status === "fulfilled") {
      stored.push(message);
      outcomes[index] = { ok: true, reply: message };
      return;
    }
    const error = duplicateAsClientError(insert.reason);
    if (!(error instanceof ClientError)) throw error;
    outcomes[index] = { ok: false, error };
  });
  if (stored.length === 0) return { state, outcomes };
  return { state: await recordStored(deps, state, stored, true), outcomes };
}
