import { render } from "preact";
import "uplot/dist/uPlot.min.css";
import "./theme.css";
import { App } from "./app";
import { prefetch } from "./api";
import { installLinkHandler } from "./nav";
import { parseRoute } from "./url";

// Who is logged in and the dashboard the URL names are asked for at once, not one after the
// other once the app has rendered.
prefetch("/api/v1/auth/whoami");
const first = parseRoute(location.pathname, location.search).page;
if (first.name === "dashboard") prefetch(`/api/v1/dashboards/${encodeURIComponent(first.uid)}`);
installLinkHandler();
render(<App />, document.getElementById("app")!);
