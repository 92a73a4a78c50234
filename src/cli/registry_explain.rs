//! Rendering of `registry resolve --explain [--json]` (an rflake addition): the chain of
//! registry rewrites of Nix's `lookupInRegistries`, computed by
//! [`crate::registry::resolve::explain`].

use serde_json::{Map, Value, json};

use crate::flakeref::{FlakeRef, Input};
use crate::registry::resolve::{Step, Trace};

/// The layer's name without the padding of `registry list`.
fn layer_name(step: &Step) -> &'static str {
    step.layer.label().trim_end()
}

fn entry_to(step: &Step) -> anyhow::Result<String> {
    let to = FlakeRef {
        input: step.entry.to.clone(),
        subdir: step.entry.dir.clone(),
    };
    Ok(to.to_url_string()?)
}

fn url(input: &Input) -> anyhow::Result<String> {
    Ok(input.to_url_string()?)
}

/// The text form: the reference, one indented line per rewrite, then `=> RESOLVED`.
pub fn to_text(r: &FlakeRef, trace: &Trace) -> anyhow::Result<String> {
    let mut out = format!("{}\n", r.to_url_string()?);
    for (i, step) in trace.steps.iter().enumerate() {
        let origin = step
            .origin
            .as_deref()
            .map_or_else(|| "--override-flake".to_owned(), |o| format!("'{o}'"));
        let exact = if step.entry.exact { " (exact)" } else { "" };
        out.push_str(&format!(
            "  {}. {} {origin}: {} -> {}{exact}\n",
            i + 1,
            layer_name(step),
            url(&step.entry.from)?,
            entry_to(step)?,
        ));
        let mut carried = Vec::new();
        if let Some(r) = &step.carried_ref {
            carried.push(format!("ref={r}"));
        }
        if let Some(r) = &step.carried_rev {
            carried.push(format!("rev={r}"));
        }
        if !carried.is_empty() {
            out.push_str(&format!("     carried over: {}\n", carried.join(", ")));
        }
        out.push_str(&format!("     gives {}\n", url(&step.after)?));
    }
    if let Some(d) = &trace.carried_dir {
        out.push_str(&format!("  dir={d} carried over from the reference\n"));
    }
    out.push_str(&format!("  => {}\n", trace.resolved.to_url_string()?));
    Ok(out)
}

/// The JSON form of one reference's resolution.
pub fn to_json(r: &FlakeRef, trace: &Trace) -> anyhow::Result<Value> {
    let mut steps = Vec::new();
    for step in &trace.steps {
        let mut carried = Map::new();
        if let Some(v) = &step.carried_ref {
            carried.insert("ref".into(), Value::String(v.clone()));
        }
        if let Some(v) = &step.carried_rev {
            carried.insert("rev".into(), Value::String(v.clone()));
        }
        let mut entry = step.entry.listing_json(layer_name(step));
        if let Value::Object(o) = &mut entry {
            o.remove("layer");
        }
        steps.push(json!({
            "layer": layer_name(step),
            "file": step.origin,
            "entry": entry,
            "exact": step.entry.exact,
            "carried": carried,
            "from": url(&step.before)?,
            "to": url(&step.after)?,
        }));
    }
    Ok(json!({
        "ref": r.to_url_string()?,
        "steps": steps,
        "carriedDir": trace.carried_dir,
        "resolved": trace.resolved.to_url_string()?,
    }))
}
