//! The console's page and assets (built into the binary, no CDN), the OpenAPI description, and
//! the security headers on everything under `/admin`.

use axum::Router;
use axum::extract::{Path, Request};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::auth::behind_tls;
use crate::http::ApiError;
use crate::http::AppState;

/// The console, built into the binary.
#[derive(rust_embed::Embed)]
#[folder = "assets/admin/"]
struct Assets;

/// The console's routes and the OpenAPI description.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin", get(|| asset(Path("index.html".to_owned()))))
        .route("/admin/", get(|| asset(Path("index.html".to_owned()))))
        .route("/admin/assets/{file}", get(asset))
        .route("/admin/api/openapi.json", get(|| asset(Path("openapi.json".to_owned()))))
}

async fn asset(Path(file): Path<String>) -> Response {
    let Some(content) = Assets::get(&file) else { return ApiError::NotFound.into_response() };
    let mime = match file.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        _ => "application/octet-stream",
    };
    let mut response = content.data.into_owned().into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    response
}

/// The policy: nothing but teller's own files, no inline script or style, never in a frame.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'";

/// Adds the console's security headers to every `/admin` response; HSTS when the client came
/// over TLS.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let tls = behind_tls(request.headers());
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    // Nothing of the console is kept by a browser or a proxy: not its data, not its pages.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if tls {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    response
}
