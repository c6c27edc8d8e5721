//! The metric store as the Graphite engine's [`graphite::eval::Source`], and the index lookups
//! the find and tags endpoints make.
//!
//! A path fetch resolves the pattern in the series index (sorted by name), releases the index,
//! then reads each series with whisper's fetch semantics. A tag query starts from the most
//! selective expression an empty value fails (an exact `tag=value` when there is one, otherwise
//! the values of one tag matched against its regex), then checks every candidate's parsed tags
//! against all the expressions.

use std::time::Instant;

use graphite::eval::{Fetched, Source};
use graphite::series::tags_of;
use graphite::tagexpr::{Op, TagExpr};
use tsdb::Tsdb;
use tsdb::glob::PathPattern;
use tsdb::index::{SeriesId, SeriesIndex};

#[derive(Debug, Clone)]
pub struct TsdbSource {
    tsdb: Tsdb,
    deadline: Option<Instant>,
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

    fn read(
        &self,
        ids: Vec<(SeriesId, String)>,
        from: i64,
        until: i64,
    ) -> Result<Vec<Fetched>, String> {
        // Decoding dominates a wide render, so large fetches are split across the cores; the
        // store's locks are read locks, and the order of `ids` is kept.
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(8);
        if threads <= 1 || ids.len() < 64 {
            return self.read_serial(ids, from, until);
        }
        let per = ids.len().div_ceil(threads);
        let mut parts: Vec<Vec<(SeriesId, String)>> = Vec::new();
        let mut ids = ids.into_iter().peekable();
        while ids.peek().is_some() {
            parts.push(ids.by_ref().take(per).collect());
        }
        let results: Vec<Result<Vec<Fetched>, String>> = std::thread::scope(|scope| {
            let handles: Vec<_> = parts
                .into_iter()
                .map(|part| scope.spawn(move || self.read_serial(part, from, until)))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err("a read thread failed".into()))
                })
                .collect()
        });
        let mut out = Vec::new();
        for r in results {
            out.extend(r?);
        }
        Ok(out)
    }

    fn read_serial(
        &self,
        ids: Vec<(SeriesId, String)>,
        from: i64,
        until: i64,
    ) -> Result<Vec<Fetched>, String> {
        let mut out = Vec::with_capacity(ids.len());
        for (id, name) in ids {
            if self.deadline.is_some_and(|d| Instant::now() > d) {
                return Err(
                    "the request ran out of time reading series; narrow the targets or the range"
                        .into(),
                );
            }
            let fetched = self
                .tsdb
                .fetch_id_nan(id, from, until)
                .map_err(|e| format!("reading `{name}`: {e}"))?;
            if let Some(f) = fetched {
                out.push(Fetched {
                    name,
                    start: f.start,
                    end: f.end,
                    step: f.step,
                    values: f.values,
                });
            }
        }
        Ok(out)
    }
}

impl Source for TsdbSource {
    fn fetch(&self, pattern: &str, from: i64, until: i64) -> Result<Vec<Fetched>, String> {
        // A tagged series named outright (`disk.used;dc=east;server=web1`): that one series,
        // as graphite-web finds it, by its exact name (tags in another order find nothing there
        // either).
        if pattern.contains(';') {
            let found = self.tsdb.index().get(pattern);
            let ids = found
                .map(|id| (id, pattern.to_owned()))
                .into_iter()
                .collect();
            return self.read(ids, from, until);
        }
        let compiled =
            PathPattern::parse(pattern).map_err(|e| format!("invalid path `{pattern}`: {e}"))?;
        let ids: Vec<(SeriesId, String)> = self
            .tsdb
            .index()
            .matching(&compiled)
            .into_iter()
            .map(|(id, name)| (id, name.to_string()))
            .collect();
        self.read(ids, from, until)
    }

    fn fetch_tagged(
        &self,
        exprs: &[TagExpr],
        from: i64,
        until: i64,
    ) -> Result<Vec<Fetched>, String> {
        let ids = {
            let index = self.tsdb.index();
            find_tagged(&index, exprs)
        };
        self.read(ids, from, until)
    }
}

/// The tagged series matching every expression, sorted by name.
pub fn find_tagged(index: &SeriesIndex, exprs: &[TagExpr]) -> Vec<(SeriesId, String)> {
    let Some(seed) = exprs
        .iter()
        .filter(|e| !e.matches_missing())
        .min_by_key(|e| match e.op {
            Op::Eq => 0,
            Op::Match => 1,
            Op::NotEq | Op::NotMatch => 2,
        })
    else {
        return Vec::new();
    };
    let mut candidates: Vec<SeriesId> = match seed.op {
        Op::Eq => index.with_tag(&seed.tag, &seed.value).to_vec(),
        _ => index
            .tag_entries(&seed.tag)
            .filter(|(value, _)| seed.matches_value(value))
            .flat_map(|(_, ids)| ids.iter().copied())
            .collect(),
    };
    candidates.sort_unstable();
    candidates.dedup();
    let mut out: Vec<(SeriesId, String)> = candidates
        .into_iter()
        .filter_map(|id| {
            let name = index.name(id)?;
            let tags = tags_of(name);
            exprs
                .iter()
                .all(|e| e.matches(&tags))
                .then(|| (id, name.to_string()))
        })
        .collect();
    out.sort_by(|a, b| a.1.cmp(&b.1));
    out
}
