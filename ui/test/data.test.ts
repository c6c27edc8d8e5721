import { describe, expect, it } from "vitest";
import { align, parseRaw } from "../src/panels/data";

const bytes = (s: string) => new TextEncoder().encode(s);

describe("graphite raw render output", () => {
  it("splits names holding commas and bars from their numbers", () => {
    const [a, b] = parseRaw(bytes("scale(web.{a,b}|x, 2),60,240,60|1.5,None,-3.0\nb;env=prod,0,20,10|0.0,1e-05\n"));
    expect(a).toEqual({ target: "scale(web.{a,b}|x, 2)", start: 60, step: 60, values: [1.5, null, -3] });
    expect(b).toEqual({ target: "b;env=prod", start: 0, step: 10, values: [0, 0.00001] });
  });

  it("reads every number Python's repr writes as the same double", () => {
    const written = ["0.1", "0.30000000000000004", "123456789.123", "1.7976931348623157e+308", "5e-324", "-2.5e-07", "1e+22", "9007199254740993.0"];
    const [s] = parseRaw(bytes(`x,0,80,10|${written.join(",")}`));
    expect(s.values).toEqual(written.map(Number));
  });

  it("makes gaps of None, infinities, nan, empty and broken values", () => {
    const [s] = parseRaw(bytes("x,0,70,10|None,inf,-inf,nan,,1..2,7"));
    expect(s.values).toEqual([null, null, null, null, null, null, 7]);
    expect(parseRaw(bytes("no bar here\nx,0,0,10|\n"))).toEqual([{ target: "x", start: 0, step: 10, values: [] }]);
  });

  it("shares one time axis when the series agree, and unions them when not", () => {
    const same = align(parseRaw(bytes("a,0,30,10|1,2,3\nb,0,30,10|4,5,6\n")));
    expect(same.times).toEqual([0, 10, 20]);
    expect(same.series.map((s) => s.values)).toEqual([[1, 2, 3], [4, 5, 6]]);
    const mixed = align(parseRaw(bytes("a,0,40,20|1,2\nb,10,40,10|4,5,6\n")));
    expect(mixed.times).toEqual([0, 10, 20, 30]);
    expect(mixed.series.map((s) => s.values)).toEqual([[1, null, 2, null], [null, 4, 5, 6]]);
  });
});
