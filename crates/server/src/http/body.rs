//! Request bodies as senders compress them: `Content-Encoding` identity, gzip (or x-gzip),
//! deflate (zlib-wrapped, or raw as some clients send it) and br (sentry-sdk for Python's
//! default when the brotli module is installed), decoded with a size cap. An empty encoding
//! and `UTF-8` (sent by some old Sentry SDKs) are identity.

use std::io::Read;

use axum::body::Bytes;
use axum::http::{HeaderMap, header};

use super::error::ApiError;

/// The body, decoded. Bad compressed data is a 400, an unknown encoding a 415, and a body that
/// decodes to more than `max` bytes a 413.
pub(crate) fn decoded(headers: &HeaderMap, body: Bytes, max: usize) -> Result<Bytes, ApiError> {
    let Some(encoding) = headers
        .get(header::CONTENT_ENCODING)
        .map(|v| v.to_str().unwrap_or("?").trim().to_ascii_lowercase())
    else {
        return Ok(body);
    };
    match encoding.as_str() {
        "" | "identity" | "utf-8" => Ok(body),
        "br" => read_capped(
            brotli_decompressor::Decompressor::new(&body[..], 64 << 10),
            max,
            "br",
        ),
        "gzip" | "x-gzip" => read_capped(flate2::read::MultiGzDecoder::new(&body[..]), max, "gzip"),
        "deflate" => {
            // RFC 9110's deflate is zlib; some clients send raw deflate: a zlib header says which.
            let zlib = body.len() >= 2
                && body[0] & 0x0f == 8
                && u16::from_be_bytes([body[0], body[1]]).is_multiple_of(31);
            if zlib {
                read_capped(flate2::read::ZlibDecoder::new(&body[..]), max, "deflate")
            } else {
                read_capped(flate2::read::DeflateDecoder::new(&body[..]), max, "deflate")
            }
        }
        other => Err(ApiError::unsupported_media_type(format!(
            "Content-Encoding `{other}` is not supported; send identity, gzip, deflate or br"
        ))),
    }
}

fn read_capped(reader: impl Read, max: usize, name: &str) -> Result<Bytes, ApiError> {
    let mut out = Vec::new();
    let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    reader
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|e| ApiError::bad_request(format!("the {name} body does not decode: {e}")))?;
    if out.len() > max {
        return Err(ApiError::payload_too_large(format!(
            "the body decodes to more than {max} bytes (http.max_decompressed_size)"
        )));
    }
    Ok(Bytes::from(out))
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use axum::http::HeaderValue;

    use super::*;

    fn headers(encoding: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_ENCODING,
            HeaderValue::from_str(encoding).unwrap_or(HeaderValue::from_static("x")),
        );
        h
    }

    fn gzip(data: &[u8]) -> Bytes {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).ok();
        Bytes::from(e.finish().unwrap_or_default())
    }

    #[test]
    fn encodings_decode_within_the_cap() {
        let data = b"{\"message\":\"hi\"}\n".repeat(100);
        assert_eq!(
            decoded(&headers("gzip"), gzip(&data), 10_000)
                .ok()
                .as_deref(),
            Some(&data[..])
        );
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        z.write_all(&data).ok();
        let zlib = Bytes::from(z.finish().unwrap_or_default());
        assert_eq!(
            decoded(&headers("deflate"), zlib, 10_000).ok().as_deref(),
            Some(&data[..])
        );
        let mut d = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
        d.write_all(&data).ok();
        let raw = Bytes::from(d.finish().unwrap_or_default());
        assert_eq!(
            decoded(&headers("deflate"), raw, 10_000).ok().as_deref(),
            Some(&data[..])
        );

        let mut br = Vec::new();
        {
            let mut w = brotli::CompressorWriter::new(&mut br, 4096, 5, 22);
            w.write_all(&data).ok();
        }
        assert_eq!(
            decoded(&headers("br"), Bytes::from(br.clone()), 10_000)
                .ok()
                .as_deref(),
            Some(&data[..])
        );
        assert_eq!(
            decoded(&headers("UTF-8"), Bytes::from_static(b"x"), 10)
                .ok()
                .as_deref(),
            Some(&b"x"[..])
        );

        let status = |r: Result<Bytes, ApiError>| r.err().map(|e| e.status().as_u16());
        assert_eq!(
            status(decoded(&headers("br"), Bytes::from(br), 100)),
            Some(413)
        );
        assert_eq!(
            status(decoded(
                &headers("br"),
                Bytes::from_static(b"\xff\xfe not brotli"),
                100
            )),
            Some(400)
        );
        assert_eq!(
            status(decoded(&headers("gzip"), gzip(&data), 100)),
            Some(413)
        );
        assert_eq!(
            status(decoded(
                &headers("gzip"),
                Bytes::from_static(b"not gzip"),
                100
            )),
            Some(400)
        );
        assert_eq!(
            status(decoded(&headers("zstd"), Bytes::from_static(b"x"), 100)),
            Some(415)
        );
        // A gzip bomb stops at the cap, not at its full size.
        let bomb = gzip(&vec![0u8; 50 << 20]);
        assert_eq!(status(decoded(&headers("gzip"), bomb, 1 << 20)), Some(413));
    }
}
