import { describe, expect, it } from "vitest";
import { ALL, expandReferences, expandRepeats, interpolate, reduce, thresholdColor, variableText } from "../src/dashboard";
import { importGrafana } from "../src/grafana";

describe("variables", () => {
  it("expand into one value or a glob", () => {
    expect(variableText(["web-1"], ["web-1", "web-2"])).toBe("web-1");
    expect(variableText(["web-1", "web-2"], [])).toBe("{web-1,web-2}");
    expect(variableText([ALL], ["a", "b", "c"])).toBe("{a,b,c}");
  });

  it("interpolate in all three spellings, leaving unknown names", () => {
    const v = { host: "{web-1,web-2}", env: "prod" };
    expect(interpolate("servers.$host.cpu", v)).toBe("servers.{web-1,web-2}.cpu");
    expect(interpolate("servers.[[host]].cpu.${env}", v)).toBe("servers.{web-1,web-2}.cpu.prod");
    expect(interpolate("$nope.x", v)).toBe("$nope.x");
  });

  it("repeat a panel per selected value, each bound to it", () => {
    const panel = { id: 3, type: "graph" as const, title: "CPU $host", gridPos: { x: 0, y: 4, w: 8, h: 6 }, repeat: "host" };
    const out = expandRepeats([panel], { host: [ALL] }, { host: ["a", "b", "c", "d"] });
    expect(out.map((o) => o.scope.host)).toEqual(["a", "b", "c", "d"]);
    expect(out.map((o) => o.panel.gridPos)).toEqual([
      { x: 0, y: 4, w: 8, h: 6 },
      { x: 8, y: 4, w: 8, h: 6 },
      { x: 16, y: 4, w: 8, h: 6 },
      { x: 0, y: 10, w: 8, h: 6 },
    ]);
  });
});

describe("targets", () => {
  it("resolve #A references, nested", () => {
    const out = expandReferences([
      { refId: "A", target: "app.*.requests.count", hide: true },
      { refId: "B", target: "sumSeries(#A)" },
      { refId: "C", target: "asPercent(#B, #Z)" },
    ]);
    expect(out[1].target).toBe("sumSeries(app.*.requests.count)");
    expect(out[2].target).toBe("asPercent(sumSeries(app.*.requests.count), #Z)");
  });

  it("reduce and colour by thresholds", () => {
    expect(reduce([1, null, 3], "last")).toBe(3);
    expect(reduce([1, null, 3], "avg")).toBe(2);
    expect(reduce([null], "sum")).toBeNull();
    const th = [
      { value: 90, color: "red" },
      { value: 70, color: "orange" },
    ];
    expect(thresholdColor(50, th)).toBeNull();
    expect(thresholdColor(75, th)).toBe("orange");
    expect(thresholdColor(95, th)).toBe("red");
  });
});

describe("Grafana import", () => {
  it("reads the legacy rows model and lists what it cannot take", () => {
    const { dashboard, skipped } = importGrafana({
      title: "Old servers",
      time: { from: "now-6h", to: "now" },
      rows: [
        {
          height: "300px",
          panels: [
            { type: "graph", title: "CPU", span: 6, targets: [{ refId: "A", target: "servers.$host.cpu.user" }], yaxes: [{ format: "percent" }], legend: { show: false } },
            { type: "singlestat", title: "Load", span: 6, targets: [{ target: "servers.web-1.loadavg.01" }], thresholds: "2,4", colors: ["green", "#ff9900", "red"], valueName: "avg" },
          ],
        },
        { height: "250px", panels: [{ type: "text", title: "Notes", span: 12 }] },
      ],
      templating: { list: [{ name: "host", type: "query", query: "servers.*", multi: true, includeAll: true, current: { value: ["$__all"] } }, { name: "i", type: "interval" }] },
    });
    expect(dashboard.time).toEqual({ from: "-6h", until: "now" });
    expect(dashboard.panels.map((p) => [p.type, p.title, p.gridPos])).toEqual([
      ["graph", "CPU", { x: 0, y: 0, w: 12, h: 10 }],
      ["stat", "Load", { x: 12, y: 0, w: 12, h: 10 }],
    ]);
    expect(dashboard.panels[0]).toMatchObject({ unit: "%", legend: false });
    expect(dashboard.panels[1]).toMatchObject({ reducer: "avg", thresholds: [{ value: 2, color: "#ff9900" }, { value: 4, color: "red" }] });
    expect(dashboard.variables).toEqual([{ name: "host", label: undefined, type: "query", query: "servers.*", multi: true, includeAll: true, current: ["$__all"] }]);
    expect(skipped).toEqual([
      'panel "Notes": type text is not supported (graph, timeseries, singlestat and stat are)',
      "variable $i: type interval is not supported (query and custom are)",
    ]);
  });

  it("reads panels with gridPos, rows, hidden targets and targetFull", () => {
    const { dashboard, skipped } = importGrafana({
      dashboard: {
        uid: "abc123",
        title: "Shop",
        panels: [
          { type: "row", title: "Traffic", gridPos: { x: 0, y: 0, w: 24, h: 1 }, panels: [] },
          {
            type: "timeseries",
            title: "Requests",
            gridPos: { x: 0, y: 1, w: 16, h: 9 },
            fieldConfig: { defaults: { unit: "reqps", thresholds: { steps: [{ color: "green", value: null }, { color: "red", value: 900 }] } } },
            options: { legend: { showLegend: true } },
            targets: [
              { refId: "A", target: "app.*.requests.count", hide: true },
              { refId: "B", target: "sumSeries(#A)", targetFull: "sumSeries(app.*.requests.count)" },
              { refId: "C", expr: "rate(x[5m])" },
            ],
          },
          { type: "stat", title: "Orders", gridPos: { x: 16, y: 1, w: 8, h: 9 }, options: { reduceOptions: { calcs: ["sum"] } }, targets: [{ refId: "A", target: "shop.orders.count" }] },
          { type: "piechart", title: "Pie", gridPos: { x: 0, y: 10, w: 8, h: 8 } },
        ],
      },
    });
    expect(dashboard.uid).toBe("abc123");
    const requests = dashboard.panels[0];
    expect(requests.unit).toBe("req/s");
    expect(requests.thresholds).toEqual([{ value: 900, color: "red" }]);
    expect(requests.targets).toEqual([
      { refId: "A", target: "app.*.requests.count", hide: true },
      { refId: "B", target: "sumSeries(app.*.requests.count)", hide: undefined },
    ]);
    expect(dashboard.panels[1]).toMatchObject({ type: "stat", reducer: "sum", gridPos: { x: 16, y: 1, w: 8, h: 9 } });
    expect(skipped).toEqual([
      'panel "Requests", target C: a Prometheus query',
      'panel "Pie": type piechart is not supported (graph, timeseries, singlestat and stat are)',
    ]);
  });
});

import { hasIsolated } from "../src/components/chart";

describe("charts", () => {
  it("find values a line alone would not show", () => {
    expect(hasIsolated([null, 1, null])).toBe(true);
    expect(hasIsolated([1, null, null])).toBe(true);
    expect(hasIsolated([1, 2, null, 3, 4])).toBe(false);
    expect(hasIsolated([null, null])).toBe(false);
  });
});
