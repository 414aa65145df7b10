/**
 * The embedded engine's fast paths for string-equality filters and simple updates give
 * the same answers as mingo's general evaluation, on documents with nested objects,
 * arrays of values and arrays of objects, and missing fields.
 */
import { describe, expect, test } from "bun:test";
import { Query, update as mingoUpdate } from "mingo";
import { applySimpleUpdate, stringEqualityTest } from "../store/embedded-fast.ts";
import { applyUpdate, compileFilter, parseUpdate } from "../store/embedded-query.ts";
import type { Doc, Filter } from "../store/types.ts";

const DOCS: Doc[] = [
  { _id: "a", rid: "r1", u: { _id: "u1", username: "ann" }, unread: 2, alert: true },
  { _id: "b", rid: "r1", u: { _id: "u2" }, roles: ["owner", "moderator"] },
  { _id: "c", rid: "r2", u: [{ _id: "u1" }, { _id: "u3" }], roles: [] },
  { _id: "d", rid: ["r1", "r2"], u: null },
  { _id: "e", rid: 7, tags: [["r1"]] },
  { _id: "f" },
];

const FILTERS: Filter[] = [
  {},
  { rid: "r1" },
  { rid: "r1", "u._id": "u1" },
  { "u._id": "u1" },
  { "u._id": { $ne: "u1" } },
  { rid: "r1", "u._id": { $ne: "u2" } },
  { roles: "owner" },
  { roles: { $eq: "moderator" } },
  { roles: { $ne: "owner" } },
  { _id: { $in: ["a", "c", "zz"] } },
  { _id: { $in: [] } },
  { "u._id": { $nin: ["u1", "u2"] } },
  { rid: { $nin: [] } },
  { tags: "r1" },
  { missing: { $ne: "x" } },
  { "u.username": "ann" },
];

describe("string-equality filters", () => {
  test("every filter of the fast shape is taken by the fast path", () => {
    expect(FILTERS.filter((f) => stringEqualityTest(f) === null)).toEqual([]);
  });

  test("the fast path matches the same documents as mingo", () => {
    for (const filter of FILTERS) {
      const fast = compileFilter(filter, null);
      const mingo = new Query(filter);
      const ids = (test: (d: Doc) => boolean) => DOCS.filter(test).map((d) => d._id);
      expect({ filter, ids: ids((d) => fast.test(d)) }).toEqual({
        filter,
        ids: ids((d) => mingo.test(d)),
      });
    }
  });

  test("filters of other shapes are left to mingo", () => {
    const others: Filter[] = [
      { rid: 7 },
      { "roles.0": "owner" },
      { $or: [{ rid: "r1" }] },
      { rid: { $in: ["r1", 7] } },
      { rid: { $ne: "r1", $exists: true } },
      { rid: /r/ },
    ];
    expect(others.map((f) => stringEqualityTest(f))).toEqual(others.map(() => null));
  });
});

const UPDATES: Record<string, Record<string, unknown>>[] = [
  { $set: { alert: true, open: true } },
  { $set: { alert: false }, $inc: { unread: 1, userMentions: 1 } },
  { $inc: { unread: 0 } },
  { $inc: { "counts.total": 2 } },
  { $set: { "u.username": "ann" } },
  { $set: { "meta.deep.flag": true, ls: new Date(5) } },
  { $set: { roles: ["owner", "moderator"] } },
  { $set: { u: { _id: "u1", username: "ann" } } },
  { $unset: { alert: "" } },
  { $unset: { "u.username": "", nothing: "" } },
  { $unset: { "nothing.deeper": "" } },
];

describe("simple updates", () => {
  test("apply exactly as mingo does, and say whether anything changed", () => {
    for (const doc of DOCS.filter(
      (d) => d.u === undefined || (d.u !== null && !Array.isArray(d.u)),
    )) {
      for (const mod of UPDATES) {
        const fast = structuredClone(doc);
        const general = structuredClone(doc);
        const changed = applySimpleUpdate(fast, mod);
        const fields = mingoUpdate(general, mod, undefined, {}, { cloneMode: "deep" });
        expect({ mod, doc: fast, changed }).toEqual({
          mod,
          doc: general,
          changed: fields.length > 0,
        });
      }
    }
  });

  test("updates through arrays or of other operators are left to mingo, untouched", () => {
    const doc: Doc = { _id: "x", u: [{ _id: "u1" }], n: 1, list: [1] };
    const others: Record<string, Record<string, unknown>>[] = [
      { $set: { "u._id": "u2" } },
      { $push: { list: 2 } },
      { $set: { "list.0": 3 } },
      { $set: { _id: "y" } },
      { $inc: { n: "1" } },
    ];
    for (const mod of others) {
      const work = structuredClone(doc);
      expect({ mod, result: applySimpleUpdate(work, mod), work }).toEqual({
        mod,
        result: null,
        work: doc,
      });
    }
  });

  test("applyUpdate still refuses what MongoDB refuses", () => {
    const doc: Doc = { _id: "x", name: "text", n: 1 };
    expect(() => applyUpdate(doc, parseUpdate({ $inc: { name: 1 } }), {})).toThrow(
      "$inc on non-numeric field 'name'",
    );
    expect(() => applyUpdate(doc, parseUpdate({ $set: { "name.first": "a" } }), {})).toThrow(
      "cannot create field",
    );
    expect(applyUpdate(doc, parseUpdate({ $set: { n: 1 } }), {})).toEqual({ doc, modified: false });
  });
});
