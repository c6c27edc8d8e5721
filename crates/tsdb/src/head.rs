//! The head: recent points in memory, compressed as they arrive.
//!
//! Each (series, tier) that received points since the last flush has a [`Chunk`]. Points that
//! arrive in slot order are Gorilla-encoded; the newest point is held back unencoded so a second
//! point for the same slot can replace it (the last one received wins, as a whisper slot is
//! overwritten); a point for an earlier slot goes to a small out-of-order list that overrides
//! the encoded stream when read. A head is one *generation*: when it is frozen for flushing, a
//! new one takes its place, and reads consult both until the flush lands.

use std::collections::BTreeMap;

use crate::gorilla::{Decoder, Encoder};
use crate::index::SeriesId;

/// One (series, tier)'s points since the last flush. An empty chunk allocates nothing.
#[derive(Debug, Clone, Default)]
pub(crate) struct Chunk {
    encoded: Encoder,
    first_slot: i64,
    min_slot: i64,
    pending: Option<(i64, f64)>,
    /// Boxed so the (nearly always absent) list costs 8 bytes per series, not 24.
    #[allow(clippy::box_collection)]
    out_of_order: Option<Box<Vec<(i64, f64)>>>,
}

impl Chunk {
    /// Adds a point; returns the heap bytes it added.
    fn append(&mut self, slot: i64, value: f64) -> usize {
        let before = self.heap_size();
        match self.pending {
            None => {
                self.first_slot = slot;
                self.min_slot = slot;
                self.pending = Some((slot, value));
            }
            Some((p, _)) if slot == p => self.pending = Some((slot, value)),
            Some((p, pv)) if slot > p => {
                self.encoded.push(p, pv);
                self.pending = Some((slot, value));
            }
            Some(_) => {
                self.min_slot = self.min_slot.min(slot);
                self.out_of_order
                    .get_or_insert_with(Box::default)
                    .push((slot, value));
            }
        }
        self.heap_size().saturating_sub(before)
    }

    fn heap_size(&self) -> usize {
        self.encoded.heap_size()
            + self
                .out_of_order
                .as_ref()
                .map_or(0, |v| 24 + v.capacity() * 16)
    }

    fn is_empty(&self) -> bool {
        self.pending.is_none()
    }

    /// Calls `f` with every point as [`Chunk::points`] returns them, without building the list
    /// when no point came late (the usual case).
    pub(crate) fn for_each_point(&self, mut f: impl FnMut(i64, f64)) {
        if self.out_of_order.as_deref().is_some_and(|v| !v.is_empty()) {
            for (slot, value) in self.points() {
                f(slot, value);
            }
            return;
        }
        for (slot, value) in
            Decoder::new(self.encoded.bytes(), self.encoded.count(), self.first_slot)
        {
            f(slot, value);
        }
        if let Some((slot, value)) = self.pending {
            f(slot, value);
        }
    }

    /// Every point, sorted by slot, one per slot, the last received winning.
    pub(crate) fn points(&self) -> Vec<(i64, f64)> {
        let mut out: Vec<(i64, f64)> =
            Decoder::new(self.encoded.bytes(), self.encoded.count(), self.first_slot).collect();
        out.extend(self.pending);
        let Some(late) = self.out_of_order.as_deref().filter(|v| !v.is_empty()) else {
            return out;
        };
        // The in-order stream, then the late points in arrival order; a stable sort by slot
        // keeps that order within a slot, so keeping each slot's last entry lets the latest
        // write win. O(n log n) however many points came late (a reversed backfill makes
        // them all late).
        out.extend_from_slice(late);
        out.sort_by_key(|p| p.0);
        let mut merged: Vec<(i64, f64)> = Vec::with_capacity(out.len());
        for p in out {
            match merged.last_mut() {
                Some(last) if last.0 == p.0 => *last = p,
                _ => merged.push(p),
            }
        }
        merged
    }

    /// The earliest and latest slot held.
    pub(crate) fn span(&self) -> Option<(i64, i64)> {
        self.pending.map(|(last, _)| (self.min_slot, last))
    }
}

/// One generation of in-memory points. Tier 0, where nearly every point goes, is a flat vector
/// indexed by series id; points written straight into coarser tiers (backfills of old data)
/// live in a small ordered map beside it.
#[derive(Debug, Default)]
pub(crate) struct Head {
    pub generation: u64,
    tier0: Vec<Chunk>,
    coarser: BTreeMap<(SeriesId, u8), Chunk>,
    bytes: usize,
    points: u64,
}

impl Head {
    pub(crate) fn new(generation: u64) -> Self {
        Head {
            generation,
            ..Head::default()
        }
    }

    pub(crate) fn append(&mut self, id: SeriesId, tier: u8, slot: i64, value: f64) {
        let chunk = if tier == 0 {
            let index = id as usize;
            if index >= self.tier0.len() {
                self.tier0.resize_with(index + 1, Chunk::default);
            }
            &mut self.tier0[index]
        } else {
            if !self.coarser.contains_key(&(id, tier)) {
                self.bytes += std::mem::size_of::<Chunk>() + 32;
            }
            self.coarser.entry((id, tier)).or_default()
        };
        self.bytes += chunk.append(slot, value);
        self.points += 1;
    }

    pub(crate) fn chunk(&self, id: SeriesId, tier: u8) -> Option<&Chunk> {
        let chunk = if tier == 0 {
            self.tier0.get(id as usize)?
        } else {
            self.coarser.get(&(id, tier))?
        };
        (!chunk.is_empty()).then_some(chunk)
    }

    /// Approximate heap bytes held.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes + self.tier0.capacity() * std::mem::size_of::<Chunk>()
    }

    pub(crate) fn points(&self) -> u64 {
        self.points
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.points == 0
    }

    /// Every non-empty chunk, in (series id, tier) order.
    pub(crate) fn chunks(&self) -> impl Iterator<Item = (SeriesId, u8, &Chunk)> {
        let mut coarser = self.coarser.iter().peekable();
        let mut tier0 = self
            .tier0
            .iter()
            .enumerate()
            .filter(|(_, c)| !c.is_empty())
            .peekable();
        std::iter::from_fn(move || {
            let next_coarser = coarser.peek().map(|((id, _), _)| *id);
            match (tier0.peek(), next_coarser) {
                (Some((id, _)), Some(c)) if (*id as SeriesId) > c => {
                    coarser.next().map(|((id, t), ch)| (*id, *t, ch))
                }
                (Some(_), _) => tier0.next().map(|(id, ch)| (id as SeriesId, 0, ch)),
                (None, Some(_)) => coarser.next().map(|((id, t), ch)| (*id, *t, ch)),
                (None, None) => None,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_received_wins_per_slot_in_and_out_of_order() {
        let mut head = Head::new(1);
        for (slot, value) in [
            (10, 1.0),
            (11, 2.0),
            (11, 2.5),
            (13, 4.0),
            (12, 3.0),
            (10, 1.5),
            (14, 5.0),
            (13, 4.5),
        ] {
            head.append(7, 0, slot, value);
        }
        let chunk = head.chunk(7, 0).unwrap();
        assert_eq!(
            chunk.points(),
            vec![(10, 1.5), (11, 2.5), (12, 3.0), (13, 4.5), (14, 5.0)]
        );
        assert_eq!(chunk.span(), Some((10, 14)));
        assert!(head.chunk(7, 1).is_none());
        assert!(head.chunk(3, 0).is_none());
        assert_eq!(head.points(), 8);
    }

    #[test]
    fn tiers_are_kept_apart() {
        let mut head = Head::new(1);
        head.append(0, 0, 100, 1.0);
        head.append(0, 2, 5, 9.0);
        let chunks: Vec<_> = head
            .chunks()
            .map(|(id, tier, c)| (id, tier, c.points()))
            .collect();
        assert_eq!(
            chunks,
            vec![(0, 0, vec![(100, 1.0)]), (0, 2, vec![(5, 9.0)])]
        );
    }

    #[test]
    fn memory_grows_slowly_for_regular_points() {
        let mut head = Head::new(1);
        for id in 0..1000 {
            for slot in 0..60 {
                head.append(id, 0, slot, 42.0 + (slot % 3) as f64);
            }
        }
        let per_series = head.bytes() / 1000;
        assert!(per_series < 300, "{per_series} bytes per series");
    }
}
