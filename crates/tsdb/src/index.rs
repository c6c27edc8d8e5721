//! The series index: canonical name to id, id to schema, a path tree for globs, and an inverted
//! index of tags.
//!
//! Ids are dense `u32`s handed out in creation order, so per-series state elsewhere lives in
//! plain vectors. Each series carries the schema and aggregation it was created with (interned:
//! a config usually has a handful), as whisper fixes them at file creation. Plain names go into
//! the path tree, whose children are sorted so finds come back in order; tagged names
//! (`name;k=v`) go into the tag index under each tag and under `name`.

use std::collections::BTreeMap;
use std::sync::Arc;

use rustc_hash::FxHashMap;

use crate::schema::{Aggregation, Schema};

pub type SeriesId = u32;

/// What the index knows of one series.
#[derive(Debug, Clone)]
pub(crate) struct SeriesMeta {
    pub(crate) name: Arc<str>,
    schema: u16,
    aggregation: u16,
}

/// A node of the path tree: a branch, a leaf, or (rarely) both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathEntry {
    pub leaf: Option<SeriesId>,
    pub has_children: bool,
}

#[derive(Debug, Default)]
struct PathNode {
    children: BTreeMap<Box<str>, PathNode>,
    leaf: Option<SeriesId>,
}

type TagValues = FxHashMap<Arc<str>, Vec<SeriesId>>;

#[derive(Debug, Default)]
pub(crate) struct SeriesIndex {
    by_name: FxHashMap<Arc<str>, SeriesId>,
    series: Vec<SeriesMeta>,
    schemas: Vec<Schema>,
    aggregations: Vec<Aggregation>,
    tree: PathNode,
    tags: FxHashMap<Arc<str>, TagValues>,
}

impl SeriesIndex {
    pub(crate) fn get(&self, name: &str) -> Option<SeriesId> {
        self.by_name.get(name).copied()
    }

    pub(crate) fn len(&self) -> usize {
        self.series.len()
    }

    /// The id the next new series gets.
    pub(crate) fn next_id(&self) -> SeriesId {
        self.series.len() as SeriesId
    }

    pub(crate) fn meta(&self, id: SeriesId) -> Option<&SeriesMeta> {
        self.series.get(id as usize)
    }

    pub(crate) fn name(&self, id: SeriesId) -> Option<&Arc<str>> {
        self.meta(id).map(|m| &m.name)
    }

    pub(crate) fn schema(&self, id: SeriesId) -> Option<&Schema> {
        self.meta(id).map(|m| &self.schemas[usize::from(m.schema)])
    }

    pub(crate) fn aggregation(&self, id: SeriesId) -> Option<Aggregation> {
        self.meta(id)
            .map(|m| self.aggregations[usize::from(m.aggregation)])
    }

    /// Adds a series under the next id. Ids must arrive in order; a replayed series whose id
    /// is not the next one is refused (the caller logs it).
    pub(crate) fn insert(
        &mut self,
        id: SeriesId,
        name: &str,
        schema: Schema,
        aggregation: Aggregation,
    ) -> bool {
        if id != self.next_id() || self.by_name.contains_key(name) {
            return false;
        }
        let schema = intern(&mut self.schemas, schema);
        let aggregation = intern_by(&mut self.aggregations, aggregation, |a, b| a == b);
        let name: Arc<str> = Arc::from(name);
        self.by_name.insert(Arc::clone(&name), id);
        if wire_is_tagged(&name) {
            self.index_tags(&name, id);
        } else {
            self.index_path(&name, id);
        }
        self.series.push(SeriesMeta {
            name,
            schema,
            aggregation,
        });
        true
    }

    fn index_path(&mut self, name: &str, id: SeriesId) {
        let mut node = &mut self.tree;
        for part in name.split('.') {
            node = node.children.entry(Box::from(part)).or_default();
        }
        node.leaf = Some(id);
    }

    fn index_tags(&mut self, name: &Arc<str>, id: SeriesId) {
        let (path, rest) = name.split_once(';').unwrap_or((name, ""));
        let pairs = rest.split(';').filter_map(|t| t.split_once('='));
        for (key, value) in std::iter::once(("name", path)).chain(pairs) {
            let values = self.tags.entry(Arc::from(key)).or_default();
            values.entry(Arc::from(value)).or_default().push(id);
        }
    }

    /// The node at a dotted path (`""` is the root).
    pub(crate) fn node(&self, path: &str) -> Option<PathEntry> {
        self.tree_node(path).map(PathNode::entry)
    }

    /// Calls `visit` with each child of the branch at `path`, in name order.
    pub(crate) fn children(&self, path: &str, visit: &mut dyn FnMut(&str, PathEntry)) {
        if let Some(node) = self.tree_node(path) {
            for (name, child) in &node.children {
                visit(name, child.entry());
            }
        }
    }

    fn tree_node(&self, path: &str) -> Option<&PathNode> {
        if path.is_empty() {
            return Some(&self.tree);
        }
        path.split('.')
            .try_fold(&self.tree, |node, part| node.children.get(part))
    }

    /// Tag keys, sorted.
    pub(crate) fn tag_keys(&self) -> Vec<Arc<str>> {
        let mut keys: Vec<_> = self.tags.keys().cloned().collect();
        keys.sort();
        keys
    }

    /// The values of one tag, sorted, with how many series carry each.
    pub(crate) fn tag_values(&self, key: &str) -> Vec<(Arc<str>, usize)> {
        let Some(values) = self.tags.get(key) else {
            return Vec::new();
        };
        let mut out: Vec<_> = values
            .iter()
            .map(|(v, ids)| (Arc::clone(v), ids.len()))
            .collect();
        out.sort();
        out
    }

    /// The series tagged `key=value`, in id order.
    pub(crate) fn with_tag(&self, key: &str, value: &str) -> &[SeriesId] {
        self.tags
            .get(key)
            .and_then(|v| v.get(value))
            .map_or(&[], Vec::as_slice)
    }

    /// Every (value, series) of one tag, for regex and inequality matching.
    pub(crate) fn tag_entries(&self, key: &str) -> impl Iterator<Item = (&str, &[SeriesId])> {
        self.tags
            .get(key)
            .into_iter()
            .flat_map(|v| v.iter().map(|(k, ids)| (k.as_ref(), ids.as_slice())))
    }

    /// Approximate heap bytes, for the memory figures.
    pub(crate) fn heap_size(&self) -> usize {
        let names: usize = self.series.iter().map(|m| m.name.len() + 16).sum();
        names
            + self.series.capacity() * std::mem::size_of::<SeriesMeta>()
            + self.by_name.capacity() * 24
    }
}

fn wire_is_tagged(name: &str) -> bool {
    name.contains(';')
}

impl PathNode {
    fn entry(&self) -> PathEntry {
        PathEntry {
            leaf: self.leaf,
            has_children: !self.children.is_empty(),
        }
    }
}

fn intern(list: &mut Vec<Schema>, value: Schema) -> u16 {
    intern_by(list, value, |a, b| a == b)
}

fn intern_by<T>(list: &mut Vec<T>, value: T, eq: impl Fn(&T, &T) -> bool) -> u16 {
    if let Some(i) = list.iter().position(|v| eq(v, &value)) {
        return i as u16;
    }
    list.push(value);
    (list.len() - 1) as u16
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Method;

    fn index(names: &[&str]) -> SeriesIndex {
        let mut index = SeriesIndex::default();
        let schema = Schema::parse("10s:6h").unwrap();
        let agg = Aggregation {
            x_files_factor: 0.5,
            method: Method::Average,
        };
        for name in names {
            assert!(index.insert(index.next_id(), name, schema.clone(), agg));
        }
        index
    }

    fn children(index: &SeriesIndex, path: &str) -> Vec<(String, bool, bool)> {
        let mut out = Vec::new();
        index.children(path, &mut |name, e| {
            out.push((name.to_owned(), e.leaf.is_some(), e.has_children));
        });
        out
    }

    #[test]
    fn the_path_tree_walks_in_name_order() {
        let idx = index(&[
            "servers.web2.cpu",
            "servers.web1.cpu",
            "servers.web1.mem",
            "servers.db.cpu",
            "servers",
        ]);
        assert_eq!(
            children(&idx, "servers"),
            vec![
                ("db".into(), false, true),
                ("web1".into(), false, true),
                ("web2".into(), false, true)
            ]
        );
        assert_eq!(children(&idx, ""), vec![("servers".into(), true, true)]);
        assert_eq!(
            idx.node("servers.web1.mem"),
            Some(PathEntry {
                leaf: Some(2),
                has_children: false
            })
        );
        assert_eq!(idx.node("servers.web3"), None);
        assert!(children(&idx, "nothing").is_empty());
    }

    #[test]
    fn tags_are_indexed_with_name() {
        let idx = index(&[
            "cpu;dc=eu;host=a",
            "cpu;dc=us;host=b",
            "mem;dc=eu;host=a",
            "plain.path",
        ]);
        assert_eq!(idx.with_tag("name", "cpu"), &[0, 1]);
        assert_eq!(idx.with_tag("dc", "eu"), &[0, 2]);
        assert_eq!(
            idx.tag_keys()
                .iter()
                .map(|k| k.as_ref())
                .collect::<Vec<_>>(),
            ["dc", "host", "name"]
        );
        assert_eq!(
            idx.tag_values("host"),
            vec![(Arc::from("a"), 2), (Arc::from("b"), 1)]
        );
        assert_eq!(
            children(&idx, ""),
            vec![("plain".into(), false, true)],
            "tagged series are not in the path tree"
        );
    }

    #[test]
    fn ids_are_dense_and_names_unique() {
        let mut idx = index(&["a", "b"]);
        let schema = Schema::parse("1m:1d").unwrap();
        let agg = Aggregation {
            x_files_factor: 0.0,
            method: Method::Sum,
        };
        assert!(!idx.insert(5, "c", schema.clone(), agg), "out of order");
        assert!(!idx.insert(2, "a", schema.clone(), agg), "duplicate name");
        assert!(idx.insert(2, "c", schema.clone(), agg));
        assert_eq!(idx.get("c"), Some(2));
        assert_eq!(idx.schema(2), Some(&schema));
        assert_eq!(idx.aggregation(0).unwrap().method, Method::Average);
    }
}
