//! `derivationStrict` (Nix's `derivationStrictInternal` in `primops.cc`; spec E3.2–E3.4):
//! the attributes in name order become the environment (or the `__json` of structured
//! attributes), the string contexts become the inputs, the output kind comes from
//! `outputHash*`, `__contentAddressed` and `__impure`, and `store::derivation` computes the
//! output paths and the `.drv`, which is written through the [`Io`](crate::eval::io::Io)
//! trait. Also `placeholder`.

use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use super::PrimOp;
use crate::eval::context::{Context, CtxElem};
use crate::eval::error::{R, err};
use crate::eval::machine::{Machine, io_error};
use crate::eval::pos::PosIdx;
use crate::eval::symbol::Symbol;
use crate::eval::value::{Attr, Value};
use crate::hash::{Algo, Hash};
use crate::store::ca::Method;
use crate::store::derivation::{
    Derivation, HashInput, LoadError, OutputsSpec, check_drv_suffix, check_name, instantiate,
    placeholder,
};
use crate::store::path::{StoreDir, StorePath};

/// The fixed-output and content-addressing attributes, as strings.
#[derive(Default)]
struct Ca {
    hash: Option<String>,
    algo: Option<String>,
    mode: Option<String>,
    content_addressed: bool,
    impure: bool,
}

fn derivation_strict(m: &mut Machine, a: &[Value], pos: PosIdx) -> R<Value> {
    let attrs = m.attrs_of(&a[0])?;
    let get = |n: &str| attrs.get(Symbol::intern(n)).map(|x| x.value.clone());
    let Some(name_v) = get("name") else {
        return err("attribute 'name' missing").map_err(|e| {
            e.frame(
                "in the attrset passed as argument to builtins.derivationStrict",
                PosIdx::NONE,
            )
        });
    };
    let name = m.str_of(&name_v)?.text().into_owned();
    check_name(&name).map_err(|e| crate::eval::error::EvalError::boxed(e.to_string()))?;
    let structured = match get("__structuredAttrs") {
        Some(v) => m.bool_value(&v)?,
        None => false,
    };
    let ignore_nulls = match get("__ignoreNulls") {
        Some(v) => m.bool_value(&v)?,
        None => false,
    };
    let mut ctx = Context::default();
    // Boxed: this frame stays on the stack while the attributes are forced.
    let mut drv = Box::new(Derivation {
        name: name.clone(),
        ..Default::default()
    });
    let mut ca = Ca::default();
    let mut outputs: Option<BTreeSet<String>> = None;
    let mut json: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for attr in attrs.sorted_by_name() {
        let key = attr.name.as_str();
        if matches!(key, "__ignoreNulls" | "__structuredAttrs") {
            continue;
        }
        let v = m.force(&attr.value)?;
        if ignore_nulls && matches!(v, Value::Null) {
            continue;
        }
        let in_attr = |e: Box<crate::eval::error::EvalError>| {
            e.frame(
                format!("while evaluating attribute '{key}' of derivation '{name}'"),
                attr.pos,
            )
        };
        match key {
            "__contentAddressed" => {
                ca.content_addressed = m.bool_value(&v).map_err(in_attr)?;
                continue;
            }
            "__impure" => {
                ca.impure = m.bool_value(&v).map_err(in_attr)?;
                continue;
            }
            "args" => {
                let l = m.list_of(&v).map_err(in_attr)?;
                for x in l.iter() {
                    let s = m
                        .coerce_to_string(x, &mut ctx, true, true)
                        .map_err(in_attr)?;
                    drv.args.push(s);
                }
                continue;
            }
            _ => {}
        }
        if structured {
            let mut out = Vec::new();
            super::json::to_json_ctx(m, &v, &mut ctx, &mut out).map_err(in_attr)?;
            json.insert(key.to_owned(), out);
            match key {
                "builder" | "system" | "outputHash" | "outputHashAlgo" | "outputHashMode" => {
                    let s = m
                        .coerce_to_string(&v, &mut ctx, true, true)
                        .map_err(in_attr)?;
                    special(&mut drv, &mut ca, key, s).map_err(in_attr)?;
                }
                "outputs" => {
                    let l = m.list_of(&v).map_err(in_attr)?;
                    let mut names = Vec::new();
                    for x in l.iter() {
                        names.push(m.str_of(x).map_err(in_attr)?.text().into_owned());
                    }
                    outputs = Some(output_names(names).map_err(in_attr)?);
                }
                _ => {}
            }
            continue;
        }
        let s = m
            .coerce_to_string(&v, &mut ctx, true, true)
            .map_err(in_attr)?;
        if key == "outputs" {
            let names = String::from_utf8_lossy(&s)
                .split_ascii_whitespace()
                .map(str::to_owned)
                .collect();
            outputs = Some(output_names(names).map_err(in_attr)?);
        }
        special(&mut drv, &mut ca, key, s.clone()).map_err(in_attr)?;
        drv.env.insert(key.as_bytes().to_vec(), s);
    }
    if structured {
        let mut text = vec![b'{'];
        for (i, (k, v)) in json.iter().enumerate() {
            if i > 0 {
                text.push(b',');
            }
            text.extend(serde_json::to_string(k).unwrap_or_default().into_bytes());
            text.push(b':');
            text.extend_from_slice(v);
        }
        text.push(b'}');
        drv.env.insert(b"__json".to_vec(), text);
    }
    let _ = pos;
    instantiate_and_write(m, name, *drv, ctx, ca, outputs)
}

/// The rest of `derivationStrict` once every attribute is forced: the output paths, the
/// `.drv` written to the store, the result set. A function of its own so that its locals
/// (the store's hashing and ATerm text) are not in the frame that stays on the stack while
/// the attributes are forced: in a chain of derivations that frame is there once per link.
#[inline(never)]
fn instantiate_and_write(
    m: &mut Machine,
    name: String,
    mut drv: Derivation,
    ctx: Context,
    ca: Ca,
    outputs: Option<BTreeSet<String>>,
) -> R<Value> {
    let dir = StoreDir::new(m.io.store_dir());
    add_inputs(m, &dir, &ctx, &mut drv)?;
    if drv.builder.is_empty() {
        return err("required attribute 'builder' missing");
    }
    if drv.system.is_empty() {
        return err("required attribute 'system' missing");
    }
    let names = outputs.unwrap_or_else(|| BTreeSet::from(["out".to_owned()]));
    let spec = outputs_spec(m, &ca)?;
    let method = match &spec {
        OutputsSpec::Fixed { method, .. } => Some(*method),
        _ => None,
    };
    check_drv_suffix(&name, method, &names)
        .map_err(|e| crate::eval::error::EvalError::boxed(e.to_string()))?;
    let io = m.io.clone();
    let mut load = |p: &StorePath| -> Result<Derivation, LoadError> {
        let full = dir.print(p);
        let text = io.read_file(&full)?;
        let name = crate::store::derivation::name_of_drv_path(p).unwrap_or("");
        Ok(Derivation::parse(&dir, &text, name)?)
    };
    let mut hashes = std::mem::take(&mut m.drv_hashes);
    let result = {
        let mut inputs = hashes.with_loader(&dir, &mut load);
        instantiate(drv, &names, spec, &dir, &mut inputs)
    };
    let done = match result {
        Ok(d) => d,
        Err(e) => {
            m.drv_hashes = hashes;
            return err(e.to_string());
        }
    };
    let drv_path = dir.print(&done.drv_path);
    hashes.insert(done.drv_path.clone(), done.hash_input.clone());
    m.drv_hashes = hashes;
    let refs: Vec<String> = done.drv.references().iter().map(|p| dir.print(p)).collect();
    let written =
        m.io.add_text(&format!("{name}.drv"), &done.text, &refs, m.opts.read_only)
            .map_err(io_error)?;
    if written != drv_path {
        return err(format!(
            "internal error: derivation written to '{written}', expected '{drv_path}'"
        ));
    }
    let drv = done.drv;
    m.drvs.insert(
        drv_path.clone(),
        Rc::new(crate::eval::machine::DrvRefs::of(&drv)),
    );
    let drv_rc: Rc<str> = drv_path.clone().into();
    let mut entries = vec![Attr {
        name: Symbol::intern("drvPath"),
        value: Value::string_with(
            drv_path.clone(),
            Context::one(CtxElem::Deep(drv_rc.clone())),
        ),
        pos: PosIdx::NONE,
    }];
    for (o, output) in &drv.outputs {
        let path = match output.path() {
            Some(p) => dir.print(p),
            None => placeholder_for(&drv_path, o, &done.hash_input),
        };
        entries.push(Attr {
            name: Symbol::intern(o),
            value: Value::string_with(
                path,
                Context::one(CtxElem::Built {
                    drv: drv_rc.clone(),
                    output: o.as_str().into(),
                }),
            ),
            pos: PosIdx::NONE,
        });
    }
    Ok(Value::attrs(entries))
}

/// The placeholder of a floating output of another derivation (Nix's
/// `DownstreamPlaceholder`): for now the plain output placeholder.
fn placeholder_for(_drv: &str, output: &str, _hash: &HashInput) -> String {
    placeholder(output)
}

/// Records `builder`, `system` and the content-addressing attributes; an `outputHashMode`
/// that names no method fails as soon as it is read, as in Nix.
fn special(drv: &mut Derivation, ca: &mut Ca, key: &str, s: Vec<u8>) -> R<()> {
    match key {
        "builder" => drv.builder = s,
        "system" => drv.system = s,
        "outputHash" => ca.hash = Some(String::from_utf8_lossy(&s).into_owned()),
        "outputHashAlgo" => ca.algo = Some(String::from_utf8_lossy(&s).into_owned()),
        "outputHashMode" => {
            let mode = String::from_utf8_lossy(&s).into_owned();
            if !matches!(mode.as_str(), "recursive" | "flat" | "nar" | "text" | "git") {
                return err(format!(
                    "invalid value '{mode}' for 'outputHashMode' attribute"
                ));
            }
            ca.mode = Some(mode);
        }
        _ => {}
    }
    Ok(())
}

fn output_names(names: Vec<String>) -> R<BTreeSet<String>> {
    let mut out = BTreeSet::new();
    for n in names {
        if n == "drvPath" {
            return err(format!("invalid derivation output name '{n}'"));
        }
        if !out.insert(n.clone()) {
            return err(format!("duplicate derivation output '{n}'"));
        }
    }
    if out.is_empty() {
        return err("derivation cannot have an empty set of outputs");
    }
    Ok(out)
}

fn method_of(mode: Option<&str>, default: Method) -> R<Method> {
    Ok(match mode {
        None => default,
        Some("flat") => Method::Flat,
        Some("recursive" | "nar") => Method::Recursive,
        Some("text") => Method::Text,
        Some("git") => Method::Git,
        Some(other) => {
            return err(format!(
                "unknown content-addressing method '{other}'; expected one of 'flat', 'nar', 'text' or 'git'"
            ));
        }
    })
}

fn outputs_spec(m: &mut Machine, ca: &Ca) -> R<OutputsSpec> {
    let algo = match ca.algo.as_deref() {
        None | Some("") => None,
        Some(a) => match Algo::from_name(a) {
            Some(a) => Some(a),
            None => return err(format!("unknown hash algorithm '{a}'")),
        },
    };
    if let Some(h) = &ca.hash {
        let method = method_of(ca.mode.as_deref(), Method::Flat)?;
        let hash = if h.is_empty() {
            let algo = algo.unwrap_or(Algo::Sha256);
            let zero = Hash::zero(algo);
            m.io.message(&format!(
                "warning: found empty hash, assuming '{}'",
                zero.to_sri()
            ));
            zero
        } else {
            Hash::parse_any(h, algo)
                .map_err(|e| crate::eval::error::EvalError::boxed(e.to_string()))?
        };
        return Ok(OutputsSpec::Fixed { method, hash });
    }
    if ca.content_addressed || ca.impure {
        let method = method_of(ca.mode.as_deref(), Method::Recursive)?;
        let algo = algo.unwrap_or(Algo::Sha256);
        return Ok(if ca.impure {
            OutputsSpec::Impure { method, algo }
        } else {
            OutputsSpec::Floating { method, algo }
        });
    }
    Ok(OutputsSpec::InputAddressed)
}

/// The derivation's inputs from the string context of its attributes.
fn add_inputs(m: &mut Machine, dir: &StoreDir, ctx: &Context, drv: &mut Derivation) -> R<()> {
    let parse = |p: &str| {
        dir.parse(p)
            .map_err(|e| crate::eval::error::EvalError::boxed(e.to_string()))
    };
    for e in ctx.iter() {
        match e {
            CtxElem::Opaque(p) => {
                drv.input_srcs.insert(parse(p)?);
            }
            CtxElem::Built { drv: d, output } => {
                drv.input_drvs
                    .entry(parse(d)?)
                    .or_default()
                    .insert(output.to_string());
            }
            CtxElem::Deep(d) => {
                // The whole closure of the derivation: every path in it as a source, and
                // every `.drv` also with all its outputs.
                let mut todo = vec![d.to_string()];
                let mut seen = BTreeSet::new();
                while let Some(p) = todo.pop() {
                    if !seen.insert(p.clone()) {
                        continue;
                    }
                    let sp = parse(&p)?;
                    drv.input_srcs.insert(sp.clone());
                    if !p.ends_with(".drv") {
                        continue;
                    }
                    let dep = match m.drvs.get(&p) {
                        Some(d) => d.clone(),
                        None => {
                            let text = m.io.read_file(&p).map_err(io_error)?;
                            let name =
                                crate::store::derivation::name_of_drv_path(&sp).unwrap_or("");
                            let d = Derivation::parse(dir, &text, name)
                                .map_err(|e| crate::eval::error::EvalError::boxed(e.to_string()))?;
                            Rc::new(crate::eval::machine::DrvRefs::of(&d))
                        }
                    };
                    drv.input_drvs
                        .entry(sp)
                        .or_default()
                        .extend(dep.outputs.iter().cloned());
                    for i in dep.input_drvs.iter() {
                        todo.push(dir.print(i));
                    }
                    for s in &dep.input_srcs {
                        todo.push(dir.print(s));
                    }
                }
            }
        }
    }
    Ok(())
}

pub static OPS: &[PrimOp] = &[
    PrimOp {
        name: "derivationStrict",
        arity: 1,
        f: derivation_strict,
    },
    PrimOp {
        name: "placeholder",
        arity: 1,
        f: |m, a, _| {
            let o = m.str_of(&a[0])?;
            Ok(Value::string(placeholder(&o.text())))
        },
    },
];
