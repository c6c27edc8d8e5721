// Ingested data is untrusted: the UI sets it as text only. No source file may reach for the
// ways around that (raw HTML, eval), so the rule does not rest on review alone.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

describe("the UI renders data as text", () => {
  it("uses no raw HTML and no eval", () => {
    const forbidden = /dangerouslySetInnerHTML|innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function\(/;
    const src = fileURLToPath(new URL("../src", import.meta.url));
    const offenders = files(src).filter((f) => forbidden.test(readFileSync(f, "utf8")));
    expect(offenders).toEqual([]);
  });
});
