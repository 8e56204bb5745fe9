//! The console and the widget: the files of `agent-ui/`, built into the binary, served with a
//! strict Content-Security-Policy and no referrer. The console's one inline script (its import map) is allowed by
//! hash, computed here from the page itself so the two never drift apart.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

#[derive(rust_embed::RustEmbed)]
#[folder = "../agent-ui/"]
#[exclude = "*.test.js"]
#[exclude = "package.json"]
#[exclude = "node_modules/*"]
struct Assets;

/// The policy for our pages: our own scripts and styles only, sockets to ourselves.
static CSP: LazyLock<String> = LazyLock::new(|| {
    let import_map = Assets::get("index.html")
        .and_then(|f| inline_import_map(&String::from_utf8_lossy(&f.data)).map(str::to_owned))
        .map(|map| {
            let digest = Sha256::digest(map.as_bytes());
            format!(
                " 'sha256-{}'",
                base64::engine::general_purpose::STANDARD.encode(digest)
            )
        })
        .unwrap_or_default();
    // media-src blob: — a call's recording is fetched with the session token and played from a
    // blob URL (an <audio src> cannot send the token).
    // style-src 'unsafe-inline' and img-src blob: https: — an email's formatted view is a
    // sandboxed `srcdoc` frame (no scripts, no same origin, its own stricter CSP first), and a
    // srcdoc frame also inherits this policy: without them the mail loses its inline styles, its
    // inline images and, after the agent's "show images", its remote ones. The console itself
    // never turns text into markup (Preact sets text and `element.style`), so this admits no
    // script; scripts stay 'self' only.
    format!(
        "default-src 'self'; script-src 'self'{import_map}; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob: https:; media-src 'self' blob:; \
         connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    )
});

/// The text between `<script type="importmap">` and `</script>`, exactly as the browser hashes it.
fn inline_import_map(html: &str) -> Option<&str> {
    let open = r#"<script type="importmap">"#;
    let start = html.find(open)? + open.len();
    let len = html[start..].find("</script>")?;
    Some(&html[start..start + len])
}

pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(|| async { serve("index.html") }))
        .route("/demo", get(|| async { serve("demo.html") }))
        .route(
            "/{*path}",
            get(|Path(path): Path<String>| async move { serve(&path) }),
        )
}

fn serve(path: &str) -> Response {
    let Some(file) = Assets::get(path) else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    let mime = file.metadata.mimetype();
    let mut response = (StatusCode::OK, file.data).into_response();
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(mime) {
        headers.insert(header::CONTENT_TYPE, v);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // A link followed out of the console (in a mail, on a customer's card) says nothing of it.
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    if let Ok(v) = HeaderValue::from_str(&CSP) {
        headers.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    if path == "widget.js" || path == "widget.css" {
        // Loaded by customers' own websites.
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_import_map_exactly() {
        let html = "<head><script type=\"importmap\">\n{\"imports\":{}}\n</script></head>";
        assert_eq!(inline_import_map(html), Some("\n{\"imports\":{}}\n"));
        assert_eq!(inline_import_map("<html></html>"), None);
    }
}
