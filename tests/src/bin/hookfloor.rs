//! The floor for the webhook benchmark: a bare axum server on loopback that does what any
//! WhatsApp webhook must and nothing more: reads the body, checks its `X-Hub-Signature-256`
//! (HMAC-SHA256 with the app secret, in constant time, by `plugboard_im::whatsapp`) and answers
//! 200 (401 when it does not match). `plugboard-hookload` starts it beside the hub.
//!
//! plugboard-hookfloor --app-secret SECRET   (prints "listening on http://127.0.0.1:PORT")

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let secret = match argv.as_slice() {
        [flag, secret] if flag == "--app-secret" => secret.clone(),
        _ => anyhow::bail!("flags: --app-secret SECRET"),
    };
    let secret: &'static str = Box::leak(secret.into_boxed_str());
    let app = axum::Router::new().route(
        "/webhooks/floor",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| async move {
            let signature = headers.get("x-hub-signature-256").and_then(|v| v.to_str().ok());
            match plugboard_im::whatsapp::verify_signature(secret, signature, &body) {
                Ok(()) => StatusCode::OK,
                Err(_) => StatusCode::UNAUTHORIZED,
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
