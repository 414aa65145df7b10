/**
 * Two-factor authentication as Rocket.Chat does it: TOTP enrolment with backup codes, and
 * the one check every second factor goes through (at login, and on REST routes marked
 * `twoFactor`). A user with TOTP gives a code or a backup code; else a user with e-mail
 * two-factor authentication gives the code the check mails them (services/email-code.ts);
 * else they give the SHA-256 digest of their password (method `password`) when
 * `Accounts_TwoFactorAuthentication_Enforce_Password_Fallback` is on. A factor given with
 * a login token is remembered on that token for `Accounts_TwoFactorAuthentication_RememberFor`
 * seconds, for the same user agent and address. Test mode lets every check pass.
 */
import { ClientError } from "../core/errors.ts";
import type { User } from "../core/models.ts";
import { verifyDigest } from "../core/password.ts";
import type { Deps } from "./context.ts";
import type { EmailCode, EmailCodeState } from "./email-code.ts";
import type { Settings } from "./settings.ts";
import {
  hashBackupCode,
  isBackupCodeShape,
  newBackupCodes,
  newSecret,
  otpauthUrl,
  verifyTotp,
} from "./totp.ts";

/** How a route or the login asks for a second factor. */
export interface TwoFactorOptions {
  /** Never accept a factor remembered from an earlier call. */
  readonly disableRememberMe?: boolean;
  /** Never fall back to the password (the login: the password was just given). */
  readonly disablePasswordFallback?: boolean;
}

/** The call a second factor comes with, when it comes with a login token (REST). */
export interface TwoFactorCall {
  /** Hash of the login token the call authenticated with. */
  readonly hashedToken: string;
  readonly userAgent: string;
  readonly address: string;
}

/** What one check is given. */
export interface TwoFactorCheck {
  readonly user: User;
  readonly code?: string | undefined;
  /** `totp` or `email`; the user's first available method when absent. */
  readonly method?: string | undefined;
  readonly options?: TwoFactorOptions;
  readonly call?: TwoFactorCall;
}

/** A method of giving a second factor. */
interface FactorMethod {
  readonly name: "totp" | "email" | "password";
  verify(user: User, code: string): Promise<boolean>;
  /** Runs before a check (mails a code); resolves what the check's error tells the client. */
  prepare?(user: User): Promise<EmailCodeState>;
  /** Whether too many wrong codes were given to try again with the same one. */
  tooManyAttempts?(user: User): Promise<boolean>;
}

/** SHA-256 hex of the user agent and address a factor was given from. */
async function fingerprint(call: TwoFactorCall): Promise<string> {
  const text = JSON.stringify({ userAgent: call.userAgent, clientAddress: call.address });
  const bytes = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Rocket.Chat's `invalid-totp`, for a code that does not confirm an enrolment. */
function invalidTotp(): ClientError {
  return new ClientError("invalid-totp");
}

export class TwoFactor {
  private readonly totp: FactorMethod = {
    name: "totp",
    verify: (user, code) => this.verifyTotpOrBackup(user, code, "secret"),
  };

  private readonly password: FactorMethod = {
    name: "password",
    verify: async (user, code) => {
      const hash = user.services?.password?.bcrypt;
      return Boolean(hash) && (await verifyDigest(code.toLowerCase(), hash as string));
    },
  };

  constructor(
    private readonly deps: Deps,
    private readonly settings: Settings,
    /** The e-mail method, which the `users.2fa.*` routes also turn on and off. */
    readonly email: EmailCode,
  ) {}

  /** Whether `user` has TOTP turned on (and TOTP is allowed as a second factor). */
  hasTotp(user: User): boolean {
    return (
      this.settings.get<boolean>("Accounts_TwoFactorAuthentication_By_TOTP_Enabled") !== false &&
      user.services?.totp?.enabled === true
    );
  }

  /** The methods `user` has turned on, by name, in Rocket.Chat's order. */
  availableMethods(user: User): string[] {
    return [
      ...(this.hasTotp(user) ? ["totp"] : []),
      ...(this.email.isEnabled(user) ? ["email"] : []),
    ];
  }

  /**
   * Checks the second factor of `check.user`. Resolves when no factor is needed (2FA off,
   * test mode, no method available, remembered on the token) or the code is right.
   * Throws Rocket.Chat's `totp-required` without a code, `totp-invalid` for a wrong one
   * and `totp-max-attempts` for a wrong e-mail code that used up the attempts, all with
   * `details: {method, codeGenerated, availableMethods}` and, for e-mail,
   * `emailOrUsername` and (when no new code was mailed) `codeExpires`.
   */
  async check(check: TwoFactorCheck): Promise<void> {
    if (this.deps.config.testMode) return;
    if (!this.settings.get<boolean>("Accounts_TwoFactorAuthentication_Enabled")) return;
    const { user, code, options = {} } = check;
    if (check.call && (await this.remembered(user, check.call, options))) return;

    const method = this.methodFor(user, check.method, options);
    if (!method) return;
    const state = method.prepare ? await method.prepare(user) : { codeGenerated: false };
    const details = {
      method: method.name,
      ...state,
      availableMethods: this.availableMethods(user),
    };
    if (!code) throw new ClientError("totp-required", "TOTP Required", { details });
    if (!(await method.verify(user, code))) {
      if (await method.tooManyAttempts?.(user)) {
        // Rocket.Chat's reason, misspelling included, which clients may compare.
        const reason = "TOTP Maximun Failed Attempts Reached";
        throw new ClientError("totp-max-attempts", reason, { details });
      }
      throw new ClientError("totp-invalid", "TOTP Invalid", { details });
    }
    if (check.call && options.disableRememberMe !== true) await this.remember(user, check.call);
  }

  /**
   * The method a check uses: the one named if it exists, else TOTP or e-mail, whichever
   * the user has on first, else the password.
   */
  private methodFor(
    user: User,
    name: string | undefined,
    options: TwoFactorOptions,
  ): FactorMethod | undefined {
    if (name === "totp") return this.totp;
    if (name === "email") return this.email;
    if (this.hasTotp(user)) return this.totp;
    if (this.email.isEnabled(user)) return this.email;
    if (options.disablePasswordFallback) return undefined;
    const fallback = this.settings.get<boolean>(
      "Accounts_TwoFactorAuthentication_Enforce_Password_Fallback",
    );
    return fallback && user.services?.password?.bcrypt ? this.password : undefined;
  }

  /** How many seconds a given factor is remembered; 0 or less turns remembering off. */
  private rememberSeconds(): number {
    return this.settings.get<number>("Accounts_TwoFactorAuthentication_RememberFor") ?? 0;
  }

  /**
   * Whether the token of `call` needs no factor: it bypasses 2FA, its user registered
   * within the remember window, or a factor was given with it from the same user agent
   * and address and is still remembered.
   */
  private async remembered(user: User, call: TwoFactorCall, options: TwoFactorOptions) {
    const token = user.services?.resume?.loginTokens?.find(
      (t) => t.hashedToken === call.hashedToken,
    );
    if (!token) return false;
    if (token.bypassTwoFactor === true) return true;
    if (options.disableRememberMe === true) return false;
    const now = this.deps.clock.now().getTime();
    const seconds = this.rememberSeconds();
    if (seconds > 0 && user.createdAt.getTime() + seconds * 1000 >= now) return true;
    if (!token.twoFactorAuthorizedUntil || !token.twoFactorAuthorizedHash) return false;
    if (token.twoFactorAuthorizedUntil.getTime() < now) return false;
    return token.twoFactorAuthorizedHash === (await fingerprint(call));
  }

  /** Remembers on the token of `call` that a factor was given, for the remember window. */
  private async remember(user: User, call: TwoFactorCall): Promise<void> {
    const seconds = this.rememberSeconds();
    if (seconds <= 0) return;
    const until = new Date(this.deps.clock.now().getTime() + seconds * 1000);
    const hash = await fingerprint(call);
    await this.deps.db.users.updateOne(
      { _id: user._id, "services.resume.loginTokens.hashedToken": call.hashedToken },
      {
        $set: {
          "services.resume.loginTokens.$.twoFactorAuthorizedUntil": until,
          "services.resume.loginTokens.$.twoFactorAuthorizedHash": hash,
        },
      },
    );
  }

  /**
   * Whether `code` is a current code of the user's TOTP `field` (within
   * `Accounts_TwoFactorAuthentication_MaxDelta` steps) or, for the enabled secret, one of
   * their unused backup codes, which this uses up: two calls racing with one backup code
   * cannot both succeed.
   */
  private async verifyTotpOrBackup(
    user: User,
    code: string,
    field: "secret" | "tempSecret",
  ): Promise<boolean> {
    const enrolment = user.services?.totp;
    const secret = enrolment?.[field];
    if (!secret) return false;
    if (field === "secret" && isBackupCodeShape(code)) {
      const hashed = await hashBackupCode(code);
      const used = await this.deps.db.users.updateOne(
        { _id: user._id, "services.totp.hashedBackup": hashed },
        { $pull: { "services.totp.hashedBackup": hashed } },
      );
      return used.modifiedCount === 1;
    }
    const window = this.settings.get<number>("Accounts_TwoFactorAuthentication_MaxDelta") ?? 1;
    return verifyTotp(secret, code, this.deps.clock.now(), window);
  }

  /**
   * Starts a TOTP enrolment (`2fa:enable`): a new secret, kept aside until confirmed, and
   * the URL to scan. Throws `error-2fa-already-enabled` when TOTP is on already.
   */
  async enable(user: User): Promise<{ secret: string; url: string }> {
    if (user.services?.totp?.enabled) throw new ClientError("error-2fa-already-enabled");
    const secret = newSecret();
    await this.deps.db.users.updateOne(
      { _id: user._id },
      { $set: { "services.totp": { enabled: false, tempSecret: secret } } },
    );
    return { secret, url: otpauthUrl(secret, user.username) };
  }

  /**
   * Confirms an enrolment with a code of the new secret (`2fa:validateTempToken`): TOTP
   * is on from now, and the answer carries the backup codes, shown this once. Every other
   * login token of the user except personal access tokens and `keepHashedToken` (the
   * caller's) is revoked. Throws `invalid-totp` when there is no enrolment or the code is
   * wrong.
   */
  async confirm(user: User, code: unknown, keepHashedToken?: string): Promise<{ codes: string[] }> {
    if (typeof code !== "string" || !(await this.verifyTotpOrBackup(user, code, "tempSecret"))) {
      throw invalidTotp();
    }
    const { codes, hashed } = await newBackupCodes();
    await this.deps.db.users.updateOne(
      { _id: user._id },
      {
        $set: {
          "services.totp.enabled": true,
          "services.totp.secret": user.services?.totp?.tempSecret,
          "services.totp.hashedBackup": hashed,
        },
        $unset: { "services.totp.tempSecret": 1 },
      },
    );
    if (keepHashedToken) await this.logOutOtherSessions(user, keepHashedToken);
    return { codes };
  }

  /** Revokes the user's login tokens other than `keep` and personal access tokens. */
  private async logOutOtherSessions(user: User, keep: string): Promise<void> {
    const tokens = user.services?.resume?.loginTokens ?? [];
    for (const token of tokens) {
      if (token.hashedToken === keep || token.type === "personalAccessToken") continue;
      await this.deps.db.users.updateOne(
        { _id: user._id },
        { $pull: { "services.resume.loginTokens": { hashedToken: token.hashedToken } } },
      );
      this.deps.hub.signal(user._id, { type: "logged-out", hashedToken: token.hashedToken });
    }
  }

  /**
   * Turns TOTP off (`2fa:disable`) given a current code or a backup code. Resolves false,
   * changing nothing, when TOTP is off or the code is wrong.
   */
  async disable(user: User, code: unknown): Promise<boolean> {
    if (!user.services?.totp?.enabled || typeof code !== "string") return false;
    if (!(await this.verifyTotpOrBackup(user, code, "secret"))) return false;
    await this.deps.db.users.updateOne(
      { _id: user._id },
      { $set: { "services.totp": { enabled: false } } },
    );
    return true;
  }

  /**
   * Replaces the backup codes (`2fa:regenerateCodes`) given a current code or a backup
   * code; resolves undefined for a wrong code. Throws `invalid-totp` when TOTP is off.
   */
  async regenerateCodes(user: User, code: unknown): Promise<{ codes: string[] } | undefined> {
    if (!user.services?.totp?.enabled) throw invalidTotp();
    if (typeof code !== "string" || !(await this.verifyTotpOrBackup(user, code, "secret"))) {
      return undefined;
    }
    const { codes, hashed } = await newBackupCodes();
    await this.deps.db.users.updateOne(
      { _id: user._id },
      { $set: { "services.totp.hashedBackup": hashed } },
    );
    return { codes };
  }

  /** How many backup codes are left (`2fa:checkCodesRemaining`); `invalid-totp` when off. */
  codesRemaining(user: User): { remaining: number } {
    if (!user.services?.totp?.enabled) throw invalidTotp();
    return { remaining: user.services.totp.hashedBackup?.length ?? 0 };
  }
}
