import { describe, expect, it } from "vitest";
import { href, parsePath, parseRoute, safeNext, withParams } from "../src/url";

describe("URL state", () => {
  it("names pages by path", () => {
    expect(parsePath("/")).toEqual({ name: "dashboard", uid: "overview" });
    expect(parsePath("/dashboards")).toEqual({ name: "dashboards" });
    expect(parsePath("/dashboards/shop%20kpis")).toEqual({ name: "dashboard", uid: "shop kpis" });
    expect(parsePath("/issues/42")).toEqual({ name: "issue", id: "42" });
    expect(parsePath("/explore/")).toEqual({ name: "explore" });
    expect(parsePath("/nope")).toEqual({ name: "not-found", path: "/nope" });
    expect(parsePath("/issues/1/2")).toEqual({ name: "not-found", path: "/issues/1/2" });
  });

  it("round-trips a view through its link", () => {
    const link = href({ name: "explore" }, { q: 'user.email:"alice@example.com"', from: "-24h", until: "now", tz: "" });
    expect(link).toBe("/explore?from=-24h&q=user.email%3A%22alice%40example.com%22&until=now");
    const route = parseRoute("/explore", link.split("?")[1]);
    expect(route.params.get("q")).toBe('user.email:"alice@example.com"');
    expect(route.params.get("from")).toBe("-24h");
  });

  it("changes some parameters and keeps the rest", () => {
    const params = new URLSearchParams("from=-1h&q=error&var-host=a&var-host=b");
    expect(withParams(params, { q: undefined, until: "now" })).toEqual({
      from: "-1h",
      "var-host": ["a", "b"],
      until: "now",
    });
  });

  it("only follows a next link on this site", () => {
    expect(safeNext("/issues?status=unresolved")).toBe("/issues?status=unresolved");
    expect(safeNext("//evil.example/")).toBe("/");
    expect(safeNext("https://evil.example/")).toBe("/");
    expect(safeNext("/\\evil.example")).toBe("/");
    expect(safeNext(null)).toBe("/");
  });
});
