//! The series index as the Graphite engine sees it, and the finds it answers: path patterns
//! (`/metrics/find`, `/metrics/expand`, and the paths in render targets) and tag queries
//! (`seriesByTag`, `/tags/findSeries`, the autocompletes).
//!
//! A store implements [`Catalog`]: a walk of its path tree one branch at a time, and lookups in
//! its tag index. What a pattern or a tag expression means lives here, once, for every backend:
//! a store never sees a glob or a regex.
//!
//! - A path pattern ([`glob`](crate::glob)) is walked segment by segment. A literal segment is
//!   looked up, not scanned; a wildcard segment lists the branch's children and keeps those it
//!   matches. Only branches that have children are descended.
//! - A tag query starts from the most selective expression that an empty value fails (an exact
//!   `tag=value` when there is one, otherwise one tag's values matched against its regex or
//!   inequality), then checks every candidate's parsed tags against all the expressions.

use crate::glob::{PathPattern, Segment};
use crate::series::tags_of;
use crate::tagexpr::{Op, TagExpr};

/// A store's id for one series.
pub type SeriesKey = u64;

/// A node of the path tree: a branch, a leaf, or (rarely) both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Node {
    pub leaf: Option<SeriesKey>,
    pub has_children: bool,
}

/// One node a find returns, with its whole dotted path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindNode {
    pub path: String,
    pub leaf: Option<SeriesKey>,
    pub has_children: bool,
}

/// The primitives a store's series index offers. The visitors are called while the store may
/// hold a lock: they must not call back into the catalog.
pub trait Catalog {
    /// The node at a dotted path (`""` is the root).
    fn node(&self, path: &str) -> Option<Node>;
    /// Calls `visit` with each child of the branch at `path`, in name order.
    fn children(&self, path: &str, visit: &mut dyn FnMut(&str, Node));
    /// The series with exactly this name (tagged names included, tags in stored order).
    fn lookup(&self, name: &str) -> Option<SeriesKey>;
    /// Calls `visit` with the name of each of `keys` that exists, in order.
    fn visit_names(&self, keys: &[SeriesKey], visit: &mut dyn FnMut(SeriesKey, &str));
    /// Every series name, in no particular order.
    fn names(&self) -> Vec<String>;
    /// Every tag key (`name` included for tagged series), sorted.
    fn tag_keys(&self) -> Vec<String>;
    /// A tag's values, sorted, with how many series carry each.
    fn tag_values(&self, tag: &str) -> Vec<(String, usize)>;
    /// The series tagged exactly `tag=value`.
    fn tagged(&self, tag: &str, value: &str) -> Vec<SeriesKey>;
    /// The series whose value of `tag` passes `keep`.
    fn tagged_where(&self, tag: &str, keep: &mut dyn FnMut(&str) -> bool) -> Vec<SeriesKey>;
}

/// The nodes `pattern` matches at its depth, sorted by path, each once.
pub fn find(catalog: &dyn Catalog, pattern: &PathPattern) -> Vec<FindNode> {
    let mut out = Vec::new();
    for segments in &pattern.branches {
        walk(catalog, segments, "", &mut out);
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out.dedup_by(|a, b| a.path == b.path);
    out
}

/// The series whose names `pattern` matches (leaves only), sorted by name.
pub fn matching(catalog: &dyn Catalog, pattern: &PathPattern) -> Vec<(SeriesKey, String)> {
    find(catalog, pattern)
        .into_iter()
        .filter_map(|n| Some((n.leaf?, n.path)))
        .collect()
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}.{name}")
    }
}

fn walk(catalog: &dyn Catalog, segments: &[Segment], prefix: &str, out: &mut Vec<FindNode>) {
    let Some((segment, rest)) = segments.split_first() else {
        return;
    };
    let found: Vec<(String, Node)> = match segment {
        Segment::Literal(literal) => {
            let path = join(prefix, literal);
            if rest.is_empty() {
                catalog
                    .node(&path)
                    .map(|node| (path, node))
                    .into_iter()
                    .collect()
            } else {
                // Descending needs no lookup: a missing branch has no children to list.
                return walk(catalog, rest, &path, out);
            }
        }
        Segment::Pattern(_) => {
            let mut found = Vec::new();
            catalog.children(prefix, &mut |name, node| {
                if segment.matches(name) && (rest.is_empty() || node.has_children) {
                    found.push((join(prefix, name), node));
                }
            });
            found
        }
    };
    for (path, node) in found {
        if rest.is_empty() {
            out.push(FindNode {
                path,
                leaf: node.leaf,
                has_children: node.has_children,
            });
        } else {
            walk(catalog, rest, &path, out);
        }
    }
}

/// The tagged series matching every expression, sorted by name. A query whose expressions all
/// match an empty value finds nothing, as graphite-web refuses to list every series.
pub fn find_tagged(catalog: &dyn Catalog, exprs: &[TagExpr]) -> Vec<(SeriesKey, String)> {
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
    let mut candidates = match seed.op {
        Op::Eq => catalog.tagged(&seed.tag, &seed.value),
        _ => catalog.tagged_where(&seed.tag, &mut |value| seed.matches_value(value)),
    };
    candidates.sort_unstable();
    candidates.dedup();
    let mut out = Vec::new();
    catalog.visit_names(&candidates, &mut |key, name| {
        let tags = tags_of(name);
        if exprs.iter().all(|e| e.matches(&tags)) {
            out.push((key, name.to_owned()));
        }
    });
    out.sort_by(|a, b| a.1.cmp(&b.1));
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::tagexpr::{self, TagExpr};

    /// A catalog over a list of names, as simple as can be: the oracle for the walk.
    #[derive(Default)]
    struct Names(Vec<String>);

    impl Names {
        fn plain(&self) -> impl Iterator<Item = (SeriesKey, &str)> {
            (0..)
                .zip(self.0.iter().map(String::as_str))
                .filter(|(_, n)| !n.contains(';'))
        }

        fn tagged_values(&self, tag: &str) -> Vec<(SeriesKey, String)> {
            (0..)
                .zip(&self.0)
                .filter(|(_, n)| n.contains(';'))
                .filter_map(|(k, n)| Some((k, tags_of(n).remove(tag)?)))
                .collect()
        }
    }

    impl Catalog for Names {
        fn node(&self, path: &str) -> Option<Node> {
            let leaf = self.plain().find(|(_, n)| *n == path).map(|(k, _)| k);
            let below = format!("{path}.");
            let has_children = self.plain().any(|(_, n)| n.starts_with(&below));
            (leaf.is_some() || has_children).then_some(Node { leaf, has_children })
        }

        fn children(&self, path: &str, visit: &mut dyn FnMut(&str, Node)) {
            let below = if path.is_empty() {
                String::new()
            } else {
                format!("{path}.")
            };
            let mut names = BTreeMap::new();
            for (_, name) in self.plain() {
                if let Some(rest) = name.strip_prefix(&below) {
                    let child = rest.split('.').next().unwrap_or(rest);
                    names.insert(child.to_owned(), ());
                }
            }
            for child in names.keys() {
                if let Some(node) = self.node(&format!("{below}{child}")) {
                    visit(child, node);
                }
            }
        }

        fn lookup(&self, name: &str) -> Option<SeriesKey> {
            (0..).zip(&self.0).find(|(_, n)| *n == name).map(|(k, _)| k)
        }

        fn visit_names(&self, keys: &[SeriesKey], visit: &mut dyn FnMut(SeriesKey, &str)) {
            for &k in keys {
                if let Some(name) = usize::try_from(k).ok().and_then(|i| self.0.get(i)) {
                    visit(k, name);
                }
            }
        }

        fn names(&self) -> Vec<String> {
            self.0.clone()
        }

        fn tag_keys(&self) -> Vec<String> {
            unreachable!("not used by the finds")
        }

        fn tag_values(&self, _: &str) -> Vec<(String, usize)> {
            unreachable!("not used by the finds")
        }

        fn tagged(&self, tag: &str, value: &str) -> Vec<SeriesKey> {
            let values = self.tagged_values(tag).into_iter();
            values.filter(|(_, v)| v == value).map(|(k, _)| k).collect()
        }

        fn tagged_where(&self, tag: &str, keep: &mut dyn FnMut(&str) -> bool) -> Vec<SeriesKey> {
            let values = self.tagged_values(tag).into_iter();
            values.filter(|(_, v)| keep(v)).map(|(k, _)| k).collect()
        }
    }

    fn names(names: &[&str]) -> Names {
        Names(names.iter().map(|n| (*n).to_owned()).collect())
    }

    fn found(catalog: &Names, pattern: &str) -> Vec<(String, bool, bool)> {
        let p = PathPattern::parse(pattern).unwrap();
        find(catalog, &p)
            .into_iter()
            .map(|n| (n.path, n.leaf.is_some(), n.has_children))
            .collect()
    }

    #[test]
    fn finds_branches_and_leaves_in_order() {
        let c = names(&[
            "servers.web2.cpu",
            "servers.web1.cpu",
            "servers.web1.mem",
            "servers.db.cpu",
            "servers",
            "cpu;dc=eu",
        ]);
        assert_eq!(
            found(&c, "servers.*"),
            vec![
                ("servers.db".into(), false, true),
                ("servers.web1".into(), false, true),
                ("servers.web2".into(), false, true)
            ]
        );
        assert_eq!(found(&c, "servers"), vec![("servers".into(), true, true)]);
        assert_eq!(found(&c, "servers.web*.cpu").len(), 2);
        assert_eq!(found(&c, "servers.{db,web1}.{cpu,mem}").len(), 3);
        assert_eq!(found(&c, "{servers.db,servers.web1}.cpu").len(), 2);
        assert!(found(&c, "nothing.*").is_empty());
        assert!(found(&c, "cpu*").is_empty(), "tagged series have no path");
        let all = matching(&c, &PathPattern::parse("servers.*.cpu").unwrap());
        assert_eq!(
            all.iter().map(|(_, n)| n.as_str()).collect::<Vec<_>>(),
            ["servers.db.cpu", "servers.web1.cpu", "servers.web2.cpu"]
        );
    }

    #[test]
    fn a_tag_query_checks_every_expression() {
        let c = names(&[
            "cpu;dc=eu;host=a",
            "cpu;dc=us;host=b",
            "mem;dc=eu;host=a",
            "cpu;host=c",
            "plain.path",
        ]);
        let q = |exprs: &[&str]| -> Vec<String> {
            let parsed = tagexpr::parse_all(exprs).unwrap();
            find_tagged(&c, &parsed)
                .into_iter()
                .map(|(_, n)| n)
                .collect()
        };
        assert_eq!(q(&["name=cpu", "dc=eu"]), ["cpu;dc=eu;host=a"]);
        assert_eq!(
            q(&["name=cpu", "dc!=eu"]),
            ["cpu;dc=us;host=b", "cpu;host=c"]
        );
        assert_eq!(
            q(&["host=~[ab]", "name!=mem"]),
            ["cpu;dc=eu;host=a", "cpu;dc=us;host=b"]
        );
        assert_eq!(q(&["dc=", "name=cpu"]), ["cpu;host=c"]);
        let lax = [TagExpr::parse("dc!=eu").unwrap()];
        assert!(
            find_tagged(&c, &lax).is_empty(),
            "nothing an empty value fails"
        );
    }

    proptest::proptest! {
        /// The walk finds exactly the names the whole pattern matches, in order.
        #[test]
        fn the_walk_agrees_with_the_pattern(
            paths in proptest::collection::btree_set("[ab]{1,2}(\\.[abc]{1,2}){0,3}", 0..24),
            pattern in "([ab*?]{1,2}|\\{a,bc?\\}|\\[ab\\])(\\.([abc*?]{1,2}|\\{a\\.b,c\\})){0,3}",
        ) {
            let catalog = Names(paths.iter().cloned().collect());
            let compiled = PathPattern::parse(&pattern).unwrap();
            let found: Vec<String> = matching(&catalog, &compiled).into_iter().map(|(_, n)| n).collect();
            let want: Vec<String> = paths.iter().filter(|p| compiled.matches(p)).cloned().collect();
            proptest::prop_assert_eq!(found, want);
        }
    }
}
