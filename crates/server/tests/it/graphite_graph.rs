//! `format=svg` and `format=png`: a dashboard-like render, checked for what it must show.
//! Set `SIGHTLINE_KEEP_GRAPHS=<dir>` to keep the pictures and look at them.

use crate::graphite_golden::golden_server;

const TARGETS: &[&str] = &[
    "alias(color(lineWidth(sumSeries(servers.*.cpu),2),'red'),'total cpu')",
    "aliasByNode(servers.web*.cpu,1)",
    "alias(dashed(secondYAxis(perSecond(servers.web1.requests))),'web1 req/s')",
    "threshold(40,'limit','yellow')",
    "alias(stacked(alpha(color(servers.db1.cpu,'aqua'),0.6)),'db1 stacked')",
    "alias(drawAsInfinite(removeBelowValue(isNonNull(misc.sparse),1)),'deploys')",
];

fn query(format: &str) -> String {
    let mut pairs: Vec<(&str, &str)> = TARGETS.iter().map(|t| ("target", *t)).collect();
    pairs.extend([
        ("from", "-30min"),
        ("format", format),
        ("width", "800"),
        ("height", "400"),
        ("title", "Servers <overview>"),
        ("vtitle", "percent"),
        ("vtitleRight", "req/s"),
    ]);
    format!("/render?{}", serde_urlencoded::to_string(&pairs).unwrap())
}

fn keep(name: &str, bytes: &[u8]) {
    if let Some(dir) = std::env::var_os("SIGHTLINE_KEEP_GRAPHS") {
        std::fs::write(std::path::Path::new(&dir).join(name), bytes).unwrap();
    }
}

#[tokio::test]
async fn svg_and_png_draw_a_dashboard() {
    let server = golden_server().await;
    let response = server.get(&query("svg")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/svg+xml");
    let svg = response.text().await.unwrap();
    keep("dashboard.svg", svg.as_bytes());
    assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
    assert!(svg.contains(r#"width="800" height="400""#));
    assert!(
        svg.contains("Servers &lt;overview&gt;"),
        "the title, escaped"
    );
    for legend in [
        "total cpu",
        "web1",
        "web2",
        "web1 req/s (right)",
        "limit",
        "db1 stacked",
        "deploys",
    ] {
        assert!(
            svg.contains(&format!(">{legend}</text>")),
            "legend entry {legend}"
        );
    }
    assert!(
        svg.contains(r##"stroke="#c80032" stroke-width="2""##),
        "color() and lineWidth() on the total"
    );
    assert!(svg.contains("stroke-dasharray"), "dashed()");
    assert!(
        svg.contains(r##"fill="#009696" fill-opacity="0.6""##),
        "stacked() fills, with alpha()"
    );
    assert!(svg.contains(r##"stroke="#ffff00""##), "threshold's colour");
    assert!(
        svg.contains("percent") && svg.contains(">req/s</text>"),
        "both axis titles"
    );
    let vertical = svg.matches(r#"<line x1="#).count();
    assert!(vertical > 10, "grid and drawAsInfinite lines: {vertical}");

    let response = server.get(&query("png")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/png");
    let png = response.bytes().await.unwrap();
    keep("dashboard.png", &png);
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
    assert_eq!((width, height), (800, 400));
    assert!(
        png.len() > 10_000,
        "a drawn picture, not a blank one: {} bytes",
        png.len()
    );

    // No format means a PNG, as in graphite-web; an empty result says so.
    let response = server
        .get("/render?target=nothing.here&from=-10min")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["content-type"], "image/png");
    let svg = server
        .get("/render?target=nothing.here&from=-10min&format=svg")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(svg.contains("No Data"));
    // Sizes are bounded.
    let svg = server
        .get("/render?target=servers.web1.cpu&format=svg&width=99999&height=-5")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        svg.contains(r#"width="4000" height="1""#),
        "{}",
        &svg[..120]
    );
}
