/**
 * The DDP methods that mark messages, with Rocket.Chat's parameters and answers:
 * `setReaction` (`[reaction, messageId, shouldReact?]`, answers nothing), `pinMessage`
 * (`[message, pinnedAt?]`, answers the `message_pinned` system message), `unpinMessage`
 * (`[message]`, answers `true`) and `starMessage` (`[{_id, rid, starred}]`, answers
 * whether a star changed). The work happens in the room actor (mark-commands.ts).
 */
import { ClientError } from "../core/errors.ts";
import type { Message, User } from "../core/models.ts";
import { assertPinningAllowed, assertStarringAllowed, reactionName } from "./mark-commands.ts";
import { notifyEphemeral } from "./mentions.ts";
import { matchFailed, obj, optionalDate, str, type MethodDef, signedIn } from "./method-params.ts";

/** Rocket.Chat's answer to a reaction that names no emoji it knows. */
function invalidEmoji(): ClientError {
  return new ClientError("error-not-allowed", "Invalid emoji provided.", {
    details: { method: "setReaction" },
  });
}

/**
 * The room command that reacts with `reaction` (any spelling reactionName accepts) to
 * `message` as `user`; throws Rocket.Chat's "Invalid emoji provided." for a name that is
 * no shortcode.
 */
export function reactCommand(
  user: User,
  message: Message,
  reaction: string,
  shouldReact: boolean | undefined,
) {
  const name = reactionName(reaction);
  if (!name) throw invalidEmoji();
  return {
    kind: "react",
    user,
    msgId: message._id,
    reaction: name,
    ...(shouldReact !== undefined && { shouldReact }),
  } as const;
}

function optionalBoolean(value: unknown): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "boolean") throw matchFailed();
  return value;
}

/** The mark methods, by name. */
export const MESSAGE_METHODS: Record<string, MethodDef> = {
  setReaction: signedIn(async (services, caller, [reaction, messageId, shouldReact]) => {
    const user = caller.user;
    const name = str(reaction);
    if (!reactionName(name)) throw invalidEmoji();
    const message = await services.messages.byId(str(messageId));
    if (!message || message._hidden) {
      throw new ClientError("error-not-allowed", "Not allowed", {
        details: { method: "setReaction" },
      });
    }
    const command = reactCommand(user, message, name, optionalBoolean(shouldReact));
    try {
      return await services.deps.rooms.execute(message.rid, command);
    } catch (error) {
      // A refusal that names the room (a muted user) is told privately and answered
      // `false`, as Rocket.Chat's method does; REST reports it as an error instead.
      const details = error instanceof ClientError ? error.details : undefined;
      const rid = details && "rid" in details ? details.rid : undefined;
      if (!(error instanceof ClientError) || error.error !== "error-not-allowed" || !rid) {
        throw error;
      }
      notifyEphemeral(services.deps, user._id, String(rid), { msg: error.reason });
      return false;
    }
  }),
  pinMessage: signedIn(async (services, caller, [message, pinnedAt]) => {
    const msgId = str(obj(message)._id);
    const user = caller.user;
    const original = await services.messages.byId(msgId);
    if (!original || original._hidden) {
      throw new ClientError("error-invalid-message", "Message you are pinning was not found", {
        details: { method: "pinMessage", action: "Message_pinning" },
      });
    }
    const at = optionalDate(pinnedAt);
    const command = { kind: "pin", user, msgId, ...(at && { pinnedAt: at }) } as const;
    return services.deps.rooms.execute(original.rid, command);
  }),
  unpinMessage: signedIn(async (services, caller, [message]) => {
    const msgId = str(obj(message)._id);
    const user = caller.user;
    assertPinningAllowed(services, "unpinMessage");
    const original = await services.messages.byId(msgId);
    if (!original || original._hidden) {
      throw new ClientError("error-invalid-message", "Message you are unpinning was not found", {
        details: { method: "unpinMessage", action: "Message_pinning" },
      });
    }
    return services.deps.rooms.execute(original.rid, { kind: "unpin", user, msgId });
  }),
  starMessage: signedIn(async (services, caller, [message]) => {
    const user = caller.user;
    const m = obj(message);
    const msgId = str(m._id);
    const rid = str(m.rid);
    assertStarringAllowed(services);
    // No room, no subscription: Rocket.Chat answers `false`.
    if (!(await services.rooms.byId(rid))) return false;
    return services.deps.rooms.execute(rid, {
      kind: "star",
      user,
      msgId,
      starred: m.starred === true,
    });
  }),
};
