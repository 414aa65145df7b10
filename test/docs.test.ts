import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { api, startTestServer, type TestServer } from "./helpers.ts";

describe("API documentation", () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer();
  });

  afterAll(async () => {
    await server.stop();
  });

  test("documents every REST route", async () => {
    const spec = await api(server, "/api/docs/json");
    const documented = new Set(
      Object.entries(spec.body.paths as Record<string, Record<string, unknown>>).flatMap(
        ([path, methods]) =>
          Object.keys(methods).map(
            (method) => `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ":$1")}`,
          ),
      ),
    );

    const served = server.parley.routes
      .filter((r) => r.path.startsWith("/api/") && !r.path.startsWith("/api/docs"))
      .map((r) => `${r.method} ${r.path}`);

    expect(served.length).toBeGreaterThan(3);
    expect(served.filter((route) => !documented.has(route))).toEqual([]);
  });

  test("declares the X-User-Id and X-Auth-Token headers as the way to authenticate", async () => {
    const spec = await api(server, "/api/docs/json");

    expect(spec.body.components.securitySchemes).toEqual({
      userId: { type: "apiKey", in: "header", name: "X-User-Id" },
      authToken: { type: "apiKey", in: "header", name: "X-Auth-Token" },
    });
    expect(spec.body.security).toEqual([{ userId: [], authToken: [] }]);
  });

  test("renders the docs page from local assets only", async () => {
    const page = await fetch(`${server.url}/api/docs`);
    const html = await page.text();
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] as string);

    expect(page.status).toBe(200);
    expect(assets.length).toBeGreaterThan(0);
    expect(assets.filter((a) => !a.startsWith("/"))).toEqual([]);
    for (const asset of assets) expect((await fetch(`${server.url}${asset}`)).status).toBe(200);
  });
});
