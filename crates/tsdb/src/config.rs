//! The `[tsdb]` section: durability window, head limits, and the retention and rollup rules.
//!
//! The rules default to statsd-aware choices, the ones statsd's own documentation recommends,
//! because averaging counts is the most common way a Graphite install goes wrong: `.count`,
//! `.sum` and `stats_counts.*` are summed, `.upper*` and `.max` take the maximum, `.lower` and
//! `.min` the minimum, everything else is averaged. Carbon's `storage-schemas.conf` and
//! `storage-aggregation.conf` can be named instead of listing rules here.

use std::path::PathBuf;

use model::{ByteSize, HumanDuration};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::schema::{self, Aggregation, Method, Rule, Rules, Schema};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TsdbConfig {
    /// How often received points are written to the WAL and fsynced: the window of data that
    /// a crash can lose on protocols without acknowledgements.
    pub commit_interval: HumanDuration,
    /// Write the in-memory head to disk when it holds this much.
    pub head_max_size: ByteSize,
    /// ... or when its oldest data is this old.
    pub head_max_age: HumanDuration,
    /// How often background compaction, rollup and retention run.
    pub compaction_interval: HumanDuration,
    /// Points stamped further ahead of now than this are dropped.
    pub future_tolerance: HumanDuration,
    /// Series the store holds at most; points of further new series are dropped and counted.
    pub max_series: usize,
    /// A carbon `storage-schemas.conf` to read instead of `schemas`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage_schemas_file: Option<PathBuf>,
    /// A carbon `storage-aggregation.conf` to read instead of `aggregations`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage_aggregation_file: Option<PathBuf>,
    /// Retention rules, first match wins; a series that matches none gets the last rule's.
    pub schemas: Vec<SchemaRule>,
    /// Rollup rules, first match wins; no match means average with xFilesFactor 0.5.
    pub aggregations: Vec<AggregationRule>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemaRule {
    pub name: String,
    /// A regex searched anywhere in the series name.
    pub pattern: String,
    /// `precision:retention,...`, as in `storage-schemas.conf`.
    pub retentions: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AggregationRule {
    pub name: String,
    pub pattern: String,
    pub x_files_factor: f64,
    pub method: Method,
}

impl Default for TsdbConfig {
    fn default() -> Self {
        let aggregation = |name: &str, pattern: &str, x_files_factor, method| AggregationRule {
            name: name.to_owned(),
            pattern: pattern.to_owned(),
            x_files_factor,
            method,
        };
        TsdbConfig {
            commit_interval: HumanDuration::from_millis(5),
            head_max_size: ByteSize::mib(256),
            head_max_age: HumanDuration::from_secs(600),
            compaction_interval: HumanDuration::from_secs(60),
            future_tolerance: HumanDuration::from_secs(600),
            max_series: 10_000_000,
            storage_schemas_file: None,
            storage_aggregation_file: None,
            schemas: vec![SchemaRule {
                name: "default".into(),
                pattern: ".*".into(),
                retentions: "10s:6h,1m:30d,10m:5y".into(),
            }],
            aggregations: vec![
                aggregation("min", r"\.(lower|min)$", 0.1, Method::Min),
                aggregation("max", r"\.(upper(_\d+)?|max)$", 0.1, Method::Max),
                aggregation("sum", r"\.sum(_\d+)?$", 0.0, Method::Sum),
                aggregation("count", r"\.count(_\d+)?$", 0.0, Method::Sum),
                aggregation("statsd_counts", r"^stats_counts\.", 0.0, Method::Sum),
                aggregation("default", ".*", 0.3, Method::Average),
            ],
        }
    }
}

impl TsdbConfig {
    /// Compiles the rules, reading carbon's files where they are named.
    pub fn rules(&self) -> Result<Rules> {
        let schemas = match &self.storage_schemas_file {
            Some(path) => schema::parse_carbon_schemas(&read(path)?, &path.display().to_string())?,
            None => self
                .schemas
                .iter()
                .map(compile_schema)
                .collect::<Result<_>>()?,
        };
        let aggregations = match &self.storage_aggregation_file {
            Some(path) => {
                schema::parse_carbon_aggregation(&read(path)?, &path.display().to_string())?
            }
            None => self
                .aggregations
                .iter()
                .map(compile_aggregation)
                .collect::<Result<_>>()?,
        };
        let default_schema = match schemas.last() {
            Some(rule) => rule.value.clone(),
            None => Schema::parse("60s:7d").map_err(Error::Config)?,
        };
        let default_aggregation = Aggregation {
            x_files_factor: 0.5,
            method: Method::Average,
        };
        Ok(Rules {
            schemas,
            aggregations,
            default_schema,
            default_aggregation,
        })
    }

    /// Checks the settings, naming the key at fault.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if self.commit_interval.get().is_zero() || self.commit_interval.get().as_secs() > 10 {
            return Err(("tsdb.commit_interval", "must be between 1ms and 10s".into()));
        }
        if self.head_max_size < ByteSize::mib(1) {
            return Err(("tsdb.head_max_size", "must be at least 1MiB".into()));
        }
        if self.head_max_age.get().as_secs() < 10 {
            return Err(("tsdb.head_max_age", "must be at least 10s".into()));
        }
        if self.compaction_interval.get().is_zero() {
            return Err((
                "tsdb.compaction_interval",
                "must be greater than zero".into(),
            ));
        }
        if self.storage_schemas_file.is_some() && self.schemas != TsdbConfig::default().schemas {
            return Err((
                "tsdb.schemas",
                "set either schemas or storage_schemas_file, not both".into(),
            ));
        }
        if self.storage_aggregation_file.is_some()
            && self.aggregations != TsdbConfig::default().aggregations
        {
            return Err((
                "tsdb.aggregations",
                "set either aggregations or storage_aggregation_file, not both".into(),
            ));
        }
        self.rules()
            .map(|_| ())
            .map_err(|e| ("tsdb.schemas", e.to_string()))
    }
}

fn read(path: &PathBuf) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.clone(),
        source,
    })
}

fn compile_schema(rule: &SchemaRule) -> Result<Rule<Schema>> {
    let value = Schema::parse(&rule.retentions).map_err(|e| {
        Error::Config(format!(
            "rule `{}`: retentions `{}`: {e}",
            rule.name, rule.retentions
        ))
    })?;
    Ok(Rule {
        name: rule.name.clone(),
        pattern: schema::compile_pattern(&rule.name, &rule.pattern)?,
        value,
    })
}

fn compile_aggregation(rule: &AggregationRule) -> Result<Rule<Aggregation>> {
    if !(0.0..=1.0).contains(&rule.x_files_factor) {
        return Err(Error::Config(format!(
            "rule `{}`: x_files_factor must be between 0 and 1",
            rule.name
        )));
    }
    let value = Aggregation {
        x_files_factor: rule.x_files_factor as f32,
        method: rule.method,
    };
    Ok(Rule {
        name: rule.name.clone(),
        pattern: schema::compile_pattern(&rule.name, &rule.pattern)?,
        value,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_statsd_aware() {
        let rules = TsdbConfig::default().rules().unwrap();
        let method = |name: &str| rules.resolve(name).1.method;
        assert_eq!(method("stats.timers.api.lower"), Method::Min);
        assert_eq!(method("stats.timers.api.upper_90"), Method::Max);
        assert_eq!(method("stats.timers.api.upper"), Method::Max);
        assert_eq!(method("stats.timers.api.sum"), Method::Sum);
        assert_eq!(method("stats.timers.api.count"), Method::Sum);
        assert_eq!(method("stats_counts.hits"), Method::Sum);
        assert_eq!(method("stats.hits"), Method::Average);
        assert_eq!(method("servers.web1.cpu.max"), Method::Max);
        assert_eq!(
            rules.resolve("anything").0.to_string(),
            "10:2160,60:43200,600:262800"
        );
    }

    #[test]
    fn bad_rules_are_named() {
        let mut config = TsdbConfig::default();
        config.schemas[0].retentions = "10s:6h,7s:1d".into();
        let (key, reason) = config.validate().unwrap_err();
        assert_eq!(key, "tsdb.schemas");
        assert!(reason.contains("rule `default`"), "{reason}");
    }
}
