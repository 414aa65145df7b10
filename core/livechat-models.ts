/**
 * The documents of Omnichannel (livechat), under Rocket.Chat's field names: visitors, the
 * inquiries waiting in a queue, departments and the agents serving each department. An
 * omnichannel room is a Room of type `l` carrying the fields of OmnichannelRoom.
 */
import type { Room, UserRef } from "./models.ts";

/** A website visitor: no account, known by the token the widget generated. */
export interface LivechatVisitor {
  _id: string;
  token: string;
  /** `guest-<n>`, numbered by the workspace's guest counter. */
  username: string;
  name?: string;
  visitorEmails?: { address: string }[];
  phone?: { phoneNumber: string }[];
  department?: string;
  /** Custom fields of the visitor scope, by key. */
  livechatData?: Record<string, unknown>;
  status?: "online" | "away" | "busy" | "offline";
  ts: Date;
  _updatedAt: Date;
  lastChat?: { _id: string; ts: Date };
  [key: string]: unknown;
}

/** The visitor as a room and an inquiry carry it. */
export interface VisitorRef {
  readonly _id: string;
  readonly username: string;
  readonly token: string;
  readonly status: string;
  readonly name?: string;
}

/** The agent serving a room. */
export interface ServedBy {
  readonly _id: string;
  readonly username: string;
  readonly ts: Date;
}

/** An omnichannel room (`t: "l"`): the conversation of one visitor. */
export interface OmnichannelRoom extends Room {
  t: "l";
  v: VisitorRef;
  /** Present while the conversation is open (Rocket.Chat removes it on close). */
  open?: true;
  servedBy?: ServedBy;
  departmentId?: string;
  source: { type: "widget" | "api"; alias?: string };
  closedAt?: Date;
  closer?: "user" | "visitor";
  closedBy?: UserRef;
  tags?: string[];
  /** A closing comment, and the survey answers of the visitor. */
  livechatData?: Record<string, unknown>;
  /** The visitor's survey answers by question (and `additionalFeedback`, their own words). */
  surveyFeedback?: Record<string, string>;
  transferHistory?: Record<string, unknown>[];
  responseBy?: UserRef & { firstResponseTs: Date; lastMessageTs: Date };
}

/** The status of an inquiry: waiting in its queue, or taken by an agent. */
export type InquiryStatus = "queued" | "taken";

/** One waiting conversation in a queue (Rocket.Chat's ILivechatInquiryRecord). */
export interface LivechatInquiry {
  _id: string;
  rid: string;
  name: string;
  message: string;
  ts: Date;
  v: VisitorRef;
  t: "l";
  /** The department whose queue holds it; absent for the default queue. */
  department?: string;
  status: InquiryStatus;
  queuedAt: Date;
  takenAt?: Date;
  /** An agent the conversation should go to first (forwarded to, or chosen). */
  defaultAgent?: { agentId: string; username: string };
  estimatedWaitingTimeQueue: number;
  priorityWeight: number;
  source: { type: string };
  _updatedAt: Date;
  [key: string]: unknown;
}

/** A department: a group of agents with a queue of its own. */
export interface LivechatDepartment {
  _id: string;
  name: string;
  enabled: boolean;
  description?: string;
  showOnRegistration: boolean;
  showOnOfflineForm: boolean;
  email: string;
  numAgents: number;
  /** Open chats one agent serves at most in this department; 0 means no department limit. */
  maxNumberSimultaneousChat?: number;
  requestTagBeforeClosingChat?: boolean;
  chatClosingTags?: string[];
  offlineMessageChannelName?: string;
  archived?: boolean;
  _updatedAt: Date;
  [key: string]: unknown;
}

/** An agent of a department. */
export interface LivechatDepartmentAgent {
  _id: string;
  agentId: string;
  departmentId: string;
  departmentEnabled: boolean;
  username: string;
  count: number;
  order: number;
  _updatedAt: Date;
  [key: string]: unknown;
}
