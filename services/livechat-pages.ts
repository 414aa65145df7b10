/**
 * What a visitor's widget reports besides messages: the pages they open
 * (`livechat/page.visited`) and their presence (`livechat/visitor.status`).
 *
 * A page is recorded as Rocket.Chat records it, a `livechat_navigation_history` message by
 * rocket.cat in the visitor's room, "title - url", carrying `navigation: {page, token}`;
 * hidden from the conversation unless Livechat_Visitor_navigation_as_a_message is on. Only
 * changes of the kind Livechat_history_monitor_type watches (the URL, or the title) count.
 *
 * Limitation: a page seen while the visitor has no conversation (or with a room id that is
 * not theirs) is answered as Rocket.Chat answers it but not kept; Rocket.Chat keeps it for
 * a month outside any room, where nothing reads it.
 */
import { ClientError } from "../core/errors.ts";
import type { UserRef, UserStatus } from "../core/models.ts";
import { observe } from "./livechat-queue.ts";
import { requireVisitor, visitorByToken } from "./livechat-visitors.ts";
import type { CommandDeps } from "./room-commands.ts";

/** What the widget says about a page. */
export interface PageInfo {
  readonly change: string;
  readonly title: string;
  readonly location: { readonly href: string };
}

/** The record of a page, as `livechat/page.visited` answers it. */
export interface PageRecord {
  readonly msg: string;
  readonly navigation: { readonly page: PageInfo; readonly token: string };
}

/**
 * Records that the visitor of `token` opened `page`, in their room `rid` when it is theirs.
 * Resolves to the record, or null when the change is not one Livechat_history_monitor_type
 * watches.
 */
export async function savePageHistory(
  deps: CommandDeps,
  token: string,
  rid: string | null | undefined,
  page: PageInfo,
): Promise<PageRecord | null> {
  const { db, settings } = deps;
  if (page.change !== settings.get<string>("Livechat_history_monitor_type")) return null;
  const kept: PageInfo = {
    change: page.change,
    title: page.title,
    location: { href: page.location.href },
  };
  const record: PageRecord = {
    msg: `${kept.title} - ${kept.location.href}`,
    navigation: { page: kept, token },
  };
  const visitor = rid ? await visitorByToken(deps, token) : null;
  const room = visitor ? await db.rooms.findOne({ _id: rid, t: "l", "v.token": token }) : null;
  const cat = room ? await db.users.findOne({ _id: "rocket.cat" }) : null;
  if (!room || !cat) return record;
  const author: UserRef = { _id: cat._id, username: cat.username };
  await deps.rooms.execute(room._id, {
    kind: "livechat.record",
    draft: {
      u: author,
      msg: record.msg,
      t: "livechat_navigation_history",
      fields: { navigation: record.navigation },
      hidden: settings.get<boolean>("Livechat_Visitor_navigation_as_a_message") !== true,
    },
  });
  return record;
}

const STATUSES: readonly string[] = ["online", "away", "busy", "offline"];

/**
 * Sets the status of the visitor of `token` on their open rooms and waiting inquiries, as
 * Rocket.Chat does, and tells the agents watching the queue. Throws `invalid-token` for an
 * unknown visitor and `error-invalid-status` for a status other than online, away, busy
 * and offline.
 */
export async function setVisitorStatus(
  deps: CommandDeps,
  token: string,
  status: string,
): Promise<void> {
  await requireVisitor(deps, token);
  if (!STATUSES.includes(status)) {
    throw new ClientError("error-invalid-status", "Invalid status");
  }
  const { db } = deps;
  const rooms = await db.rooms.find(
    { t: "l", "v.token": token, open: true },
    { projection: { _id: 1 } },
  );
  await db.rooms.updateMany(
    { t: "l", "v.token": token, open: true },
    { $set: { "v.status": status as UserStatus } },
  );
  for (const room of rooms) await deps.rooms.execute(room._id, { kind: "reload", members: false });
  const waiting = await db.livechatInquiries.find({ "v.token": token, status: "queued" });
  await db.livechatInquiries.updateMany(
    { "v.token": token, status: "queued" },
    { $set: { "v.status": status } },
  );
  for (const inquiry of waiting) {
    observe(deps, { ...inquiry, v: { ...inquiry.v, status } }, "changed");
  }
}
