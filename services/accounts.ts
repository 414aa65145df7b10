/**
 * Account service: creating users, logging in with a password or a resume token,
 * authenticating REST calls, logging out, and seeding the accounts every workspace has.
 */
import { ClientError } from "../core/errors.ts";
import type { User } from "../core/models.ts";
import { hashDigest, hashLoginToken, passwordDigest, verifyDigest } from "../core/password.ts";
import { DuplicateKeyError } from "../store/types.ts";
import type { Deps } from "./context.ts";
import type { Settings } from "./settings.ts";

/** How long a login token lives, as Rocket.Chat's default `Accounts_LoginExpiration` (90 days). */
const TOKEN_LIFETIME_MS = 90 * 24 * 60 * 60 * 1000;

/** Usernames nobody may take, because mentions give them a meaning. */
const RESERVED_USERNAMES = new Set(["all", "here"]);

export interface NewUser {
  readonly username: string;
  readonly email?: string;
  /** Plain password; ignored when `digest` is given. */
  readonly password?: string;
  readonly name?: string;
  readonly roles?: readonly string[];
  readonly active?: boolean;
  readonly verified?: boolean;
  readonly type?: "user" | "bot";
  readonly requirePasswordChange?: boolean;
  /** Fixed id (seeded accounts); a random one otherwise. */
  readonly _id?: string;
  /** Subscribe to every default room; true unless said otherwise. */
  readonly joinDefaultChannels?: boolean;
}

export interface LoginResult {
  readonly user: User;
  readonly token: string;
  readonly tokenExpires: Date;
}

/** Who is logging in: a username, an e-mail, or either in one string. */
export type LoginSelector = { readonly username: string } | { readonly email: string };

export class Accounts {
  constructor(
    private readonly deps: Deps,
    private readonly settings: Settings,
  ) {}

  /**
   * Creates a user after Rocket.Chat's validation. Throws ClientError for an invalid or
   * taken username or e-mail; nothing is written then.
   */
  async createUser(input: NewUser): Promise<User> {
    const { db, clock, ids } = this.deps;
    const username = input.username.trim();
    const pattern = this.settings.get<string>("UTF8_User_Names_Validation") ?? "[0-9a-zA-Z-_.]+";
    if (!new RegExp(`^${pattern}$`).test(username)) {
      throw new ClientError("error-input-is-not-a-valid-field", `${username} is not a valid username`, {
        details: { method: "insertOrUpdateUser", input: username, field: "Username" },
      });
    }
    const email = input.email?.trim().toLowerCase();
    if (email !== undefined && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) {
      throw new ClientError("error-invalid-email", `Invalid email ${email}`, {
        details: { method: "insertOrUpdateUser", email },
      });
    }
    if (!(await this.usernameAvailable(username))) {
      throw new ClientError("error-field-unavailable", `${username} is already in use :(`, {
        details: { method: "insertOrUpdateUser", field: username },
      });
    }
    if (email && (await db.users.findOne({ "emails.address": email }, { projection: { _id: 1 } }))) {
      throw new ClientError("error-field-unavailable", `${email} is already in use :(`, {
        details: { method: "insertOrUpdateUser", field: email },
      });
    }

    const now = clock.now();
    const user: User = {
      _id: input._id ?? ids.id(),
      createdAt: now,
      _updatedAt: now,
      username,
      name: input.name ?? username,
      type: input.type ?? "user",
      active: input.active ?? true,
      roles: [...(input.roles ?? ["user"])],
      status: "offline",
      statusConnection: "offline",
      utcOffset: 0,
      requirePasswordChange: input.requirePasswordChange ?? false,
      settings: {},
      services: {
        ...(input.password !== undefined && {
          password: { bcrypt: await hashDigest(await passwordDigest(input.password)) },
        }),
      },
      ...(email && { emails: [{ address: email, verified: input.verified ?? false }] }),
    };
    try {
      await db.users.insertOne(user);
    } catch (error) {
      if (error instanceof DuplicateKeyError) {
        throw new ClientError("error-field-unavailable", `${username} is already in use :(`, { cause: error });
      }
      throw error;
    }
    if (input.joinDefaultChannels ?? true) await this.joinDefaultRooms(user);
    return user;
  }

  /** Whether `username` is free: not reserved and not taken, ignoring case. */
  async usernameAvailable(username: string): Promise<boolean> {
    if (RESERVED_USERNAMES.has(username.toLowerCase())) return false;
    const escaped = username.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const exact = await this.deps.db.users.findOne({ username }, { projection: { _id: 1 } });
    if (exact) return false;
    const folded = await this.deps.db.users.findOne(
      { username: { $regex: `^${escaped}$`, $options: "i" } },
      { projection: { _id: 1 } },
    );
    return folded === null;
  }

  /**
   * Logs in with a password given as its SHA-256 hex digest. Throws ClientError 403
   * ("User not found" / "Incorrect password") on failure, as Meteor's accounts do.
   */
  async loginWithPassword(selector: LoginSelector, digest: string): Promise<LoginResult> {
    const query =
      "username" in selector
        ? { username: selector.username }
        : { "emails.address": selector.email.trim().toLowerCase() };
    const user = await this.deps.db.users.findOne(query);
    if (!user) throw new ClientError(403, "User not found");
    const hash = user.services?.password?.bcrypt;
    if (!hash || !(await verifyDigest(digest, hash))) {
      throw new ClientError(403, "Incorrect password");
    }
    return this.issueToken(user);
  }

  /** Logs in with a resume token; throws ClientError 403 when the token is unknown or expired. */
  async loginWithToken(token: string): Promise<LoginResult> {
    const hashedToken = await hashLoginToken(token);
    const user = await this.deps.db.users.findOne({ "services.resume.loginTokens.hashedToken": hashedToken });
    const stored = user?.services?.resume?.loginTokens?.find((t) => t.hashedToken === hashedToken);
    if (!user || !stored || this.expired(stored.when)) {
      throw new ClientError(403, "You've been logged out by the server. Please log in again.");
    }
    this.assertActive(user);
    await this.deps.db.users.updateOne({ _id: user._id }, { $set: { lastLogin: this.deps.clock.now() } });
    return { user, token, tokenExpires: new Date(stored.when.getTime() + TOKEN_LIFETIME_MS) };
  }

  /** The user behind REST headers `X-User-Id` + `X-Auth-Token`, or null. */
  async authenticate(userId: string, token: string): Promise<User | null> {
    const hashedToken = await hashLoginToken(token);
    const user = await this.deps.db.users.findOne({
      _id: userId,
      "services.resume.loginTokens.hashedToken": hashedToken,
    });
    const stored = user?.services?.resume?.loginTokens?.find((t) => t.hashedToken === hashedToken);
    if (!user || !stored || this.expired(stored.when) || !user.active) return null;
    return user;
  }

  /** Removes one login token and closes the connections that used it. */
  async logout(userId: string, token: string): Promise<void> {
    await this.logoutHashed(userId, await hashLoginToken(token));
  }

  /** Removes the login token with this hash and closes the connections that used it. */
  async logoutHashed(userId: string, hashedToken: string): Promise<void> {
    await this.deps.db.users.updateOne(
      { _id: userId },
      { $pull: { "services.resume.loginTokens": { hashedToken } } },
    );
    this.deps.hub.signal(userId, { type: "logged-out", hashedToken });
  }

  private async issueToken(user: User): Promise<LoginResult> {
    this.assertActive(user);
    const token = this.deps.ids.secret();
    const when = this.deps.clock.now();
    const hashedToken = await hashLoginToken(token);
    await this.deps.db.users.updateOne(
      { _id: user._id },
      { $push: { "services.resume.loginTokens": { when, hashedToken } }, $set: { lastLogin: when } },
    );
    return { user: { ...user, lastLogin: when }, token, tokenExpires: new Date(when.getTime() + TOKEN_LIFETIME_MS) };
  }

  private assertActive(user: User): void {
    if (!user.active) throw new ClientError("error-user-is-not-activated", "User is not activated", { status: 403 });
  }

  private expired(when: Date): boolean {
    return this.deps.clock.now().getTime() - when.getTime() > TOKEN_LIFETIME_MS;
  }

  private async joinDefaultRooms(user: User): Promise<void> {
    const rooms = await this.deps.db.rooms.find({ default: true }, { projection: { _id: 1 } });
    for (const room of rooms) {
      await this.deps.rooms.execute(room._id, { kind: "join", user, silent: false });
    }
  }
}
