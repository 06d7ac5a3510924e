//! Answers refused before their body was read (401 from the token check, 413
//! from a Content-Length over the limit, 415 from a wrong content type) leave
//! the body's bytes on the connection. Hyper then drops the connection
//! without telling the client, whose next request on it fails, and closing a
//! socket with unread bytes resets it, which can destroy the answer itself.
//!
//! So the body is held where this layer can reach it after the handler has
//! finished: what the handler left unread is read and discarded (up to a
//! limit, within a deadline) before the answer goes out, and the connection
//! stays usable. A body too large or too slow to discard is answered with
//! `Connection: close`, so the client knows not to reuse the connection.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use http_body::{Body as _, Frame, SizeHint};

/// Uploads are up to 10 MiB; a refused upload of that size is still read.
const DISCARD_LIMIT: u64 = 12 * 1024 * 1024;
const DISCARD_DEADLINE: Duration = Duration::from_secs(10);

pub async fn finish_unread_body(req: Request, next: Next) -> Response {
    if !carries_body(&req) {
        return next.run(req).await;
    }
    // A client waiting for `100 Continue` has not sent its body; reading it
    // now would ask for it only to throw it away.
    let waits_for_continue = req
        .headers()
        .get(header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    let declared_len = declared_length(&req);
    let (parts, body) = req.into_parts();
    let shared = SharedBody(Arc::new(Mutex::new(body)));
    let mut response = next
        .run(Request::from_parts(parts, Body::new(shared.clone())))
        .await;
    if shared.is_end_stream() {
        return response;
    }
    let discardable = !waits_for_continue && declared_len.is_none_or(|n| n <= DISCARD_LIMIT);
    let discarded = discardable
        && tokio::time::timeout(DISCARD_DEADLINE, shared.discard(DISCARD_LIMIT))
            .await
            .unwrap_or(false);
    if !discarded {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

fn carries_body(req: &Request) -> bool {
    req.headers().contains_key(header::TRANSFER_ENCODING)
        || declared_length(req).is_some_and(|n| n > 0)
}

fn declared_length(req: &Request) -> Option<u64> {
    req.headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

/// The request body, shared between the handler (which may drop its handle
/// early) and this layer (which reads what is left).
#[derive(Clone)]
struct SharedBody(Arc<Mutex<Body>>);

impl SharedBody {
    fn is_end_stream(&self) -> bool {
        http_body::Body::is_end_stream(&*self.0.lock().expect("body lock"))
    }

    /// Reads to the end; false if the body turns out longer than `limit` or
    /// breaks off.
    async fn discard(&self, limit: u64) -> bool {
        let mut seen = 0u64;
        loop {
            let frame = std::future::poll_fn(|cx| {
                let mut body = self.0.lock().expect("body lock");
                Pin::new(&mut *body).poll_frame(cx)
            })
            .await;
            match frame {
                None => return true,
                Some(Ok(frame)) => {
                    seen += frame.data_ref().map_or(0, |d| d.len() as u64);
                    if seen > limit {
                        return false;
                    }
                }
                Some(Err(_)) => return false,
            }
        }
    }
}

impl http_body::Body for SharedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let mut body = self.0.lock().expect("body lock");
        Pin::new(&mut *body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        SharedBody::is_end_stream(self)
    }

    fn size_hint(&self) -> SizeHint {
        self.0.lock().expect("body lock").size_hint()
    }
}
