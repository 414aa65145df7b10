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

/** The caller's own record, as `/me` and `login` return it: never a password hash or token. */
export function ownView(user: User): Record<string, unknown> {
  const { services, settings, ...rest } = user;
  return {
    ...rest,
    email: user.emails?.[0]?.address,
    settings: { preferences: { ...DEFAULT_PREFERENCES, ...settings?.preferences } },
    services: { password: { exists: Boolean(services?.password?.bcrypt) } },
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
