/**
 * Discussion commands of the room actor, run by the room that links to a discussion (its
 * parent): posting the `discussion-created` message, and copying the discussion's
 * message count and last message time (`dcount`, `dlm`) onto the messages that link to
 * it. Both change messages of the parent room, so its actor runs them.
 */
import { ClientError } from "../core/errors.ts";
import type { Message, Room, User } from "../core/models.ts";
import { persistMessage, systemMessage } from "./message-commands.ts";
import type { CommandDeps, CommandHandlers, RoomState } from "./room-commands.ts";

/** The discussion commands of a room actor; each answers with a linking message. */
export type DiscussionCommand =
  | {
      readonly kind: "discussion-created";
      readonly user: User;
      /** The new discussion's id. */
      readonly drid: string;
      /** The discussion's display name, which the message shows. */
      readonly name: string;
      /** The message of this room the discussion was started from. */
      readonly pmid?: string;
      /** A quote of that message, shown in the linking message. */
      readonly attachment?: Record<string, unknown>;
    }
  | { readonly kind: "discussion-metadata"; readonly drid: string };

function cannotStart(error: string): ClientError {
  return new ClientError(error);
}

/**
 * Throws unless `user` may start a discussion in `room`, as Rocket.Chat's canSendMessage
 * decides: the room must be readable, writable and not a discussion itself. A private
 * room the user cannot read answers `error-invalid-room`, as one that does not exist, so
 * that nobody learns of it; Rocket.Chat answers `error-not-allowed` there.
 */
export async function assertCanStartDiscussion(
  deps: Pick<CommandDeps, "authz">,
  room: Room,
  user: User,
): Promise<void> {
  if (!(await deps.authz.canAccessRoom(room, user))) {
    throw cannotStart(room.t === "c" ? "error-not-allowed" : "error-invalid-room");
  }
  if (room.ro === true && !(await deps.authz.can(user, "post-readonly", room._id))) {
    throw cannotStart("You can't send messages because the room is readonly.");
  }
  if (Array.isArray(room.muted) && room.muted.includes(user.username)) {
    throw cannotStart("You_have_been_muted");
  }
  if (room.prid) {
    throw new ClientError("error-nested-discussion", "Cannot create nested discussions", {
      details: { method: "DiscussionCreation" },
    });
  }
}

async function postDiscussionCreated(
  deps: CommandDeps,
  state: RoomState,
  c: Extract<DiscussionCommand, { kind: "discussion-created" }>,
) {
  await assertCanStartDiscussion(deps, state.room, c.user);
  const message: Message = {
    ...systemMessage(deps, state.room, "discussion-created", c.user, c.name),
    drid: c.drid,
    ...(c.attachment && { attachments: [c.attachment] }),
  };
  const next = await persistMessage(deps, state, message, false);
  if (c.pmid) {
    const parent = await deps.db.messages.findOneAndUpdate(
      { _id: c.pmid, rid: state.room._id },
      { $set: { drid: c.drid, _updatedAt: message.ts } },
    );
    if (parent) deps.hub.emit("stream-room-messages", state.room._id, [parent]);
  }
  return { state: next, reply: message };
}

/**
 * Copies the discussion's `msgs` and `lm` onto this room's messages that link to it. The
 * values are read from the store when the command runs, so whichever refresh runs last
 * writes the latest counts, however the refreshes of a busy discussion interleave.
 */
async function refreshDiscussionMetadata(deps: CommandDeps, state: RoomState, drid: string) {
  const discussion = await deps.db.rooms.findOne({ _id: drid }, { projection: { msgs: 1, lm: 1 } });
  if (!discussion) return { state, reply: null };
  const linking = await deps.db.messages.find(
    { rid: state.room._id, drid },
    { projection: { _id: 1 } },
  );
  let first: Message | null = null;
  for (const { _id } of linking) {
    const updated = await deps.db.messages.findOneAndUpdate(
      { _id },
      { $set: { dcount: discussion.msgs, ...(discussion.lm && { dlm: discussion.lm }) } },
    );
    if (!updated) continue;
    first ??= updated;
    deps.hub.emit("stream-room-messages", state.room._id, [updated]);
  }
  return { state, reply: first };
}

export const discussionHandlers: CommandHandlers<DiscussionCommand> = {
  "discussion-created": (deps, state, c) => postDiscussionCreated(deps, state, c),
  "discussion-metadata": (deps, state, c) => refreshDiscussionMetadata(deps, state, c.drid),
};

/**
 * After a command changed a discussion's message count or last message time, has the
 * rooms that link to it refresh their `dcount`/`dlm`, each through its own actor. Called
 * by the discussion's actor after every command; does nothing for other rooms. A parent
 * that cannot be reached (deleted, quarantined) is logged and skipped: the message in
 * the discussion is already saved, and the next one refreshes the counters again.
 * The wait is one-way by rule: a room's actor must never wait on one of its discussions'
 * actors, or the two would wait on each other forever.
 */
export async function syncDiscussionCounters(
  deps: CommandDeps,
  before: Room,
  after: Room,
): Promise<void> {
  if (!after.prid) return;
  if (after.msgs === before.msgs && after.lm?.getTime() === before.lm?.getTime()) return;
  const linking = await deps.db.messages.find({ drid: after._id }, { projection: { rid: 1 } });
  for (const rid of new Set(linking.map((m) => m.rid))) {
    try {
      await deps.rooms.execute(rid, { kind: "discussion-metadata", drid: after._id });
    } catch (error) {
      deps.log.warn({ err: error, rid, drid: after._id }, "discussion counters not refreshed");
    }
  }
}
