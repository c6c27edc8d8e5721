// A message with the query's matches marked. The server gives byte ranges of the UTF-8 text;
// the text is only ever set as text, never as markup.

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The message cut at the byte ranges: [text, marked] pieces in order. */
export function highlightPieces(message: string, ranges: [number, number][]): [string, boolean][] {
  if (ranges.length === 0) return [[message, false]];
  const bytes = encoder.encode(message);
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: [string, boolean][] = [];
  let at = 0;
  for (const [start, end] of sorted) {
    if (start < at || end > bytes.length || start >= end) continue;
    if (start > at) out.push([decoder.decode(bytes.slice(at, start)), false]);
    out.push([decoder.decode(bytes.slice(start, end)), true]);
    at = end;
  }
  if (at < bytes.length) out.push([decoder.decode(bytes.slice(at)), false]);
  return out;
}

export function Highlighted({ text, ranges }: { text: string; ranges?: [number, number][] }) {
  return (
    <>
      {highlightPieces(text, ranges ?? []).map(([piece, marked]) => (marked ? <mark>{piece}</mark> : piece))}
    </>
  );
}
