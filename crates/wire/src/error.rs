//! The one error type of the codecs: why a record was refused.

use crate::graphite_name::NameError;

/// Why one record (a line, a pickled element, a statsd metric) was refused. Its text quotes
/// at most a short prefix of the offending input, so a hostile line cannot flood the log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    #[error("empty line")]
    Empty,
    #[error("not valid UTF-8")]
    Utf8,
    #[error("expected `path value [timestamp]`, found {0} fields")]
    FieldCount(usize),
    #[error("value `{0}` is not a number")]
    BadValue(String),
    #[error("value is NaN")]
    NotANumber,
    #[error("timestamp `{0}` is not a number")]
    BadTimestamp(String),
    #[error(transparent)]
    Name(#[from] NameError),
    #[error("bad pickle: {0}")]
    Pickle(String),
    #[error("bad statsd line: {0}")]
    Statsd(String),
    #[error("bad JSON: {0}")]
    Json(String),
    #[error("{0}")]
    Sentry(String),
}

impl ParseError {
    /// A short, stable reason for counters and rate-limited logs.
    pub fn reason(&self) -> &'static str {
        match self {
            ParseError::Empty => "empty",
            ParseError::Utf8 => "utf8",
            ParseError::FieldCount(_) => "field_count",
            ParseError::BadValue(_) => "bad_value",
            ParseError::NotANumber => "nan",
            ParseError::BadTimestamp(_) => "bad_timestamp",
            ParseError::Name(_) => "bad_name",
            ParseError::Pickle(_) => "bad_pickle",
            ParseError::Statsd(_) => "bad_statsd",
            ParseError::Json(_) => "bad_json",
            ParseError::Sentry(_) => "bad_envelope",
        }
    }
}

/// At most 64 characters of `text`, for quoting in an error.
pub(crate) fn snippet(text: &str) -> String {
    match text.char_indices().nth(64) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}
