/**
 * The e-mail method of two-factor authentication, as Rocket.Chat runs it: a six-digit code
 * mailed to the user's verified addresses, stored only as its bcrypt hash with an expiry
 * (`Accounts_TwoFactorAuthentication_By_Email_Code_Expiration` seconds) and a count of
 * wrong codes given since. A code is used up by the check it passes; after
 * `Accounts_TwoFactorAuthentication_Max_Invalid_Email_Code_Attempts` wrong codes the next
 * check mails a new one.
 */
import { randomDigits } from "../core/ids.ts";
import type { EmailCode as StoredCode, User } from "../core/models.ts";
import { hashDigest, verifyDigest } from "../core/password.ts";
import type { Deps } from "./context.ts";
import { escapeHtml, type Mailer, senderAddress } from "./mailer.ts";
import type { Settings } from "./settings.ts";

/** What a check tells the client about the e-mail code, in Rocket.Chat's `details`. */
export interface EmailCodeState {
  readonly emailOrUsername: string | undefined;
  readonly codeGenerated: boolean;
  readonly codeExpires?: Date;
}

/** The addresses of `user` that are verified; codes go only there. */
function verifiedEmails(user: User): string[] {
  return (user.emails ?? []).filter((e) => e.verified).map((e) => e.address);
}

/** The mail that carries `code`, shown as Rocket.Chat shows it: `123-456`. */
function codeMail(code: string, siteName: string) {
  const shown = code.replace(/^(\d{3})/, "$1-");
  const site = escapeHtml(siteName);
  const html = `<p>Your authentication code for ${site}:</p>
<p style="font-size: 30px;"><b>${shown}</b></p>
<p>Keep it to yourself: nobody from ${site} will ever ask you for it.</p>
<p>If you did not just try to sign in or confirm an action, you can ignore this mail.</p>`;
  return { subject: "Authentication code", html };
}

export class EmailCode {
  readonly name = "email";

  constructor(
    private readonly deps: Deps,
    private readonly settings: Settings,
    private readonly mailer: Mailer,
  ) {}

  /**
   * Whether `user` gives a second factor by e-mail: the method is allowed, they turned it
   * on, they have a verified address, and mail can leave. Rocket.Chat also asks for a code
   * when no SMTP server is configured (its server prints unsent mail in its log); Parley
   * does not send or print it, so asking would lock every such user out.
   */
  isEnabled(user: User): boolean {
    if (!this.settings.get<boolean>("Accounts_TwoFactorAuthentication_By_Email_Enabled")) {
      return false;
    }
    if (!this.mailer.configured()) return false;
    return user.services?.email2fa?.enabled === true && verifiedEmails(user).length > 0;
  }

  /** Turns the method on or off for user `uid`, stamped with the time. */
  async setEnabled(uid: string, enabled: boolean): Promise<void> {
    const email2fa = { enabled, changedAt: this.deps.clock.now() };
    await this.deps.db.users.updateOne({ _id: uid }, { $set: { "services.email2fa": email2fa } });
  }

  /** The code stored for user `uid` now (not as some earlier read of the user saw it). */
  private async stored(uid: string): Promise<StoredCode | undefined> {
    const user = await this.deps.db.users.findOne(
      { _id: uid },
      { projection: { "services.emailCode": 1 } },
    );
    return user?.services?.emailCode;
  }

  /**
   * Makes a new code for `user`, replacing any earlier one, and mails it to each verified
   * address. The mails leave in the background (see Mailer).
   */
  async send(user: User): Promise<void> {
    const code = randomDigits(6);
    const seconds =
      this.settings.get<number>("Accounts_TwoFactorAuthentication_By_Email_Code_Expiration") ??
      3600;
    const expire = new Date(this.deps.clock.now().getTime() + seconds * 1000);
    const stored: StoredCode = { code: await hashDigest(code), expire, attempts: 0 };
    await this.deps.db.users.updateOne(
      { _id: user._id },
      { $set: { "services.emailCode": stored } },
    );
    const mail = codeMail(code, this.settings.get<string>("Site_Name") ?? "");
    const from = senderAddress(this.settings);
    for (const to of verifiedEmails(user)) this.mailer.send({ to, from, ...mail });
  }

  /**
   * Mails a new code on request (`users.2fa.sendEmailCode`, `sendEmailCode`) to the user
   * `callerId` when given, else to the one with the e-mail address or the username
   * `emailOrUsername`. Resolves false, sending nothing, when there is no such user.
   */
  async sendTo(emailOrUsername: string, callerId?: string): Promise<boolean> {
    const users = this.deps.db.users;
    const user = callerId
      ? await users.findOne({ _id: callerId })
      : emailOrUsername.includes("@")
        ? await users.findOne({ "emails.address": emailOrUsername.trim().toLowerCase() })
        : await users.findOne({ username: emailOrUsername });
    if (!user) return false;
    await this.send(user);
    return true;
  }

  /**
   * Whether `given` is the user's current code (anything but digits is ignored, so
   * `123-456` is fine). A right code is used up, once: of two checks racing with it only
   * one passes. Every check takes one of the code's attempts before it compares, in one
   * store update, so checks racing each other never compare more codes than the limit.
   */
  async verify(user: User, given: string): Promise<boolean> {
    if (!this.isEnabled(user)) return false;
    const stored = await this.stored(user._id);
    if (!stored || stored.expire.getTime() < this.deps.clock.now().getTime()) return false;
    const users = this.deps.db.users;
    const attempt = await users.updateOne(
      {
        _id: user._id,
        "services.emailCode.code": stored.code,
        "services.emailCode.attempts": { $lt: this.maxAttempts() },
      },
      { $inc: { "services.emailCode.attempts": 1 } },
    );
    if (attempt.modifiedCount !== 1) return false;
    if (!(await verifyDigest(given.replace(/\D/g, ""), stored.code))) return false;
    const used = await users.updateOne(
      { _id: user._id, "services.emailCode.code": stored.code },
      { $unset: { "services.emailCode": 1 } },
    );
    return used.modifiedCount === 1;
  }

  /** Whether the wrong codes given since the last one was mailed reached the limit. */
  async tooManyAttempts(user: User): Promise<boolean> {
    const stored = await this.stored(user._id);
    return stored !== undefined && stored.attempts >= this.maxAttempts();
  }

  private maxAttempts(): number {
    return (
      this.settings.get<number>(
        "Accounts_TwoFactorAuthentication_Max_Invalid_Email_Code_Attempts",
      ) ?? 5
    );
  }

  /**
   * Before a check: mails a new code unless one is still valid and not worn out by wrong
   * attempts. Resolves what the check's error tells the client: whom the code went to,
   * whether one was just made and, when not, when the current one expires.
   */
  async prepare(user: User): Promise<EmailCodeState> {
    const emailOrUsername = user.username || verifiedEmails(user)[0];
    const stored = await this.stored(user._id);
    const valid =
      stored !== undefined &&
      stored.expire.getTime() > this.deps.clock.now().getTime() &&
      stored.attempts < this.maxAttempts();
    if (valid) return { emailOrUsername, codeGenerated: false, codeExpires: stored.expire };
    await this.send(user);
    return { codeGenerated: true, emailOrUsername };
  }
}
