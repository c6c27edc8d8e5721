// The query bar: the events query language with autocomplete of field names and values,
// recent queries, syntax help, and the server's error shown under the place it points at.

import { useEffect, useRef, useState } from "preact/hooks";
import { completing, loadRecent, pushRecent, replaceRange, saveRecent, quoteValue } from "../query";

export interface QueryBarProps {
  value: string;
  onSubmit: (query: string) => void;
  fields: string[];
  /** The top values of a field, for value suggestions. */
  values: (field: string) => Promise<string[]>;
  error?: { message: string; position?: number } | null;
  placeholder?: string;
}

interface Suggestion {
  label: string;
  insert: string;
  hint: string;
}

export function QueryBar(props: QueryBarProps) {
  const [text, setText] = useState(props.value);
  const [suggestions, setSuggestions] = useState<Suggestion[]>([]);
  const [active, setActive] = useState(0);
  /** Whether the arrow keys picked a suggestion, so Enter takes it rather than searching. */
  const [picked, setPicked] = useState(false);
  const [help, setHelp] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  const range = useRef<{ start: number; end: number } | null>(null);
  const asked = useRef(0);
  useEffect(() => setText(props.value), [props.value]);

  async function suggest(query: string, cursor: number) {
    const ticket = ++asked.current;
    if (query.trim() === "") {
      range.current = { start: 0, end: query.length };
      setSuggestions(loadRecent(localStorage).map((r) => ({ label: r, insert: r, hint: "recent" })));
      setActive(0);
      setPicked(false);
      return;
    }
    const c = completing(query, cursor);
    if (!c) return setSuggestions([]);
    range.current = { start: c.start, end: c.end };
    if (c.kind === "field") {
      const prefix = c.prefix.toLowerCase();
      const found = props.fields
        .filter((f) => f.toLowerCase().startsWith(prefix) && f !== c.prefix)
        .slice(0, 10)
        .map((f) => ({ label: f, insert: `${f}:`, hint: "field" }));
      setSuggestions(found);
    } else {
      const values = await props.values(c.field).catch(() => [] as string[]);
      if (ticket !== asked.current) return;
      const prefix = c.prefix.toLowerCase();
      setSuggestions(
        values
          .filter((v) => v.toLowerCase().startsWith(prefix))
          .slice(0, 10)
          .map((v) => ({ label: v, insert: `${quoteValue(v)} `, hint: c.field })),
      );
    }
    setActive(0);
    setPicked(false);
  }

  function accept(s: Suggestion) {
    const r = range.current ?? { start: 0, end: text.length };
    const next = replaceRange(text, r.start, r.end, s.insert);
    setText(next.query);
    setSuggestions([]);
    requestAnimationFrame(() => {
      input.current?.focus();
      input.current?.setSelectionRange(next.cursor, next.cursor);
      if (s.hint === "field") suggest(next.query, next.cursor);
    });
  }

  function submit(query: string) {
    setSuggestions([]);
    saveRecent(localStorage, pushRecent(loadRecent(localStorage), query));
    props.onSubmit(query);
  }

  function onKeyDown(e: KeyboardEvent) {
    if (suggestions.length > 0) {
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        const step = e.key === "ArrowDown" ? 1 : -1;
        setActive(picked ? (active + step + suggestions.length) % suggestions.length : step > 0 ? 0 : suggestions.length - 1);
        setPicked(true);
        return;
      }
      if (e.key === "Tab" || (e.key === "Enter" && picked)) {
        e.preventDefault();
        accept(suggestions[active]);
        return;
      }
      if (e.key === "Escape") {
        setSuggestions([]);
        return;
      }
    }
    if (e.key === "Enter") {
      e.preventDefault();
      submit(text);
    }
  }

  const err = props.error;
  return (
    <div class="querybar">
      <div class="querybar-row">
        <input
          ref={input}
          class={err ? "query invalid" : "query"}
          name="q"
          aria-label="Query"
          autocomplete="off"
          spellcheck={false}
          placeholder={props.placeholder ?? 'Search: alice@example.com, level:error, event:payment.* | stats count() by currency'}
          value={text}
          onInput={(e) => {
            setText(e.currentTarget.value);
            suggest(e.currentTarget.value, e.currentTarget.selectionStart ?? e.currentTarget.value.length);
          }}
          onFocus={(e) => suggest(e.currentTarget.value, e.currentTarget.selectionStart ?? 0)}
          onBlur={() => setTimeout(() => setSuggestions([]), 150)}
          onKeyDown={onKeyDown}
        />
        <button class="primary" onClick={() => submit(text)}>
          Search
        </button>
        <button class="ghost" aria-expanded={help} onClick={() => setHelp(!help)}>
          Syntax
        </button>
      </div>
      {suggestions.length > 0 && (
        <ul class="suggestions" role="listbox">
          {suggestions.map((s, i) => (
            <li
              role="option"
              aria-selected={picked && i === active}
              class={picked && i === active ? "active" : ""}
              onMouseDown={(e) => {
                e.preventDefault();
                accept(s);
              }}
            >
              <span>{s.label}</span>
              <span class="muted small">{s.hint}</span>
            </li>
          ))}
        </ul>
      )}
      {err && (
        <div class="query-error" role="alert">
          {err.position !== undefined && (
            <pre class="caret">
              {text}
              {"\n"}
              {" ".repeat(Math.min(err.position, text.length))}^
            </pre>
          )}
          <span>{err.message}</span>
        </div>
      )}
      {help && <SyntaxHelp />}
    </div>
  );
}

const EXAMPLES: [string, string][] = [
  ["alice@example.com", "a word anywhere: the message or any field's whole value"],
  ['"payment failed"', "a phrase in the message"],
  ["level:error", "a field's value (user.email, plan, currency: nested fields with dots)"],
  ["event:payment.*", "wildcards * and ? in a value"],
  ["amount:>=100  amount:[10 TO 50]", "number ranges"],
  ["plan:*", "events that have the field"],
  ["level:error AND NOT service:web", "AND, OR, NOT (or -), parentheses"],
  ["event:user.signed_up | stats count() by plan", "a table: count, sum, avg, min, max, p50…, cardinality"],
  ["event:payment.succeeded | stats sum(amount), count() by currency", "sums by a field"],
  ["level:error | timechart count() by service", "a chart over time"],
];

function SyntaxHelp() {
  return (
    <table class="syntax-help">
      <tbody>
        {EXAMPLES.map(([q, what]) => (
          <tr>
            <td>
              <code>{q}</code>
            </td>
            <td>{what}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
