//! The index schema, shared by every day partition.

use tantivy::schema::DateTimePrecision;
use tantivy::schema::{
    DateOptions, Field, IndexRecordOption, JsonObjectOptions, Schema, TextFieldIndexing,
    TextOptions,
};

/// The schema and its fields.
#[derive(Debug, Clone)]
pub struct Fields {
    pub schema: Schema,
    pub timestamp: Field,
    pub message: Field,
    pub level: Field,
    pub service: Field,
    pub host: Field,
    pub fields: Field,
}

impl Fields {
    pub fn new() -> Fields {
        let mut b = Schema::builder();
        let timestamp = b.add_date_field(
            "timestamp",
            DateOptions::default()
                .set_indexed()
                .set_stored()
                .set_fast()
                .set_precision(DateTimePrecision::Nanoseconds),
        );
        // Results sort by time, never by score: no field needs norms.
        let message = b.add_text_field(
            "message",
            TextOptions::default().set_stored().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer("default")
                    .set_index_option(IndexRecordOption::WithFreqsAndPositions)
                    .set_fieldnorms(false),
            ),
        );
        let keyword = || {
            TextOptions::default()
                .set_stored()
                .set_fast("raw")
                .set_indexing_options(
                    TextFieldIndexing::default()
                        .set_tokenizer("raw")
                        .set_index_option(IndexRecordOption::Basic)
                        .set_fieldnorms(false),
                )
        };
        let level = b.add_text_field("level", keyword());
        let service = b.add_text_field("service", keyword());
        let host = b.add_text_field("host", keyword());
        let json = JsonObjectOptions::default()
            .set_stored()
            .set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer("raw")
                    .set_index_option(IndexRecordOption::Basic)
                    .set_fieldnorms(false),
            )
            .set_fast("raw")
            .set_expand_dots_enabled();
        let fields = b.add_json_field("fields", json);
        Fields {
            schema: b.build(),
            timestamp,
            message,
            level,
            service,
            host,
            fields,
        }
    }
}

impl Default for Fields {
    fn default() -> Self {
        Fields::new()
    }
}
