//! Metric points as they travel from a listener to the time-series store.
//!
//! A [`PointBatch`] packs the series names of many points into one string buffer, so decoding a
//! line of carbon or a statsd flush allocates nothing per point. Names in a batch are already
//! canonical (see `wire::graphite_name`): `a.b.c`, or `name;k1=v1;k2=v2` with tags sorted.
//! Timestamps are whole seconds since the Unix epoch, Graphite's resolution.

/// One metric point, borrowing its name from a batch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetricPoint<'a> {
    pub name: &'a str,
    /// Seconds since the Unix epoch.
    pub timestamp: i64,
    pub value: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Packed {
    name_start: u32,
    name_len: u32,
    timestamp: i64,
    value: f64,
}

/// Many metric points with their names in one buffer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PointBatch {
    names: String,
    points: Vec<Packed>,
}

impl PointBatch {
    pub fn new() -> Self {
        PointBatch::default()
    }

    pub fn with_capacity(points: usize) -> Self {
        PointBatch {
            names: String::with_capacity(points * 32),
            points: Vec::with_capacity(points),
        }
    }

    /// Adds a point. Consecutive points of the same series share one copy of the name.
    pub fn push(&mut self, name: &str, timestamp: i64, value: f64) {
        let (name_start, name_len) = match self.points.last() {
            Some(last) if self.name_at(last) == name => (last.name_start, last.name_len),
            _ => {
                let start = self.names.len() as u32;
                self.names.push_str(name);
                (start, name.len() as u32)
            }
        };
        self.points.push(Packed {
            name_start,
            name_len,
            timestamp,
            value,
        });
    }

    fn name_at(&self, p: &Packed) -> &str {
        let start = p.name_start as usize;
        &self.names[start..start + p.name_len as usize]
    }

    pub fn len(&self) -> usize {
        self.points.len()
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// Bytes of names held, a measure of the batch's size for queue bounds.
    pub fn name_bytes(&self) -> usize {
        self.names.len()
    }

    pub fn get(&self, index: usize) -> Option<MetricPoint<'_>> {
        let p = self.points.get(index)?;
        Some(MetricPoint {
            name: self.name_at(p),
            timestamp: p.timestamp,
            value: p.value,
        })
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = MetricPoint<'_>> + '_ {
        self.points.iter().map(|p| MetricPoint {
            name: self.name_at(p),
            timestamp: p.timestamp,
            value: p.value,
        })
    }

    pub fn clear(&mut self) {
        self.names.clear();
        self.points.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_round_trip_and_share_repeated_names() {
        let mut batch = PointBatch::new();
        batch.push("a.b", 10, 1.0);
        batch.push("a.b", 20, 2.0);
        batch.push("c;k=v", 30, f64::INFINITY);
        assert_eq!(batch.len(), 3);
        assert_eq!(batch.name_bytes(), "a.b".len() + "c;k=v".len());
        let points: Vec<_> = batch.iter().collect();
        assert_eq!(
            points[1],
            MetricPoint {
                name: "a.b",
                timestamp: 20,
                value: 2.0
            }
        );
        assert_eq!(points[2].name, "c;k=v");
        assert_eq!(batch.get(0).unwrap().value, 1.0);
        batch.clear();
        assert!(batch.is_empty());
    }
}
