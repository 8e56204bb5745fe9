//! The HTTP listener under the API (`crate::api::app`) and `/metrics`: accepts connections and
//! serves each with hyper, HTTP/1.1 (with websocket upgrades) or HTTP/2, giving each request the
//! client's address. A client gets `HEADER_READ_TIMEOUT` to start and to finish sending a
//! request's headers, so one that sends nothing, or trickles them (slowloris), is cut off instead
//! of holding a connection for ever. With a certificate (`http.tls_cert`, `http.tls_key`) it
//! speaks HTTPS, renews the certificate as its files change, and tells browsers to stay on HTTPS
//! (HSTS).

use axum::Router;
use axum::extract::ConnectInfo;
use axum::response::Response;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

/// How long a client may take to send a request's headers, counted from when the connection
/// waits for them (a new connection, or an idle keep-alive one).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// How long connections under way may run on once the hub is asked to stop.
const DRAIN: Duration = Duration::from_secs(10);

/// Browsers that reached the hub over HTTPS come back only over HTTPS for a year.
const HSTS: &str = "max-age=31536000";

/// The HTTPS side of a listener: `cert` and `key` (PEM) presented, and renewed as they change.
/// HTTP/1.1 only: websockets (the console, the widget) upgrade from it.
pub fn tls(cert: &std::path::Path, key: &std::path::Path) -> std::io::Result<TlsAcceptor> {
    let mut config = plugboard_sip::certs::server_config(cert, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(std::sync::Arc::new(config)))
}

async fn hsts(mut response: Response) -> Response {
    response.headers_mut().insert(
        axum::http::header::STRICT_TRANSPORT_SECURITY,
        axum::http::HeaderValue::from_static(HSTS),
    );
    response
}

/// Serves `app` on `listener` (over TLS with `tls`) until `stop` resolves, then lets the
/// connections under way finish (at most `DRAIN`).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    tls: Option<TlsAcceptor>,
    stop: impl Future<Output = ()>,
) {
    let app = match tls {
        Some(_) => app.layer(axum::middleware::map_response(hsts)),
        None => app,
    };
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    builder.http2().timer(TokioTimer::new());
    let graceful = GracefulShutdown::new();
    tokio::pin!(stop);
    loop {
        let (stream, client) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, mostly: wait for some to be let go.
                    tracing::warn!(error = %e, "accepting a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        // Websocket frames are small and latency-bound: no Nagle delay.
        let _ = stream.set_nodelay(true);
        let service = app
            .clone()
            .map_request(move |mut request: hyper::Request<hyper::body::Incoming>| {
                request.extensions_mut().insert(ConnectInfo(client));
                request
            });
        let (builder, watcher, tls) = (builder.clone(), graceful.watcher(), tls.clone());
        tokio::spawn(async move {
            // hyper's timeout runs from the first byte: one that never comes ends it too (as
            // does a client gone before its first byte).
            let mut first = [0u8; 1];
            match tokio::time::timeout(HEADER_READ_TIMEOUT, stream.peek(&mut first)).await {
                Ok(Ok(n)) if n > 0 => {}
                _ => return,
            }
            let service = TowerToHyperService::new(service);
            // A client that went away or broke the protocol ends only its own connection.
            match tls {
                None => {
                    let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
                    let _ = watcher.watch(connection.into_owned()).await;
                }
                Some(tls) => {
                    // The handshake has the headers' time: a client that stalls in it is cut off.
                    let Ok(Ok(stream)) = tokio::time::timeout(HEADER_READ_TIMEOUT, tls.accept(stream)).await
                    else {
                        return;
                    };
                    let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
                    let _ = watcher.watch(connection.into_owned()).await;
                }
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN, graceful.shutdown()).await.is_err() {
        tracing::warn!("connections still open after {DRAIN:?}: stopping anyway");
    }
}
