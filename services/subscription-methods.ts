/**
 * The DDP methods of a member's read state and room list, with Rocket.Chat's parameters
 * and answers: `readMessages` and `unreadMessages` answer nothing; `openRoom`, `hideRoom`
 * and `toggleFavorite` answer how many subscriptions changed (0 or 1). Each change runs in
 * the room's actor, in order with the room's messages.
 */
import { ClientError } from "../core/errors.ts";
import type { Message, Room, User } from "../core/models.ts";
import type { Services } from "./index.ts";
import { matchFailed, str, type MethodDef, signedIn } from "./method-params.ts";
import type { SubscriptionCommand } from "./subscription-commands.ts";

/**
 * Runs `command` in room `rid`'s actor, or answers 0 without one when the room does not
 * exist, as Rocket.Chat's methods update no subscription then.
 */
async function inRoom(services: Services, rid: string, command: SubscriptionCommand) {
  if (!(await services.rooms.byId(rid))) return 0;
  return services.deps.rooms.execute(rid, command);
}

/**
 * Marks messages unread for `user`: from `firstUnread` on (a message id), or the last
 * message of room `rid`. Shared by REST `subscriptions.unread` and DDP `unreadMessages`;
 * throws Rocket.Chat's errors (see markUnread in subscription-commands.ts).
 */
export async function markUnread(
  services: Services,
  user: User,
  target: { readonly rid: string } | { readonly firstUnreadId: string },
): Promise<void> {
  const details = { method: "unreadMessages", action: "Unread_messages" };
  if ("rid" in target) {
    const room: Room | null = await services.rooms.byId(target.rid);
    if (!room) {
      throw new ClientError("error-no-message-for-unread", "There are no messages to mark unread", {
        details,
      });
    }
    await services.deps.rooms.execute(room._id, { kind: "sub.unread", user });
    return;
  }
  const message: Message | null = await services.messages.byId(target.firstUnreadId);
  if (!message) throw new ClientError("error-action-not-allowed", "Not allowed", { details });
  await services.deps.rooms.execute(message.rid, {
    kind: "sub.unread",
    user,
    firstUnreadId: message._id,
  });
}

/**
 * Marks room `rid` read for `user`, with thread replies too when `readThreads`. Shared by
 * REST `subscriptions.read` and DDP `readMessages`; throws the bare
 * `error-invalid-subscription` for a room that does not exist or a non-member.
 */
export async function markRead(
  services: Services,
  user: User,
  rid: string,
  readThreads: boolean,
): Promise<void> {
  if (!(await services.rooms.byId(rid))) {
    throw new ClientError("error-invalid-subscription", "error-invalid-subscription", {
      plain: true,
    });
  }
  await services.deps.rooms.execute(rid, { kind: "sub.read", user, readThreads });
}

/** Read state and room-list methods, by name. */
export const SUBSCRIPTION_METHODS: Record<string, MethodDef> = {
  readMessages: signedIn(async (services, caller, [rid, readThreads]) => {
    const user = caller.user;
    const room = await services.rooms.byId(str(rid));
    if (!room) {
      const details = { method: "readMessages" };
      throw new ClientError("error-room-does-not-exist", "This room does not exist", { details });
    }
    if (!(await services.authz.canAccessRoom(room, user))) {
      throw new ClientError("error-not-allowed", "Not allowed", {
        details: { method: "readMessages" },
      });
    }
    // A reader of a public channel who is not a member has no read state to clear.
    if (await services.authz.isMember(room._id, user._id))
      await markRead(services, user, room._id, readThreads === true);
    return undefined;
  }),
  unreadMessages: signedIn(async (services, caller, [firstUnreadMessage, rid]) => {
    const user = caller.user;
    if (typeof rid === "string" && rid !== "") {
      await markUnread(services, user, { rid });
      return undefined;
    }
    const id = (firstUnreadMessage as { _id?: unknown } | null | undefined)?._id;
    if (typeof id !== "string") {
      const details = { method: "unreadMessages", action: "Unread_messages" };
      throw new ClientError("error-action-not-allowed", "Not allowed", { details });
    }
    await markUnread(services, user, { firstUnreadId: id });
    return undefined;
  }),
  openRoom: signedIn(async (services, caller, [rid]) => {
    const room = str(rid);
    const user = caller.user;
    return inRoom(services, room, { kind: "sub.open", user });
  }),
  hideRoom: signedIn(async (services, caller, [rid]) => {
    const room = str(rid);
    const user = caller.user;
    return inRoom(services, room, { kind: "sub.hide", user });
  }),
  toggleFavorite: signedIn(async (services, caller, [rid, favorite]) => {
    const room = str(rid);
    if (favorite !== undefined && typeof favorite !== "boolean") throw matchFailed();
    const user = caller.user;
    if (!(await services.rooms.byId(room))) {
      throw new ClientError(
        "error-invalid-subscription",
        "You must be part of a room to favorite it",
        {
          details: { method: "toggleFavorite" },
        },
      );
    }
    const f = favorite ?? true;
    return services.deps.rooms.execute(room, { kind: "sub.favorite", user, favorite: f });
  }),
};
