// The application shell: who is logged in, which page the URL names, and the layout around it.

import { useEffect, useState } from "preact/hooks";
import { getJson, Principal, setUnauthorizedHandler } from "./api";
import { Layout } from "./layout";
import { navigate, subscribe } from "./nav";
import { DashboardList } from "./pages/dashboards";
import { DashboardPage } from "./pages/dashboard";
import { Explore } from "./pages/explore";
import { IssuePage } from "./pages/issue";
import { IssueList } from "./pages/issues";
import { Login } from "./pages/login";
import { SearchPage } from "./pages/search";
import { href, parseRoute, Route } from "./url";

function currentRoute(): Route {
  return parseRoute(location.pathname, location.search);
}

export function App() {
  const [route, setRoute] = useState<Route>(currentRoute);
  const [user, setUser] = useState<Principal | null | undefined>(undefined);

  useEffect(() => subscribe(() => setRoute(currentRoute())), []);
  useEffect(() => {
    setUnauthorizedHandler(() => setUser(null));
    getJson<Principal>("/api/v1/auth/whoami").then(setUser, () => setUser(null));
  }, []);
  useEffect(() => {
    if (user === null && route.page.name !== "login") {
      const next = location.pathname + location.search;
      navigate(href({ name: "login" }, { next: next === "/" ? undefined : next }), true);
    }
  }, [user, route.page.name]);

  if (user === undefined) return <div class="loading">Loading…</div>;
  if (route.page.name === "login" || user === null) {
    return <Login params={route.params} onLogin={setUser} />;
  }
  return (
    <Layout user={user} route={route} onLogout={() => setUser(null)}>
      <Page route={route} user={user} />
    </Layout>
  );
}

function Page({ route, user }: { route: Route; user: Principal }) {
  const { page, params } = route;
  switch (page.name) {
    case "dashboards":
      return <DashboardList user={user} />;
    case "dashboard":
      return <DashboardPage uid={page.uid} params={params} user={user} />;
    case "explore":
      return <Explore params={params} user={user} />;
    case "issues":
      return <IssueList params={params} user={user} />;
    case "issue":
      return <IssuePage id={page.id} params={params} user={user} />;
    case "search":
      return <SearchPage params={params} />;
    default:
      return (
        <main class="page">
          <h1>Not found</h1>
          <p>
            Nothing lives at <code>{location.pathname}</code>. <a href="/">Go to the overview</a>.
          </p>
        </main>
      );
  }
}
