//! Query strings on Sightline's own API: strict, so a typo is an error and not a default.
//!
//! [`ApiQuery<T>`] reads the query string into `T` (a `#[derive(Deserialize)]` struct) and
//! refuses, with 400 in our error shape, any parameter `T` does not name: the message names the
//! closest known one (`unknown parameter `limt`; did you mean `limit`?`). A value that does not
//! parse names its parameter (`invalid `limit`: invalid digit found in string`), and a missing
//! one says so. Routes that take no parameters extract [`NoQuery`], so they refuse them too.
//!
//! The names come from `T` itself: serde hands every derived struct's field list to
//! `Deserializer::deserialize_struct`, which [`field_names`] captures. So there is no second
//! list to keep in step with the struct.
//!
//! The Graphite API stays as lenient as graphite-web (Grafana and scripts send parameters it
//! ignores) and the Elasticsearch and Sentry surfaces take what their clients send; neither uses
//! this.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Visitor};

use super::error::ApiError;

/// A query string read strictly into `T`.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

/// No parameters at all.
#[derive(Debug, Deserialize)]
pub struct NoParams {}

/// The query string of a route that takes no parameters: any is refused.
pub type NoQuery = ApiQuery<NoParams>;

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parse(parts.uri.query().unwrap_or("")).map(ApiQuery)
    }
}

/// Reads `query` into `T`, refusing names `T` does not have.
pub fn parse<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let known = field_names::<T>();
    for (key, _) in form_urlencoded::parse(query.as_bytes()) {
        if !known.contains(&key.as_ref()) {
            return Err(unknown(&key, known));
        }
    }
    let deserializer =
        serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        let message = match inner.strip_prefix("missing field ") {
            Some(name) => format!("missing parameter {name}"),
            None if path != "." => format!("invalid `{path}`: {inner}"),
            None => format!("invalid parameters: {inner}"),
        };
        ApiError::bad_request(message.replace("field", "parameter"))
    })
}

fn unknown(key: &str, known: &[&str]) -> ApiError {
    let takes = if known.is_empty() {
        "this route takes no parameters".to_owned()
    } else {
        format!("this route takes {}", known.join(", "))
    };
    ApiError::bad_request_with_code(
        "unknown_parameter",
        format!(
            "unknown parameter `{key}`{} ({takes})",
            model::suggest::did_you_mean(key, known.iter().copied())
        ),
    )
}

/// The field names a derived `Deserialize` struct asks for.
pub fn field_names<T: DeserializeOwned>() -> &'static [&'static str] {
    let mut names: &'static [&'static str] = &[];
    let _ = T::deserialize(Capture(&mut names));
    names
}

/// A deserializer that records the field list of the struct asked of it, then stops.
struct Capture<'a>(&'a mut &'static [&'static str]);

impl<'de> de::Deserializer<'de> for Capture<'_> {
    type Error = de::value::Error;

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Self::Error> {
        *self.0 = fields;
        Err(de::Error::custom("field names captured"))
    }

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("not a struct"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Search {
        q: Option<String>,
        limit: Option<usize>,
        name: Option<String>,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Named {
        name: String,
    }

    fn message<T: DeserializeOwned + std::fmt::Debug>(query: &str) -> String {
        parse::<T>(query).unwrap_err().message().to_owned()
    }

    #[test]
    fn names_come_from_the_struct() {
        assert_eq!(field_names::<Search>(), ["q", "limit", "name"]);
        assert!(field_names::<NoParams>().is_empty());
    }

    #[test]
    fn typos_and_bad_values_are_named() {
        assert!(parse::<Search>("q=a&limit=5").is_ok());
        assert!(parse::<Search>("").is_ok());
        assert_eq!(
            message::<Search>("qq=a"),
            "unknown parameter `qq`; did you mean `q`? (this route takes q, limit, name)"
        );
        assert!(message::<Search>("limt=5").contains("did you mean `limit`?"));
        assert_eq!(
            message::<Search>("limit=five"),
            "invalid `limit`: invalid digit found in string"
        );
        assert_eq!(message::<Named>(""), "missing parameter `name`");
        assert_eq!(
            message::<NoParams>("x=1"),
            "unknown parameter `x` (this route takes no parameters)"
        );
    }
}
