/** Every REST resource of the API, mounted together. */
import { Elysia } from "elysia";
import type { Logger } from "../core/logger.ts";
import type { Services } from "../services/index.ts";
import { accountRoutes } from "./account.ts";
import { authRoutes } from "./auth.ts";
import { avatarRoutes } from "./avatar.ts";
import { channelsRoutes } from "./channels.ts";
import { chatRoutes } from "./chat.ts";
import { chatMarkRoutes } from "./chat-marks.ts";
import { discoveryRoutes } from "./discovery.ts";
import { fileDownloadRoutes } from "./file-download.ts";
import { discussionRoutes } from "./discussions.ts";
import { chatThreadRoutes } from "./chat-threads.ts";
import { chatSearchRoutes } from "./chat-search.ts";
import { groupsRoutes } from "./groups.ts";
import { imRoutes } from "./im.ts";
import { imSettingsRoutes } from "./im-settings.ts";
import { infoRoutes } from "./info.ts";
import { livechatAgentRoutes } from "./livechat-agents.ts";
import { livechatDepartmentRoutes } from "./livechat-departments.ts";
import { livechatMailRoutes } from "./livechat-mail.ts";
import { livechatRoomRoutes } from "./livechat-rooms.ts";
import { livechatVisitorRoutes } from "./livechat-visitors.ts";
import { livechatWidgetRoutes } from "./livechat-widget.ts";
import { methodRoutes } from "./method.ts";
import { permissionsRoutes } from "./permissions.ts";
import { presenceRoutes } from "./presence.ts";
import { customUserStatusRoutes } from "./custom-user-status.ts";
import { rolesRoutes } from "./roles.ts";
import { roomAdminRoutes } from "./room-admin.ts";
import { roomLifecycleRoutes } from "./room-lifecycle.ts";
import { roomRoleRoutes } from "./room-roles.ts";
import { roomSettingsRoutes } from "./room-settings.ts";
import { roomCountersRoutes } from "./room-counters.ts";
import { roomListRoutes } from "./room-list.ts";
import { roomRoutes } from "./rooms.ts";
import { settingsRoutes } from "./settings.ts";
import { subscriptionRoutes } from "./subscriptions.ts";
import { teamsRoutes } from "./teams.ts";
import { tokenRoutes } from "./tokens.ts";
import { passwordResetRoutes } from "./password-reset.ts";
import { twoFactorRoutes } from "./two-factor.ts";
import { uploadRoutes } from "./uploads.ts";
import { usersRoutes } from "./users.ts";

/** The REST API: `/api/info` and everything under `/api/v1`. */
export function apiRoutes(services: Services, log: Logger) {
  return new Elysia()
    .use(infoRoutes(services, log))
    .use(authRoutes(services, log))
    .use(usersRoutes(services, log))
    .use(accountRoutes(services, log))
    .use(avatarRoutes(services, log))
    .use(tokenRoutes(services, log))
    .use(passwordResetRoutes(services, log))
    .use(twoFactorRoutes(services, log))
    .use(presenceRoutes(services, log))
    .use(customUserStatusRoutes(services, log))
    .use(channelsRoutes(services, log))
    .use(groupsRoutes(services, log))
    .use(imRoutes(services, log))
    .use(imSettingsRoutes(services, log))
    .use(roomSettingsRoutes(services, log))
    .use(roomLifecycleRoutes(services, log))
    .use(roomRoleRoutes(services, log))
    .use(roomAdminRoutes(services, log))
    .use(chatRoutes(services, log))
    .use(chatMarkRoutes(services, log))
    .use(discussionRoutes(services, log))
    .use(discoveryRoutes(services, log))
    .use(chatThreadRoutes(services, log))
    .use(chatSearchRoutes(services, log))
    .use(subscriptionRoutes(services, log))
    .use(roomCountersRoutes(services, log))
    .use(roomListRoutes(services, log))
    .use(roomRoutes(services, log))
    .use(settingsRoutes(services, log))
    .use(permissionsRoutes(services, log))
    .use(rolesRoutes(services, log))
    .use(teamsRoutes(services, log))
    .use(uploadRoutes(services, log))
    .use(fileDownloadRoutes(services, log))
    .use(livechatVisitorRoutes(services, log))
    .use(livechatAgentRoutes(services, log))
    .use(livechatRoomRoutes(services, log))
    .use(livechatDepartmentRoutes(services, log))
    .use(livechatMailRoutes(services, log))
    .use(livechatWidgetRoutes(services, log))
    .use(methodRoutes(services, log));
}
