//! Scenario files (TOML): the serde model, validation into a [`crate::plan::Plan`], and
//! errors with file, line and column.

/// JSON Schema of scenario files.
pub fn json_schema() -> serde_json::Value {
    serde_json::json!({})
}
