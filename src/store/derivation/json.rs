//! A derivation as JSON, format version 4 of `nix derivation show` (Nix's `adl_serializer`
//! for `Derivation` and `DerivationOutput` in `libstore/derivation/json.cc`).
//!
//! ```json
//! {"args":[…],"builder":"…","env":{…},"inputs":{"drvs":{"<base>.drv":{"dynamicOutputs":{},"outputs":["out"]}},"srcs":["<base>"]},
//!  "name":"…","outputs":{"out":{"path":"<base>"}},"system":"…","version":4}
//! ```
//!
//! Store paths are base names (no store directory). Outputs: input-addressed `{"path"}`,
//! fixed `{"hash": SRI, "method"}`, floating `{"hashAlgo", "method"}`, impure the same plus
//! `"impure": true`, deferred `{}`. With structured attributes the `__json` variable leaves
//! `env` and its parsed value becomes `structuredAttrs`. Keys are sorted, as Nix's JSON
//! objects are.
//!
//! Differences from Nix: bytes that are not UTF-8 are replaced (Nix fails to print them);
//! numbers in `structuredAttrs` are printed by serde_json, whose exponent form differs from
//! Nix's for very large or small floats.

use serde_json::{Map, Value, json};

use super::model::{Derivation, Output};

/// The version of the format, `version` in the JSON.
pub const JSON_VERSION: u64 = 4;

/// The environment variable that holds the structured attributes.
pub const STRUCTURED_ATTRS_VAR: &str = "__json";

impl Derivation {
    /// Returns the derivation as format version 4 JSON.
    pub fn to_json(&self) -> Value {
        let text = |b: &[u8]| Value::String(String::from_utf8_lossy(b).into_owned());
        let outputs: Map<String, Value> = self
            .outputs
            .iter()
            .map(|(name, o)| (name.clone(), output_json(o)))
            .collect();
        let drvs: Map<String, Value> = self
            .input_drvs
            .iter()
            .map(|(p, outs)| {
                (
                    p.base_name().to_owned(),
                    json!({ "dynamicOutputs": {}, "outputs": outs }),
                )
            })
            .collect();
        let srcs: Vec<&str> = self.input_srcs.iter().map(|p| p.base_name()).collect();
        let mut env = Map::new();
        let mut structured = None;
        for (k, v) in &self.env {
            if k == STRUCTURED_ATTRS_VAR.as_bytes()
                && let Ok(parsed) = serde_json::from_slice::<Value>(v)
            {
                structured = Some(parsed);
                continue;
            }
            env.insert(String::from_utf8_lossy(k).into_owned(), text(v));
        }
        let mut res = json!({
            "name": self.name,
            "version": JSON_VERSION,
            "outputs": outputs,
            "inputs": { "drvs": drvs, "srcs": srcs },
            "system": text(&self.system),
            "builder": text(&self.builder),
            "args": self.args.iter().map(|a| text(a)).collect::<Vec<_>>(),
            "env": env,
        });
        if let (Some(s), Some(obj)) = (structured, res.as_object_mut()) {
            obj.insert("structuredAttrs".to_owned(), s);
        }
        res
    }
}

fn output_json(output: &Output) -> Value {
    match output {
        Output::InputAddressed(p) => json!({ "path": p.base_name() }),
        Output::Fixed { method, hash, .. } => {
            json!({ "hash": hash.to_sri(), "method": method.name() })
        }
        Output::CaFloating { method, algo } => {
            json!({ "hashAlgo": algo.name(), "method": method.name() })
        }
        Output::Impure { method, algo } => {
            json!({ "hashAlgo": algo.name(), "impure": true, "method": method.name() })
        }
        Output::Deferred => json!({}),
    }
}

/// Returns the `nix derivation show` document for derivations keyed by their `.drv` base
/// names: `{"derivations": {…}, "version": 4}`.
pub fn show<'a>(drvs: impl IntoIterator<Item = (&'a str, &'a Derivation)>) -> Value {
    let derivations: Map<String, Value> = drvs
        .into_iter()
        .map(|(base, d)| (base.to_owned(), d.to_json()))
        .collect();
    json!({ "derivations": derivations, "version": JSON_VERSION })
}
