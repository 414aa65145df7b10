/**
 * How users look on the wire: the caller's own full record (`me`, login) and the public
 * record others see.
 */
import type { User } from "../core/models.ts";

/** Rocket.Chat's default user preferences, merged under the stored ones. */
const DEFAULT_PREFERENCES = {
  enableAutoAway: true,
  idleTimeLimit: 300,
  desktopNotificationRequireInteraction: false,
  desktopNotifications: "all",
  pushNotifications: "all",
  unreadAlert: true,
  useEmojis: true,
  convertAsciiEmoji: true,
  autoImageLoad: true,
  saveMobileBandwidth: true,
  collapseMediaByDefault: false,
  hideUsernames: false,
  hideRoles: false,
  hideFlexTab: false,
  displayAvatars: true,
  sidebarGroupByType: true,
  themeAppearence: "auto",
  sidebarShowFavorites: true,
  sidebarShowUnread: false,
  sidebarSortby: "activity",
  sidebarViewMode: "medium",
  sidebarDisplayAvatar: true,
  sidebarShowDiscussion: true,
  showThreadsInMainChannel: false,
  alsoSendThreadToChannel: "default",
  emailNotificationMode: "mentions",
  newRoomNotification: "door",
  newMessageNotification: "chime",
  muteFocusedConversations: true,
  notificationsSoundVolume: 100,
  enableMessageParserEarlyAdoption: false,
  sendOnEnter: "normal",
  language: "",
};

/**
 * The caller's own record, as `/me` and `login` return it: whether a password, TOTP and
 * e-mail two-factor authentication are set, never a password hash, token, reset token,
 * TOTP secret, backup code or e-mail code.
 */
export function ownView(user: User): Record<string, unknown> {
  const { services, settings, ...rest } = user;
  return {
    ...rest,
    email: user.emails?.[0]?.address,
    settings: { preferences: { ...DEFAULT_PREFERENCES, ...settings?.preferences } },
    services: {
      ...(services?.email2fa?.enabled && { email2fa: { enabled: true } }),
      ...(services?.totp?.enabled && { totp: { enabled: true } }),
      password: { exists: Boolean(services?.password?.bcrypt) },
    },
    avatarUrl: `/avatar/${encodeURIComponent(user.username)}`,
    isOAuthUser: false,
  };
}

/** What other users see of a user; `full` adds e-mails and timestamps (admins). */
export function publicView(user: User, full = false): Record<string, unknown> {
  const view: Record<string, unknown> = {
    _id: user._id,
    username: user.username,
    name: user.name,
    status: user.status,
    active: user.active,
    type: user.type,
    roles: user.roles,
    utcOffset: user.utcOffset ?? 0,
  };
  if (full) {
    view.emails = user.emails;
    view.createdAt = user.createdAt;
    view._updatedAt = user._updatedAt;
    view.lastLogin = user.lastLogin;
  }
  return view;
}

/** Copies the fields of `user` named in `keys` that it has. */
function pick(user: User, keys: readonly string[]): Record<string, unknown> {
  const view: Record<string, unknown> = {};
  for (const key of keys) if (user[key] !== undefined) view[key] = user[key];
  return view;
}

/** Fields no REST answer about a user carries: secrets and import bookkeeping. */
const NEVER_SHOWN = ["services", "inviteToken", "e2e", "importIds", "joinCode", "members"];

/** Fields `users.*` routes hide from callers without `view-full-other-user-info`. */
const PRIVILEGED_ONLY = [
  "avatarOrigin",
  "emails",
  "phone",
  "statusConnection",
  "createdAt",
  "lastLogin",
  "requirePasswordChange",
  "requirePasswordChangeReason",
  "roles",
  "statusDefault",
  "_updatedAt",
  "settings",
];

/**
 * The stored user record as `users.create` and `users.register` answer it: everything
 * but secrets; a caller without `privileged` (view-full-other-user-info) sees less.
 */
export function userRecordView(user: User, privileged: boolean): Record<string, unknown> {
  const hidden = new Set([...NEVER_SHOWN, ...(privileged ? [] : PRIVILEGED_ONLY)]);
  return Object.fromEntries(Object.entries(user).filter(([key]) => !hidden.has(key)));
}

/** What `users.info` shows of anyone. */
const INFO_FIELDS = [
  "_id",
  "name",
  "username",
  "nickname",
  "status",
  "utcOffset",
  "type",
  "active",
  "bio",
];

/** What `users.info` adds for the user themself and for holders of view-full-other-user-info. */
const FULL_INFO_FIELDS = [
  "emails",
  "phone",
  "statusConnection",
  "createdAt",
  "lastLogin",
  "requirePasswordChange",
  "roles",
];

/**
 * `users.info`'s view of `user`: public fields, the full set when `full`, and for the
 * caller's own record whether it has a password (as `me` shows it). Rocket.Chat sends
 * its own record's whole `services` here, login token hashes included; Parley never does.
 */
export function userInfoView(
  user: User,
  opts: { full: boolean; self: boolean },
): Record<string, unknown> {
  const shown = [
    ...INFO_FIELDS,
    "reason",
    "statusText",
    "avatarETag",
    ...(opts.full ? FULL_INFO_FIELDS : []),
  ];
  const view = pick(user, shown);
  if (opts.self) view.services = { password: { exists: Boolean(user.services?.password?.bcrypt) } };
  view.canViewAllInfo = opts.full;
  return view;
}

/** The fields of a `users.list` row. */
const LIST_FIELDS = [
  "_id",
  "name",
  "username",
  "emails",
  "roles",
  "status",
  "active",
  "avatarETag",
  "lastLogin",
  "type",
];

/**
 * A row of `users.list`, with the lower-cased name Rocket.Chat adds for sorting. A caller
 * without `privileged` (view-full-other-user-info) does not see the fields Rocket.Chat
 * hides from them on every `users.*` route: e-mails, roles and the last login.
 */
export function userListView(user: User, privileged: boolean): Record<string, unknown> {
  const shown = privileged ? LIST_FIELDS : LIST_FIELDS.filter((f) => !PRIVILEGED_ONLY.includes(f));
  const view = pick(user, shown);
  if (typeof user.name === "string") view.nameInsensitive = user.name.toLowerCase();
  return view;
}

/** A row of a room's member list (`channels.members` and alike). */
export function memberView(user: User): Record<string, unknown> {
  return pick(user, [
    "_id",
    "name",
    "username",
    "nickname",
    "status",
    "avatarETag",
    "_updatedAt",
    "federated",
  ]);
}
