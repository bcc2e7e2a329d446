//! `scenarios/scenario.schema.json` covers the format: every field any
//! shipped scenario or fixture uses is in the schema, and every field of the
//! schema's tables is documented in `scenarios/README.md`.

use std::path::PathBuf;

use lifecycle_sim::Scenario;
use sim_tests::{fixtures_directory, scenarios_directory};

fn schema() -> serde_json::Value {
    let path = scenarios_directory().join("scenario.schema.json");
    let text = std::fs::read_to_string(&path).expect("the schema file");
    serde_json::from_str(&text).expect("the schema is JSON")
}

/// The schema node of a dotted field, if the schema has it.
fn node<'a>(schema: &'a serde_json::Value, field: &[&str]) -> Option<&'a serde_json::Value> {
    field
        .iter()
        .try_fold(schema, |node, key| node.get("properties")?.get(key))
}

fn fields(prefix: &[String], value: &toml::Value, out: &mut Vec<Vec<String>>) {
    if let toml::Value::Table(table) = value {
        for (key, value) in table {
            let mut field = prefix.to_vec();
            field.push(key.clone());
            out.push(field.clone());
            fields(&field, value, out);
        }
    }
}

#[test]
fn every_field_of_every_shipped_file_is_in_the_schema() {
    let schema = schema();
    let files: Vec<PathBuf> = Scenario::files(&[scenarios_directory(), fixtures_directory()])
        .expect("the scenario files");
    assert!(files.len() > 20);
    for file in files {
        let text = std::fs::read_to_string(&file).expect("a readable file");
        let value: toml::Value = toml::from_str(&text).expect("TOML");
        let mut found = Vec::new();
        fields(&[], &value, &mut found);
        for field in found {
            let field: Vec<&str> = field.iter().map(String::as_str).collect();
            assert!(
                node(&schema, &field).is_some(),
                "{}: `{}` is not in the schema",
                file.display(),
                field.join(".")
            );
        }
    }
}

#[test]
fn the_schema_rejects_unknown_fields_and_documents_every_field() {
    let schema = schema();
    let readme = std::fs::read_to_string(scenarios_directory().join("README.md")).expect("docs");
    assert_eq!(schema["additionalProperties"], false);
    for table in ["target", "run", "generate", "kubelet"] {
        let table = &schema["properties"][table];
        assert_eq!(table["additionalProperties"], false);
        for key in table["properties"].as_object().expect("properties").keys() {
            let documented =
                readme.contains(&format!("`{key}`")) || readme.contains(&format!(".{key}]"));
            assert!(documented, "`{key}` is not in scenarios/README.md");
        }
    }
    assert!(node(&schema, &["bogus"]).is_none());
}
