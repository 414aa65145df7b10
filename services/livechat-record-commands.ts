/**
 * The room actor's command for the records Omnichannel leaves in a room: a visitor's
 * navigation (`livechat_navigation_history`), a sent transcript
 * (`livechat_transcript_history`) and an offline message posted to a channel. Like every
 * room write it runs in the room's actor, so the record takes its place in the room's
 * order of messages. A hidden record (`_hidden`, as Rocket.Chat keeps navigation when
 * Livechat_Visitor_navigation_as_a_message is off) is stored only: no client is told of
 * it and the room's counters stay as they are.
 */
import type { Message, UserRef } from "../core/models.ts";
import { markdown } from "./markdown.ts";
import { nextMessageTime, persistMessage } from "./message-commands.ts";
import type { CommandDeps, CommandHandlers, RoomState } from "./room-commands.ts";

/** A record to write: its author, text, system type and Rocket.Chat's extra fields. */
export interface RecordDraft {
  readonly u: UserRef;
  readonly msg: string;
  /** The system message type; absent for a plain message. */
  readonly t?: string;
  readonly fields?: Readonly<Record<string, unknown>>;
  /** Kept out of history and streams (`_hidden: true`). */
  readonly hidden?: boolean;
  /** Counts as the room's last message and as unread for its members. */
  readonly countsUnread?: boolean;
}

/** The command that writes a record in a room. */
export type LivechatRecordCommand = {
  readonly kind: "livechat.record";
  readonly draft: RecordDraft;
};

async function record(
  deps: CommandDeps,
  state: RoomState,
  c: LivechatRecordCommand,
): Promise<{ state: RoomState; reply: Message }> {
  const { draft } = c;
  const ts = nextMessageTime(deps, state.room);
  const md = draft.t === undefined ? await markdown.parse(draft.msg, deps.log) : undefined;
  const message: Message = {
    _id: deps.ids.id(),
    rid: state.room._id,
    msg: draft.msg,
    ts,
    u: draft.u,
    _updatedAt: ts,
    groupable: false,
    ...(draft.t !== undefined && { t: draft.t }),
    ...(md && { md }),
    ...draft.fields,
    ...(draft.hidden && { _hidden: true }),
  };
  if (draft.hidden) {
    await deps.db.messages.insertOne(message);
    return { state, reply: message };
  }
  const next = await persistMessage(deps, state, message, draft.countsUnread === true);
  return { state: next, reply: message };
}

/** The handler of the record command. */
export const livechatRecordHandlers: CommandHandlers<LivechatRecordCommand> = {
  "livechat.record": record,
};
