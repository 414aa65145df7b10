/**
 * Default permissions: which roles hold each permission on a new workspace. These are
 * Rocket.Chat's defaults for the permissions Parley enforces so far.
 */
export const DEFAULT_PERMISSIONS: Readonly<Record<string, readonly string[]>> = {
  "access-permissions": ["admin"],
  "add-user-to-any-c-room": ["admin"],
  "add-user-to-any-p-room": [],
  "add-user-to-joined-room": ["admin", "owner", "moderator"],
  "archive-room": ["admin", "owner"],
  "bypass-time-limit-edit-and-delete": ["bot", "app"],
  "clean-channel-history": ["admin"],
  "create-c": ["admin", "user", "bot", "app"],
  "create-d": ["admin", "user", "bot", "app", "livechat-agent"],
  "create-p": ["admin", "user", "bot", "app"],
  "create-user": ["admin"],
  "delete-c": ["admin", "owner"],
  "delete-d": ["admin"],
  "delete-message": ["admin", "owner", "moderator"],
  "delete-own-message": ["admin", "user"],
  "delete-p": ["admin", "owner"],
  "edit-message": ["admin", "owner", "moderator"],
  "edit-other-user-info": ["admin"],
  "edit-privileged-setting": ["admin"],
  "edit-room": ["admin", "owner", "moderator"],
  "force-delete-message": ["admin", "owner"],
  "leave-c": ["admin", "user", "bot", "anonymous", "app"],
  "leave-p": ["admin", "user", "bot", "anonymous", "app"],
  "mention-all": ["admin", "owner", "moderator", "user"],
  "mention-here": ["admin", "owner", "moderator", "user"],
  "message-impersonate": ["bot", "app"],
  "pin-message": ["owner", "moderator", "admin"],
  "post-readonly": ["admin", "owner", "moderator"],
  "remove-user": ["admin", "owner", "moderator"],
  "set-leader": ["admin", "owner"],
  "set-moderator": ["admin", "owner"],
  "set-owner": ["admin", "owner"],
  "unarchive-room": ["admin"],
  "view-c-room": ["admin", "user", "bot", "app", "anonymous"],
  "view-d-room": ["admin", "user", "bot", "app"],
  "view-full-other-user-info": ["admin"],
  "view-joined-room": ["guest", "bot", "app", "anonymous"],
  "view-other-user-channels": ["admin"],
  "view-p-room": ["admin", "user", "anonymous"],
  "view-privileged-setting": ["admin"],
  "view-room-administration": ["admin"],
};

/** Rocket.Chat's default roles: global (`Users`) or per room (`Subscriptions`). */
export const DEFAULT_ROLES: readonly {
  readonly name: string;
  readonly scope: "Users" | "Subscriptions";
}[] = [
  { name: "admin", scope: "Users" },
  { name: "user", scope: "Users" },
  { name: "bot", scope: "Users" },
  { name: "app", scope: "Users" },
  { name: "guest", scope: "Users" },
  { name: "anonymous", scope: "Users" },
  { name: "livechat-agent", scope: "Users" },
  { name: "livechat-manager", scope: "Users" },
  { name: "livechat-guest", scope: "Users" },
  { name: "owner", scope: "Subscriptions" },
  { name: "moderator", scope: "Subscriptions" },
  { name: "leader", scope: "Subscriptions" },
];
