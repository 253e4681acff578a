//! `oxvm serve`: a static file server for the web app and its disk images.
//!
//! What a browser VM needs from its host, and what plain static servers
//! often get wrong: exact byte ranges (the disk is fetched block by block),
//! validators so a new deploy is seen and an unchanged file is not fetched
//! again, immutable caching for content-addressed chunks, the cross-origin
//! isolation headers (SharedArrayBuffer needs COOP/COEP) and CORS so the
//! images can also be fetched from another origin.
//!
//! Built on axum (hyper) with tower-http's CORS layer; the file responses
//! are ours because tower-http's ServeDir has no ETags, refuses
//! multi-range requests and follows symlinks out of the directory.

mod body;
mod gzip;
mod mime;
mod path;
mod respond;

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::body::HttpBody;
use axum::http::header::{self, HeaderName, HeaderValue};
use axum::http::Method;
use axum::response::Response;
use axum::serve::ListenerExt;
use axum::Router;
use clap::Args;
use tower_http::cors::{Any, CorsLayer};

#[derive(Args)]
pub struct ServeArgs {
    /// TCP port to listen on; 0 picks a free one (the URL printed says which).
    #[arg(long, value_name = "N", default_value_t = 8080)]
    port: u16,

    /// Directory to serve (the web app and its disk images).
    #[arg(long, value_name = "DIR", default_value = ".", value_parser = existing_dir)]
    dir: PathBuf,

    /// IP address to listen on; 0.0.0.0 or :: to be reachable from other machines.
    #[arg(long, value_name = "ADDR", default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    bind: IpAddr,
}

/// A missing or non-directory `--dir` is a usage error (exit status 2,
/// like every other bad argument), caught before anything is started.
fn existing_dir(s: &str) -> Result<PathBuf, String> {
    let p = PathBuf::from(s);
    match std::fs::metadata(&p) {
        Ok(m) if m.is_dir() => Ok(p),
        Ok(_) => Err("not a directory".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// How long in-flight responses may take to finish after Ctrl-C/SIGTERM
/// before the server stops anyway (a download of a whole image would
/// otherwise hold it up).
const GRACE: Duration = Duration::from_secs(3);

/// Serve until Ctrl-C or SIGTERM; the process exit status.
pub fn serve(args: ServeArgs) -> i32 {
    let root = match args.dir.canonicalize() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("oxvm: {}: {e}", args.dir.display());
            return 1;
        }
    };
    // Bind before starting anything, so a port in use is a plain error.
    let addr = SocketAddr::new(args.bind, args.port);
    let listener = match std::net::TcpListener::bind(addr).and_then(|l| l.set_nonblocking(true).map(|()| l)) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("oxvm: cannot listen on {addr}: {e}");
            return 1;
        }
    };
    let local = match listener.local_addr() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("oxvm: {e}");
            return 1;
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread().enable_io().enable_time().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("oxvm: cannot start the server: {e}");
            return 1;
        }
    };
    rt.block_on(async move {
        let listener = match tokio::net::TcpListener::from_std(listener) {
            Ok(l) => l,
            Err(e) => {
                eprintln!("oxvm: cannot listen on {addr}: {e}");
                return 1;
            }
        };
        let stop = match stop_signal() {
            Ok(s) => s,
            Err(e) => {
                eprintln!("oxvm: cannot install signal handlers: {e}");
                return 1;
            }
        };
        // The line tests (and people) read to learn the port.
        // Not println!: a closed stdout (piped into `head`) must not stop the server.
        let mut out = std::io::stdout();
        let _ = writeln!(out, "oxvm: serving {} at http://{local}/", root.display()).and_then(|()| out.flush());

        let app = router(Arc::new(respond::App { root, gzip: gzip::Cache::default() }));
        let notify = Arc::new(tokio::sync::Notify::new());
        let n = Arc::clone(&notify);
        // No Nagle: headers and body go out in separate writes, and a
        // client reading block after block on one connection would
        // otherwise wait for a delayed ACK on each (about 40 ms).
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let server = axum::serve(listener, app).with_graceful_shutdown(async move {
            stop.await;
            n.notify_one();
        });
        let deadline = async {
            notify.notified().await;
            tokio::time::sleep(GRACE).await;
        };
        let result = tokio::select! {
            r = server => r,
            () = deadline => Ok(()),
        };
        match result {
            Ok(()) => {
                eprintln!("oxvm: stopped");
                0
            }
            Err(e) => {
                eprintln!("oxvm: server error: {e}");
                1
            }
        }
    })
}

/// Resolves on the first Ctrl-C (SIGINT) or SIGTERM. The handlers are
/// installed here, before the URL is printed, so a signal sent as soon as
/// the server says it is up is never lost.
fn stop_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut int = signal(SignalKind::interrupt())?;
    let mut term = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
    })
}

fn router(app: Arc<respond::App>) -> Router {
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::HEAD, Method::OPTIONS])
        .allow_headers([
            header::RANGE,
            header::IF_RANGE,
            header::IF_NONE_MATCH,
            header::IF_MODIFIED_SINCE,
            header::IF_MATCH,
            header::IF_UNMODIFIED_SINCE,
            header::CACHE_CONTROL,
        ])
        .expose_headers([
            header::CONTENT_RANGE,
            header::CONTENT_LENGTH,
            header::ACCEPT_RANGES,
            header::ETAG,
            header::LAST_MODIFIED,
            header::CONTENT_ENCODING,
        ])
        .max_age(Duration::from_secs(86400));
    Router::new()
        .fallback(respond::handle)
        .with_state(app)
        .layer(cors)
        // Outermost, so CORS preflight answers get these too.
        .layer(axum::middleware::map_response(isolation_headers))
}

/// Headers on every response: cross-origin isolation (the page may use
/// SharedArrayBuffer; COEP require-corp then needs every resource to opt
/// in, which CORP cross-origin does for ours), and a Content-Length on the
/// bodies we did not size ourselves.
async fn isolation_headers(mut res: Response) -> Response {
    let status = res.status();
    let exact = res.body().size_hint().exact();
    let h = res.headers_mut();
    h.insert(HeaderName::from_static("cross-origin-opener-policy"), HeaderValue::from_static("same-origin"));
    h.insert(HeaderName::from_static("cross-origin-embedder-policy"), HeaderValue::from_static("require-corp"));
    h.insert(HeaderName::from_static("cross-origin-resource-policy"), HeaderValue::from_static("cross-origin"));
    // 1xx, 204 and 304 must not get one invented (RFC 9110 8.6).
    let may = !status.is_informational() && status.as_u16() != 204 && status.as_u16() != 304;
    if may && !h.contains_key(header::CONTENT_LENGTH) {
        if let Some(n) = exact {
            h.insert(header::CONTENT_LENGTH, HeaderValue::from(n));
        }
    }
    res
}
