//! Reads, with whisper's semantics.
//!
//! [`Tsdb::fetch`] answers as whisper's `fetch` does: `from` is clamped to the longest
//! retention and `until` to now; the tier is the first whose retention reaches back to `from`
//! (by the age of `from`, not the length of the range); the slots returned are
//! `from - from % step + step` up to and including the slot holding `until`, with `None` where
//! nothing is stored.
//!
//! A tier's slot is its stored value if there is one (a point written straight to that tier,
//! or a rollup written when the finer partition expired), and otherwise the rollup of the
//! finer tier's slots under the series' xFilesFactor and method, computed here while that finer
//! data is still kept. That is what whisper's eager propagation would hold, without rewriting
//! coarse tiers on every point.

use std::sync::Arc;

use crate::catalog::Class;
use crate::engine::{Tsdb, read};
use crate::error::Result;
use crate::index::SeriesId;
use crate::schema::{Aggregation, Schema, Slot};

/// A fetched range: `values[i]` is the slot at `start + i * step`; `end` is exclusive.
#[derive(Debug, Clone, PartialEq)]
pub struct Fetched {
    pub start: i64,
    pub end: i64,
    pub step: i64,
    pub values: Vec<Option<f64>>,
}

/// [`Fetched`] with `NaN` marking empty slots.
#[derive(Debug, Clone, PartialEq)]
pub struct FetchedNan {
    pub start: i64,
    pub end: i64,
    pub step: i64,
    pub values: Vec<f64>,
}

/// Where a read of one series over a range lands, fixed before any point is read: the tier,
/// and `(end - start) / step` slots from `start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadWindow {
    pub tier: usize,
    pub start: i64,
    pub end: i64,
    pub step: i64,
}

impl ReadWindow {
    pub fn slots(&self) -> usize {
        usize::try_from((self.end - self.start) / self.step.max(1)).unwrap_or(0)
    }
}

/// The tier and slots a fetch reads.
struct Window {
    schema: Schema,
    aggregation: Aggregation,
    tier: usize,
    start: i64,
    end: i64,
    step: i64,
}

/// What a series is: its name and the rules it was created with.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesInfo {
    pub id: SeriesId,
    pub name: Arc<str>,
    pub retentions: String,
    pub x_files_factor: f32,
    pub method: crate::schema::Method,
}

impl Tsdb {
    /// Whisper's `fetch(name, from, until)`; `None` for an unknown series or a range wholly in
    /// the future or beyond retention.
    pub fn fetch(&self, name: &str, from: i64, until: i64) -> Result<Option<Fetched>> {
        let Some(id) = self.index().get(name) else {
            return Ok(None);
        };
        self.fetch_id(id, from, until)
    }

    pub fn fetch_id(&self, id: SeriesId, from: i64, until: i64) -> Result<Option<Fetched>> {
        let Some(w) = self.window(id, from, until) else {
            return Ok(None);
        };
        let values = self.tier_values(id, &w.schema, w.aggregation, w.tier, w.start, w.end)?;
        Ok(Some(Fetched {
            start: w.start,
            end: w.end,
            step: w.step,
            values,
        }))
    }

    /// [`Tsdb::fetch_id`] with `NaN` for an empty slot: half the memory, and no `Option` list
    /// built and converted.
    pub fn fetch_id_nan(&self, id: SeriesId, from: i64, until: i64) -> Result<Option<FetchedNan>> {
        let Some(w) = self.window(id, from, until) else {
            return Ok(None);
        };
        let values = self.read_in(id, &w)?;
        Ok(Some(FetchedNan {
            start: w.start,
            end: w.end,
            step: w.step,
            values,
        }))
    }

    /// Where a fetch of each series over `from..until` would read (`None` where it returns
    /// nothing), at one instant, without reading: what a query is charged for before it reads.
    pub fn plan_reads(&self, ids: &[SeriesId], from: i64, until: i64) -> Vec<Option<ReadWindow>> {
        let now = self.inner.clock.now().as_secs();
        let index = self.index();
        ids.iter()
            .map(|&id| {
                let schema = index.schema(id)?;
                let w = window_of(schema, now, from, until)?;
                Some(ReadWindow {
                    tier: w.0,
                    start: w.1,
                    end: w.2,
                    step: w.3,
                })
            })
            .collect()
    }

    /// The slots of a planned read, `NaN` where nothing is stored; an unknown series reads as
    /// all empty.
    pub fn read_window(&self, id: SeriesId, window: &ReadWindow) -> Result<Vec<f64>> {
        let found = {
            let index = self.index();
            index.schema(id).cloned().zip(index.aggregation(id))
        };
        let Some((schema, aggregation)) = found else {
            return Ok(vec![f64::NAN; window.slots()]);
        };
        let tier = window.tier.min(schema.archives().len().saturating_sub(1));
        self.read_in(
            id,
            &Window {
                schema,
                aggregation,
                tier,
                start: window.start,
                end: window.end,
                step: window.step,
            },
        )
    }

    fn read_in(&self, id: SeriesId, w: &Window) -> Result<Vec<f64>> {
        self.tier_values(id, &w.schema, w.aggregation, w.tier, w.start, w.end)
    }

    /// Whisper's choice of tier and slots for a fetch; `None` when nothing can be returned.
    fn window(&self, id: SeriesId, from: i64, until: i64) -> Option<Window> {
        let now = self.inner.clock.now().as_secs();
        let (schema, aggregation) = {
            let index = self.index();
            (index.schema(id)?.clone(), index.aggregation(id)?)
        };
        let (tier, start, end, step) = window_of(&schema, now, from, until)?;
        Some(Window {
            schema,
            aggregation,
            tier,
            start,
            end,
            step,
        })
    }

    /// A series' name and rules.
    pub fn info(&self, name: &str) -> Option<SeriesInfo> {
        let index = self.index();
        let id = index.get(name)?;
        let aggregation = index.aggregation(id)?;
        Some(SeriesInfo {
            id,
            name: Arc::clone(index.name(id)?),
            retentions: index
                .schema(id)?
                .archives()
                .iter()
                .map(|a| format!("{}s:{}", a.step, a.points))
                .collect::<Vec<_>>()
                .join(","),
            x_files_factor: aggregation.x_files_factor,
            method: aggregation.method,
        })
    }

    /// Slots `[start, end)` (aligned to the tier's step) of one tier.
    pub(crate) fn tier_values<T: Slot>(
        &self,
        id: SeriesId,
        schema: &Schema,
        aggregation: Aggregation,
        tier: usize,
        start: i64,
        end: i64,
    ) -> Result<Vec<T>> {
        let archive = schema.archives()[tier];
        let step = i64::from(archive.step);
        let mut values = vec![T::EMPTY; ((end - start) / step).max(0) as usize];
        self.stored(
            id,
            tier as u8,
            Class::of(archive),
            start,
            end,
            values.as_mut_slice(),
        )?;
        if tier == 0 {
            return Ok(values);
        }
        let finer = schema.archives()[tier - 1];
        let Some(from) = self.unrolled_since(id, schema, tier) else {
            return Ok(values);
        };
        let from = (from - from.rem_euclid(step)).max(start);
        if from >= end {
            return Ok(values);
        }
        let fine: Vec<T> = self.tier_values(id, schema, aggregation, tier - 1, from, end)?;
        let ratio = (step / i64::from(finer.step)) as usize;
        let offset = ((from - start) / step) as usize;
        for (i, slots) in fine.chunks(ratio).enumerate() {
            let slot = &mut values[offset + i];
            if slot.value().is_none()
                && let Some(rolled) = aggregation.roll(slots)
            {
                *slot = T::of(rolled);
            }
        }
        Ok(values)
    }

    /// The earliest time any tier finer than `tier` may hold data not yet rolled into it: the
    /// oldest unrolled partition of each finer class, and the oldest point of each finer tier in
    /// the heads. Before that, a coarse slot's stored value is all there is.
    fn unrolled_since(&self, id: SeriesId, schema: &Schema, tier: usize) -> Option<i64> {
        let inner = &self.inner;
        let mut earliest: Option<i64> = None;
        let mut consider = |t: Option<i64>| {
            if let Some(t) = t {
                earliest = Some(earliest.map_or(t, |e| e.min(t)));
            }
        };
        let catalog = read(&inner.catalog);
        let frozen = read(&inner.frozen);
        let head = read(&inner.head);
        for (finer, archive) in schema.archives()[..tier].iter().enumerate() {
            consider(catalog.oldest_unrolled(Class::of(*archive)));
            let span = |h: &crate::head::Head| {
                h.chunk(id, finer as u8)
                    .and_then(|c| c.span())
                    .map(|(first, _)| first)
            };
            for f in frozen.iter() {
                consider(span(&f.head));
            }
            consider(span(&head));
        }
        earliest
    }

    /// Stored points of one tier in `[start, end)`: segments, then frozen heads, then the live
    /// head, later ones overwriting earlier ones.
    fn stored<T: Slot>(
        &self,
        id: SeriesId,
        tier: u8,
        class: Class,
        start: i64,
        end: i64,
        values: &mut [T],
    ) -> Result<()> {
        let step = i64::from(class.step);
        // Points come in slot order, so the next slot's index is usually the last one's plus
        // one; a division only when a gap breaks the run.
        let (mut last_ts, mut last_idx) = (i64::MIN, 0usize);
        let mut put_one = |ts: i64, value: f64| {
            if ts < start || ts >= end {
                return;
            }
            let idx = if last_ts != i64::MIN && ts == last_ts + step {
                last_idx + 1
            } else {
                ((ts - start) / step) as usize
            };
            (last_ts, last_idx) = (ts, idx);
            if let Some(slot) = values.get_mut(idx) {
                *slot = T::of(value);
            }
        };
        let segments = read(&self.inner.catalog).segments(class, start, end);
        for segment in segments {
            segment.read_with(id, &mut put_one)?;
        }
        let frozen: Vec<_> = read(&self.inner.frozen).clone();
        for f in frozen {
            if let Some(chunk) = f.head.chunk(id, tier) {
                chunk.for_each_point(&mut put_one);
            }
        }
        if let Some(chunk) = read(&self.inner.head).chunk(id, tier) {
            chunk.for_each_point(&mut put_one);
        }
        Ok(())
    }
}

/// Whisper's choice of `(tier, start, end, step)` for a fetch at `now`; `None` when nothing can
/// be returned.
fn window_of(schema: &Schema, now: i64, from: i64, until: i64) -> Option<(usize, i64, i64, i64)> {
    let oldest = now - schema.max_retention();
    if from > until || from > now || until < oldest {
        return None;
    }
    let from = from.max(oldest);
    let until = until.min(now);
    let age = now - from;
    let tier = schema
        .archives()
        .iter()
        .position(|a| a.retention() >= age)
        .unwrap_or(schema.archives().len() - 1);
    let step = i64::from(schema.archives()[tier].step);
    let start = from - from.rem_euclid(step) + step;
    let mut end = until - until.rem_euclid(step) + step;
    if start == end {
        end += step;
    }
    Some((tier, start, end, step))
}
