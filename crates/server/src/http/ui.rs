//! The web UI: the files Vite built from `ui/` (embedded at compile time by `build.rs`),
//! served from the binary.
//!
//! - `/assets/…`: hashed JS and CSS, cached for a year, gzip when the browser takes it.
//! - The pages (`/`, `/login`, `/dashboards…`, `/explore`, `/issues…`, `/search`): the one
//!   `index.html`, never cached, which routes in the browser from the URL.
//!
//! Every answer carries a Content-Security-Policy that allows scripts, styles and connections
//! from this origin only, and no inline script, so text from ingested data can never run.
//! `/` is also the Elasticsearch root that shippers probe: a request with credentials, or one
//! that asks for JSON, gets that answer instead (`super::elastic`).

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::AppState;
use super::error::ApiError;

/// One built file.
#[derive(Debug)]
pub(crate) struct Asset {
    pub(crate) path: &'static str,
    pub(crate) body: &'static [u8],
    pub(crate) gzip: &'static [u8],
    pub(crate) content_type: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/ui_assets.rs"));

/// What pages may load: this origin only, no inline script, no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The paths the browser routes itself (see `ui/src/url.ts`).
const PAGES: &[&str] = &["/login", "/dashboards", "/explore", "/issues", "/search"];
const NESTED_PAGES: &[&str] = &["/dashboards/{*rest}", "/issues/{*rest}"];

pub(super) fn routes() -> Router<AppState> {
    let mut router = Router::new().route("/assets/{*file}", get(asset));
    for page in PAGES.iter().chain(NESTED_PAGES) {
        router = router.route(page, get(page_view));
    }
    router
}

async fn page_view(uri: Uri, headers: HeaderMap) -> Response {
    index_page(uri.path(), &headers)
}

/// The UI's `index.html`, for every page path. It names the API answers the page will ask for
/// first in a `Link: rel=preload` header, so the browser fetches them while it loads the script.
pub(super) fn index_page(path: &str, headers: &HeaderMap) -> Response {
    match find("/index.html") {
        Some(asset) => {
            let mut response = respond(asset, headers, "no-cache");
            if let Some(link) = preloads(path).and_then(|v| HeaderValue::from_str(&v).ok()) {
                response.headers_mut().insert(header::LINK, link);
            }
            response
        }
        None => ApiError::not_found("this build has no web UI").into_response(),
    }
}

/// What the page at `path` fetches before anything else (as `ui/src/main.tsx` does): who is
/// logged in, and the dashboard it shows. Nothing for the login page.
fn preloads(path: &str) -> Option<String> {
    const WHOAMI: &str = "</api/v1/auth/whoami>; rel=preload; as=fetch; crossorigin";
    let uid = match path.trim_end_matches('/') {
        "" => Some("overview"),
        "/login" => return None,
        other => other.strip_prefix("/dashboards/").filter(|uid| {
            !uid.is_empty()
                && uid
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        }),
    };
    Some(match uid {
        Some(uid) => {
            format!("{WHOAMI}, </api/v1/dashboards/{uid}>; rel=preload; as=fetch; crossorigin")
        }
        None => WHOAMI.to_string(),
    })
}

/// Whether a request for `/` comes from a browser (the UI) rather than an Elasticsearch
/// client: no credentials, and it does not ask for JSON.
pub(super) fn wants_page(headers: &HeaderMap) -> bool {
    if headers.contains_key(header::AUTHORIZATION) {
        return false;
    }
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    !accept.contains("json")
}

async fn asset(Path(file): Path<String>, headers: HeaderMap) -> Response {
    match find(&format!("/assets/{file}")) {
        Some(asset) => respond(asset, &headers, "public, max-age=31536000, immutable"),
        None => ApiError::not_found(format!("no asset {file}")).into_response(),
    }
}

fn find(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.path == path)
}

fn respond(asset: &'static Asset, headers: &HeaderMap, cache: &'static str) -> Response {
    let gzip = accepts_gzip(headers);
    let body = if gzip { asset.gzip } else { asset.body };
    let mut response = (StatusCode::OK, body).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if gzip {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    security_headers(h);
    response
}

/// The headers every UI answer carries.
pub(super) fn security_headers(h: &mut HeaderMap) {
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
}

fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',').any(|part| {
                let mut it = part.split(';');
                let name = it.next().unwrap_or("").trim();
                let refused = it.any(|p| p.trim().replace(' ', "") == "q=0");
                (name == "gzip" || name == "*") && !refused
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_build_has_an_index_and_its_assets() {
        let index = find("/index.html").expect("index.html is embedded");
        let html = std::str::from_utf8(index.body).unwrap();
        for src in html
            .split("src=\"")
            .skip(1)
            .chain(html.split("href=\"").skip(1))
        {
            let path = src.split('"').next().unwrap();
            if path.starts_with("/assets/") {
                assert!(
                    find(path).is_some(),
                    "{path} is referenced but not embedded"
                );
            }
        }
        assert!(!html.contains("<script>"), "no inline script: {html}");
    }

    #[test]
    fn pages_preload_what_they_fetch_first() {
        let whoami = "</api/v1/auth/whoami>; rel=preload; as=fetch; crossorigin";
        assert_eq!(
            preloads("/").unwrap(),
            format!("{whoami}, </api/v1/dashboards/overview>; rel=preload; as=fetch; crossorigin")
        );
        assert!(
            preloads("/dashboards/ops-1")
                .unwrap()
                .contains("</api/v1/dashboards/ops-1>")
        );
        assert_eq!(preloads("/explore").unwrap(), whoami);
        assert_eq!(
            preloads("/dashboards/a;b").unwrap(),
            whoami,
            "a uid that would break the header"
        );
        assert_eq!(preloads("/login"), None);
    }

    #[test]
    fn gzip_is_taken_unless_refused() {
        let mut h = HeaderMap::new();
        assert!(!accepts_gzip(&h));
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("gzip, deflate, br"),
        );
        assert!(accepts_gzip(&h));
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("gzip;q=0, br"),
        );
        assert!(!accepts_gzip(&h));
    }
}
