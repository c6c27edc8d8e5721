// In-page navigation: links change the URL without reloading, and pages re-render from it.

type Listener = () => void;
const listeners = new Set<Listener>();

export function subscribe(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function notify(): void {
  for (const l of listeners) l();
}

/** Goes to `url` (a path with its query); `replace` keeps the history entry (typing, zooming
 * within a page state that needs no back step). */
export function navigate(url: string, replace = false): void {
  const current = location.pathname + location.search;
  if (url === current) return;
  if (replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  notify();
}

/** Clicks on same-site links navigate in place; modified clicks open tabs as usual. */
export function installLinkHandler(): void {
  addEventListener("popstate", notify);
  document.addEventListener("click", (e) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const a = (e.target as Element | null)?.closest?.("a");
    if (!a || a.target || a.hasAttribute("download")) return;
    const url = new URL(a.href, location.href);
    if (url.origin !== location.origin) return;
    e.preventDefault();
    navigate(url.pathname + url.search);
  });
}
