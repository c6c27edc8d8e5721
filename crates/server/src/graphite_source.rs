//! The metric store as the Graphite engine's [`graphite::eval::Source`] and
//! [`graphite::catalog::Catalog`].
//!
//! The store offers primitives (its path tree one branch at a time, its tag index); what a
//! pattern or a tag expression means is the `graphite` crate's. A path fetch resolves the
//! pattern through the catalog, plans where each series would be read (so the render is
//! charged before it reads), then reads each one with whisper's fetch semantics.

use std::time::Instant;

use graphite::catalog::{self, Catalog, Node, SeriesKey};
use graphite::eval::{Planned, Source, SourceError, SourceErrorKind};
use graphite::glob::PathPattern;
use graphite::tagexpr::TagExpr;
use tsdb::{PathEntry, SeriesId, Tsdb};

#[derive(Debug, Clone)]
pub struct TsdbSource {
    tsdb: Tsdb,
    deadline: Option<Instant>,
}

/// A store error as the Graphite engine sees it: shut down is "unavailable", anything else a
/// failure of the store.
fn store_error(name: &str, e: &tsdb::Error) -> SourceError {
    let kind = match e {
        tsdb::Error::Closed => SourceErrorKind::Unavailable,
        _ => SourceErrorKind::Failed,
    };
    SourceError::new(kind, format!("reading `{name}`: {e}"))
}

impl TsdbSource {
    pub fn new(tsdb: Tsdb) -> TsdbSource {
        TsdbSource {
            tsdb,
            deadline: None,
        }
    }

    /// Stops reading (with an error) once `deadline` passes, so a render the HTTP layer has
    /// already timed out does not keep a blocking thread busy.
    pub fn with_deadline(mut self, deadline: Instant) -> TsdbSource {
        self.deadline = Some(deadline);
        self
    }

    /// Where each found series would be read, in the order given.
    fn plan(&self, ids: Vec<(SeriesKey, String)>, from: i64, until: i64) -> Vec<Planned> {
        let just_ids: Vec<SeriesId> = ids.iter().map(|(key, _)| series_id(*key)).collect();
        let windows = self.tsdb.plan_reads(&just_ids, from, until);
        ids.into_iter()
            .zip(windows)
            .filter_map(|((id, name), w)| {
                let w = w?;
                Some(Planned {
                    name,
                    key: id,
                    tier: u32::try_from(w.tier).unwrap_or(u32::MAX),
                    start: w.start,
                    end: w.end,
                    step: w.step,
                })
            })
            .collect()
    }
}

impl Source for TsdbSource {
    fn find(&self, pattern: &str, from: i64, until: i64) -> Result<Vec<Planned>, SourceError> {
        // A tagged series named outright (`disk.used;dc=east;server=web1`): that one series,
        // as graphite-web finds it, by its exact name (tags in another order find nothing there
        // either).
        if pattern.contains(';') {
            let found = self.lookup(pattern);
            let ids = found
                .map(|key| (key, pattern.to_owned()))
                .into_iter()
                .collect();
            return Ok(self.plan(ids, from, until));
        }
        let compiled = PathPattern::parse(pattern).map_err(|e| {
            SourceError::new(
                SourceErrorKind::Invalid,
                format!("invalid path `{pattern}`: {e}"),
            )
        })?;
        Ok(self.plan(catalog::matching(self, &compiled), from, until))
    }

    fn find_tagged(
        &self,
        exprs: &[TagExpr],
        from: i64,
        until: i64,
    ) -> Result<Vec<Planned>, SourceError> {
        Ok(self.plan(catalog::find_tagged(self, exprs), from, until))
    }

    fn read(&self, planned: &Planned) -> Result<Vec<f64>, SourceError> {
        if self.deadline.is_some_and(|d| Instant::now() > d) {
            return Err(SourceError::new(
                SourceErrorKind::Deadline,
                "the request ran out of time reading series; narrow the targets or the range",
            ));
        }
        let id = series_id(planned.key);
        let window = tsdb::ReadWindow {
            tier: planned.tier as usize,
            start: planned.start,
            end: planned.end,
            step: planned.step,
        };
        self.tsdb
            .read_window(id, &window)
            .map_err(|e| store_error(&planned.name, &e))
    }
}

/// A catalog key as the store's id; keys the store never gave out find nothing.
fn series_id(key: SeriesKey) -> SeriesId {
    SeriesId::try_from(key).unwrap_or(SeriesId::MAX)
}

fn node(entry: PathEntry) -> Node {
    Node {
        leaf: entry.leaf.map(SeriesKey::from),
        has_children: entry.has_children,
    }
}

fn keys(ids: Vec<SeriesId>) -> Vec<SeriesKey> {
    ids.into_iter().map(SeriesKey::from).collect()
}

impl Catalog for TsdbSource {
    fn node(&self, path: &str) -> Option<Node> {
        self.tsdb.path_node(path).map(node)
    }

    fn children(&self, path: &str, visit: &mut dyn FnMut(&str, Node)) {
        self.tsdb
            .path_children(path, &mut |name, entry| visit(name, node(entry)));
    }

    fn lookup(&self, name: &str) -> Option<SeriesKey> {
        self.tsdb.series_id(name).map(SeriesKey::from)
    }

    fn visit_names(&self, keys: &[SeriesKey], visit: &mut dyn FnMut(SeriesKey, &str)) {
        let ids: Vec<SeriesId> = keys.iter().map(|&k| series_id(k)).collect();
        self.tsdb
            .visit_names(&ids, &mut |id, name| visit(SeriesKey::from(id), name));
    }

    fn names(&self) -> Vec<String> {
        self.tsdb.series_names()
    }

    fn tag_keys(&self) -> Vec<String> {
        let keys = self.tsdb.tag_keys().into_iter();
        keys.map(|k| k.to_string()).collect()
    }

    fn tag_values(&self, tag: &str) -> Vec<(String, usize)> {
        let values = self.tsdb.tag_values(tag).into_iter();
        values.map(|(v, n)| (v.to_string(), n)).collect()
    }

    fn tagged(&self, tag: &str, value: &str) -> Vec<SeriesKey> {
        keys(self.tsdb.tagged(tag, value))
    }

    fn tagged_where(&self, tag: &str, keep: &mut dyn FnMut(&str) -> bool) -> Vec<SeriesKey> {
        keys(self.tsdb.tagged_where(tag, keep))
    }
}
