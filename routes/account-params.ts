/**
 * The preferences `users.setPreferences` accepts, by Rocket.Chat's names; any other key
 * is refused as invalid parameters, as its schema refuses additional properties.
 */
import { t } from "elysia";

const flag = () => t.Optional(t.Boolean());
const text = () => t.Optional(t.String());
const number = () => t.Optional(t.Number());

/** Every preference a client may set, with its type. */
export const PREFERENCES = {
  language: text(),
  newRoomNotification: text(),
  newMessageNotification: text(),
  clockMode: number(),
  useEmojis: flag(),
  convertAsciiEmoji: flag(),
  saveMobileBandwidth: flag(),
  collapseMediaByDefault: flag(),
  autoImageLoad: flag(),
  emailNotificationMode: text(),
  unreadAlert: flag(),
  notificationsSoundVolume: number(),
  masterVolume: number(),
  voipRingerVolume: number(),
  desktopNotifications: text(),
  pushNotifications: text(),
  enableAutoAway: flag(),
  highlights: t.Optional(t.Array(t.String())),
  desktopNotificationRequireInteraction: flag(),
  hideUsernames: flag(),
  hideRoles: flag(),
  displayAvatars: flag(),
  hideFlexTab: flag(),
  sendOnEnter: text(),
  idleTimeLimit: number(),
  sidebarShowFavorites: flag(),
  sidebarShowUnread: flag(),
  sidebarSortby: text(),
  sidebarViewMode: text(),
  sidebarDisplayAvatar: flag(),
  sidebarGroupByType: flag(),
  sidebarShowDiscussion: flag(),
  muteFocusedConversations: flag(),
  dontAskAgainList: t.Optional(t.Array(t.Object({ action: t.String(), label: t.String() }))),
  themeAppearence: text(),
  fontSize: text(),
  omnichannelTranscriptEmail: flag(),
  omnichannelTranscriptPDF: flag(),
  notifyCalendarEvents: flag(),
  enableMobileRinging: flag(),
  enableMessageParserEarlyAdoption: flag(),
  showThreadsInMainChannel: flag(),
  alsoSendThreadToChannel: text(),
  receiveLoginDetectionEmail: flag(),
  featuresPreview: t.Optional(t.Array(t.Object({ name: t.String(), value: t.Boolean() }))),
};
