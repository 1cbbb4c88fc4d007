//! Every answer from an upstream provider is read through here, with a size limit: a provider
//! (or whoever answers in its name) must not make a replica buffer an unbounded body. Discovery
//! documents, JWKS, token responses, userinfo and GitHub's API all fit in a fraction of the cap.

use std::future::Future;
use std::pin::Pin;

use openidconnect::{AsyncHttpClient, HttpRequest, HttpResponse};
use serde::de::DeserializeOwned;

use super::failure::{self, Failure};
use super::UpstreamError;

/// The largest upstream answer read: 1 MiB, far above any real JSON answer.
pub const MAX_ANSWER_BYTES: usize = 1024 * 1024;

/// Why an upstream answer could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadFailed {
    #[error("the request failed: {0}")]
    Transport(#[from] reqwest::Error),
    #[error("the answer is larger than {MAX_ANSWER_BYTES} bytes")]
    TooLarge,
    #[error("the answer is not the expected JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the answer could not be passed on: {0}")]
    Http(#[from] openidconnect::http::Error),
    /// A request to a URL that is not http(s), e.g. a `javascript:` endpoint a document named.
    #[error("a {0}: URL is not http(s)")]
    NotWeb(String),
    /// An error status whose body is not an OAuth error (RFC 6749 §5.2), which the protocol
    /// crates would only report as unparseable.
    #[error("HTTP {status}: {excerpt}")]
    Status { status: u16, excerpt: String },
}

/// The body of `res`, refused as soon as it passes `limit` bytes (announced or actually sent).
pub async fn body(mut res: reqwest::Response, limit: usize) -> Result<Vec<u8>, ReadFailed> {
    if res
        .content_length()
        .is_some_and(|n| n > u64::try_from(limit).unwrap_or(u64::MAX))
    {
        return Err(ReadFailed::TooLarge);
    }
    let mut buf = Vec::new();
    while let Some(chunk) = res.chunk().await? {
        if buf.len() + chunk.len() > limit {
            return Err(ReadFailed::TooLarge);
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf)
}

/// The JSON answer of a provider API (`endpoint`, e.g. `/user`), read with the size limit: an
/// error status, a body that is not JSON and a missing field are told apart. `secret` (the
/// bearer token sent) is cut out of any excerpt.
pub async fn json_answer<T: DeserializeOwned>(
    res: reqwest::Response,
    endpoint: &str,
    secret: &str,
) -> Result<T, Failure> {
    let status = res.status();
    let bytes = body(res, MAX_ANSWER_BYTES)
        .await
        .map_err(|e| e.failure(endpoint))?;
    if !status.is_success() {
        return Err(Failure::Status {
            endpoint: endpoint.to_string(),
            status: status.as_u16(),
            excerpt: failure::excerpt(&bytes, Some(secret)),
        });
    }
    serde_json::from_slice(&bytes).map_err(|e| failure::json(endpoint, &e, None))
}

/// The HTTP client `oauth2` and `openidconnect` talk to providers through: reqwest, with every
/// body read by [`body`].
#[derive(Clone, Copy)]
pub struct Bounded<'a>(pub &'a reqwest::Client);

impl<'c> AsyncHttpClient<'c> for Bounded<'_> {
    type Error = ReadFailed;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, ReadFailed>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let scheme = request.uri().scheme_str().unwrap_or_default();
            if !matches!(scheme, "http" | "https") {
                return Err(ReadFailed::NotWeb(scheme.to_string()));
            }
            let res = self.0.execute(request.try_into()?).await?;
            let mut answer = openidconnect::http::Response::builder()
                .status(res.status())
                .version(res.version());
            for (name, value) in res.headers() {
                answer = answer.header(name, value);
            }
            let status = res.status();
            let bytes = body(res, MAX_ANSWER_BYTES).await?;
            if !status.is_success() && !is_oauth_error(&bytes) {
                return Err(ReadFailed::Status {
                    status: status.as_u16(),
                    excerpt: super::failure::excerpt(&bytes, None),
                });
            }
            Ok(answer.body(bytes)?)
        })
    }
}

/// An RFC 6749 §5.2 error answer: a JSON object with a string `error`. Those go on to the
/// protocol crates, which report them as the provider's error.
fn is_oauth_error(body: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(body)
        .is_ok_and(|v| v.get("error").is_some_and(serde_json::Value::is_string))
}

impl ReadFailed {
    /// What failed in the request to `endpoint` (`"token endpoint"`, `"/user"`).
    pub fn failure(&self, endpoint: &str) -> Failure {
        let endpoint_name = endpoint.to_string();
        match self {
            ReadFailed::Transport(e) => failure::classify(e, endpoint),
            ReadFailed::TooLarge => Failure::TooLarge {
                endpoint: endpoint_name,
            },
            ReadFailed::Json(e) => failure::json(endpoint, e, None),
            ReadFailed::Http(e) => Failure::Other {
                endpoint: endpoint_name,
                detail: e.to_string(),
            },
            ReadFailed::NotWeb(scheme) => Failure::NotWeb {
                endpoint: endpoint_name,
                scheme: scheme.clone(),
            },
            ReadFailed::Status { status, excerpt } => Failure::Status {
                endpoint: endpoint_name,
                status: *status,
                excerpt: excerpt.clone(),
            },
        }
    }

    /// What the person is told: `provider` gave no answer, too large an answer, or one that is
    /// not what `what` should be.
    pub fn upstream_error(&self, provider: &str, what: &str) -> UpstreamError {
        UpstreamError::from_failure(provider, self.failure(what))
    }
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Write};

    use super::*;

    /// Serves one response of `chunks` chunks of 64 bytes with chunked transfer encoding, so
    /// that no Content-Length announces its size; returns its URL.
    fn chunked_server(chunks: usize) -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap() > 2 {
                line.clear();
            }
            let mut out = stream;
            // The client may hang up once it has read enough: write errors are expected then.
            let _ = out.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
            for _ in 0..chunks {
                let _ = out.write_all(format!("40\r\n{}\r\n", "x".repeat(64)).as_bytes());
            }
            let _ = out.write_all(b"0\r\n\r\n");
        });
        url
    }

    #[tokio::test]
    async fn a_body_without_a_length_is_cut_off_at_the_limit() {
        let http = reqwest::Client::new();
        let res = http.get(chunked_server(3)).send().await.unwrap();
        assert!(res.content_length().is_none(), "nothing announced");
        assert!(matches!(body(res, 100).await, Err(ReadFailed::TooLarge)));

        let res = http.get(chunked_server(3)).send().await.unwrap();
        assert_eq!(
            body(res, 192).await.unwrap().len(),
            192,
            "exactly the limit is fine"
        );
    }

    #[tokio::test]
    async fn the_client_refuses_urls_that_are_not_http() {
        let http = reqwest::Client::new();
        let req = openidconnect::http::Request::builder()
            .uri("ftp://op.example/jwks")
            .body(Vec::new())
            .unwrap();
        let got = Bounded(&http).call(req).await;
        assert!(matches!(got, Err(ReadFailed::NotWeb(s)) if s == "ftp"));
    }
}
