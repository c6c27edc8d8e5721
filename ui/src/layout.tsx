// The frame around every page: the navigation, the one search box, the theme switch and the
// user's menu.

import { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import { Principal, request } from "./api";
import { navigate } from "./nav";
import { href, Route } from "./url";

type Theme = "light" | "dark";
const THEME_KEY = "sightline.theme";

function initialTheme(): Theme {
  const saved = localStorage.getItem(THEME_KEY);
  if (saved === "light" || saved === "dark") return saved;
  return matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

export function useTheme(): [Theme, (t: Theme) => void] {
  const [theme, setTheme] = useState<Theme>(initialTheme);
  useEffect(() => {
    document.documentElement.dataset.theme = theme;
  }, [theme]);
  return [
    theme,
    (t: Theme) => {
      localStorage.setItem(THEME_KEY, t);
      setTheme(t);
    },
  ];
}

const SECTIONS: { label: string; page: Route["page"]; match: string[] }[] = [
  { label: "Dashboards", page: { name: "dashboards" }, match: ["dashboards", "dashboard"] },
  { label: "Explore", page: { name: "explore" }, match: ["explore"] },
  { label: "Issues", page: { name: "issues" }, match: ["issues", "issue"] },
];

export function Layout(props: { user: Principal; route: Route; onLogout: () => void; children: ComponentChildren }) {
  const [theme, setTheme] = useTheme();
  const [search, setSearch] = useState("");
  const current = props.route.page.name;

  async function logout() {
    try {
      await request("POST", "/api/v1/auth/logout");
    } finally {
      props.onLogout();
      navigate("/login");
    }
  }

  const kiosk = props.route.params.get("kiosk") === "1";
  return (
    <div class="shell">
      {!kiosk && (
      <header class="topbar">
        <a class="brand" href="/">
          Sightline
        </a>
        <nav>
          {SECTIONS.map((s) => (
            <a href={href(s.page)} class={s.match.includes(current) ? "active" : ""}>
              {s.label}
            </a>
          ))}
        </nav>
        <form
          class="global-search"
          role="search"
          onSubmit={(e) => {
            e.preventDefault();
            navigate(href({ name: "search" }, { q: search }));
          }}
        >
          <input
            type="search"
            name="q"
            placeholder="Find a dashboard, search, issue or metric"
            aria-label="Find a dashboard, saved search, issue or metric"
            value={search}
            onInput={(e) => setSearch(e.currentTarget.value)}
          />
        </form>
        <button
          class="ghost"
          title="Switch between light and dark"
          aria-label="Switch theme"
          onClick={() => setTheme(theme === "dark" ? "light" : "dark")}
        >
          {theme === "dark" ? "Light" : "Dark"}
        </button>
        <span class="who" title={`signed in as ${props.user.name} (${props.user.role})`}>
          {props.user.name} <span class="role">{props.user.role}</span>
        </span>
        <button class="ghost" onClick={logout}>
          Log out
        </button>
      </header>
      )}
      {props.children}
    </div>
  );
}
