/**
 * The DDP methods of discussions and discovery, with Rocket.Chat's parameters:
 * `createDiscussion` (`[{prid, pmid, t_name, reply, users, encrypted}]`, answering the
 * discussion with `rid`) and `spotlight` (`[text, usernames, type, rid]`, answering
 * `{users, rooms}`).
 */
import { createDiscussion } from "./discussions.ts";
import {
  matchFailed,
  obj,
  optionalStr,
  str,
  type MethodDef,
  invalidUser,
  signedIn,
} from "./method-params.ts";
import { spotlight } from "./spotlight.ts";

function optionalBoolean(value: unknown): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "boolean") throw matchFailed();
  return value;
}

function stringList(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw matchFailed();
  return value.filter((item): item is string => typeof item === "string" && item !== "");
}

/** Discussion and discovery methods, by name. */
export const DISCOVER_METHODS: Record<string, MethodDef> = {
  createDiscussion: signedIn(
    async (services, caller, [params]) => {
      const p = obj(params);
      const prid = optionalStr(p.prid);
      const pmid = optionalStr(p.pmid);
      const reply = optionalStr(p.reply);
      const encrypted = optionalBoolean(p.encrypted);
      return createDiscussion(services, caller.user, {
        name: optionalStr(p.t_name) ?? "",
        users: stringList(p.users),
        ...(prid && { prid }),
        ...(pmid && { pmid }),
        ...(reply && { reply }),
        ...(encrypted !== undefined && { encrypted }),
      });
    },
    // Rocket.Chat names its discussion-creation helper in this refusal.
    { refusal: () => invalidUser("DiscussionCreation") },
  ),
  spotlight: signedIn(async (services, caller, [text, usernames, type, rid]) => {
    const user = caller.user;
    const kinds = type === undefined || type === null ? {} : obj(type);
    return spotlight(services, user, str(text), {
      usernames: stringList(usernames),
      type: {
        ...(typeof kinds.users === "boolean" && { users: kinds.users }),
        ...(typeof kinds.rooms === "boolean" && { rooms: kinds.rooms }),
      },
      ...(typeof rid === "string" && rid && { rid }),
    });
  }),
};
