/**
 * Outgoing e-mail, as Rocket.Chat's mailer sends it: the addresses are checked when a mail
 * is handed over (a bad recipient is the caller's error, `invalid email`), then the mail
 * leaves in the background, so a slow or failing SMTP server never holds up a request; a
 * delivery failure is logged. The SMTP settings (services/email-settings.ts) are read for
 * every mail, so a change takes effect at once. With SMTP_Host empty nothing is sent and a
 * warning says so, where Rocket.Chat (Meteor without MAIL_URL) prints the mail instead.
 */
import { createTransport, type Transporter } from "nodemailer";
import { ClientError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import { isEmailAddress } from "../core/models.ts";
import type { Settings } from "./settings.ts";

/** An address with a display name, kept apart so that no name can change the address. */
export interface NamedAddress {
  readonly name: string;
  readonly address: string;
}

/** One mail to send. `html` gets a plain-text alternative made from it unless `text` is given. */
export interface Mail {
  readonly to: string;
  readonly from: string | NamedAddress;
  readonly replyTo?: string | NamedAddress;
  readonly subject: string;
  readonly html: string;
  readonly text?: string;
}

/** The sender address in From_Email: the address inside `Name <address>`, or the setting as it is. */
export function senderAddress(settings: Settings): string {
  const from = settings.get<string>("From_Email") ?? "";
  return from.match(/[A-Z0-9._%+-]+@(?:[A-Z0-9-]+\.)+[A-Z]{2,}/i)?.[0] ?? from;
}

/** The readable text of an HTML body: paragraphs and breaks as lines, tags dropped, entities decoded. */
export function plainText(html: string): string {
  return html
    .replace(/<br\s*\/?>(\r?\n)?/gi, "\n")
    .replace(/<\/(p|h\d|div)>/gi, "\n")
    .replace(/<[^>]*>/g, "")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, "&")
    .split("\n")
    .map((line) => line.trim())
    .filter((line, i, lines) => line !== "" || (i > 0 && lines[i - 1] !== ""))
    .join("\n")
    .trim();
}

/** Escapes `text` for an HTML body. */
export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

/** The SMTP settings a transport was made for, as one comparable key. */
function transportKey(settings: Settings): string | null {
  const host = settings.get<string>("SMTP_Host") ?? "";
  if (host.trim() === "") return null;
  return JSON.stringify([
    host.trim(),
    settings.get<string>("SMTP_Port") ?? "",
    settings.get<string>("SMTP_Protocol") ?? "smtp",
    settings.get<boolean>("SMTP_IgnoreTLS") ?? true,
    settings.get<boolean>("SMTP_Pool") ?? true,
    settings.get<string>("SMTP_Username") ?? "",
    settings.get<string>("SMTP_Password") ?? "",
  ]);
}

/** Sends mail through the SMTP server the settings name; one per process. */
export class Mailer {
  private transport: { key: string; transporter: Transporter } | undefined;
  private readonly log: Logger;

  constructor(
    private readonly settings: Settings,
    log: Logger,
  ) {
    this.log = log.child({ component: "mailer" });
  }

  /** Whether mail can leave at all: an SMTP server is configured (SMTP_Host). */
  configured(): boolean {
    return transportKey(this.settings) !== null;
  }

  /**
   * Hands `mail` over; it leaves in the background and a failure to deliver it is logged.
   * Throws ClientError `invalid email` when `to` is not an e-mail address.
   */
  send(mail: Mail): void {
    if (!isEmailAddress(mail.to)) throw new ClientError("invalid email");
    const transporter = this.transporter();
    if (!transporter) {
      this.log.warn(
        { to: mail.to, subject: mail.subject },
        "e-mail not sent: no SMTP server is configured (setting SMTP_Host)",
      );
      return;
    }
    const message = {
      to: mail.to,
      from: mail.from,
      ...(mail.replyTo && { replyTo: mail.replyTo }),
      subject: mail.subject,
      html: mail.html,
      text: mail.text ?? plainText(mail.html),
    };
    transporter.sendMail(message).then(
      () => this.log.info({ to: mail.to, subject: mail.subject }, "e-mail sent"),
      (error: unknown) =>
        this.log.error({ err: error, to: mail.to, subject: mail.subject }, "e-mail not sent"),
    );
  }

  /** Closes the SMTP connections kept open. */
  close(): void {
    this.transport?.transporter.close();
    this.transport = undefined;
  }

  /** The transport for the current settings, made anew when they changed; null without SMTP_Host. */
  private transporter(): Transporter | null {
    const key = transportKey(this.settings);
    if (key === null) {
      this.close();
      return null;
    }
    if (this.transport?.key === key) return this.transport.transporter;
    this.close();
    const s = <T>(id: string) => this.settings.get<T>(id);
    const port = Number.parseInt(s<string>("SMTP_Port") ?? "", 10);
    const secure = s<string>("SMTP_Protocol") === "smtps";
    const user = s<string>("SMTP_Username") ?? "";
    const pass = s<string>("SMTP_Password") ?? "";
    const transporter = createTransport({
      host: (s<string>("SMTP_Host") ?? "").trim(),
      ...(Number.isInteger(port) && port > 0 && { port }),
      secure,
      // As Rocket.Chat: IgnoreTLS applies to plain smtp only (no STARTTLS upgrade).
      ignoreTLS: !secure && s<boolean>("SMTP_IgnoreTLS") !== false,
      pool: s<boolean>("SMTP_Pool") !== false,
      ...(user && pass && { auth: { user, pass } }),
    });
    this.transport = { key, transporter };
    return transporter;
  }
}
