/**
 * The collections Parley uses, under Rocket.Chat's names, and the indexes that keep every
 * hot query off a full scan.
 */
import type {
  CustomUserStatus,
  Instance,
  Message,
  Permission,
  Role,
  Room,
  ServerEvent,
  Setting,
  StoreLock,
  Subscription,
  Team,
  TeamMember,
  TrashRecord,
  Upload,
  User,
  UserSession,
} from "../core/models.ts";
import type {
  LivechatDepartment,
  LivechatDepartmentAgent,
  LivechatInquiry,
  LivechatVisitor,
} from "../core/livechat-models.ts";
import type { Collection, Store } from "../store/types.ts";

export interface Collections {
  readonly users: Collection<User>;
  readonly rooms: Collection<Room>;
  readonly subscriptions: Collection<Subscription>;
  readonly messages: Collection<Message>;
  readonly settings: Collection<Setting>;
  readonly permissions: Collection<Permission>;
  readonly roles: Collection<Role>;
  readonly teams: Collection<Team>;
  /** Who belongs to which team; written only by the team's main room actor. */
  readonly teamMembers: Collection<TeamMember>;
  /** Deleted documents of every collection, as Rocket.Chat's `rocketchat__trash`. */
  readonly trash: Collection<TrashRecord>;
  /** Logins and failed login attempts, as Rocket.Chat's `rocketchat_server_events`. */
  readonly serverEvents: Collection<ServerEvent>;
  /** Every user's open connections, across processes. */
  readonly usersSessions: Collection<UserSession>;
  /** Running processes and their heartbeats. */
  readonly instances: Collection<Instance>;
  readonly customUserStatus: Collection<CustomUserStatus>;
  /** Leases of the locks that hold across processes (services/store-locks.ts). */
  readonly locks: Collection<StoreLock>;
  /** Uploaded files, as Rocket.Chat's `rocketchat_uploads`; their bytes are in file storage. */
  readonly uploads: Collection<Upload>;
  /** Omnichannel: website visitors, waiting inquiries, departments and their agents. */
  readonly livechatVisitors: Collection<LivechatVisitor>;
  readonly livechatInquiries: Collection<LivechatInquiry>;
  readonly livechatDepartments: Collection<LivechatDepartment>;
  readonly livechatDepartmentAgents: Collection<LivechatDepartmentAgent>;
}

/** Opens the collections on `store` and declares their indexes (idempotent). */
export async function openCollections(store: Store): Promise<Collections> {
  const db: Collections = {
    users: store.collection<User>("users"),
    rooms: store.collection<Room>("rocketchat_room"),
    subscriptions: store.collection<Subscription>("rocketchat_subscription"),
    messages: store.collection<Message>("rocketchat_message"),
    settings: store.collection<Setting>("rocketchat_settings"),
    permissions: store.collection<Permission>("rocketchat_permissions"),
    roles: store.collection<Role>("rocketchat_roles"),
    teams: store.collection<Team>("rocketchat_team"),
    teamMembers: store.collection<TeamMember>("rocketchat_team_member"),
    trash: store.collection<TrashRecord>("rocketchat__trash"),
    serverEvents: store.collection<ServerEvent>("rocketchat_server_events"),
    usersSessions: store.collection<UserSession>("usersSessions"),
    instances: store.collection<Instance>("instances"),
    customUserStatus: store.collection<CustomUserStatus>("rocketchat_custom_user_status"),
    locks: store.collection<StoreLock>("parley_locks"),
    uploads: store.collection<Upload>("rocketchat_uploads"),
    livechatVisitors: store.collection<LivechatVisitor>("rocketchat_livechat_visitor"),
    livechatInquiries: store.collection<LivechatInquiry>("rocketchat_livechat_inquiry"),
    livechatDepartments: store.collection<LivechatDepartment>("rocketchat_livechat_department"),
    livechatDepartmentAgents: store.collection<LivechatDepartmentAgent>(
      "rocketchat_livechat_department_agents",
    ),
  };
  await Promise.all([
    db.users.createIndex({ key: { username: 1 }, unique: true, sparse: true }),
    db.users.createIndex({ key: { "emails.address": 1 }, unique: true, sparse: true }),
    db.users.createIndex({ key: { "services.resume.loginTokens.hashedToken": 1 } }),
    db.rooms.createIndex({ key: { name: 1 }, unique: true, sparse: true }),
    db.rooms.createIndex({ key: { t: 1 } }),
    db.rooms.createIndex({ key: { uids: 1 } }),
    db.rooms.createIndex({ key: { prid: 1 }, sparse: true }),
    db.rooms.createIndex({ key: { teamId: 1 }, sparse: true }),
    db.teams.createIndex({ key: { name: 1 }, unique: true }),
    db.teamMembers.createIndex({ key: { teamId: 1, userId: 1 }, unique: true }),
    db.teamMembers.createIndex({ key: { userId: 1 } }),
    db.subscriptions.createIndex({ key: { rid: 1, "u._id": 1 }, unique: true }),
    db.subscriptions.createIndex({ key: { "u._id": 1 } }),
    db.subscriptions.createIndex({ key: { rid: 1, ls: 1 } }),
    db.messages.createIndex({ key: { rid: 1, ts: -1 } }),
    db.uploads.createIndex({ key: { rid: 1 } }),
    db.uploads.createIndex({ key: { expiresAt: 1 }, sparse: true }),
    db.messages.createIndex({ key: { rid: 1, _updatedAt: 1 } }),
    db.messages.createIndex({ key: { tmid: 1 }, sparse: true }),
    db.messages.createIndex({ key: { drid: 1 }, sparse: true }),
    db.messages.createIndex({ key: { msg: "text" } }),
    db.trash.createIndex({ key: { __collection__: 1, rid: 1, _deletedAt: 1 } }),
    db.serverEvents.createIndex({ key: { t: 1, ip: 1, ts: -1 } }),
    db.serverEvents.createIndex({ key: { t: 1, "u.username": 1, ts: -1 } }),
    db.serverEvents.createIndex({ key: { ts: 1 } }),
    db.usersSessions.createIndex({ key: { "connections.id": 1 }, sparse: true }),
    db.usersSessions.createIndex({ key: { "connections.instanceId": 1 }, sparse: true }),
    db.users.createIndex({ key: { status: 1 } }),
    db.customUserStatus.createIndex({ key: { name: 1 }, unique: true }),
    db.livechatVisitors.createIndex({ key: { token: 1 }, unique: true }),
    db.livechatInquiries.createIndex({ key: { rid: 1 }, unique: true }),
    db.livechatInquiries.createIndex({ key: { status: 1, department: 1, queuedAt: 1 } }),
    db.livechatDepartmentAgents.createIndex({ key: { departmentId: 1, agentId: 1 }, unique: true }),
    db.livechatDepartmentAgents.createIndex({ key: { agentId: 1 } }),
    db.rooms.createIndex({ key: { "v.token": 1 }, sparse: true }),
    db.rooms.createIndex({ key: { "servedBy._id": 1 }, sparse: true }),
  ]);
  return db;
}
