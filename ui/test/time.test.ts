import { describe, expect, it } from "vitest";
import {
  absolute,
  describeRange,
  graphiteTime,
  niceInterval,
  parseRelative,
  resolveRange,
  resolveTime,
  shift,
  startOfDay,
  zoomOut,
} from "../src/time";

const NOW = Date.parse("2026-12-03T10:30:15Z");

describe("time ranges", () => {
  it("reads relative offsets", () => {
    expect(parseRelative("-30m")).toBe(30 * 60_000);
    expect(parseRelative("-24h")).toBe(86_400_000);
    expect(parseRelative("-7d")).toBe(7 * 86_400_000);
    expect(parseRelative("30m")).toBeNull();
    expect(parseRelative("-3x")).toBeNull();
  });

  it("resolves both ends, absolute and relative", () => {
    expect(resolveTime("now", NOW)).toBe(NOW);
    expect(resolveTime("-1h", NOW)).toBe(NOW - 3_600_000);
    expect(resolveTime("2026-12-01T00:00:00Z", NOW)).toBe(Date.parse("2026-12-01T00:00:00Z"));
    expect(resolveTime("1764547200", NOW)).toBe(1764547200_000);
    expect(resolveTime("1764547200000", NOW)).toBe(1764547200_000);
    expect(resolveTime("yesterday-ish", NOW)).toBeNull();
    expect(() => resolveRange({ from: "now", until: "-1h" }, NOW)).toThrow(/before/);
    expect(() => resolveRange({ from: "soon", until: "now" }, NOW)).toThrow(/not a time/);
  });

  it("starts today at midnight in the chosen zone", () => {
    expect(startOfDay(NOW, "UTC")).toBe(Date.parse("2026-12-03T00:00:00Z"));
    expect(startOfDay(NOW, "America/New_York")).toBe(Date.parse("2026-12-03T05:00:00Z"));
    expect(startOfDay(NOW, "Asia/Tokyo")).toBe(Date.parse("2026-12-02T15:00:00Z"));
    expect(resolveTime("today", NOW, "UTC")).toBe(Date.parse("2026-12-03T00:00:00Z"));
  });

  it("names ranges", () => {
    expect(describeRange({ from: "-24h", until: "now" }, "UTC", NOW)).toBe("Last 24 hours");
    expect(describeRange({ from: "-1h", until: "now" }, "UTC", NOW)).toBe("Last hour");
    expect(describeRange({ from: "today", until: "now" }, "UTC", NOW)).toBe("Today so far");
    const abs = absolute(Date.parse("2026-12-03T08:00:00Z"), Date.parse("2026-12-03T09:00:00Z"));
    expect(describeRange(abs, "UTC", NOW)).toBe("2026-12-03 08:00:00 to 2026-12-03 09:00:00");
    expect(describeRange(abs, "Europe/Paris", NOW)).toBe("2026-12-03 09:00:00 to 2026-12-03 10:00:00");
  });

  it("zooms out and shifts around the same range", () => {
    const r = absolute(Date.parse("2026-12-03T08:00:00Z"), Date.parse("2026-12-03T09:00:00Z"));
    expect(zoomOut(r, NOW)).toEqual(absolute(Date.parse("2026-12-03T07:30:00Z"), Date.parse("2026-12-03T09:30:00Z")));
    expect(shift(r, -1, NOW)).toEqual(absolute(Date.parse("2026-12-03T07:30:00Z"), Date.parse("2026-12-03T08:30:00Z")));
    // Zooming out never reaches into the future.
    expect(resolveRange(zoomOut({ from: "-1h", until: "now" }, NOW), NOW).untilMs).toBe(NOW);
  });

  it("picks round buckets", () => {
    expect(niceInterval(86_400_000, 100)).toBe(1800);
    expect(niceInterval(3_600_000, 60)).toBe(60);
    expect(niceInterval(1000, 100)).toBe(1);
  });

  it("gives Graphite relative text as is and absolute times as epoch seconds", () => {
    expect(graphiteTime("-24h", NOW)).toBe("-24h");
    expect(graphiteTime("2026-12-01T00:00:00Z", NOW)).toBe("1796083200");
  });
});
