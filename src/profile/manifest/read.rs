//! Reading `manifest.json` versions 1, 2 and 3 (spec P4.1, P4.2), as current Nix's
//! `ProfileManifest` constructor does.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::{Map, Value};

use super::{DEFAULT_PRIORITY, Element, Error, Manifest, Outputs, Source};
use crate::flakeref::{self, FlakeRef, ParseOptions};
use crate::report::Reporter;
use crate::store::StoreDir;

/// The names of the URL fields of a manifest version.
struct Fields {
    url: &'static str,
    original_url: &'static str,
}

/// Parses the bytes of the manifest at `path` (named in errors); store paths must be in
/// `store_dir`. Warnings of the flake reference parser go to `report`.
pub fn parse(
    bytes: &[u8],
    path: &Path,
    store_dir: &StoreDir,
    report: &dyn Reporter,
) -> Result<Manifest, Error> {
    let json: Value = serde_json::from_slice(bytes).map_err(|e| Error::Json {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    let damaged = |message: String| Error::Damaged {
        path: path.to_owned(),
        message,
    };
    let top = json
        .as_object()
        .ok_or_else(|| damaged("the top level is not an object".into()))?;
    let version = top.get("version").cloned().unwrap_or(Value::from(0));
    let fields = match version.as_i64() {
        Some(1) => Fields {
            url: "uri",
            original_url: "originalUri",
        },
        Some(2 | 3) => Fields {
            url: "url",
            original_url: "originalUrl",
        },
        _ => {
            return Err(Error::UnsupportedVersion {
                path: path.to_owned(),
                version: version.to_string(),
            });
        }
    };
    let reader = Reader {
        fields,
        store_dir,
        report,
    };
    let mut manifest = Manifest::default();
    match top.get("elements") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                let element = reader
                    .element(item)
                    .map_err(|m| damaged(format!("element {i}: {m}")))?;
                manifest.add(element);
            }
        }
        Some(Value::Object(items)) => {
            for (name, item) in items {
                let element = reader
                    .element(item)
                    .map_err(|m| damaged(format!("element '{name}': {m}")))?;
                manifest.add_named(name, element);
            }
        }
        Some(other) => {
            return Err(damaged(format!(
                "'elements' is {}, not an array or object",
                type_name(other)
            )));
        }
    }
    Ok(manifest)
}

struct Reader<'a> {
    fields: Fields,
    store_dir: &'a StoreDir,
    report: &'a dyn Reporter,
}

impl Reader<'_> {
    fn element(&self, item: &Value) -> Result<Element, String> {
        let e = item
            .as_object()
            .ok_or_else(|| format!("is {}, not an object", type_name(item)))?;
        let mut store_paths = BTreeSet::new();
        match e.get("storePaths") {
            None | Some(Value::Null) => {}
            Some(Value::Array(paths)) => {
                for p in paths {
                    let s = p
                        .as_str()
                        .ok_or_else(|| "'storePaths' holds a non-string".to_owned())?;
                    let path = self.store_dir.parse(s).map_err(|e| e.to_string())?;
                    store_paths.insert(path);
                }
            }
            Some(other) => return Err(format!("'storePaths' is {}", type_name(other))),
        }
        let active = match e.get("active") {
            Some(Value::Bool(b)) => *b,
            Some(other) => return Err(format!("'active' is {}, not a Boolean", type_name(other))),
            None => return Err("'active' is missing".into()),
        };
        let priority = match e.get("priority") {
            None => DEFAULT_PRIORITY,
            Some(v) => v
                .as_i64()
                .ok_or_else(|| format!("'priority' is {}, not an integer", type_name(v)))?,
        };
        let url = match e.get(self.fields.url) {
            None => "",
            Some(v) => v
                .as_str()
                .ok_or_else(|| format!("'{}' is not a string", self.fields.url))?,
        };
        let source = if url.is_empty() {
            None
        } else {
            Some(self.source(e, url)?)
        };
        Ok(Element {
            store_paths,
            source,
            active,
            priority,
        })
    }

    fn source(&self, e: &Map<String, Value>, url: &str) -> Result<Source, String> {
        let string = |key: &str| {
            e.get(key)
                .and_then(Value::as_str)
                .ok_or_else(|| format!("'{key}' is missing or not a string"))
        };
        let original = self.flake_ref(string(self.fields.original_url)?)?;
        let locked = self.flake_ref(url)?;
        let attr_path = string("attrPath")?.to_owned();
        let outputs = outputs(e.get("outputs"))?;
        Source::new(original, locked, attr_path, outputs).map_err(|e| e.to_string())
    }

    fn flake_ref(&self, s: &str) -> Result<FlakeRef, String> {
        flakeref::parse(s, &ParseOptions::default(), self.report)
            .map_err(|e| format!("flake reference '{s}': {e}"))
    }
}

/// `null` or missing: default outputs; `["*"]`: all; otherwise the names.
fn outputs(v: Option<&Value>) -> Result<Outputs, String> {
    let items = match v {
        None | Some(Value::Null) => return Ok(Outputs::Default),
        Some(Value::Array(items)) => items,
        Some(other) => return Err(format!("'outputs' is {}", type_name(other))),
    };
    let names = items
        .iter()
        .map(|i| i.as_str().map(str::to_owned))
        .collect::<Option<BTreeSet<String>>>()
        .ok_or_else(|| "'outputs' holds a non-string".to_owned())?;
    if names.is_empty() {
        return Err("'outputs' is an empty list".into());
    }
    if names.len() == 1 && names.contains("*") {
        return Ok(Outputs::All);
    }
    Ok(Outputs::Names(names))
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a Boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
