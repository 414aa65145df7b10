/**
 * Omnichannel visitors: people on a website talking through the widget, with no account.
 * A visitor is known by the token their widget generated; registering the same token again
 * updates the visitor. Each new visitor is named `guest-<n>` from the workspace's guest
 * counter (the Livechat_guest_count setting, as Rocket.Chat counts).
 */
import { ClientError } from "../core/errors.ts";
import type { LivechatVisitor } from "../core/livechat-models.ts";
import { isEmailAddress } from "../core/models.ts";
import type { Deps } from "./context.ts";
import { withStoreLock } from "./store-locks.ts";

/** What `livechat/visitor` accepts. */
export interface VisitorInput {
  readonly token: string;
  readonly name?: string;
  readonly email?: string;
  readonly phone?: string;
  readonly department?: string;
  readonly username?: string;
  readonly customFields?: readonly { key: string; value: string; overwrite?: boolean }[];
}

/** Rocket.Chat's refusal of a visitor token it does not know. */
export function invalidToken(): ClientError {
  return new ClientError("invalid-token", "Invalid token");
}

/** The visitor with `token`, or null. */
export function visitorByToken(
  deps: Pick<Deps, "db">,
  token: string,
): Promise<LivechatVisitor | null> {
  return deps.db.livechatVisitors.findOne({ token });
}

/** The visitor with `token`; `invalid-token` when there is none. */
export async function requireVisitor(
  deps: Pick<Deps, "db">,
  token: unknown,
): Promise<LivechatVisitor> {
  if (typeof token !== "string" || token === "") throw invalidToken();
  const visitor = await visitorByToken(deps, token);
  if (!visitor) throw invalidToken();
  return visitor;
}

/** Takes the next guest number from the workspace's counter. */
async function nextGuestNumber(deps: Pick<Deps, "db">): Promise<number> {
  const counter = await deps.db.settings.findOneAndUpdate(
    { _id: "Livechat_guest_count" },
    { $inc: { value: 1 } },
    { returnDocument: "before" },
  );
  return typeof counter?.value === "number" ? counter.value : 1;
}

/** The department id that `ref` names (by id, or else by name); `error-invalid-department` otherwise. */
export async function departmentIdOf(deps: Pick<Deps, "db">, ref: string): Promise<string> {
  const department =
    (await deps.db.livechatDepartments.findOne({ _id: ref })) ??
    (await deps.db.livechatDepartments.findOne({ name: ref }));
  if (!department) throw new ClientError("error-invalid-department", "Invalid department");
  return department._id;
}

/** Rocket.Chat's refusal of a visitor e-mail address that is not one. */
function invalidEmail(email: string): ClientError {
  return new ClientError("error-invalid-email", `Invalid email ${email}`, {
    details: { function: "Livechat.validateEmail", email },
  });
}

/**
 * Registers the visitor of `input.token`, or updates the one registered with it: name,
 * e-mail, phone, department and custom fields given replace those stored (a custom field
 * with `overwrite: false` only fills a field not set yet). Calls for one token run one at
 * a time, in every process sharing the store, so calls racing with a new token register
 * it once and take one guest number. Resolves to the visitor; refuses an e-mail address
 * that is not one (`error-invalid-email`) and an unknown department.
 */
export async function registerVisitor(deps: Deps, input: VisitorInput): Promise<LivechatVisitor> {
  const email = input.email?.trim().toLowerCase();
  if (email && !isEmailAddress(email)) throw invalidEmail(input.email as string);
  const department = input.department ? await departmentIdOf(deps, input.department) : undefined;
  return withStoreLock(deps, `livechat-visitor:${input.token}`, () =>
    saveVisitor(deps, { ...input, ...(email && { email }) }, department),
  );
}

async function saveVisitor(
  deps: Deps,
  input: VisitorInput,
  department: string | undefined,
): Promise<LivechatVisitor> {
  const { db, clock } = deps;
  const now = clock.now();
  const existing = await visitorByToken(deps, input.token);
  const set: Record<string, unknown> = {
    _updatedAt: now,
    ...(input.name !== undefined && { name: input.name }),
    ...(input.email && { visitorEmails: [{ address: input.email }] }),
    ...(input.phone && { phone: [{ phoneNumber: input.phone }] }),
    ...(department !== undefined && { department }),
  };
  for (const field of input.customFields ?? []) {
    const current = existing?.livechatData?.[field.key];
    if (field.overwrite === false && current !== undefined) continue;
    set[`livechatData.${field.key}`] = field.value;
  }
  if (existing) {
    return (await db.livechatVisitors.findOneAndUpdate(
      { _id: existing._id },
      { $set: set },
    )) as LivechatVisitor;
  }
  const username = input.username ?? `guest-${await nextGuestNumber(deps)}`;
  const visitor: LivechatVisitor = {
    _id: deps.ids.id(),
    token: input.token,
    username,
    ts: now,
    _updatedAt: now,
    status: "online",
  };
  await db.livechatVisitors.insertOne(visitor);
  return (await db.livechatVisitors.findOneAndUpdate(
    { _id: visitor._id },
    { $set: set },
  )) as LivechatVisitor;
}

/**
 * Sets custom field `key` of the visitor with `token` (unless it is set and `overwrite`
 * is false). Resolves whether it was written.
 */
export async function setVisitorField(
  deps: Deps,
  token: string,
  key: string,
  value: string,
  overwrite: boolean,
): Promise<boolean> {
  const visitor = await requireVisitor(deps, token);
  if (!overwrite && visitor.livechatData?.[key] !== undefined) return false;
  await deps.db.livechatVisitors.updateOne(
    { _id: visitor._id },
    { $set: { [`livechatData.${key}`]: value, _updatedAt: deps.clock.now() } },
  );
  return true;
}
