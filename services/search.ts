/**
 * Message search within one room, for `chat.search` and the DDP `messageSearch` method.
 * A search runs only in a room the caller may read, and never returns a message hidden
 * as edit history or deleted in place (`t: "rm"`). The text is parsed by search-query.ts.
 *
 * Limitation: on the embedded store a search for several words finds the messages that
 * hold all of them, unstemmed ("meeting" does not find "meetings"); on MongoDB it finds
 * those that hold any of them, stemmed, as Rocket.Chat does. Either way results come
 * newest first, not by relevance.
 */
import type { Message, User } from "../core/models.ts";
import type { Services } from "./index.ts";
import { parseSearch } from "./search-query.ts";

/** Where and how much to search. */
export interface SearchWindow {
  /** The room to search in. */
  readonly rid: string;
  readonly offset: number;
  /** How many messages at most (the caller bounds it). */
  readonly count: number;
}

/**
 * The messages of room `window.rid` that match `text` for `user`, newest first unless
 * the text says `order:asc`. Resolves to false when the room does not exist or `user`
 * may not read it (so both answer alike), and to no messages when the text asks for
 * nothing.
 */
export async function searchMessages(
  services: Services,
  user: User,
  text: string,
  window: SearchWindow,
): Promise<Message[] | false> {
  const room = await services.rooms.byId(window.rid);
  if (!room || !(await services.authz.canAccessRoom(room, user))) return false;

  const { filter, sort } = parseSearch(text, user);
  if (Object.keys(filter).length === 0) return [];
  return services.deps.db.messages.find(
    { ...filter, rid: room._id, t: { $ne: "rm" }, _hidden: { $ne: true } },
    { sort, skip: window.offset, limit: Math.max(1, window.count) },
  );
}
