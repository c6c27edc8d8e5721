//! The Elasticsearch `_bulk` body: NDJSON where each action line (`index`, `create`, `update`,
//! `delete`, each naming its `_index` and `_id` or not) is followed by its document, except
//! `delete`, which has none. Blank lines are skipped.
//!
//! The body as a whole is refused only when Elasticsearch refuses it whole: an action line that
//! is not JSON (`x_content_parse_exception`), one that does not name exactly one action, or an
//! unknown action (`illegal_argument_exception`). Anything else is an answer per item, in
//! order: a document that is not a JSON object, or missing, is that item's 400; `update` and
//! `delete` are refused per item, since events are appended.

use serde_json::{Map, Value};

/// What an action line asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Index,
    Create,
    Update,
    Delete,
}

impl Action {
    fn parse(name: &str) -> Option<Action> {
        Some(match name {
            "index" => Action::Index,
            "create" => Action::Create,
            "update" => Action::Update,
            "delete" => Action::Delete,
            _ => return None,
        })
    }

    /// The name the answer's item is keyed by.
    pub fn name(self) -> &'static str {
        match self {
            Action::Index => "index",
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
        }
    }
}

/// One item's failure, as Elasticsearch answers it in the item: a status and an error type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemError {
    pub status: u16,
    pub kind: &'static str,
    pub reason: String,
}

impl ItemError {
    fn bad_request(kind: &'static str, reason: impl Into<String>) -> ItemError {
        ItemError {
            status: 400,
            kind,
            reason: reason.into(),
        }
    }
}

/// One action and its document.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkItem {
    pub action: Action,
    /// The action's `_index`, or the request's default.
    pub index: String,
    /// The action's `_id` (a string, or a number written as one).
    pub id: Option<String>,
    /// The document to store (`index` and `create`), or why this item is refused.
    pub document: Result<Map<String, Value>, ItemError>,
}

/// Why a whole body is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BulkError {
    /// An action line is not JSON.
    BadActionLine(String),
    /// An action line is not an object with one key.
    NotOneAction,
    /// An action Elasticsearch does not have.
    UnknownAction(String),
}

impl BulkError {
    /// Elasticsearch's error type for it.
    pub fn kind(&self) -> &'static str {
        match self {
            BulkError::BadActionLine(_) => "x_content_parse_exception",
            BulkError::NotOneAction | BulkError::UnknownAction(_) => "illegal_argument_exception",
        }
    }
}

impl std::fmt::Display for BulkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BulkError::BadActionLine(e) => write!(f, "bad action line: {e}"),
            BulkError::NotOneAction => f.write_str("an action line must name one action"),
            BulkError::UnknownAction(name) => {
                write!(f, "unknown action [{}]", crate::error::snippet(name))
            }
        }
    }
}

impl std::error::Error for BulkError {}

/// Every item of a bulk body, in order; `default_index` where an action names none.
pub fn parse(body: &[u8], default_index: &str) -> Result<Vec<BulkItem>, BulkError> {
    let mut items = Vec::new();
    let mut lines = body
        .split(|b| *b == b'\n')
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace));
    while let Some(action_line) = lines.next() {
        let line: Value = serde_json::from_slice(action_line)
            .map_err(|e| BulkError::BadActionLine(e.to_string()))?;
        let Some((name, meta)) = line
            .as_object()
            .filter(|o| o.len() == 1)
            .and_then(|o| o.iter().next())
        else {
            return Err(BulkError::NotOneAction);
        };
        let action = Action::parse(name).ok_or_else(|| BulkError::UnknownAction(name.clone()))?;
        let index = meta
            .get("_index")
            .and_then(Value::as_str)
            .unwrap_or(default_index)
            .to_owned();
        let id = meta.get("_id").and_then(|v| {
            v.as_str()
                .map(str::to_owned)
                .or_else(|| v.as_u64().map(|n| n.to_string()))
        });
        let document = match action {
            Action::Index | Action::Create => match lines.next().map(serde_json::from_slice) {
                Some(Ok(Value::Object(obj))) => Ok(obj),
                Some(Ok(_)) => Err(ItemError::bad_request(
                    "document_parsing_exception",
                    "the document is not a JSON object",
                )),
                Some(Err(e)) => Err(ItemError::bad_request(
                    "document_parsing_exception",
                    format!("failed to parse the document: {e}"),
                )),
                None => Err(ItemError::bad_request(
                    "action_request_validation_exception",
                    "the action has no document",
                )),
            },
            Action::Update => {
                let _ = lines.next();
                Err(ItemError::bad_request(
                    "illegal_argument_exception",
                    "events are appended: update is not supported",
                ))
            }
            Action::Delete => Err(ItemError::bad_request(
                "illegal_argument_exception",
                "events are appended: delete is not supported",
            )),
        };
        items.push(BulkItem {
            action,
            index,
            id,
            document,
        });
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_pair_with_their_documents() {
        let body = b"{\"index\":{\"_index\":\"web\",\"_id\":7}}\n{\"msg\":\"a\"}\n\n{\"create\":{}}\n{\"msg\":\"b\"}\n{\"delete\":{\"_id\":\"x\"}}\n{\"update\":{\"_id\":\"y\"}}\n{\"doc\":{}}\n{\"index\":{}}\n[1]\n{\"index\":{}}\n";
        let items = parse(body, "default").unwrap();
        assert_eq!(items.len(), 6);
        assert_eq!(items[0].action, Action::Index);
        assert_eq!(items[0].index, "web");
        assert_eq!(items[0].id.as_deref(), Some("7"));
        assert_eq!(items[0].document.as_ref().unwrap()["msg"], "a");
        assert_eq!(items[1].action, Action::Create);
        assert_eq!(items[1].index, "default");
        assert!(items[1].document.is_ok());
        assert_eq!(items[2].action, Action::Delete);
        assert_eq!(items[2].document.as_ref().unwrap_err().status, 400);
        assert_eq!(items[3].action, Action::Update);
        assert!(
            items[3]
                .document
                .as_ref()
                .unwrap_err()
                .reason
                .contains("update")
        );
        assert_eq!(
            items[4].document.as_ref().unwrap_err().kind,
            "document_parsing_exception"
        );
        assert_eq!(
            items[5].document.as_ref().unwrap_err().kind,
            "action_request_validation_exception"
        );
    }

    #[test]
    fn a_bad_action_line_refuses_the_body() {
        assert_eq!(
            parse(b"{\"index\":{}}\n{}\nnot json\n", "d")
                .unwrap_err()
                .kind(),
            "x_content_parse_exception"
        );
        assert_eq!(
            parse(b"{\"index\":{},\"create\":{}}\n", "d").unwrap_err(),
            BulkError::NotOneAction
        );
        assert_eq!(
            parse(b"{\"upsert\":{}}\n{}\n", "d")
                .unwrap_err()
                .to_string(),
            "unknown action [upsert]"
        );
    }
}
