/**
 * Rocket.Chat's message search syntax, turned into a store query. Operators are taken out
 * of the text first (`from:alice`, `from:me`, `mention:bob`, `has:star`, `has:url` or
 * `has:link`, `is:pinned` or `has:pin`, `has:location` or `has:map`, `label:`,
 * `file-desc:`, `file-title:`, `before:`, `after:` and `on:` with a `dd/mm/yyyy` date,
 * `order:asc`/`sort:desc`); what remains is searched in the message text through the text
 * index, or, when it holds Chinese, Japanese or Korean characters (which the text index
 * does not split into words), as a case-insensitive substring.
 *
 * Limitation: Rocket.Chat's `/pattern/flags` form, which runs a client's regular
 * expression on the server, and its `Message_AlwaysSearchRegExp` setting are not offered,
 * since a crafted pattern can hold the server for seconds; a search for such text matches
 * its words instead.
 */
import type { User } from "../core/models.ts";
import type { Filter, Sort } from "../store/types.ts";

/** A search as the store runs it: the filter besides room and visibility, and the order. */
export interface ParsedSearch {
  readonly filter: Filter;
  readonly sort: Sort;
}

/** `text` with every character that means something in a regular expression escaped. */
export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");
}

const CJK = /[\u3040-\u30ff\u3100-\u312f\u31a0-\u31bf\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]/;

/** Case-insensitive substring match of any of `values`, each matched literally. */
function contains(...values: string[]) {
  return { $regex: values.map(escapeRegExp).join("|"), $options: "i" };
}

/**
 * The start of day `dd/mm/yyyy` (plus `addDays`) in the user's time zone, from their
 * `utcOffset` in hours. Rocket.Chat adds the offset where it should subtract it, so its
 * days start a few hours off for anyone not on UTC; here a day is the user's own day.
 */
function startOfDay(user: User, date: readonly string[], addDays = 0): Date {
  const [day, month, year] = date.map(Number) as [number, number, number];
  const utcMidnight = Date.UTC(year, month - 1, day + addDays);
  return new Date(utcMidnight - (user.utcOffset ?? 0) * 3_600_000);
}

/** Takes every `<name>:dd/mm/yyyy` out of `text`, handing each date to `use`. */
function takeDates(text: string, name: string, use: (date: string[]) => void): string {
  return text.replace(
    new RegExp(String.raw`${name}:(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})`, "g"),
    (_m, d, m, y) => {
      use([d, m, y]);
      return "";
    },
  );
}

/** A value after `name:`, quoted (`"two words"`) or up to the next space. */
function quotedOperator(name: string): RegExp {
  return new RegExp(`${name}:(?:"([^"]+)"|([^\\s"]+))`, "g");
}

/** Parses a search text typed by `user`; an empty filter means nothing to search for. */
export function parseSearch(text: string, user: User): ParsedSearch {
  const filter: Record<string, unknown> = {};
  const ts: Record<string, Date> = {};
  let sort: Sort = { ts: -1 };

  const from: string[] = [];
  let rest = text.replace(/from:([a-z0-9.\-_]+)/gi, (_m, name: string) => {
    from.push(name === "me" ? user.username : name);
    return "";
  });
  if (from.length > 0) filter["u.username"] = contains(...from);
  const mentions: string[] = [];
  rest = rest.replace(/mention:([a-z0-9.\-_]+)/gi, (_m, name: string) => {
    mentions.push(name);
    return "";
  });
  if (mentions.length > 0) filter["mentions.username"] = contains(...mentions);

  const flags: [RegExp, string, unknown][] = [
    [/has:star/g, "starred._id", user._id],
    [/has:url|has:link/g, "urls.0", { $exists: true }],
    [/is:pinned|has:pin/g, "pinned", true],
    [/has:location|has:map/g, "location", { $exists: true }],
  ];
  for (const [pattern, field, value] of flags) {
    rest = rest.replace(pattern, () => {
      filter[field] = value;
      return "";
    });
  }
  const tagged: [string, string][] = [
    ["label", "attachments.0.labels"],
    ["file-desc", "attachments.description"],
    ["file-title", "attachments.title"],
  ];
  for (const [name, field] of tagged) {
    rest = rest.replace(quotedOperator(name), (_m, quoted?: string, bare?: string) => {
      const value = (quoted ?? bare ?? "").trim();
      if (value) filter[field] = contains(value);
      return "";
    });
  }

  rest = takeDates(rest, "before", (date) => {
    ts.$lte = startOfDay(user, date);
  });
  rest = takeDates(rest, "after", (date) => {
    ts.$gte = startOfDay(user, date, 1);
  });
  rest = takeDates(rest, "on", (date) => {
    delete ts.$lte;
    ts.$gte = startOfDay(user, date);
    ts.$lt = startOfDay(user, date, 1);
  });
  if (Object.keys(ts).length > 0) filter.ts = ts;
  rest = rest.replace(/(?:order|sort):(asc|ascend|ascending|desc|descend|descending)/g, (_m, d) => {
    sort = { ts: String(d).startsWith("asc") ? 1 : -1 };
    return "";
  });

  const words = rest.trim().replace(/\s\s+/g, " ");
  if (words !== "") {
    if (CJK.test(words)) filter.msg = contains(words);
    else filter.$text = { $search: words };
  }
  return { filter, sort };
}
