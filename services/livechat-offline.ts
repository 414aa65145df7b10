/**
 * Offline messages: what a visitor leaves in the widget's form while no agent is online,
 * handled as Rocket.Chat handles them. The message is mailed to the department's e-mail
 * (when the visitor chose a department that has one) or to Livechat_offline_email, from
 * "name - email <From_Email>" with a reply-to of the visitor; and, when
 * Livechat_OfflineMessageToChannel_enabled is on, rocket.cat posts it in the channel named
 * by the department's `offlineMessageChannelName` or Livechat_OfflineMessageToChannel_channel_name.
 */
import { resolveMx } from "node:dns/promises";
import { ClientError } from "../core/errors.ts";
import { isEmailAddress, type UserRef } from "../core/models.ts";
import { escapeHtml, type Mailer, senderAddress } from "./mailer.ts";
import type { CommandDeps } from "./room-commands.ts";

/** What the offline form sends. */
export interface OfflineMessage {
  readonly name: string;
  readonly email: string;
  readonly message: string;
  readonly department?: string;
  readonly host?: string;
}

/** Rocket.Chat's bare-error refusal, shown as the code alone. */
function refusal(code: string): ClientError {
  return new ClientError(code, code, { plain: true });
}

/** Whether the domain of `email` receives mail (has an MX record). */
async function receivesMail(email: string): Promise<boolean> {
  if (!isEmailAddress(email)) return false;
  const domain = email.slice(email.lastIndexOf("@") + 1);
  return resolveMx(domain).then(
    (records) => records.length > 0,
    () => false,
  );
}

/** The mail body, as Rocket.Chat lays it out. */
function offlineHtml(data: OfflineMessage): string {
  const text = escapeHtml(data.message).replace(/(\r\n|\n\r|\r|\n)/g, "<br>$1");
  const host = data.host
    ? `<p><strong>Sent from:</strong><a href='${escapeHtml(data.host)}'> ${escapeHtml(data.host)}</a></p>`
    : "";
  return `<h1>New livechat message</h1>${host}
<p><strong>Visitor name:</strong> ${escapeHtml(data.name)}</p>
<p><strong>Visitor email:</strong> ${escapeHtml(data.email)}</p>
<p><strong>Message:</strong><br>${text}</p>`;
}

/**
 * Sends offline message `data`. Throws `error-offline-form-disabled` when
 * Livechat_display_offline_form is off, `error-invalid-email` without an e-mail,
 * `error-invalid-email-address` when Livechat_validate_offline_email is on and the
 * visitor's domain receives no mail, and `invalid email` when there is no valid address to
 * send it to.
 */
export async function sendOfflineMessage(
  deps: CommandDeps,
  mailer: Mailer,
  data: OfflineMessage,
): Promise<void> {
  const { settings, db } = deps;
  if (settings.get<boolean>("Livechat_display_offline_form") === false) {
    throw refusal("error-offline-form-disabled");
  }
  if (!data.email) throw refusal("error-invalid-email");
  if (settings.get<boolean>("Livechat_validate_offline_email") !== false) {
    if (!(await receivesMail(data.email))) {
      throw new ClientError("error-invalid-email-address");
    }
  }
  const department = data.department
    ? ((await db.livechatDepartments.findOne({ _id: data.department })) ??
      (await db.livechatDepartments.findOne({ name: data.department })))
    : null;
  const to = department?.email || (settings.get<string>("Livechat_offline_email") ?? "");
  const from = senderAddress(settings);
  const excerpt = data.message.replace(/(\r\n|\n\r|\r|\n)/g, "<br>$1").substring(0, 20);
  mailer.send({
    to,
    from: { name: `${data.name} - ${data.email}`, address: from },
    replyTo: { name: data.name, address: data.email },
    subject: `Livechat offline message from ${data.name}: ${excerpt}`,
    html: offlineHtml(data),
  });
  await postToChannel(deps, data).catch((error: unknown) =>
    deps.log.error({ err: error }, "offline message not posted to its channel"),
  );
}

/** Posts `data` as rocket.cat in the offline-message channel, when one is set and open. */
async function postToChannel(deps: CommandDeps, data: OfflineMessage): Promise<void> {
  const { settings, db } = deps;
  if (settings.get<boolean>("Livechat_OfflineMessageToChannel_enabled") !== true) return;
  let channel = settings.get<string>("Livechat_OfflineMessageToChannel_channel_name") ?? "";
  const department = data.department
    ? await db.livechatDepartments.findOne({ _id: data.department })
    : null;
  if (department?.offlineMessageChannelName) channel = department.offlineMessageChannelName;
  if (!channel) return;
  const room = await db.rooms.findOne({ name: channel });
  if (!room || room.archived || (room.t === "l" && room.closedAt)) return;
  const cat = await db.users.findOne({ _id: "rocket.cat" });
  if (!cat) return;
  const lines = [
    "A new Livechat Offline Message has been sent: ",
    ...(data.host ? [`Sent from: ${data.host} `] : []),
    `Visitor Name: ${data.name} `,
    `Visitor Email: ${data.email} `,
    ...(department?.name ? [`Department: ${department.name} `] : []),
    `Message: ${data.message} `,
  ];
  const author: UserRef = { _id: cat._id, username: cat.username };
  await deps.rooms.execute(room._id, {
    kind: "livechat.record",
    draft: { u: author, msg: `${lines.join("\n")}\n`, countsUnread: true },
  });
}
