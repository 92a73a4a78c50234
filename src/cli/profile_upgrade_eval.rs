//! What `profile upgrade` evaluates for one element (Nix's `InstallableFlake` with an exact
//! attribute path and `toDerivedPaths`; spec U4–U6): its flake re-resolved and locked, the
//! value at exactly its `attrPath`, and the derivation outputs it installs. Each distinct
//! source flake is locked and its outputs called once, however many elements came from it
//! (Nix does this once per element).

use std::collections::{BTreeSet, HashMap};
use std::rc::Rc;

use super::Context;
use super::profile::UpgradeArgs;
use crate::build::goal;
use crate::eval::error::{R, err};
use crate::eval::symbol::Symbol;
use crate::eval::{Machine, Value};
use crate::eval_host::Host;
use crate::flakeref::FlakeRef;
use crate::profile::manifest::{Outputs, Source};

/// The derivation outputs an element's attribute evaluated to.
#[derive(Debug, Clone)]
pub struct Derived {
    /// The `.drv` path, as printed.
    pub drv: String,
    /// The outputs the element installs (spec U6).
    pub outputs: goal::Outputs,
}

/// The evaluator of one `profile upgrade`, with the flakes it has locked so far.
pub struct Evaluator {
    m: Machine,
    host: Rc<Host>,
    colours: bool,
    /// Locked flakes by the `originalUrl` they were resolved from: the flake's value and its
    /// locked reference.
    flakes: HashMap<String, (Value, FlakeRef)>,
    /// The `nixConfig` settings the flakes locked so far were allowed to set, in order.
    pub taken: Vec<(String, String)>,
}

impl Evaluator {
    /// Sets up the evaluator as `rflake eval` does for a flake installable.
    pub fn new(ctx: &Context, a: &UpgradeArgs) -> anyhow::Result<Evaluator> {
        // Flakes are evaluated purely unless `--impure` (spec U7).
        let pure = !a.eval.impure;
        let (m, host, colours) = super::eval::machine(ctx, &a.eval, &a.flake, pure, false)?;
        Ok(Evaluator {
            m,
            host,
            colours,
            flakes: HashMap::new(),
            taken: Vec::new(),
        })
    }

    /// Locks the flake `source` was added from (once per `originalUrl`) and evaluates exactly
    /// its attribute path: the new locked reference and the derivation outputs. An evaluation
    /// error is the inner result.
    pub fn element(
        &mut self,
        ctx: &Context,
        a: &UpgradeArgs,
        source: &Source,
    ) -> anyhow::Result<R<(FlakeRef, Derived)>> {
        let key = source.original_url().to_owned();
        let (root, locked) = match self.flakes.get(&key) {
            Some(found) => found.clone(),
            None => {
                let (value, locked, taken) =
                    super::eval_flake::lock_and_call(ctx, &self.host, source.original(), &a.flake)?;
                self.taken.extend(taken);
                let found = (value, locked);
                self.flakes.insert(key, found.clone());
                found
            }
        };
        let m = &mut self.m;
        let derived = lookup(m, &root, source).and_then(|v| derived(m, &v, source));
        Ok(derived.map(|d| (locked, d)))
    }

    /// Renders an evaluation error as `rflake eval` does.
    pub fn render(&self, e: &crate::eval::error::EvalError) -> String {
        crate::util::ansi::filter_escapes(&e.render(self.m.opts.show_trace), self.colours)
    }
}

/// The value at exactly the element's attribute path (spec U5: no search order).
fn lookup(m: &mut Machine, root: &Value, source: &Source) -> R<Value> {
    match super::eval_flake::follow(m, root, &source.attr_path)? {
        Some(v) => Ok(v),
        None => err(format!(
            "flake '{}' does not provide attribute '{}'",
            source.original_url(),
            source.attr_path
        )),
    }
}

/// The derivation and outputs of an element's value (spec U5, U6).
fn derived(m: &mut Machine, v: &Value, source: &Source) -> R<Derived> {
    let v = m.force(v)?;
    let not_a_derivation = |v: &Value| {
        err(format!(
            "expected flake output attribute '{}' to be a derivation or path but found {}: {}",
            source.attr_path,
            v.show_type(),
            crate::eval::print::brief(v)
        ))
    };
    let Value::Attrs(attrs) = &v else {
        return not_a_derivation(&v);
    };
    if string_attr(m, &v, "type")?.as_deref() != Some("derivation") {
        return not_a_derivation(&v);
    }
    let Some(drv) = string_attr(m, &v, "drvPath")? else {
        return err("derivation does not have attribute 'drvPath'");
    };
    let outputs = match &source.outputs {
        Outputs::All => goal::Outputs::All,
        Outputs::Names(names) => goal::Outputs::Names(names.clone()),
        Outputs::Default => {
            let mut names = BTreeSet::new();
            if let Some(specified) = attrs.get(Symbol::intern("outputSpecified")) {
                // Nix: an explicitly selected output (`pkg.dev`) is the one installed, else
                // `out`; `meta` is not consulted then.
                let specified = m.bool_value(&specified.value.clone())?;
                match string_attr(m, &v, "outputName")? {
                    Some(name) if specified => names.insert(name),
                    _ => names.insert("out".to_owned()),
                };
            } else if let Some(list) = outputs_to_install(m, &v)? {
                for item in list.iter() {
                    let s = m.str_of(item)?;
                    names.insert(String::from_utf8_lossy(&s.s).into_owned());
                }
            } else {
                names.insert("out".to_owned());
            }
            goal::Outputs::Names(names)
        }
    };
    Ok(Derived { drv, outputs })
}

/// `meta.outputsToInstall`, when the value has it.
fn outputs_to_install(m: &mut Machine, v: &Value) -> R<Option<Rc<Vec<Value>>>> {
    let attrs = m.attrs_of(v)?;
    let Some(meta) = attrs.get(Symbol::intern("meta")) else {
        return Ok(None);
    };
    let meta = m.attrs_of(&meta.value.clone())?;
    match meta.get(Symbol::intern("outputsToInstall")) {
        Some(list) => Ok(Some(m.list_of(&list.value.clone())?)),
        None => Ok(None),
    }
}

/// The attribute `name` of the set `v` coerced to a string, if present.
fn string_attr(m: &mut Machine, v: &Value, name: &str) -> R<Option<String>> {
    let attrs = m.attrs_of(v)?;
    match attrs.get(Symbol::intern(name)) {
        None => Ok(None),
        Some(a) => {
            let x = m.force(&a.value.clone())?;
            let mut c = crate::eval::context::Context::default();
            let s = m.coerce_to_string(&x, &mut c, false, false)?;
            Ok(Some(String::from_utf8_lossy(&s).into_owned()))
        }
    }
}
