//! Network fetching behind a trait, so each host supplies its own: native
//! code uses [`HttpFetcher`] (blocking HTTP on a few threads), the browser
//! host will hand in one built on `fetch()`.

use std::ops::Range;

use crate::{BlockError, Result};

/// One GET: a URL and optionally a byte range (half-open) of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchRequest {
    pub url: String,
    pub range: Option<Range<u64>>,
    /// The most body bytes accepted; a longer body is an error (a hostile or
    /// confused server must not exhaust memory).
    pub max_len: u64,
}

/// What came back: the status, the `Content-Range` header if any, the
/// body, and the file's version as the server names it (`ETag`, else
/// `Last-Modified`), if it does.
#[derive(Clone, Debug, Default)]
pub struct FetchResponse {
    pub status: u16,
    pub content_range: Option<String>,
    pub body: Vec<u8>,
    pub validator: Option<String>,
}

/// Issues a batch of requests, concurrently where the host can, and returns
/// one result per request in order. A result is `Err` only when no response
/// arrived (connection refused, timeout); HTTP error statuses are responses.
pub trait Fetcher: Send + Sync {
    fn fetch_batch(&self, requests: &[FetchRequest]) -> Vec<Result<FetchResponse>>;
}

/// Runs a batch and returns exactly one result per request, whatever the
/// fetcher (a host-supplied one may be buggy) returned.
pub fn fetch_exact(fetcher: &dyn Fetcher, requests: &[FetchRequest]) -> Vec<Result<FetchResponse>> {
    let mut results = fetcher.fetch_batch(requests);
    results.truncate(requests.len());
    while results.len() < requests.len() {
        let url = &requests[results.len()].url;
        results.push(Err(BlockError::Network(format!("{url}: the fetcher returned no response"))));
    }
    results
}

/// One request, one result.
pub fn fetch_one(fetcher: &dyn Fetcher, request: &FetchRequest) -> Result<FetchResponse> {
    fetch_exact(fetcher, std::slice::from_ref(request)).pop().expect("fetch_exact returns one result per request")
}

/// A parsed `Content-Range: bytes a-b/total` value: (a..b+1, total).
pub fn parse_content_range(value: &str) -> Option<(Range<u64>, Option<u64>)> {
    let rest = value.trim().strip_prefix("bytes ")?;
    let (span, total) = rest.split_once('/')?;
    let (a, b) = span.split_once('-')?;
    let (a, b): (u64, u64) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
    let total = if total.trim() == "*" { None } else { Some(total.trim().parse().ok()?) };
    (a <= b && total.is_none_or(|t| b < t)).then_some((a..b + 1, total))
}

/// Checks a response to a range request: 206, the range asked for, a body
/// of that length. A 200 means the server ignores ranges.
pub fn check_range_response(req: &FetchRequest, resp: &FetchResponse) -> Result<()> {
    let range = req.range.clone().expect("a range request");
    match resp.status {
        206 => {}
        200 => {
            return Err(BlockError::Network(format!(
                "{} answered a range request with the whole file (status 200): the server does not support HTTP range \
                 requests; serve the image from one that does, or publish it as a chunk store (`oxvm image publish`)",
                req.url
            )))
        }
        s => return Err(BlockError::Network(format!("{}: HTTP status {s} for bytes {}-{}", req.url, range.start, range.end - 1))),
    }
    let got = resp.content_range.as_deref().and_then(parse_content_range);
    match got {
        Some((r, _)) if r == range && resp.body.len() as u64 == range.end - range.start => Ok(()),
        _ => Err(BlockError::Network(format!(
            "{}: asked for bytes {}-{}, got Content-Range {:?} with {} bytes",
            req.url,
            range.start,
            range.end - 1,
            resp.content_range,
            resp.body.len()
        ))),
    }
}

#[cfg(not(target_arch = "wasm32"))]
pub use native::{HttpFetcher, LocalFetcher};

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::io::Read;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;
    use std::time::Duration;

    use super::{FetchRequest, FetchResponse, Fetcher};
    use crate::{BlockError, Result};

    /// Blocking HTTP/1.1 (http and https) with up to `parallel` requests in
    /// flight per batch, each on its own thread with a pooled connection.
    pub struct HttpFetcher {
        agent: ureq::Agent,
        parallel: usize,
    }

    impl HttpFetcher {
        pub fn new(parallel: usize) -> Self {
            let agent: ureq::Agent = ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_connect(Some(Duration::from_secs(15)))
                .timeout_global(Some(Duration::from_secs(120)))
                .max_idle_connections_per_host(parallel.max(1))
                .build()
                .into();
            HttpFetcher { agent, parallel: parallel.max(1) }
        }

        fn fetch_one(&self, req: &FetchRequest) -> Result<FetchResponse> {
            let mut get = self.agent.get(&req.url);
            if let Some(r) = &req.range {
                if r.start >= r.end {
                    return Err(BlockError::Network(format!("{}: empty range requested", req.url)));
                }
                get = get.header("Range", format!("bytes={}-{}", r.start, r.end - 1));
            }
            let net = |e: ureq::Error| BlockError::Network(format!("{}: {e}", req.url));
            let mut resp = get.call().map_err(net)?;
            let status = resp.status().as_u16();
            let header = |name: &str| resp.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
            let content_range = header("content-range");
            let validator = header("etag").or_else(|| header("last-modified"));
            // A 200 to a range request is the whole file: it is refused by
            // the caller, so don't download it.
            let wanted = if req.range.is_some() { status == 206 } else { status == 200 };
            let body = if wanted { resp.body_mut().with_config().limit(req.max_len).read_to_vec().map_err(net)? } else { Vec::new() };
            Ok(FetchResponse { status, content_range, body, validator })
        }
    }

    impl Default for HttpFetcher {
        fn default() -> Self {
            HttpFetcher::new(8)
        }
    }

    impl Fetcher for HttpFetcher {
        fn fetch_batch(&self, requests: &[FetchRequest]) -> Vec<Result<FetchResponse>> {
            if requests.len() <= 1 {
                return requests.iter().map(|r| self.fetch_one(r)).collect();
            }
            let next = AtomicUsize::new(0);
            let results: Mutex<Vec<Option<Result<FetchResponse>>>> = Mutex::new(requests.iter().map(|_| None).collect());
            std::thread::scope(|s| {
                for _ in 0..self.parallel.min(requests.len()) {
                    s.spawn(|| loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(req) = requests.get(i) else { break };
                        let r = self.fetch_one(req);
                        results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(r);
                    });
                }
            });
            results
                .into_inner()
                .unwrap_or_else(|e| e.into_inner())
                .into_iter()
                .map(|r| r.unwrap_or_else(|| Err(BlockError::Network("a fetch thread died".into()))))
                .collect()
        }
    }

    /// Serves "URLs" that are local paths, answering like a static HTTP
    /// server with range support: a manifest on disk works the same as one
    /// on a web host.
    #[derive(Default)]
    pub struct LocalFetcher;

    impl LocalFetcher {
        fn fetch_one(req: &FetchRequest) -> Result<FetchResponse> {
            let mut file = match std::fs::File::open(&req.url) {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(FetchResponse { status: 404, ..Default::default() }),
                Err(e) => return Err(e.into()),
            };
            let len = file.metadata()?.len();
            match &req.range {
                None => {
                    if len > req.max_len {
                        return Err(BlockError::Network(format!("{}: {len} bytes exceed the limit of {}", req.url, req.max_len)));
                    }
                    let mut body = Vec::with_capacity(len as usize);
                    file.read_to_end(&mut body)?;
                    Ok(FetchResponse { status: 200, body, ..Default::default() })
                }
                Some(r) if r.start < r.end && r.start < len => {
                    let end = r.end.min(len);
                    let mut body = vec![0; (end - r.start) as usize];
                    std::os::unix::fs::FileExt::read_exact_at(&file, &mut body, r.start)?;
                    Ok(FetchResponse {
                        status: 206,
                        content_range: Some(format!("bytes {}-{}/{len}", r.start, end - 1)),
                        body,
                        ..Default::default()
                    })
                }
                Some(_) => Ok(FetchResponse { status: 416, content_range: Some(format!("bytes */{len}")), ..Default::default() }),
            }
        }
    }

    impl Fetcher for LocalFetcher {
        fn fetch_batch(&self, requests: &[FetchRequest]) -> Vec<Result<FetchResponse>> {
            requests.iter().map(Self::fetch_one).collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_range_parsing_is_strict() {
        assert_eq!(parse_content_range("bytes 0-0/1234"), Some((0..1, Some(1234))));
        assert_eq!(parse_content_range("bytes 10-19/*"), Some((10..20, None)));
        for bad in ["bytes 5-4/10", "bytes 0-10/10", "items 0-1/5", "bytes 0-1", "bytes -1/5", "bytes 0-99999999999999999999/5"] {
            assert_eq!(parse_content_range(bad), None, "{bad}");
        }
    }
}

#[cfg(test)]
mod exact_tests {
    use super::*;

    struct Silent;
    impl Fetcher for Silent {
        fn fetch_batch(&self, _: &[FetchRequest]) -> Vec<Result<FetchResponse>> {
            Vec::new()
        }
    }

    #[test]
    fn a_fetcher_that_answers_nothing_is_an_error_not_a_panic() {
        let req = FetchRequest { url: "http://x/y".into(), range: None, max_len: 1 };
        assert!(matches!(fetch_one(&Silent, &req), Err(BlockError::Network(m)) if m.contains("no response")));
        let mut stats = crate::FetchStats::default();
        assert!(crate::HttpSource::open("http://x/y", std::sync::Arc::new(Silent), 131072, &mut stats).is_err());
        assert!(crate::ChunkStoreSource::open("http://x/m.json", std::sync::Arc::new(Silent), &mut stats).is_err());
    }
}
