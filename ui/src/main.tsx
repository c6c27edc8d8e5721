import { render } from "preact";
import "uplot/dist/uPlot.min.css";
import "./theme.css";
import { App } from "./app";
import { installLinkHandler } from "./nav";

installLinkHandler();
render(<App />, document.getElementById("app")!);
