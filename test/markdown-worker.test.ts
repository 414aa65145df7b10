import { describe, expect, test } from "bun:test";
import { join } from "node:path";

const PARSER = join(import.meta.dir, "..", "services", "markdown.ts");

/** Runs `code` in a new Bun process; resolves to its exit code and output once it exits. */
async function runScript(code: string): Promise<{ code: number; stdout: string }> {
  const child = Bun.spawn([process.execPath, "-e", code], { stdout: "pipe", stderr: "inherit" });
  try {
    const stdout = await new Response(child.stdout).text();
    return { code: await child.exited, stdout };
  } finally {
    child.kill();
  }
}

describe("markdown worker", () => {
  test("a text handed to the parser is answered before the process may end", async () => {
    const script = `
      import { markdown } from ${JSON.stringify(PARSER)};
      markdown.parse("**bold**").then((md) => console.log(JSON.stringify(md)));
    `;

    const { code, stdout } = await runScript(script);

    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual([
      {
        type: "PARAGRAPH",
        value: [{ type: "BOLD", value: [{ type: "PLAIN_TEXT", value: "bold" }] }],
      },
    ]);
  });

  test("an idle parser does not keep a finished process alive", async () => {
    const script = `
      import { markdown } from ${JSON.stringify(PARSER)};
      await markdown.parse("first");
      await markdown.parse("second");
      console.log("parsed");
    `;

    const { code, stdout } = await runScript(script);

    expect({ code, stdout }).toEqual({ code: 0, stdout: "parsed\n" });
  });
});
