// The time picker: quick relative ranges, an absolute from/to, the time zone, and
// auto-refresh. Its state is the page's URL (`from`, `until`, `tz`, `refresh`).

import { useEffect, useState } from "preact/hooks";
import { DEFAULT_RANGE, describeRange, QUICK_RANGES, shift, TimeRange, zoomOut } from "../time";

export interface TimeState {
  range: TimeRange;
  tz: string;
  refresh: string;
}

export function timeState(params: URLSearchParams, fallback: TimeRange = DEFAULT_RANGE): TimeState {
  return {
    range: { from: params.get("from") || fallback.from, until: params.get("until") || fallback.until },
    tz: params.get("tz") || "",
    refresh: params.get("refresh") || "",
  };
}

export const REFRESH_CHOICES = ["", "5s", "10s", "30s", "1m", "5m", "15m"];
const ZONES = ["", "UTC", "Europe/London", "Europe/Paris", "America/New_York", "America/Los_Angeles", "Asia/Tokyo"];

export function refreshMs(refresh: string): number | null {
  const m = /^(\d+)(s|m)$/.exec(refresh);
  if (!m) return null;
  return Number(m[1]) * (m[2] === "m" ? 60_000 : 1000);
}

/** Calls `tick` every refresh period while the page is visible. */
export function useAutoRefresh(refresh: string, tick: () => void): void {
  useEffect(() => {
    const ms = refreshMs(refresh);
    if (ms === null) return;
    const id = setInterval(() => {
      if (!document.hidden) tick();
    }, ms);
    return () => clearInterval(id);
  }, [refresh]);
}

export function TimePicker(props: { state: TimeState; onChange: (changes: Record<string, string | undefined>) => void }) {
  const { range, tz, refresh } = props.state;
  const [open, setOpen] = useState(false);
  const [from, setFrom] = useState(range.from);
  const [until, setUntil] = useState(range.until);
  const [error, setError] = useState("");
  useEffect(() => {
    setFrom(range.from);
    setUntil(range.until);
  }, [range.from, range.until]);

  let label: string;
  try {
    label = describeRange(range, tz || "browser", Date.now());
  } catch (e) {
    label = `${range.from} to ${range.until}`;
  }

  function apply(r: TimeRange) {
    props.onChange({ from: r.from, until: r.until });
    setOpen(false);
  }

  return (
    <div class="timepicker">
      <button class="ghost" title="Earlier" aria-label="Earlier" onClick={() => apply(shift(range, -1, Date.now()))}>
        ‹
      </button>
      <button class="range-button" aria-haspopup="dialog" aria-expanded={open} onClick={() => setOpen(!open)}>
        {label}
        {tz && <span class="muted"> {tz}</span>}
      </button>
      <button class="ghost" title="Later" aria-label="Later" onClick={() => apply(shift(range, 1, Date.now()))}>
        ›
      </button>
      <button class="ghost" title="Zoom out" aria-label="Zoom out" onClick={() => apply(zoomOut(range, Date.now()))}>
        −
      </button>
      <select
        aria-label="Auto-refresh"
        title="Auto-refresh"
        value={refresh}
        onChange={(e) => props.onChange({ refresh: e.currentTarget.value || undefined })}
      >
        {REFRESH_CHOICES.map((r) => (
          <option value={r}>{r === "" ? "Refresh off" : `Every ${r}`}</option>
        ))}
      </select>
      {open && (
        <div class="popover time-popover" role="dialog" aria-label="Time range">
          <div class="quick">
            {QUICK_RANGES.map((q) => (
              <button class={range.from === q.from && range.until === "now" ? "link active" : "link"} onClick={() => apply({ from: q.from, until: "now" })}>
                {q.label}
              </button>
            ))}
          </div>
          <form
            class="absolute"
            onSubmit={(e) => {
              e.preventDefault();
              try {
                describeRange({ from, until }, tz || "browser", Date.now());
                setError("");
                apply({ from, until });
              } catch (err) {
                setError(String((err as Error).message));
              }
            }}
          >
            <label>
              From
              <input name="from" value={from} onInput={(e) => setFrom(e.currentTarget.value)} placeholder="-24h or 2026-12-01T08:00:00Z" />
            </label>
            <label>
              To
              <input name="until" value={until} onInput={(e) => setUntil(e.currentTarget.value)} placeholder="now" />
            </label>
            <label>
              Time zone
              <select value={tz} onChange={(e) => props.onChange({ tz: e.currentTarget.value || undefined })}>
                {ZONES.map((z) => (
                  <option value={z}>{z === "" ? "Browser time" : z}</option>
                ))}
              </select>
            </label>
            {error && <p class="error">{error}</p>}
            <button type="submit" class="primary">
              Apply
            </button>
          </form>
        </div>
      )}
    </div>
  );
}
