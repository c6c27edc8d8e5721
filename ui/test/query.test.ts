import { describe, expect, it } from "vitest";
import { addFilter, completing, filterTerm, flatten, pushRecent, quoteValue, splitPipe, tokens } from "../src/query";

describe("query bar", () => {
  it("quotes values that are not plain words", () => {
    expect(quoteValue("alice@example.com")).toBe("alice@example.com");
    expect(quoteValue("user signed up")).toBe('"user signed up"');
    expect(quoteValue('say "hi"')).toBe('"say \\"hi\\""');
    expect(quoteValue("OR")).toBe('"OR"');
  });

  it("adds and excludes filters", () => {
    expect(addFilter("", filterTerm("user.email", "alice@example.com"))).toBe("user.email:alice@example.com");
    expect(addFilter("*", filterTerm("level", "error"))).toBe("level:error");
    expect(addFilter("payment", filterTerm("currency", "EUR"))).toBe("payment currency:EUR");
    // Twice is once; the exclusion replaces the inclusion.
    expect(addFilter("level:error", filterTerm("level", "error"))).toBe("level:error");
    expect(addFilter("a level:error", filterTerm("level", "error", true))).toBe("a -level:error");
    // The pipe stays at the end.
    expect(addFilter("event:payment | stats sum(amount) by currency", filterTerm("plan", "pro"))).toBe(
      "event:payment plan:pro | stats sum(amount) by currency",
    );
    expect(filterTerm("plan", null)).toBe("NOT plan:*");
  });

  it("splits the pipe outside quotes and OR bars", () => {
    expect(splitPipe('msg:"a | b" | stats count()')).toEqual({ search: 'msg:"a | b"', pipe: "| stats count()" });
    expect(splitPipe("a || b")).toEqual({ search: "a || b", pipe: "" });
  });

  it("tokenises around quotes and ranges", () => {
    expect(tokens('a "b c" amount:[1 TO 5] d').map((t) => t.text)).toEqual(["a", '"b c"', "amount:[1 TO 5]", "d"]);
  });

  it("knows what is being typed at the cursor", () => {
    expect(completing("level:error use", 15)).toEqual({ kind: "field", field: "use", prefix: "use", start: 12, end: 15 });
    expect(completing("user.email:al", 13)).toEqual({ kind: "value", field: "user.email", prefix: "al", start: 11, end: 13 });
    expect(completing('-plan:"pr', 9)).toEqual({ kind: "value", field: "plan", prefix: "pr", start: 6, end: 9 });
    expect(completing("a AND", 5)).toBeNull();
    expect(completing("x | stats count() by cur", 24)).toBeNull();
  });

  it("keeps ten recent queries, newest first, each once", () => {
    let recent: string[] = [];
    for (let i = 0; i < 12; i++) recent = pushRecent(recent, `q${i}`);
    recent = pushRecent(recent, "q5");
    expect(recent[0]).toBe("q5");
    expect(recent.length).toBe(10);
    expect(new Set(recent).size).toBe(10);
  });

  it("flattens nested fields to the paths queries use", () => {
    expect(flatten({ user: { email: "a@b", id: 3 }, plan: "pro" })).toEqual([
      ["user.email", "a@b"],
      ["user.id", 3],
      ["plan", "pro"],
    ]);
  });
});
