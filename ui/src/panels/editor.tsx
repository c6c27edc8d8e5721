// The panel editor: type, title, Graphite targets with autocomplete, events query and
// statistics, unit, thresholds, legend, repeat and annotations; a live preview shows the
// panel, or its error, as it is edited.

import { useRef, useState } from "preact/hooks";
import { Panel, PanelType, Target, Threshold } from "../dashboard";
import { completeTarget, Completion } from "../graphite";
import { PanelBody, PanelContext } from "./panels";

export function PanelEditor(props: { panel: Panel; ctx: PanelContext; onChange: (p: Panel) => void; onClose: () => void }) {
  const p = props.panel;
  const set = (changes: Partial<Panel>) => props.onChange({ ...p, ...changes });
  const graphite = p.type === "graph" || p.type === "stat";
  const events = p.type === "table" || p.type === "bar" || p.type === "logs" || p.type === "stat" || p.type === "issues";
  const targets = p.targets ?? [];
  const setTarget = (i: number, t: Target) => set({ targets: targets.map((x, j) => (j === i ? t : x)) });
  return (
    <div class="drawer" role="dialog" aria-label="Edit panel">
      <div class="drawer-head">
        <h2>Edit panel</h2>
        <button class="primary" onClick={props.onClose}>
          Done
        </button>
      </div>
      <div class="preview panel">
        <PanelBody panel={p} ctx={props.ctx} width={Math.min(660, innerWidth - 48)} height={250} />
      </div>
      <div class="form-grid">
        <label>
          Title
          <input aria-label="Panel title" value={p.title} onInput={(e) => set({ title: e.currentTarget.value })} />
        </label>
        <label>
          Type
          <select value={p.type} onChange={(e) => set({ type: e.currentTarget.value as PanelType })}>
            <option value="graph">Graph</option>
            <option value="stat">Single stat</option>
            <option value="table">Table</option>
            <option value="bar">Bar chart</option>
            <option value="logs">Log stream</option>
            <option value="issues">Issue list</option>
          </select>
        </label>
        <label>
          Unit
          <input aria-label="Unit" value={p.unit ?? ""} placeholder="ms, %, €" onInput={(e) => set({ unit: e.currentTarget.value || undefined })} />
        </label>
        <label>
          Time range of its own
          <input value={p.timeFrom ?? ""} placeholder="today, -7d (blank: the dashboard's)" onInput={(e) => set({ timeFrom: e.currentTarget.value || undefined })} />
        </label>
      </div>
      {graphite && (
        <fieldset>
          <legend>Graphite targets</legend>
          {targets.map((t, i) => (
            <div class="target-row">
              <span class="ref">{t.refId}</span>
              <TargetInput value={t.target} onChange={(target) => setTarget(i, { ...t, target })} label={`Target ${t.refId}`} />
              <label class="check">
                <input type="checkbox" checked={!!t.hide} onChange={(e) => setTarget(i, { ...t, hide: e.currentTarget.checked || undefined })} /> hide
              </label>
              <button class="ghost small" onClick={() => set({ targets: targets.filter((_, j) => j !== i) })}>
                Remove
              </button>
            </div>
          ))}
          <button class="ghost" onClick={() => set({ targets: [...targets, { refId: nextRef(targets), target: "" }] })}>
            Add target
          </button>
          <p class="muted small">Refer to another target as #A. Variables: $name or [[name]].</p>
        </fieldset>
      )}
      {events && (
        <fieldset>
          <legend>{p.type === "issues" ? "Issues" : "Events"}</legend>
          <label>
            {p.type === "issues" ? "Words in the title" : "Query"}
            <input aria-label="Events query" value={p.query ?? ""} placeholder="event:user.signed_up" onInput={(e) => set({ query: e.currentTarget.value })} />
          </label>
          {(p.type === "table" || p.type === "bar" || p.type === "stat") && (
            <label>
              Statistics
              <input aria-label="Statistics" value={p.stats ?? ""} placeholder="count(), sum(amount)" onInput={(e) => set({ stats: e.currentTarget.value })} />
            </label>
          )}
          {(p.type === "table" || p.type === "bar") && (
            <label>
              Group by
              <input aria-label="Group by" value={p.by ?? ""} placeholder="plan, currency" onInput={(e) => set({ by: e.currentTarget.value })} />
            </label>
          )}
        </fieldset>
      )}
      {(p.type === "stat" || p.type === "graph") && <Thresholds thresholds={p.thresholds ?? []} onChange={(thresholds) => set({ thresholds: thresholds.length ? thresholds : undefined })} />}
      {p.type === "graph" && (
        <fieldset>
          <legend>Graph</legend>
          <label class="check">
            <input type="checkbox" checked={p.legend !== false} onChange={(e) => set({ legend: e.currentTarget.checked ? undefined : false })} /> legend
          </label>
          <label>
            Annotate with events matching
            <input value={p.annotations?.events ?? ""} placeholder="level:error" onInput={(e) => set({ annotations: { ...p.annotations, events: e.currentTarget.value || undefined } })} />
          </label>
          <label class="check">
            <input type="checkbox" checked={!!p.annotations?.issues} onChange={(e) => set({ annotations: { ...p.annotations, issues: e.currentTarget.checked || undefined } })} /> mark new issues
          </label>
          <label>
            Repeat for each value of
            <input value={p.repeat ?? ""} placeholder="variable name" onInput={(e) => set({ repeat: e.currentTarget.value || undefined })} />
          </label>
        </fieldset>
      )}
    </div>
  );
}

function nextRef(targets: Target[]): string {
  for (let i = 0; i < 26; i++) {
    const ref = String.fromCharCode(65 + i);
    if (!targets.some((t) => t.refId === ref)) return ref;
  }
  return `T${targets.length}`;
}

function Thresholds({ thresholds, onChange }: { thresholds: Threshold[]; onChange: (t: Threshold[]) => void }) {
  return (
    <fieldset>
      <legend>Thresholds</legend>
      {thresholds.map((t, i) => (
        <div class="row">
          <input type="number" aria-label="Threshold value" value={t.value} onInput={(e) => onChange(thresholds.map((x, j) => (j === i ? { ...x, value: Number(e.currentTarget.value) } : x)))} />
          <select value={t.color} onChange={(e) => onChange(thresholds.map((x, j) => (j === i ? { ...x, color: e.currentTarget.value } : x)))}>
            {["green", "orange", "red", "blue"].map((c) => (
              <option value={c}>{c}</option>
            ))}
          </select>
          <button class="ghost small" onClick={() => onChange(thresholds.filter((_, j) => j !== i))}>
            Remove
          </button>
        </div>
      ))}
      <button class="ghost" onClick={() => onChange([...thresholds, { value: 0, color: "red" }])}>
        Add threshold
      </button>
    </fieldset>
  );
}

/** A target input whose suggestions come from the store as you type. */
export function TargetInput(props: { value: string; onChange: (v: string) => void; label: string }) {
  const [items, setItems] = useState<Completion[]>([]);
  const [active, setActive] = useState(0);
  const input = useRef<HTMLInputElement>(null);
  const ticket = useRef(0);
  async function refresh(text: string, cursor: number) {
    const mine = ++ticket.current;
    const found = await completeTarget(text, cursor);
    if (mine === ticket.current) {
      setItems(found);
      setActive(0);
    }
  }
  function accept(c: Completion) {
    const text = props.value.slice(0, c.start) + c.insert + props.value.slice(c.end);
    props.onChange(text);
    const cursor = c.start + c.insert.length;
    setItems([]);
    requestAnimationFrame(() => {
      input.current?.focus();
      input.current?.setSelectionRange(cursor, cursor);
      if (c.insert.endsWith(".")) refresh(text, cursor);
    });
  }
  return (
    <div class="target-input">
      <input
        ref={input}
        class="mono"
        aria-label={props.label}
        spellcheck={false}
        autocomplete="off"
        placeholder="app.*.requests.count, sumSeries(...)"
        value={props.value}
        onInput={(e) => {
          props.onChange(e.currentTarget.value);
          refresh(e.currentTarget.value, e.currentTarget.selectionStart ?? e.currentTarget.value.length);
        }}
        onFocus={(e) => refresh(e.currentTarget.value, e.currentTarget.selectionStart ?? 0)}
        onBlur={() => setTimeout(() => setItems([]), 150)}
        onKeyDown={(e) => {
          if (items.length === 0) return;
          if (e.key === "ArrowDown") (e.preventDefault(), setActive((active + 1) % items.length));
          else if (e.key === "ArrowUp") (e.preventDefault(), setActive((active - 1 + items.length) % items.length));
          else if (e.key === "Tab" || e.key === "Enter") (e.preventDefault(), accept(items[active]));
          else if (e.key === "Escape") setItems([]);
        }}
      />
      {items.length > 0 && (
        <ul class="suggestions" role="listbox">
          {items.map((c, i) => (
            <li role="option" aria-selected={i === active} class={i === active ? "active" : ""} onMouseDown={(e) => (e.preventDefault(), accept(c))}>
              <span>{c.label}</span>
              <span class="muted small">{c.hint}</span>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
