/**
 * Password reset by e-mail, as Rocket.Chat and Meteor's accounts do it. `sendForgotPasswordEmail`
 * stores a reset token on the account whose address was given (`services.password.reset`:
 * token, address, time, reason `reset`) and mails the link Site_Url/reset-password/<token>,
 * worded by the Forgot_Password_Email_Subject and Forgot_Password_Email settings. Nobody
 * learns whether an address has an account: an unknown one is answered as a known one.
 * `resetPassword` takes the token back with a new password, within three days (Meteor's
 * default lifetime), ends every login of the account and logs the caller in; the token
 * works once. No second factor is asked, as in Rocket.Chat.
 */
import { ClientError } from "../core/errors.ts";
import type { User } from "../core/models.ts";
import { hashDigest, passwordDigest } from "../core/password.ts";
import type { LoginResult } from "./accounts.ts";
import type { Services } from "./index.ts";
import { escapeHtml, senderAddress } from "./mailer.ts";
import { matchFailed, obj, str } from "./method-params.ts";
import { assertPasswordAllowed } from "./password-policy.ts";
import { logoutEverywhere } from "./sessions.ts";

/** How long a reset token works: Meteor's default of three days. */
const TOKEN_LIFETIME_MS = 3 * 24 * 60 * 60 * 1000;

/** The link a reset mail carries: Site_Url (or ROOT_URL) joined to `reset-password/<token>`. */
function resetUrl(services: Services, token: string): string {
  const site = services.settings.get<string>("Site_Url") || services.deps.config.rootUrl;
  return `${site.replace(/\/+$/, "")}/reset-password/${token}`;
}

/**
 * `template` with Rocket.Chat's mail placeholders filled in: [Site_Name], [Site_URL],
 * [name], [email], and `extra` (each `[key]`). Values are HTML-escaped when `html`.
 */
function fill(
  services: Services,
  template: string,
  user: User,
  email: string,
  extra: Record<string, string>,
  html: boolean,
): string {
  const values: Record<string, string> = {
    Site_Name: services.settings.get<string>("Site_Name") ?? "",
    Site_URL: services.settings.get<string>("Site_Url") || services.deps.config.rootUrl,
    name: user.name ?? user.username,
    email,
    ...extra,
  };
  return template.replace(/\[(\w+)\]/g, (whole, key: string) => {
    const value = values[key];
    if (value === undefined) return whole;
    return html ? escapeHtml(value) : value;
  });
}

/**
 * `sendForgotPasswordEmail(to)`: mails a reset link to the account with address `to`
 * (trimmed, any case). Resolves true when a mail left or no account has that address,
 * false for an account without a password while Accounts_AllowPasswordChangeForOAuthUsers
 * is off. A new request replaces the token of an earlier one.
 */
export async function sendForgotPasswordEmail(services: Services, to: string): Promise<boolean> {
  const { db, clock, ids } = services.deps;
  const email = to.trim().toLowerCase();
  const user = await db.users.findOne({ "emails.address": email });
  if (!user) return true;
  const allowed = services.settings.get<boolean>("Accounts_AllowPasswordChangeForOAuthUsers");
  if (!user.services?.password && !allowed) return false;

  const token = ids.secret();
  const reset = { token, email, when: clock.now(), reason: "reset" };
  await db.users.updateOne({ _id: user._id }, { $set: { "services.password.reset": reset } });

  const settings = services.settings;
  const url = resetUrl(services, token);
  const subject = settings.get<string>("Forgot_Password_Email_Subject") ?? "";
  const body = settings.get<string>("Forgot_Password_Email") ?? "";
  services.mailer.send({
    to: email,
    from: senderAddress(settings),
    subject: fill(services, subject, user, email, {}, false),
    html: fill(services, body, user, email, { Forgot_Password_Url: url }, true),
  });
  return true;
}

/** The account a reset token was mailed for, or null. */
export function userByResetToken(services: Services, token: string): Promise<User | null> {
  return services.deps.db.users.findOne({ "services.password.reset.token": token });
}

/**
 * The SHA-256 digest of a new password as Meteor's `resetPassword` takes it: plain text,
 * checked against the password policy, or `{digest, algorithm: "sha-256"}` as Meteor
 * clients send it (the policy cannot see into a digest). Throws Match failed otherwise.
 */
async function newDigest(services: Services, password: unknown): Promise<string> {
  if (typeof password === "string") {
    assertPasswordAllowed(services.settings, password);
    return passwordDigest(password);
  }
  const given = obj(password);
  if (given.algorithm !== "sha-256") throw matchFailed();
  return str(given.digest).toLowerCase();
}

/** Meteor's refusal of a reset: 403 with `reason`. */
function refused(reason: string): ClientError {
  return new ClientError(403, reason, { status: 403 });
}

/**
 * `resetPassword(token, newPassword)`: sets the password of the account `token` was
 * mailed for, marks the address verified, ends every login of the account (personal
 * access tokens included, as Meteor does) and logs the caller in. Throws Match failed for
 * parameters of the wrong type, the password policy's error, and 403 `Token expired` for
 * an unknown, used or old token; nothing changes then.
 */
export async function resetPassword(
  services: Services,
  token: unknown,
  newPassword: unknown,
): Promise<LoginResult> {
  const { db, clock } = services.deps;
  const given = str(token);
  const digest = await newDigest(services, newPassword);
  const user = await userByResetToken(services, given);
  const reset = user?.services?.password?.reset;
  if (!user || !reset) throw refused("Token expired");
  if (clock.now().getTime() - reset.when.getTime() > TOKEN_LIFETIME_MS) {
    throw refused("Token expired");
  }
  if (!(user.emails ?? []).some((e) => e.address === reset.email)) {
    throw refused("Token has invalid email address");
  }

  const bcrypt = await hashDigest(digest);
  const changed = await db.users.updateOne(
    { _id: user._id, "emails.address": reset.email, "services.password.reset.token": given },
    {
      $set: {
        "services.password.bcrypt": bcrypt,
        "emails.$.verified": true,
        _updatedAt: clock.now(),
      },
      $unset: { "services.password.reset": 1 },
    },
  );
  // Another call used the token first.
  if (changed.modifiedCount !== 1) throw refused("Token expired");
  await logoutEverywhere(services.deps, user._id);
  const updated = (await db.users.findOne({ _id: user._id })) ?? user;
  return services.accounts.issueToken(updated);
}
