/**
 * The commands a room actor executes, one at a time, for its room: sending, editing and
 * deleting messages, and membership changes. Each validates against the room's current
 * state, persists, then fans the change out through the hub. The actor keeps the
 * returned state between commands so that membership checks need no query.
 */
import { ClientError } from "../core/errors.ts";
import type { Message, Room } from "../core/models.ts";
import { InvalidQueryError } from "../store/types.ts";
import { type AccountCommand, accountHandlers } from "./account-commands.ts";
import type { Authz } from "./authz.ts";
import type { Deps } from "./context.ts";
import {
  type DiscussionCommand,
  discussionHandlers,
  syncDiscussionCounters,
} from "./discussion-commands.ts";
import {
  type LivechatCommand,
  type LivechatResult,
  livechatHandlers,
} from "./livechat-commands.ts";
import { type LivechatRecordCommand, livechatRecordHandlers } from "./livechat-record-commands.ts";
import { type MarkCommand, type MarkReply, markHandlers } from "./mark-commands.ts";
import { type MembershipCommand, membershipHandlers } from "./membership-commands.ts";
import { type MessageCommand, messageHandlers } from "./message-commands.ts";
import {
  type RoomAdminCommand,
  type RoomAdminReply,
  roomAdminHandlers,
} from "./room-admin-commands.ts";
import { sendBatch } from "./send-batch.ts";
import type { Settings } from "./settings.ts";
import { type SubscriptionCommand, subscriptionHandlers } from "./subscription-commands.ts";
import { type TeamCommand, teamHandlers } from "./team-commands.ts";
import { type ThreadCommand, threadHandlers } from "./thread-commands.ts";

/** What a client may set on a new message. */
export interface MessageDraft {
  readonly _id?: string;
  readonly msg?: string;
  readonly alias?: string;
  readonly emoji?: string;
  readonly avatar?: string;
  readonly attachments?: readonly Record<string, unknown>[];
  readonly tmid?: string;
  /** With `tmid`: show the reply in the room too. */
  readonly tshow?: boolean;
  readonly customFields?: Record<string, unknown>;
  /** The uploaded file a message carries, set by the server only (services/uploads.ts). */
  readonly file?: Record<string, unknown>;
  /** The file and its thumbnail, as Rocket.Chat lists them; server-set as `file`. */
  readonly files?: readonly Record<string, unknown>[];
}

/**
 * Every command a room actor runs. Each family of commands lives in a module of its own
 * with its handlers; adding a family means adding it to this union, to HANDLERS and to
 * RoomReply below.
 */
export type RoomCommand =
  | AccountCommand
  | RoomAdminCommand
  | MarkCommand
  | DiscussionCommand
  | LivechatCommand
  | LivechatRecordCommand
  | MessageCommand
  | MembershipCommand
  | SubscriptionCommand
  | TeamCommand
  | ThreadCommand
  | ReloadCommand;

/**
 * Reads the room again because another process changed it: the room document, and the
 * members too when `members` says they changed.
 */
export interface ReloadCommand {
  readonly kind: "reload";
  readonly members: boolean;
}

/** A plain message: a send that is not a thread reply, which may run in a batch (send-batch.ts). */
export type PlainSend = Extract<MessageCommand, { readonly kind: "send" }>;

/** Whether `command` is a plain message, which the room actor may run with others beside it. */
export function isBatchableSend(command: RoomCommand): command is PlainSend {
  return command.kind === "send" && !command.draft.tmid;
}

/** How one command of a batch ended: its caller's answer, or the client error it was refused with. */
export type Outcome =
  | { readonly ok: true; readonly reply: unknown }
  | { readonly ok: false; readonly error: ClientError };

/** What a batch of commands resolves to: the room's new state and each command's outcome, in order. */
export interface BatchResult {
  readonly state: RoomState;
  readonly outcomes: readonly Outcome[];
}

/** What a command's handler resolves to: the room's new state and the caller's answer. */
export interface CommandResult<R = unknown> {
  readonly state: RoomState;
  readonly reply: R;
}

/** One handler per command kind of the union `C`. */
export type CommandHandlers<C extends { readonly kind: string }> = {
  readonly [K in C["kind"]]: (
    deps: CommandDeps,
    state: RoomState,
    command: Extract<C, { readonly kind: K }>,
  ) => Promise<CommandResult>;
};

const HANDLERS: CommandHandlers<Exclude<RoomCommand, ReloadCommand>> = {
  ...accountHandlers,
  ...markHandlers,
  ...discussionHandlers,
  ...livechatHandlers,
  ...livechatRecordHandlers,
  ...roomAdminHandlers,
  ...messageHandlers,
  ...membershipHandlers,
  ...subscriptionHandlers,
  ...teamHandlers,
  ...threadHandlers,
};

/** The answer of command `C`: messages for message commands, the room for membership. */
export type RoomReply<C extends RoomCommand> = C extends ReloadCommand
  ? null
  : C extends RoomAdminCommand
    ? RoomAdminReply<C>
    : C extends MarkCommand
      ? MarkReply<C>
      : C extends DiscussionCommand
        ? Message | null
        : C extends MessageCommand | ThreadCommand | LivechatRecordCommand
          ? Message
          : C extends MembershipCommand | AccountCommand | TeamCommand
            ? Room
            : C extends SubscriptionCommand
              ? number
              : C extends LivechatCommand
                ? LivechatResult
                : never;

/** What a room actor remembers between commands. */
export interface RoomState {
  readonly room: Room;
  /** Ids of the members (users with a subscription). */
  readonly members: ReadonlySet<string>;
  /** Set by a command that deleted the room: its actor ends after answering it. */
  readonly deleted?: true;
}

/** The services a command needs. */
export interface CommandDeps extends Deps {
  readonly authz: Authz;
  readonly settings: Settings;
}

/** Reads a room's state from the store; null when the room does not exist. */
export async function loadRoomState(
  deps: Pick<Deps, "db">,
  rid: string,
): Promise<RoomState | null> {
  const room = await deps.db.rooms.findOne({ _id: rid });
  if (!room) return null;
  const subs = await deps.db.subscriptions.find({ rid }, { projection: { "u._id": 1 } });
  return { room, members: new Set(subs.map((s) => s.u._id)) };
}

/**
 * A write of a command that the store refused as invalid (its InvalidQueryError is the
 * `cause`). The caller is answered as for bad input, and the room actor reloads its state
 * from the store instead of crashing, since a command refused halfway may have written
 * part of its change.
 */
export class StoreRefusal extends ClientError {
  constructor(cause: InvalidQueryError) {
    super("error-invalid-params", "The request carries a value that cannot be stored", {
      cause,
    });
  }
}

/**
 * Runs one command against `state`; resolves to the new state and the reply. A store
 * refusal (InvalidQueryError) is logged and rethrown as a StoreRefusal.
 *
 * Why a client error and not a crash: the store refuses a write before applying it, so a
 * refusal means the command carried a value the boundary checks let through, or built a
 * query wrongly. Crashing would let any member quarantine a room for everyone with a few
 * such messages, and a restart would not fix either cause. Logged at error level, a
 * boundary gap or a bug still shows; only its caller's request fails.
 */
export async function executeRoomCommand(
  deps: CommandDeps,
  state: RoomState,
  command: RoomCommand,
): Promise<CommandResult> {
  if (command.kind === "reload") return reloadRoom(deps, state, command);
  return withRefusals(deps, state, command.kind, () => runCommand(deps, state, command));
}

/**
 * Runs plain messages sent to one room together (see send-batch.ts); resolves to the new
 * state and each one's outcome. A store refusal refuses the batch as executeRoomCommand
 * refuses a command.
 */
export function executeSendBatch(
  deps: CommandDeps,
  state: RoomState,
  commands: readonly PlainSend[],
): Promise<BatchResult> {
  return withRefusals(deps, state, "send", () => sendBatch(deps, state, commands));
}

/** Runs `work` for the room of `state`, syncing discussion counters after it and turning a store refusal into a StoreRefusal. */
async function withRefusals<R extends { readonly state: RoomState }>(
  deps: CommandDeps,
  state: RoomState,
  kind: string,
  work: () => Promise<R>,
): Promise<R> {
  try {
    const result = await work();
    await syncDiscussionCounters(deps, state.room, result.state.room);
    return result;
  } catch (error) {
    if (!(error instanceof InvalidQueryError)) throw error;
    const fields = { err: error, rid: state.room._id, command: kind };
    deps.log.error(fields, "store refused a room command");
    throw new StoreRefusal(error);
  }
}

async function reloadRoom(
  deps: CommandDeps,
  state: RoomState,
  command: ReloadCommand,
): Promise<CommandResult<null>> {
  const rid = state.room._id;
  const fresh = command.members
    ? await loadRoomState(deps, rid)
    : await deps.db.rooms.findOne({ _id: rid }).then((room) => room && { ...state, room });
  return { state: fresh ?? { ...state, deleted: true }, reply: null };
}

function runCommand(
  deps: CommandDeps,
  state: RoomState,
  command: Exclude<RoomCommand, ReloadCommand>,
) {
  const handler = HANDLERS[command.kind] as (
    deps: CommandDeps,
    state: RoomState,
    command: RoomCommand,
  ) => Promise<CommandResult>;
  return handler(deps, state, command);
}
