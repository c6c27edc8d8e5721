//! Aggregations that fold series one at a time, so `sumSeries` over 100,000 series holds one
//! running row per output rather than every input.
//!
//! graphite-web's `aggregate` normalises its inputs (the least common multiple of their steps,
//! the earliest start, the latest end, each series consolidated to that step), then reduces row
//! `i` of every series (`izip_longest`: a shorter series counts as null there). The window is
//! known from each member's start, end, step and length before any value is read, so a
//! [`Fold`] is planned from that, then fed each member's values in order, and the result is the
//! same as reducing the rows. Members not read yet are read here, one at a time per thread; a
//! long list is split into contiguous blocks, one per core, folded separately and merged in
//! order.

use std::borrow::Cow;

use crate::aggfunc::AggFunc;
use crate::eval::{Eval, Result, SourceError, Stored};
use crate::functions::{lcm, xff_ok};
use crate::series::{Consolidation, NULL, Series, Tags, consolidate, tags_of};

/// Lists shorter than this are read and folded on the calling thread.
const PARALLEL_FROM: usize = 64;

fn threads() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8)
}

/// How many blocks [`in_blocks`] splits `len` items into.
fn blocks_for(len: usize) -> usize {
    if len < PARALLEL_FROM { 1 } else { threads() }
}

/// `f` over contiguous blocks of `items`, one per core for long lists, results in order.
pub(crate) fn in_blocks<T: Sync, R: Send>(
    items: &[T],
    f: impl Fn(&[T]) -> Result<R, SourceError> + Sync,
) -> Result<Vec<R>, SourceError> {
    let blocks = blocks_for(items.len());
    if blocks <= 1 {
        return Ok(vec![f(items)?]);
    }
    let per = items.len().div_ceil(blocks);
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(per)
            .map(|block| scope.spawn(|| f(block)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}

/// A member of an aggregation: a series already computed, or one still in the store.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Member {
    Read(Series),
    Unread(Stored),
}

/// What planning needs of a member, and how to feed it.
pub(crate) trait AsMember: Sync {
    fn member(&self) -> MemberRef<'_>;
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum MemberRef<'a> {
    Read(&'a Series),
    Unread(&'a Stored),
}

impl AsMember for Series {
    fn member(&self) -> MemberRef<'_> {
        MemberRef::Read(self)
    }
}

impl AsMember for Member {
    fn member(&self) -> MemberRef<'_> {
        match self {
            Member::Read(s) => MemberRef::Read(s),
            Member::Unread(s) => MemberRef::Unread(s),
        }
    }
}

impl<'a> MemberRef<'a> {
    pub(crate) fn path_expression(self) -> &'a str {
        match self {
            MemberRef::Read(s) => &s.path_expression,
            MemberRef::Unread(s) => &s.path_expression,
        }
    }

    /// `(start, end, step, values)` as normalisation sees them.
    fn shape(self) -> (i64, i64, i64, usize) {
        match self {
            MemberRef::Read(s) => (s.start, s.end, s.step, s.values.len()),
            MemberRef::Unread(s) => {
                let p = &s.planned;
                (p.start, p.end, p.step.max(1), p.slots())
            }
        }
    }
}

impl From<Series> for Member {
    fn from(s: Series) -> Member {
        Member::Read(s)
    }
}

impl Member {
    /// The member as a series without values, for keys computed from names and tags.
    pub(crate) fn outline(&self) -> Cow<'_, Series> {
        match self {
            Member::Read(s) => Cow::Borrowed(s),
            Member::Unread(s) => {
                let p = &s.planned;
                let mut outline = Series::new(p.name.clone(), p.start, p.end, p.step, Vec::new());
                outline.path_expression = s.path_expression.clone();
                Cow::Owned(outline)
            }
        }
    }
}

/// Whether `agg` folds row by row with constant state per slot.
pub(crate) fn foldable(agg: AggFunc) -> bool {
    matches!(
        agg,
        AggFunc::Sum
            | AggFunc::Average
            | AggFunc::Min
            | AggFunc::Max
            | AggFunc::Multiply
            | AggFunc::Range
            | AggFunc::Count
    )
}

/// The running rows of one aggregation over a normalised window.
#[derive(Debug, Clone)]
pub(crate) struct Fold {
    agg: AggFunc,
    pub start: i64,
    pub end: i64,
    pub step: i64,
    /// The sum, minimum, maximum or product so far (the minimum, for a range).
    acc: Vec<f64>,
    /// The maximum so far, for a range.
    hi: Vec<f64>,
    /// Non-null values folded into each slot.
    count: Vec<u32>,
    members: usize,
    /// The tags every member fed so far shares (`None` before the first).
    tags: Option<Tags>,
}

impl Fold {
    /// The fold for members of these shapes; `None` for none.
    pub(crate) fn plan<T: AsMember>(agg: AggFunc, members: &[T]) -> Option<Fold> {
        let shapes: Vec<(i64, i64, i64, usize)> =
            members.iter().map(|m| m.member().shape()).collect();
        let step = shapes.iter().map(|s| s.2).reduce(lcm)?.max(1);
        let start = shapes.iter().map(|s| s.0).min()?;
        let mut end = shapes.iter().map(|s| s.1).max()?;
        end -= (end - start).rem_euclid(step);
        let len = shapes
            .iter()
            .map(|&(_, _, s, n)| n.div_ceil((step / s).max(1) as usize))
            .max()
            .unwrap_or(0);
        Some(Fold {
            agg,
            start,
            end,
            step,
            acc: vec![0.0; len],
            hi: if agg == AggFunc::Range {
                vec![0.0; len]
            } else {
                Vec::new()
            },
            count: vec![0; len],
            members: 0,
            tags: None,
        })
    }

    /// Bytes one fold of this plan holds.
    pub(crate) fn bytes(&self) -> u64 {
        (self.acc.len() * 12 + self.hi.len() * 8) as u64
    }

    pub(crate) fn len(&self) -> usize {
        self.acc.len()
    }

    /// The same plan with nothing folded yet.
    fn empty(&self) -> Fold {
        let len = self.acc.len();
        Fold {
            agg: self.agg,
            start: self.start,
            end: self.end,
            step: self.step,
            acc: vec![0.0; len],
            hi: if self.hi.is_empty() {
                Vec::new()
            } else {
                vec![0.0; len]
            },
            count: vec![0; len],
            members: 0,
            tags: None,
        }
    }

    /// Folds in one member's values (at `step`, consolidated here to the fold's step).
    fn feed(
        &mut self,
        values: &[f64],
        step: i64,
        consolidation: Consolidation,
        xff: f64,
        tags: impl FnOnce() -> Tags,
    ) {
        let per = (self.step / step.max(1)).max(1) as usize;
        let values = if per == 1 {
            Cow::Borrowed(values)
        } else {
            Cow::Owned(consolidate(values, per, consolidation, xff))
        };
        let agg = self.agg;
        for (i, &v) in values.iter().enumerate().take(self.acc.len()) {
            if v.is_nan() {
                continue;
            }
            let first = self.count[i] == 0;
            let acc = &mut self.acc[i];
            *acc = if first {
                v
            } else {
                match agg {
                    AggFunc::Sum | AggFunc::Average => *acc + v,
                    AggFunc::Min | AggFunc::Range => acc.min(v),
                    AggFunc::Max => acc.max(v),
                    AggFunc::Multiply => *acc * v,
                    _ => *acc,
                }
            };
            if agg == AggFunc::Range {
                self.hi[i] = if first { v } else { self.hi[i].max(v) };
            }
            self.count[i] += 1;
        }
        self.members += 1;
        match &mut self.tags {
            None => self.tags = Some(tags()),
            Some(shared) if !shared.is_empty() => {
                let theirs = tags();
                shared.retain(|k, v| theirs.get(k) == Some(v));
            }
            Some(_) => {}
        }
    }

    /// Folds in `later`, whose members all come after this fold's.
    fn merge(&mut self, later: Fold) {
        let agg = self.agg;
        for i in 0..self.acc.len() {
            let (theirs, n) = (later.acc[i], later.count[i]);
            if n == 0 {
                continue;
            }
            if self.count[i] == 0 {
                self.acc[i] = theirs;
                if agg == AggFunc::Range {
                    self.hi[i] = later.hi[i];
                }
            } else {
                let acc = &mut self.acc[i];
                *acc = match agg {
                    AggFunc::Sum | AggFunc::Average => *acc + theirs,
                    AggFunc::Min | AggFunc::Range => acc.min(theirs),
                    AggFunc::Max => acc.max(theirs),
                    AggFunc::Multiply => *acc * theirs,
                    _ => *acc,
                };
                if agg == AggFunc::Range {
                    self.hi[i] = self.hi[i].max(later.hi[i]);
                }
            }
            self.count[i] += n;
        }
        self.members += later.members;
        match (&mut self.tags, later.tags) {
            (None, theirs) => self.tags = theirs,
            (Some(shared), Some(theirs)) => shared.retain(|k, v| theirs.get(k) == Some(v)),
            (Some(_), None) => {}
        }
    }

    /// The tags every member shares.
    pub(crate) fn shared_tags(&mut self) -> Tags {
        self.tags.take().unwrap_or_default()
    }

    /// The aggregated row values under `xff`, as graphite-web's `aggregate` computes them.
    pub(crate) fn finish(self, xff: f64) -> Vec<f64> {
        let n = self.members as f64;
        let members = self.members;
        let agg = self.agg;
        self.acc
            .iter()
            .zip(&self.count)
            .enumerate()
            .map(|(i, (&a, &c))| {
                let c = c as usize;
                if !xff_ok(c, n, xff) {
                    return NULL;
                }
                match agg {
                    AggFunc::Average => a / c as f64,
                    AggFunc::Multiply if c < members => NULL,
                    AggFunc::Range => self.hi[i] - a,
                    AggFunc::Count => c as f64,
                    _ => a,
                }
            })
            .collect()
    }
}

/// Feeds every member into `plan`, reading the unread ones (across the cores for a long
/// list), after charging the request for the folds and one read buffer per block.
pub(crate) fn run<T: AsMember>(eval: &mut Eval<'_>, plan: Fold, members: &[T]) -> Result<Fold> {
    let unread: Vec<usize> = members
        .iter()
        .filter_map(|m| match m.member() {
            MemberRef::Unread(s) => Some(s.planned.slots()),
            MemberRef::Read(_) => None,
        })
        .collect();
    let blocks = if unread.is_empty() {
        1
    } else {
        blocks_for(members.len())
    } as u64;
    let buffer = unread.iter().max().copied().unwrap_or(0) as u64 * 8;
    eval.charge_bytes(blocks * (plan.bytes() + buffer))?;
    let source = eval.source();
    let xff = eval.xff.unwrap_or(0.0);
    let feed_block = |block: &[T]| -> Result<Fold, SourceError> {
        let mut fold = plan.empty();
        for member in block {
            match member.member() {
                MemberRef::Read(s) => {
                    fold.feed(&s.values, s.step, s.consolidation, s.x_files_factor, || {
                        s.tags.clone()
                    })
                }
                MemberRef::Unread(s) => {
                    let values = source.read(&s.planned)?;
                    fold.feed(&values, s.planned.step, Consolidation::Average, xff, || {
                        tags_of(&s.planned.name)
                    });
                }
            }
        }
        Ok(fold)
    };
    let folds = if unread.is_empty() {
        vec![feed_block(members)?]
    } else {
        in_blocks(members, feed_block)?
    };
    let mut folds = folds.into_iter();
    let mut out = folds.next().unwrap_or_else(|| plan.empty());
    for later in folds {
        out.merge(later);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::functions::combine::aggregate_rows;
    use crate::functions::normalize;

    fn series() -> impl Strategy<Value = Vec<Series>> {
        let one = (
            prop::sample::select(vec![10i64, 20, 30, 60]),
            0i64..6,
            prop::collection::vec(prop::option::of(-50i32..50), 0..40),
        )
            .prop_map(|(step, offset, values)| {
                let start = 1_000_000 + offset * 10;
                let values: Vec<f64> = values
                    .into_iter()
                    .map(|v| v.map_or(NULL, f64::from))
                    .collect();
                let end = start + step * values.len() as i64;
                Series::new("a.b", start, end, step, values)
            });
        prop::collection::vec(one, 1..7)
    }

    fn same(a: &[f64], b: &[f64]) -> bool {
        a.len() == b.len()
            && a.iter()
                .zip(b)
                .all(|(x, y)| (x.is_nan() && y.is_nan()) || x == y)
    }

    /// Equal but for the last bits of a sum taken in another order (consolidated values are
    /// averages, not integers).
    fn close(a: &[f64], b: &[f64]) -> bool {
        a.len() == b.len()
            && a.iter().zip(b).all(|(x, y)| {
                (x.is_nan() && y.is_nan()) || (x - y).abs() <= 1e-12 * y.abs().max(1.0)
            })
    }

    proptest! {
        /// Folding one series at a time gives graphite-web's row-by-row answer exactly; in two
        /// merged blocks, the same but for rounding (sums are taken in another order).
        #[test]
        fn folding_matches_reducing_rows(
            list in series(),
            agg in prop::sample::select(vec![
                AggFunc::Sum, AggFunc::Average, AggFunc::Min, AggFunc::Max,
                AggFunc::Multiply, AggFunc::Range, AggFunc::Count,
            ]),
            xff in prop::sample::select(vec![0.0, 0.5, 1.0]),
            cut in 0usize..7,
        ) {
            let refs: Vec<&Series> = list.iter().collect();
            let norm = normalize(&refs).unwrap();
            let expected = aggregate_rows(&norm, agg, xff);
            let plan = Fold::plan(agg, &list).unwrap();
            prop_assert_eq!((plan.start, plan.end, plan.step), (norm.start, norm.end, norm.step));
            let feed = |members: &[Series]| {
                let mut fold = plan.empty();
                for s in members {
                    fold.feed(&s.values, s.step, s.consolidation, s.x_files_factor, || s.tags.clone());
                }
                fold
            };
            let whole = feed(&list).finish(xff);
            prop_assert!(same(&whole, &expected), "{:?}: {:?} != {:?}", agg, whole, expected);
            let cut = cut.min(list.len());
            let mut first = feed(&list[..cut]);
            first.merge(feed(&list[cut..]));
            let merged = first.finish(xff);
            prop_assert!(close(&merged, &expected), "{:?} merged: {:?} != {:?}", agg, merged, expected);
        }
    }
}
