//! The metric store as the Graphite engine's [`graphite::eval::Source`], and the index lookups
//! the find and tags endpoints make.
//!
//! A path fetch resolves the pattern in the series index (sorted by name), releases the index,
//! then reads each series with whisper's fetch semantics. A tag query starts from the most
//! selective expression an empty value fails (an exact `tag=value` when there is one, otherwise
//! the values of one tag matched against its regex), then checks every candidate's parsed tags
//! against all the expressions.

use std::time::Instant;

use graphite::eval::{Planned, Source, SourceError, SourceErrorKind};
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
    fn plan(&self, ids: Vec<(SeriesId, String)>, from: i64, until: i64) -> Vec<Planned> {
        let just_ids: Vec<SeriesId> = ids.iter().map(|(id, _)| *id).collect();
        let windows = self.tsdb.plan_reads(&just_ids, from, until);
        ids.into_iter()
            .zip(windows)
            .filter_map(|((id, name), w)| {
                let w = w?;
                Some(Planned {
                    name,
                    key: u64::from(id),
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
            let found = self.tsdb.index().get(pattern);
            let ids = found
                .map(|id| (id, pattern.to_owned()))
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
        let ids: Vec<(SeriesId, String)> = self
            .tsdb
            .index()
            .matching(&compiled)
            .into_iter()
            .map(|(id, name)| (id, name.to_string()))
            .collect();
        Ok(self.plan(ids, from, until))
    }

    fn find_tagged(
        &self,
        exprs: &[TagExpr],
        from: i64,
        until: i64,
    ) -> Result<Vec<Planned>, SourceError> {
        let ids = {
            let index = self.tsdb.index();
            find_tagged(&index, exprs)
        };
        Ok(self.plan(ids, from, until))
    }

    fn read(&self, planned: &Planned) -> Result<Vec<f64>, SourceError> {
        if self.deadline.is_some_and(|d| Instant::now() > d) {
            return Err(SourceError::new(
                SourceErrorKind::Deadline,
                "the request ran out of time reading series; narrow the targets or the range",
            ));
        }
        let id: SeriesId = u32::try_from(planned.key).unwrap_or(u32::MAX);
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
