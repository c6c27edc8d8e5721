//! Ingest request bodies, read as they arrive and decoded as senders compress them:
//! `Content-Encoding` identity, gzip (or x-gzip), deflate (zlib-wrapped, or raw as some clients
//! send it) and br (sentry-sdk for Python's default when the brotli module is installed). An
//! empty encoding and `UTF-8` (sent by some old Sentry SDKs) are identity.
//!
//! [`receive`] never holds more than the shared ingest budget allows: each frame is decoded as
//! it comes, into a buffer whose every growth is first taken from the budget
//! (`super::gate::Reservation`). So a body that inflates a thousandfold costs what it is allowed
//! to, not what it claims, and concurrent requests share one bound.

use std::io::Write;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, header};
use http_body_util::BodyExt;

use super::error::ApiError;
use super::gate::{IngestGate, RETRY_AFTER_SECS, Reservation};
use crate::config::HttpConfig;

/// How large a body may be, as sent and once decoded.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) max_body: usize,
    pub(crate) max_decoded: usize,
}

impl Limits {
    pub(crate) fn of(http: &HttpConfig) -> Limits {
        Limits {
            max_body: http.max_body_size.as_usize(),
            max_decoded: http.max_decompressed_size.as_usize(),
        }
    }
}

/// A body read and decoded, with the share of the ingest budget it holds: keep `held` until
/// what the body carried is stored.
#[derive(Debug)]
pub(crate) struct Received {
    pub(crate) bytes: Bytes,
    #[allow(dead_code)] // held for its drop
    pub(crate) held: Reservation,
}

/// Why a body was not taken.
#[derive(Debug)]
enum Failure {
    /// Decoded, it would pass `max_decoded`.
    TooLarge,
    /// The budget shared by requests in flight has no room for it.
    Busy,
    /// Bad compressed data.
    Corrupt(String),
    /// Free disk space is under the floor (`min_free_disk`).
    DiskLow,
}

/// What a gzip or deflate decoder holds besides its output (miniz_oxide's window and tables,
/// flate2's buffer), rounded up; brotli's ring buffer, sized by the stream, is at most 16 MiB.
const DECODER_STATE: usize = 128 << 10;

/// The decoded body's buffer; each growth is covered by the budget first.
struct Sink {
    out: Vec<u8>,
    held: Reservation,
    max: usize,
    /// Held for the decoder's own state, on top of the buffer.
    reserved: usize,
    failure: Option<Failure>,
}

impl Sink {
    fn refuse(&mut self, failure: Failure) -> std::io::Error {
        self.failure = Some(failure);
        std::io::Error::other("refused")
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let need = self.out.len().saturating_add(buf.len());
        if need > self.max {
            return Err(self.refuse(Failure::TooLarge));
        }
        if need > self.out.capacity() {
            let old = self.out.capacity();
            let grown = need.max(old.saturating_mul(2)).max(64 << 10).min(self.max);
            // While the buffer moves, the old and the new one are both held.
            if !self.held.cover(self.reserved + old + grown) {
                return Err(self.refuse(Failure::Busy));
            }
            self.out.reserve_exact(grown - self.out.len());
            self.held.release_to(self.reserved + self.out.capacity());
        }
        self.out.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The decoder a `Content-Encoding` names, writing into a [`Sink`].
enum Decoder {
    Identity(Sink),
    Gzip(flate2::write::MultiGzDecoder<Sink>),
    Zlib(flate2::write::ZlibDecoder<Sink>),
    RawDeflate(flate2::write::DeflateDecoder<Sink>),
    Brotli(Box<brotli_decompressor::DecompressorWriter<Sink>>),
    /// `deflate` before its first two bytes say whether they are a zlib header.
    Deflate(Vec<u8>, Sink),
    /// Transient, while a `Deflate` becomes what it is.
    Taken,
}

impl Decoder {
    fn for_encoding(headers: &HeaderMap, sink: Sink) -> Result<Decoder, ApiError> {
        let encoding = headers
            .get(header::CONTENT_ENCODING)
            .map(|v| v.to_str().unwrap_or("?").trim().to_ascii_lowercase());
        Ok(match encoding.as_deref() {
            None | Some("" | "identity" | "utf-8") => Decoder::Identity(sink),
            Some("gzip" | "x-gzip") => Decoder::Gzip(flate2::write::MultiGzDecoder::new(sink)),
            Some("br") => Decoder::Brotli(Box::new(brotli_decompressor::DecompressorWriter::new(
                sink,
                64 << 10,
            ))),
            Some("deflate") => Decoder::Deflate(Vec::new(), sink),
            Some(other) => {
                return Err(ApiError::unsupported_media_type(format!(
                    "Content-Encoding `{other}` is not supported; send identity, gzip, deflate or br"
                )));
            }
        })
    }

    fn is_identity(&self) -> bool {
        matches!(self, Decoder::Identity(_))
    }

    fn sink(&mut self) -> Option<&mut Sink> {
        Some(match self {
            Decoder::Identity(s) | Decoder::Deflate(_, s) => s,
            Decoder::Gzip(d) => d.get_mut(),
            Decoder::Zlib(d) => d.get_mut(),
            Decoder::RawDeflate(d) => d.get_mut(),
            Decoder::Brotli(d) => d.get_mut(),
            Decoder::Taken => return None,
        })
    }

    /// The failure behind an I/O error: the sink's refusal, or bad data.
    fn failed(&mut self, name: &str, e: &std::io::Error) -> Failure {
        self.sink()
            .and_then(|s| s.failure.take())
            .unwrap_or_else(|| Failure::Corrupt(format!("the {name} body does not decode: {e}")))
    }

    fn feed(&mut self, chunk: &[u8]) -> Result<(), Failure> {
        let written = match self {
            Decoder::Identity(s) => s.write_all(chunk),
            Decoder::Gzip(d) => d.write_all(chunk),
            Decoder::Zlib(d) => d.write_all(chunk),
            Decoder::RawDeflate(d) => d.write_all(chunk),
            Decoder::Brotli(d) => d.write_all(chunk),
            Decoder::Deflate(head, _) => {
                head.extend_from_slice(chunk);
                if head.len() < 2 {
                    return Ok(());
                }
                let Decoder::Deflate(head, sink) = std::mem::replace(self, Decoder::Taken) else {
                    unreachable!("matched above")
                };
                // RFC 9110's deflate is zlib; some clients send raw deflate: a zlib header says
                // which.
                let zlib = head[0] & 0x0f == 8
                    && u16::from_be_bytes([head[0], head[1]]).is_multiple_of(31);
                *self = if zlib {
                    Decoder::Zlib(flate2::write::ZlibDecoder::new(sink))
                } else {
                    Decoder::RawDeflate(flate2::write::DeflateDecoder::new(sink))
                };
                return self.feed(&head);
            }
            Decoder::Taken => Ok(()),
        };
        written.map_err(|e| self.failed(self.name(), &e))
    }

    fn name(&self) -> &'static str {
        match self {
            Decoder::Identity(_) | Decoder::Taken => "identity",
            Decoder::Gzip(_) => "gzip",
            Decoder::Brotli(_) => "br",
            Decoder::Zlib(_) | Decoder::RawDeflate(_) | Decoder::Deflate(..) => "deflate",
        }
    }

    /// The whole decoded body, once the stream has ended.
    fn finish(self) -> Result<Sink, Failure> {
        let name = self.name();
        // The error, and the sink's own refusal if it was one.
        let finished: Result<Sink, (String, Option<Failure>)> = match self {
            Decoder::Identity(s) => Ok(s),
            Decoder::Gzip(mut d) => match d.try_finish() {
                Ok(()) => d.finish().map_err(|e| (e.to_string(), None)),
                Err(e) => Err((e.to_string(), d.get_mut().failure.take())),
            },
            Decoder::Zlib(mut d) => match d.try_finish() {
                Ok(()) => d.finish().map_err(|e| (e.to_string(), None)),
                Err(e) => Err((e.to_string(), d.get_mut().failure.take())),
            },
            Decoder::RawDeflate(mut d) => match d.try_finish() {
                Ok(()) => d.finish().map_err(|e| (e.to_string(), None)),
                Err(e) => Err((e.to_string(), d.get_mut().failure.take())),
            },
            Decoder::Brotli(mut d) => match d.close() {
                Ok(()) => d
                    .into_inner()
                    .map_err(|_| ("the stream is cut short".into(), None)),
                Err(e) => Err((e.to_string(), d.get_mut().failure.take())),
            },
            Decoder::Deflate(..) | Decoder::Taken => Err(("the stream is cut short".into(), None)),
        };
        finished.map_err(|(e, refusal)| {
            refusal.unwrap_or_else(|| {
                Failure::Corrupt(format!("the {name} body does not decode: {e}"))
            })
        })
    }
}

/// Reads and decodes an ingest body within `gate`'s budget. A `Content-Length` over
/// `max_body` is a 413 at once; an unknown encoding a 415; bad compressed data or a broken
/// upload a 400; a body that decodes past `max_decoded` a 413; no room in the budget a 429
/// with Retry-After; free disk under the floor a 507 with Retry-After (which each protocol's
/// route answers in its own shape). After a refusal the rest of the upload is read and dropped, so that the
/// sender reads the answer rather than a reset connection.
pub(crate) async fn receive(
    gate: &IngestGate,
    headers: &HeaderMap,
    mut body: Body,
    limits: Limits,
) -> Result<Received, ApiError> {
    let length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if length.is_some_and(|n| n > limits.max_body) {
        return Err(body_too_large(limits.max_body));
    }
    if gate.disk.is_low() {
        return Err(refuse(gate, Failure::DiskLow, body, limits).await);
    }
    // No body may need more than the whole budget, counting the old and the new buffer while
    // it grows: past half of it, a body is too large for this server.
    let limits = Limits {
        max_decoded: limits.max_decoded.min(gate.capacity() / 2),
        ..limits
    };
    let mut held = gate.reserve();
    // A body of a known length, sent as it is, is held whole at once.
    let identity_length = length.filter(|_| {
        headers
            .get(header::CONTENT_ENCODING)
            .is_none_or(|v| matches!(v.as_bytes(), b"" | b"identity"))
    });
    if let Some(n) = identity_length {
        if n > limits.max_decoded {
            return Err(refuse(gate, Failure::TooLarge, body, limits).await);
        }
        if !held.cover(n) {
            return Err(refuse(gate, Failure::Busy, body, limits).await);
        }
    }
    let encoded = identity_length.is_none()
        && headers
            .get(header::CONTENT_ENCODING)
            .is_some_and(|v| !matches!(v.as_bytes(), b"" | b"identity" | b"utf-8" | b"UTF-8"));
    // A decoder's own state (window, tables, buffers) is held too, before it is made: a
    // request refused for room costs next to nothing.
    if encoded && !held.cover(DECODER_STATE) {
        return Err(refuse(gate, Failure::Busy, body, limits).await);
    }
    let sink = Sink {
        out: Vec::with_capacity(identity_length.unwrap_or(0)),
        held,
        max: limits.max_decoded,
        reserved: if encoded { DECODER_STATE } else { 0 },
        failure: None,
    };
    let mut decoder = match Decoder::for_encoding(headers, sink) {
        Ok(d) => d,
        Err(e) => {
            drain(body, limits.max_body).await;
            return Err(e);
        }
    };
    let mut read = 0usize;
    while let Some(frame) = body.frame().await {
        let chunk = match frame {
            Ok(frame) => match frame.into_data() {
                Ok(chunk) => chunk,
                Err(_) => continue, // trailers
            },
            Err(e) => {
                return Err(ApiError::bad_request(format!(
                    "the request body could not be read: {e}"
                )));
            }
        };
        read += chunk.len();
        if read > limits.max_body {
            return Err(body_too_large(limits.max_body));
        }
        if let Err(failure) = feed(&mut decoder, &chunk).await {
            drop(decoder); // gives its share back before the drain
            return Err(refuse(gate, failure, body, limits).await);
        }
    }
    match decoder.finish() {
        Ok(sink) => Ok(Received {
            bytes: Bytes::from(sink.out),
            held: sink.held,
        }),
        Err(failure) => Err(refuse(gate, failure, Body::empty(), limits).await),
    }
}

/// Seconds a sender refused for low disk is asked to wait.
pub(crate) const DISK_RETRY_AFTER_SECS: u64 = 30;

/// Input a decoder takes between yields: at most a few MiB of output (deflate inflates at
/// most about a thousandfold), so a bomb never holds an async worker for long.
const STEP: usize = 4 << 10;

/// Feeds `chunk` to `decoder` in steps, yielding to other tasks between them. Inflating runs
/// on the async workers rather than a blocking pool: the buffers it grows are then freed by
/// the threads that made them, which the allocator gives back at once.
async fn feed(decoder: &mut Decoder, chunk: &[u8]) -> Result<(), Failure> {
    if decoder.is_identity() {
        return decoder.feed(chunk);
    }
    for (i, step) in chunk.chunks(STEP).enumerate() {
        if i > 0 {
            tokio::task::yield_now().await;
        }
        decoder.feed(step)?;
    }
    Ok(())
}

fn body_too_large(max: usize) -> ApiError {
    ApiError::payload_too_large(format!(
        "the body is larger than {max} bytes (http.max_body_size)"
    ))
}

/// The answer for `failure`, once the rest of `body` is read and dropped.
async fn refuse(gate: &IngestGate, failure: Failure, body: Body, limits: Limits) -> ApiError {
    drain(body, limits.max_body).await;
    match failure {
        Failure::TooLarge => ApiError::payload_too_large(format!(
            "the body decodes to more than {} bytes (http.max_decompressed_size, at most half \
             of http.max_inflight_ingest)",
            limits.max_decoded
        )),
        Failure::Busy => {
            gate.refused
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            ApiError::rate_limited(
                "too much is being received at once; retry shortly",
                RETRY_AFTER_SECS,
            )
        }
        Failure::Corrupt(message) => ApiError::bad_request(message),
        Failure::DiskLow => {
            gate.disk.refuse();
            ApiError::insufficient_storage(
                "the server's disk is below its free-space floor (min_free_disk); retry later",
                DISK_RETRY_AFTER_SECS,
            )
        }
    }
}

/// Reads what is left of `body`, up to `max` bytes, keeping none of it: before an answer that
/// refuses a request whose body was not read, so the sender reads the answer.
pub(crate) async fn drain(mut body: Body, max: usize) {
    let mut read = 0usize;
    while let Some(Ok(frame)) = body.frame().await {
        if let Ok(chunk) = frame.into_data() {
            read += chunk.len();
            if read > max {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use axum::http::HeaderValue;
    use model::ByteSize;

    use super::*;

    fn headers(encoding: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_ENCODING,
            HeaderValue::from_str(encoding).unwrap_or(HeaderValue::from_static("x")),
        );
        h
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).ok();
        e.finish().unwrap_or_default()
    }

    const ROOMY: Limits = Limits {
        max_body: 1 << 30,
        max_decoded: 10_000,
    };

    /// The body sent as `pieces` frames, as a slow sender's upload arrives.
    fn framed(data: Vec<u8>, pieces: usize) -> Body {
        let size = data.len().div_ceil(pieces.max(1)).max(1);
        let (mut tx, body) = http_body_util::channel::Channel::<Bytes, std::io::Error>::new(1);
        tokio::spawn(async move {
            for chunk in data.chunks(size) {
                if tx.send_data(Bytes::copy_from_slice(chunk)).await.is_err() {
                    return;
                }
            }
        });
        Body::new(body)
    }

    /// The decoded body, or the status of the refusal.
    async fn decode(
        gate: &IngestGate,
        h: &HeaderMap,
        data: Vec<u8>,
        limits: Limits,
    ) -> Result<Vec<u8>, u16> {
        receive(gate, h, framed(data, 7), limits)
            .await
            .map(|r| r.bytes.to_vec())
            .map_err(|e| e.status().as_u16())
    }

    /// The status of a refusal, or 200: what the assertions compare, never the bytes.
    async fn status(gate: &IngestGate, h: &HeaderMap, data: Vec<u8>, limits: Limits) -> u16 {
        decode(gate, h, data, limits)
            .await
            .map_or_else(|s| s, |_| 200)
    }

    #[tokio::test]
    async fn encodings_decode_within_the_cap() {
        let gate = IngestGate::new(ByteSize::mib(1), super::super::gate::no_floor());
        let data = b"{\"message\":\"hi\"}\n".repeat(100);
        let ok = |r: Result<Vec<u8>, u16>| r.ok();
        assert_eq!(
            ok(decode(&gate, &headers("gzip"), gzip(&data), ROOMY).await).as_deref(),
            Some(&data[..])
        );
        let mut two = gzip(&data[..900]);
        two.extend(gzip(&data[900..]));
        assert_eq!(
            ok(decode(&gate, &headers("x-gzip"), two, ROOMY).await).as_deref(),
            Some(&data[..]),
            "gzip members"
        );
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        z.write_all(&data).ok();
        let zlib = z.finish().unwrap_or_default();
        assert_eq!(
            ok(decode(&gate, &headers("deflate"), zlib, ROOMY).await).as_deref(),
            Some(&data[..])
        );
        let mut d = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
        d.write_all(&data).ok();
        let raw = d.finish().unwrap_or_default();
        assert_eq!(
            ok(decode(&gate, &headers("deflate"), raw, ROOMY).await).as_deref(),
            Some(&data[..])
        );
        let mut br = Vec::new();
        {
            let mut w = brotli::CompressorWriter::new(&mut br, 4096, 5, 22);
            w.write_all(&data).ok();
        }
        assert_eq!(
            ok(decode(&gate, &headers("br"), br.clone(), ROOMY).await).as_deref(),
            Some(&data[..])
        );
        assert_eq!(
            ok(decode(&gate, &headers("UTF-8"), b"x".to_vec(), ROOMY).await).as_deref(),
            Some(&b"x"[..])
        );
        assert_eq!(
            ok(decode(&gate, &HeaderMap::new(), data.clone(), ROOMY).await).as_deref(),
            Some(&data[..])
        );

        let small = Limits {
            max_body: 1 << 30,
            max_decoded: 100,
        };
        assert_eq!(status(&gate, &headers("br"), br.clone(), small).await, 413);
        assert_eq!(
            status(&gate, &headers("br"), br[..br.len() / 2].to_vec(), ROOMY).await,
            400,
            "cut short"
        );
        assert_eq!(
            status(
                &gate,
                &headers("br"),
                b"\xff\xfe not brotli".to_vec(),
                ROOMY
            )
            .await,
            400
        );
        assert_eq!(
            status(&gate, &headers("gzip"), gzip(&data), small).await,
            413
        );
        assert_eq!(
            status(&gate, &headers("gzip"), b"not gzip".to_vec(), ROOMY).await,
            400
        );
        let g = gzip(&data);
        assert_eq!(
            status(&gate, &headers("gzip"), g[..g.len() - 4].to_vec(), ROOMY).await,
            400,
            "no checksum"
        );
        assert_eq!(
            status(&gate, &headers("zstd"), b"x".to_vec(), ROOMY).await,
            415
        );
        assert_eq!(
            status(&gate, &HeaderMap::new(), data.clone(), small).await,
            413,
            "identity is capped too"
        );
        let tight = Limits {
            max_body: 20,
            max_decoded: 1 << 20,
        };
        assert_eq!(
            status(&gate, &headers("gzip"), gzip(&data), tight).await,
            413,
            "the upload itself"
        );
        assert_eq!(gate.capacity(), 1 << 20);
        assert!(
            gate.try_enter(1 << 20).is_some(),
            "every refusal gave its share back"
        );
    }

    #[tokio::test]
    async fn a_bomb_stops_at_the_cap_or_the_budget_not_at_its_size() {
        let bomb = gzip(&vec![0u8; 50 << 20]);
        let gate = IngestGate::new(ByteSize::mib(64), super::super::gate::no_floor());
        let capped = Limits {
            max_body: 1 << 30,
            max_decoded: 1 << 20,
        };
        assert_eq!(
            status(&gate, &headers("gzip"), bomb.clone(), capped).await,
            413
        );
        // Under a cap of 64 MiB, a budget of 4 MiB is the bound: more is too large here.
        let gate = IngestGate::new(ByteSize::mib(4), super::super::gate::no_floor());
        let roomy = Limits {
            max_body: 1 << 30,
            max_decoded: 64 << 20,
        };
        assert_eq!(
            status(&gate, &headers("gzip"), bomb.clone(), roomy).await,
            413
        );
        // While other requests hold most of the budget, it stops at what is left: a 429.
        let held = gate.try_enter(3 << 20);
        assert_eq!(
            status(&gate, &headers("gzip"), bomb.clone(), roomy).await,
            429
        );
        assert_eq!(gate.refused.load(std::sync::atomic::Ordering::Relaxed), 1);
        drop(held);
        // And while the whole budget is held, even a small body waits its turn.
        let held = gate.try_enter(4 << 20);
        assert_eq!(
            status(&gate, &HeaderMap::new(), b"{}".to_vec(), roomy).await,
            429
        );
        drop(held);
        assert_eq!(
            decode(&gate, &HeaderMap::new(), b"{}".to_vec(), roomy)
                .await
                .ok()
                .as_deref(),
            Some(&b"{}"[..])
        );
    }

    #[tokio::test]
    async fn what_a_body_holds_is_held_until_it_is_dropped() {
        let gate = IngestGate::new(ByteSize::kib(256), super::super::gate::no_floor());
        let data = vec![b'x'; 100 << 10];
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(data.len()));
        let got = receive(&gate, &h, Body::from(data.clone()), ROOMY_BIG)
            .await
            .map_err(|e| e.status());
        let got = got.ok().filter(|r| r.bytes.len() == data.len());
        assert!(got.is_some());
        assert!(
            gate.try_enter(200 << 10).is_none(),
            "100 KiB of 256 are held"
        );
        drop(got);
        assert!(gate.try_enter(256 << 10).is_some());
        // A declared length over the limit is refused before a byte is read.
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(2usize << 30));
        let refused = receive(&gate, &h, Body::empty(), ROOMY_BIG).await;
        assert_eq!(refused.err().map(|e| e.status().as_u16()), Some(413));
    }

    const ROOMY_BIG: Limits = Limits {
        max_body: 1 << 30,
        max_decoded: 1 << 30,
    };
}
