/**
 * Transcripts of Omnichannel conversations by e-mail, as Rocket.Chat sends them: the
 * visitor asks for one (`livechat/transcript`, any time, for a room opened with their
 * token), an agent sends one (`livechat:sendTranscript`), or an agent asks for one to go
 * when the conversation closes (`livechat/transcript/:rid`: the room's `transcriptRequest`,
 * sent and cleared by the close). The mail lists the room's messages up to its close,
 * oldest first, each with its author ("You" for the visitor; the agent's name, or "Agent"
 * when Livechat_show_agent_info is off) and time; the room records that it was sent with a
 * `livechat_transcript_history` message.
 *
 * Limitation: files shared in the conversation are listed by their description only (no
 * images inline), system messages (when Livechat_transcript_show_system_messages is on)
 * show their type rather than Rocket.Chat's translated sentence, and times are written in
 * English, in the requesting agent's UTC offset or else in UTC.
 */
import { ClientError } from "../core/errors.ts";
import type { OmnichannelRoom } from "../core/livechat-models.ts";
import type { Message, User, UserRef } from "../core/models.ts";
import { escapeHtml, type Mailer, senderAddress } from "./mailer.ts";
import type { CommandDeps } from "./room-commands.ts";

/** Message types a transcript leaves out, as Rocket.Chat does. */
const LEFT_OUT = [
  "livechat_navigation_history",
  "livechat_transcript_history",
  "command",
  "livechat-close",
  "livechat-started",
  "livechat_video_call",
  "omnichannel_priority_change_history",
];

/** The subject Rocket.Chat falls back to. */
const DEFAULT_SUBJECT = "Transcript of your omnichannel conversation.";

const MONTHS = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];

/** Who asked for a transcript, as the room's `transcriptRequest` records them. */
export interface Requester {
  readonly _id: string;
  readonly username: string;
  readonly name?: string;
  readonly utcOffset?: number;
}

/** An agent's request to send the transcript when the room closes. */
export interface TranscriptRequest {
  readonly requestedAt: Date;
  readonly requestedBy: Requester;
  readonly email: string;
  readonly subject: string;
}

/** `ts` as Rocket.Chat's English long date and time ("December 5, 2026 2:07 PM"), at `offsetHours`. */
export function transcriptTime(ts: Date, offsetHours = 0): string {
  const at = new Date(ts.getTime() + offsetHours * 3_600_000);
  const hours = at.getUTCHours();
  const minutes = String(at.getUTCMinutes()).padStart(2, "0");
  const clock = `${hours % 12 === 0 ? 12 : hours % 12}:${minutes} ${hours < 12 ? "AM" : "PM"}`;
  return `${MONTHS[at.getUTCMonth()]} ${at.getUTCDate()}, ${at.getUTCFullYear()} ${clock}`;
}

/** The text a transcript shows for `message`. */
function contentOf(message: Message): string {
  if (message.t) return `<i>${escapeHtml(message.t)}</i>`;
  if (message.attachments?.length) {
    return escapeHtml(String(message.attachments[0]?.description ?? ""));
  }
  return escapeHtml(message.msg).replace(/\r?\n/g, "<br>");
}

/** The HTML body of the transcript of `room`, up to its close (or now). */
async function transcriptHtml(
  deps: CommandDeps,
  room: OmnichannelRoom,
  requester: Requester | undefined,
): Promise<string> {
  const { db, settings } = deps;
  const closing = await db.messages.findOne(
    { rid: room._id, t: "livechat-close" },
    { sort: { ts: -1 } },
  );
  const withSystem = settings.get<boolean>("Livechat_transcript_show_system_messages") === true;
  const messages = await db.messages.find(
    {
      rid: room._id,
      _hidden: { $ne: true },
      ts: { $lt: closing?.ts ?? deps.clock.now() },
      ...(withSystem ? { t: { $nin: LEFT_OUT } } : { t: { $exists: false } }),
    },
    { sort: { ts: 1 } },
  );
  const showAgent = settings.get<boolean>("Livechat_show_agent_info") !== false;
  let html = "<div> <hr>";
  for (const message of messages) {
    const author =
      message.u._id === room.v._id
        ? "You"
        : showAgent
          ? (message.u.name ?? message.u.username)
          : "Agent";
    html += `
<p><strong>${escapeHtml(author)}</strong>  <em>${transcriptTime(message.ts, requester?.utcOffset)}</em></p>
<p>${contentOf(message)}</p>
`;
  }
  return `${html}</div>`;
}

/** Rocket.Chat's bare-error refusal, shown as the code alone. */
function refusal(code: string): ClientError {
  return new ClientError(code, code, { plain: true });
}

/**
 * Mails the transcript of room `rid` to `email`, for the visitor holding `token` (the one
 * the room was opened with), as `requester` when an agent sends it. Records the sending in
 * the room. Throws `error-invalid-visitor` when the room is not that visitor's and
 * `invalid email` for a bad address.
 */
export async function sendTranscript(
  deps: CommandDeps,
  mailer: Mailer,
  input: { token: string; rid: string; email: string; subject?: string; requester?: Requester },
): Promise<void> {
  const room = await deps.db.rooms.findOne({ _id: input.rid });
  if (!room || room.t !== "l" || (room as OmnichannelRoom).v?.token !== input.token) {
    throw refusal("error-invalid-visitor");
  }
  const omni = room as OmnichannelRoom;
  const html = await transcriptHtml(deps, omni, input.requester);
  const from = senderAddress(deps.settings);
  const subject =
    input.subject ||
    deps.settings.get<string>("Livechat_transcript_email_subject") ||
    DEFAULT_SUBJECT;
  mailer.send({ to: input.email, from, replyTo: from, subject, html });

  const cat = await deps.db.users.findOne({ _id: "rocket.cat" });
  const author: UserRef = input.requester ?? {
    _id: cat?._id ?? "rocket.cat",
    username: cat?.username ?? "rocket.cat",
    ...(cat?.name !== undefined && { name: cat.name }),
  };
  const requestData = {
    type: input.requester ? "user" : "visitor",
    visitor: omni.v,
    user: input.requester
      ? input.requester
      : { _id: author._id, username: author.username, name: author.name },
  };
  await deps.rooms.execute(omni._id, {
    kind: "livechat.record",
    draft: { u: author, msg: "", t: "livechat_transcript_history", fields: { requestData } },
  });
}

/** The requester fields Rocket.Chat keeps of `user`. */
export function requesterOf(user: User): Requester {
  return {
    _id: user._id,
    username: user.username,
    ...(user.name !== undefined && { name: user.name }),
    ...(typeof user.utcOffset === "number" && { utcOffset: user.utcOffset }),
  };
}

/**
 * Asks for the transcript of open room `rid` to be mailed to `email` when it closes, as
 * `user`. Atomic: of two requests at once, one is kept. Throws `error-invalid-room` for a
 * room that is not open and `error-transcript-already-requested` when one is pending.
 */
export async function requestTranscript(
  deps: CommandDeps,
  rid: string,
  user: User,
  email: string,
  subject: string,
): Promise<void> {
  const request: TranscriptRequest = {
    requestedAt: deps.clock.now(),
    requestedBy: requesterOf(user),
    email,
    subject,
  };
  const set = await deps.db.rooms.findOneAndUpdate(
    { _id: rid, t: "l", open: true, transcriptRequest: { $exists: false } },
    { $set: { transcriptRequest: request } },
  );
  if (!set) {
    const room = await deps.db.rooms.findOne({ _id: rid, t: "l", open: true });
    if (!room) throw new ClientError("error-invalid-room", "Invalid room");
    throw new ClientError("error-transcript-already-requested", "Transcript already requested");
  }
  await deps.rooms.execute(rid, { kind: "reload", members: false });
}

/**
 * Cancels the pending transcript request of open room `rid`. Throws `error-invalid-room`
 * when the room is not open and `error-transcript-not-requested` when none is pending.
 */
export async function discardTranscriptRequest(deps: CommandDeps, rid: string): Promise<void> {
  const cleared = await deps.db.rooms.findOneAndUpdate(
    { _id: rid, t: "l", open: true, transcriptRequest: { $exists: true } },
    { $unset: { transcriptRequest: "" } },
  );
  if (!cleared) {
    const room = await deps.db.rooms.findOne({ _id: rid, t: "l", open: true });
    if (!room) throw refusal("error-invalid-room");
    throw refusal("error-transcript-not-requested");
  }
  await deps.rooms.execute(rid, { kind: "reload", members: false });
}

/**
 * Sends the transcript an agent asked for when room `rid` closed, and clears the request.
 * Takes the request atomically, so a close sends it once. A failure is logged: the room is
 * closed either way.
 */
export async function sendRequestedTranscript(
  deps: CommandDeps,
  mailer: Mailer,
  rid: string,
): Promise<void> {
  const before = (await deps.db.rooms.findOneAndUpdate(
    { _id: rid, transcriptRequest: { $exists: true } },
    { $unset: { transcriptRequest: "" } },
    { returnDocument: "before" },
  )) as (OmnichannelRoom & { transcriptRequest?: TranscriptRequest }) | null;
  const request = before?.transcriptRequest;
  if (!before || !request) return;
  await deps.rooms.execute(rid, { kind: "reload", members: false });
  await sendTranscript(deps, mailer, {
    token: before.v.token,
    rid,
    email: request.email,
    subject: request.subject,
    requester: request.requestedBy,
  }).catch((error: unknown) =>
    deps.log.error({ err: error, rid }, "requested transcript not sent"),
  );
}
