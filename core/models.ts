/**
 * The documents Parley stores, in Rocket.Chat's collections and field names, so that a
 * database can be shared with Rocket.Chat's tooling and its test suite's direct queries.
 */

/** Whether `text` looks like an e-mail address Rocket.Chat accepts: a dot in the domain. */
export function isEmailAddress(text: string): boolean {
  return /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(text);
}

/** The short user reference embedded in rooms, subscriptions and messages. */
export interface UserRef {
  readonly _id: string;
  readonly username: string;
  readonly name?: string;
}

/**
 * A login token: issued at login (`when`, expires), or a personal access token (`type`,
 * `name`, `createdAt`; never expires).
 */
export interface LoginToken {
  /** base64 SHA-256 of the token; the token itself is never stored. */
  readonly hashedToken: string;
  readonly when?: Date;
  readonly type?: "personalAccessToken";
  readonly name?: string;
  readonly createdAt?: Date;
  /** The token's last six characters, so that its owner can tell tokens apart. */
  readonly lastTokenPart?: string;
  /** A token that never needs a second factor (a personal access token made so). */
  readonly bypassTwoFactor?: boolean;
  /** Until when a second factor given with this token is remembered. */
  readonly twoFactorAuthorizedUntil?: Date;
  /** SHA-256 of the user agent and address the second factor was given from. */
  readonly twoFactorAuthorizedHash?: string;
}

/**
 * A user's TOTP enrolment, as Rocket.Chat stores it: `tempSecret` while they confirm a
 * new secret, then `secret` and the SHA-256 digests of their unused backup codes.
 */
export interface TotpEnrolment {
  enabled: boolean;
  secret?: string;
  tempSecret?: string;
  hashedBackup?: string[];
}

/** Whether a user has e-mail two-factor authentication on, and since when, as Rocket.Chat stores it. */
export interface Email2fa {
  enabled: boolean;
  changedAt: Date;
}

/**
 * The e-mail code a user was last sent, as Rocket.Chat stores it: its bcrypt hash (the code
 * itself is never stored), when it expires, and how many wrong codes were given since.
 */
export interface EmailCode {
  code: string;
  expire: Date;
  attempts: number;
}

/**
 * A pending password reset, as Meteor stores it: the token mailed (Meteor keeps it as it
 * is, so a store moved from Rocket.Chat keeps its links working), the address it went to,
 * when, and why (`reset`).
 */
export interface PasswordReset {
  token: string;
  email: string;
  when: Date;
  reason: string;
}

export type UserStatus = "online" | "away" | "busy" | "offline";

/** The statuses a user may choose; `offline` is shown to others as offline ("invisible"). */
export const USER_STATUSES: readonly UserStatus[] = ["online", "away", "busy", "offline"];

export interface User {
  _id: string;
  username: string;
  name?: string;
  emails?: { address: string; verified: boolean }[];
  type: "user" | "bot";
  active: boolean;
  roles: string[];
  /** What others see: derived from the connections and the chosen status. */
  status: UserStatus;
  /** Online if any connection is active, away if all are idle, offline without any. */
  statusConnection?: UserStatus;
  /** The status the user chose; absent means online (follow the connections). */
  statusDefault?: UserStatus;
  statusText?: string;
  utcOffset?: number;
  createdAt: Date;
  _updatedAt: Date;
  lastLogin?: Date;
  requirePasswordChange?: boolean;
  settings?: { preferences?: Record<string, unknown> };
  services?: {
    password?: { bcrypt?: string; reset?: PasswordReset };
    resume?: { loginTokens?: LoginToken[] };
    totp?: TotpEnrolment;
    email2fa?: Email2fa;
    emailCode?: EmailCode;
  };
  [key: string]: unknown;
}

/** Room types: public channel, private group, direct message, omnichannel (livechat) room. */
export type RoomType = "c" | "p" | "d" | "l";

export interface Room {
  _id: string;
  t: RoomType;
  name?: string;
  fname?: string;
  u?: UserRef;
  ts: Date;
  _updatedAt: Date;
  msgs: number;
  usersCount: number;
  ro?: boolean;
  default?: boolean;
  /** Whether system messages show, or the message types (`t`) that do. */
  sysMes?: boolean | string[];
  archived?: boolean;
  topic?: string;
  description?: string;
  announcement?: string;
  /** A discussion's parent room. */
  prid?: string;
  /** Channels only: the code joining needs; never sent to clients (see `joinCodeRequired`). */
  joinCode?: string;
  joinCodeRequired?: boolean;
  customFields?: Record<string, unknown>;
  reactWhenReadOnly?: boolean;
  featured?: boolean;
  /** Direct messages only: the members' usernames and ids. */
  usernames?: string[];
  uids?: string[];
  /** Discussions only: the message the discussion started from. */
  pmid?: string;
  encrypted?: boolean;
  lm?: Date;
  lastMessage?: Message;
  /** The team the room belongs to. */
  teamId?: string;
  /** The room is its team's main room, whose members are the team's members. */
  teamMain?: boolean;
  /** A team room its team's members join automatically (auto-join). */
  teamDefault?: boolean;
  [key: string]: unknown;
}

export interface Subscription {
  _id: string;
  rid: string;
  u: UserRef;
  name: string;
  fname?: string;
  t: RoomType;
  ts: Date;
  ls: Date;
  lr?: Date;
  _updatedAt: Date;
  open: boolean;
  alert: boolean;
  unread: number;
  userMentions: number;
  groupMentions: number;
  roles?: string[];
  archived?: boolean;
  customFields?: Record<string, unknown>;
  /** The room is one of the user's favourites. */
  f?: boolean;
  /** Threads with replies this user has not read; of those, the ones mentioning them or all. */
  tunread?: string[];
  tunreadUser?: string[];
  tunreadGroup?: string[];
  [key: string]: unknown;
}

/** A user mentioned in a message, or the group mentions `all` and `here`. */
export interface Mention extends UserRef {
  readonly type?: "user" | "team";
}

export interface Message {
  _id: string;
  rid: string;
  msg: string;
  ts: Date;
  u: UserRef;
  _updatedAt: Date;
  /** System message type (`uj` joined, `ul` left, `au` added, `ru` removed, …). */
  t?: string;
  /** Users mentioned (`type: "user"`), and `all`/`here` as `{_id, username}` alone. */
  mentions?: Mention[];
  channels?: { _id: string; name: string }[];
  /** The token tree of `msg` from @rocket.chat/message-parser, as Rocket.Chat's clients render it. */
  md?: readonly unknown[];
  /** Who reacted with each `:shortcode:`. */
  reactions?: Record<string, { usernames: string[] }>;
  pinned?: boolean;
  pinnedAt?: Date;
  pinnedBy?: { _id: string; username: string };
  /** The users who starred the message. */
  starred?: { _id: string }[];
  urls?: { url: string }[];
  editedAt?: Date;
  editedBy?: UserRef;
  alias?: string;
  emoji?: string;
  avatar?: string;
  attachments?: Record<string, unknown>[];
  /** An uploaded file the message shares (see Upload), and with it its thumbnail in `files`. */
  file?: Record<string, unknown>;
  files?: Record<string, unknown>[];
  tmid?: string;
  /** A message linking to a discussion: its id, message count and last message time. */
  drid?: string;
  dcount?: number;
  dlm?: Date;
  /** A thread reply also shown in the room. */
  tshow?: boolean;
  /** A thread's parent only: how many replies, the last one's time, and its followers. */
  tcount?: number;
  tlm?: Date;
  replies?: string[];
  groupable?: boolean;
  /** An old version kept as edit history: never shown by any read. */
  _hidden?: boolean;
  /** Edit history only: the id of the message this is an old version of. */
  parent?: string;
  [key: string]: unknown;
}

/**
 * An uploaded file as Rocket.Chat keeps it in `rocketchat_uploads`: what the uploader said
 * (`name`, `type`, `description`), what the server measured (`size`, `identify` for
 * images), where its bytes are (`store`, the blob named by `_id`) and where it is served
 * (`path`, `url`). A file uploaded by `rooms.media` carries `expiresAt` until its message
 * is sent; a thumbnail has `typeGroup: "thumb"` and the id of its image in `originalFileId`.
 */
export interface Upload {
  _id: string;
  name: string;
  size: number;
  type: string;
  rid: string;
  userId: string;
  store: string;
  complete: boolean;
  uploading: boolean;
  progress: number;
  extension: string;
  /** The first part of `type` (`image`, `application`…), or `thumb` for a thumbnail. */
  typeGroup: string;
  etag: string;
  path: string;
  url: string;
  uploadedAt: Date;
  _updatedAt: Date;
  identify?: { format: string; size?: { width: number; height: number } };
  description?: string;
  expiresAt?: Date;
  originalFileId?: string;
  /** End-to-end encrypted content, as the client sent it in `content`. */
  content?: unknown;
  [key: string]: unknown;
}

/**
 * A deleted document kept in `rocketchat__trash`, as Rocket.Chat keeps them: the document's
 * own fields plus when it was deleted and the short name of its collection (`message`).
 */
export interface TrashRecord {
  _id: string;
  __collection__: string;
  _deletedAt: Date;
  [key: string]: unknown;
}

export interface Setting {
  _id: string;
  value: unknown;
  packageValue: unknown;
  type: "boolean" | "string" | "int" | "select" | "language" | "color" | "password" | "code";
  public: boolean;
  group: string;
  _updatedAt: Date;
  [key: string]: unknown;
}

export interface Permission {
  _id: string;
  roles: string[];
  _updatedAt: Date;
  [key: string]: unknown;
}

export interface Role {
  _id: string;
  name: string;
  scope: "Users" | "Subscriptions";
  description: string;
  protected: boolean;
  mandatory2fa: boolean;
  _updatedAt: Date;
  [key: string]: unknown;
}

/**
 * A login, or a failed attempt at one, as Rocket.Chat records them in
 * `rocketchat_server_events`: what failed-login blocking counts.
 */
export interface ServerEvent {
  _id: string;
  t: "failed-login-attempt" | "login";
  ts: Date;
  ip: string;
  u: { _id?: string; username?: string };
  [key: string]: unknown;
}

/** One DDP connection of a logged-in user, as Rocket.Chat's `usersSessions` holds it. */
export interface UserSessionConnection {
  /** The DDP connection (session) id. */
  readonly id: string;
  /** The Parley process holding the connection. */
  readonly instanceId: string;
  /** `online`, or `away` once the client reported its user idle. */
  readonly status: "online" | "away";
  readonly _createdAt: Date;
  readonly _updatedAt: Date;
}

/** A user's open connections across every process (`usersSessions`, keyed by user id). */
export interface UserSession {
  _id: string;
  connections: UserSessionConnection[];
  [key: string]: unknown;
}

/** A running Parley process and its last heartbeat (Rocket.Chat's `instances`). */
export interface Instance {
  _id: string;
  _createdAt: Date;
  _updatedAt: Date;
  [key: string]: unknown;
}

/** A status an administrator defined: a name shown with one of the four presence types. */
export interface CustomUserStatus {
  _id: string;
  name: string;
  statusType: UserStatus;
  _updatedAt: Date;
  [key: string]: unknown;
}

/** Team types as Rocket.Chat numbers them: 0 public, 1 private. */
export type TeamType = 0 | 1;

/**
 * A team (`rocketchat_team`): a name and type, and its main room (`roomId`), whose
 * members are the team's members.
 */
export interface Team {
  _id: string;
  name: string;
  type: TeamType;
  roomId: string;
  createdBy: { _id: string; username: string };
  createdAt: Date;
  _updatedAt: Date;
  [key: string]: unknown;
}

/** One user's membership of a team (`rocketchat_team_member`), with their team roles. */
export interface TeamMember {
  _id: string;
  teamId: string;
  userId: string;
  /** `owner`, `moderator`, `member`, as given; none for a plain member. */
  roles?: string[];
  createdBy: { _id: string; username: string };
  createdAt: Date;
  _updatedAt: Date;
  [key: string]: unknown;
}

/** A lease on a lock that holds across processes (`parley_locks`, keyed by the lock's name). */
export interface StoreLock {
  readonly _id: string;
  /** Who holds it: an id drawn by the holder for this one lease. */
  readonly holder: string;
  /** When the lease lapses if its holder never releases it (a process that died). */
  readonly expiresAt: Date;
  [key: string]: unknown;
}
