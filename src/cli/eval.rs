//! `rflake eval` (Nix's `src/nix/eval.cc`): evaluate an expression (`--expr`), a file
//! (`--file`) or an installable, optionally select an attribute path and apply a function
//! (`--apply`), and print the value as Nix does, as JSON (`--json`) or raw (`--raw`).

use std::collections::HashMap;
use std::process::ExitCode;
use std::rc::Rc;

use clap::Args;

use super::Context;
use super::args::EvalArgs;
use crate::eval::pos::Origin;
use crate::eval::{Machine, Options, Value};

/// Arguments of `eval`.
#[derive(Args, Debug)]
#[command(about = "Evaluate a Nix expression", long_about = None)]
pub struct EvalCmd {
    /// The installable (a flake reference with an attribute path, or an attribute path with
    /// `--file`/`--expr`)
    #[arg(value_name = "INSTALLABLE")]
    installable: Option<String>,
    /// Interpret installables as attribute paths relative to the Nix expression EXPR
    #[arg(
        long,
        value_name = "EXPR",
        help_heading = "Options that change the interpretation of installables"
    )]
    expr: Option<String>,
    /// Interpret installables as attribute paths relative to the Nix expression stored in FILE
    #[arg(
        short = 'f',
        long,
        value_name = "FILE",
        help_heading = "Options that change the interpretation of installables"
    )]
    file: Option<String>,
    /// Produce output in JSON format, suitable for consumption by another program
    #[arg(long)]
    json: bool,
    /// Print strings without quoting or escaping
    #[arg(long)]
    raw: bool,
    /// Apply the function EXPR to each argument
    #[arg(long, value_name = "EXPR")]
    apply: Option<String>,
    /// Do not instantiate each evaluated derivation
    #[arg(long)]
    read_only: bool,
    #[command(flatten)]
    eval: EvalArgs,
    #[command(flatten)]
    flake: super::args::FlakeArgs,
}

/// Runs `eval`.
pub fn run(a: EvalCmd, ctx: &Context) -> anyhow::Result<ExitCode> {
    if a.raw && a.json {
        anyhow::bail!("--raw and --json are mutually exclusive");
    }
    let flake_mode = a.expr.is_none() && a.file.is_none();
    if flake_mode && (!a.eval.arg.is_empty() || !a.eval.argstr.is_empty()) {
        anyhow::bail!("'--arg' and '--argstr' are incompatible with flakes");
    }
    // Nix's new CLI evaluates purely unless `--impure`; `--file` alone is impure (a
    // "backward compatibility hack" in Nix's `SourceExprCommand::parseInstallables`).
    let pure = a.file.is_none() && !a.eval.impure;
    let (mut m, host, colours) = machine(ctx, &a.eval, &a.flake, pure, a.read_only)?;
    let cwd = ctx.cwd.to_string_lossy().into_owned();
    let root = if flake_mode {
        let installable = a.installable.as_deref().unwrap_or(".");
        Some(super::eval_flake::select(
            ctx,
            &host,
            &mut m,
            installable,
            &a.flake,
        )?)
    } else {
        None
    };
    match evaluate(&mut m, &a, &cwd, root) {
        Ok(out) => {
            use std::io::Write;
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(&out)?;
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            // Evaluation errors are rendered here, frames and code included, as Nix does.
            let rendered = crate::util::ansi::filter_escapes(&e.render(m.opts.show_trace), colours);
            ctx.printer.error(&rendered, &e.msg, None);
            Ok(ExitCode::FAILURE)
        }
    }
}

/// Sets up the evaluator as `rflake eval` does (also for `rflake build`): the host over the
/// store, the search path, the settings that drive evaluation, purely when `pure` (as Nix's
/// new CLI: unless `--impure` or `--file`). Also returns whether messages keep their colours.
pub(super) fn machine(
    ctx: &Context,
    eval: &EvalArgs,
    flake: &super::args::FlakeArgs,
    pure: bool,
    read_only: bool,
) -> anyhow::Result<(Machine, Rc<crate::eval_host::Host>, bool)> {
    let (host, opts, colours) = host(ctx, eval, flake, pure, read_only)?;
    Ok((new_machine(&host, opts), host, colours))
}

/// A machine over `host` with `opts`. Evaluation is where transparent huge pages pay (a
/// page fault per 2 MiB of heap instead of per 4 KiB), so they are allowed from here on.
pub(super) fn new_machine(host: &Rc<crate::eval_host::Host>, opts: Options) -> Machine {
    crate::util::thp::allow();
    Machine::new(host.clone(), opts)
}

/// What [`machine`] sets up before the machine itself: the host, the evaluation options and
/// whether messages keep their colours (for a caller that may need no evaluation at all).
pub(super) fn host(
    ctx: &Context,
    eval: &EvalArgs,
    flake: &super::args::FlakeArgs,
    pure: bool,
    read_only: bool,
) -> anyhow::Result<(Rc<crate::eval_host::Host>, Options, bool)> {
    let mut uri = ctx.store_uri(None);
    // Another process's store (the daemon): derivations and sources are written to the
    // staging store, and `build` copies what it needs over.
    if crate::flake::session::is_remote(&uri) {
        uri = crate::flake::session::staging_uri(&ctx.dirs.cache_home);
    }
    let store_root = match &uri {
        crate::store::uri::StoreUri::Local { root, .. } => root.clone(),
        _ => None,
    };
    // The logical store directory: a local store's `store` parameter, else Nix's default.
    let store_dir = crate::store::open::local_options(&uri).map_or_else(
        || "/nix/store".to_owned(),
        |o| o.store_dir.as_str().to_owned(),
    );
    let cfg = crate::store::open::OpenConfig::new(&ctx.store_settings(), ctx.http.clone())?;
    let opener: crate::eval_host::Opener =
        Box::new(move || crate::store::open::open_local(&uri, &cfg));
    let env: HashMap<String, String> = super::env::all_vars();
    let now = super::env::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    // Messages and errors lose the ANSI escapes Nix code put in them unless stderr shows
    // colours, as Nix's logger does.
    let colours = crate::util::ansi::colours_on(
        |k| env.get(k).cloned(),
        std::io::IsTerminal::is_terminal(&std::io::stderr()),
    );
    let sink: Box<dyn Fn(&str)> = Box::new(move |line| {
        use std::io::Write;
        let line = crate::util::ansi::filter_escapes(line, colours);
        let _ = writeln!(std::io::stderr(), "{line}");
    });
    let use_registries = ctx.settings.use_registries && !flake.no_registries;
    let flakes = crate::eval_host::Flakes {
        session: crate::flake::session::Session::owning(
            ctx.session_config(use_registries),
            std::sync::Arc::new(ctx.printer.clone()),
        ),
        flag_registry: ctx.flag_registry(&eval.override_flake)?,
    };
    let host = crate::eval_host::Host::new(&store_dir, opener, env.clone(), now, sink)
        .with_store_root(store_root)
        .with_purity(pure)
        .with_flakes(flakes)
        .with_import_from_derivation(
            ctx.settings.allow_import_from_derivation,
            super::build::ifd_realiser(ctx)?,
        );
    let host = Rc::new(host);
    // The search path: `-I` first, then `NIX_PATH` (which replaces the `nix-path` setting);
    // pure evaluation has none.
    let mut nix_path: Vec<String> = eval.include.clone();
    match env.get("NIX_PATH") {
        Some(p) => nix_path.extend(split_nix_path(p)),
        None => nix_path.extend(ctx.settings.nix_path.iter().cloned()),
    }
    if pure {
        nix_path.clear();
    }
    // Relative entries are relative to the working directory.
    let cwd_text = ctx.cwd.to_string_lossy().into_owned();
    let nix_path: Vec<String> = nix_path
        .into_iter()
        .map(|e| {
            let (prefix, path) = match e.split_once('=') {
                Some((p, v)) => (Some(p.to_owned()), v.to_owned()),
                None => (None, e.clone()),
            };
            let path = if path.starts_with('/') || path.contains(':') {
                path
            } else {
                crate::eval::paths::canonicalise(&format!("{cwd_text}/{path}"))
            };
            match prefix {
                Some(p) => format!("{p}={path}"),
                None => path,
            }
        })
        .collect();
    let lint = |s: &str| crate::eval::lower::Diagnose::parse(s).unwrap_or_default();
    let s = &ctx.settings;
    let opts = Options {
        pure,
        read_only,
        nix_path,
        max_call_depth: usize::try_from(s.max_call_depth).unwrap_or(usize::MAX),
        show_trace: s.show_trace,
        abort_on_warn: s.abort_on_warn,
        lints: crate::eval::lower::Lints {
            absolute_paths: lint(&s.lint_absolute_path_literals),
            short_paths: lint(&s.lint_short_path_literals),
            urls: lint(&s.lint_url_literals),
        },
        features: s.experimental_features.clone(),
        ..Options::default()
    };
    Ok((host, opts, colours))
}

/// The entries of `NIX_PATH`: separated by `:`, except the `:` of a URL scheme
/// (`nixpkgs=https://…`, `flake:nixpkgs`) when what follows is `//`.
fn split_nix_path(p: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut rest = p;
    while let Some(i) = rest.find(':') {
        let (head, tail) = rest.split_at(i);
        cur.push_str(head);
        let after = &tail[1..];
        let scheme = cur.rsplit('=').next().unwrap_or("");
        let is_scheme = after.starts_with("//")
            || (matches!(scheme, "flake" | "channel") && !cur.contains('/'));
        if is_scheme {
            cur.push(':');
        } else if !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        rest = after;
    }
    cur.push_str(rest);
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn evaluate(
    m: &mut Machine,
    a: &EvalCmd,
    cwd: &str,
    selected: Option<crate::eval::R<Value>>,
) -> crate::eval::R<Vec<u8>> {
    let mut v = match selected {
        Some(v) => v?,
        None => select(
            m,
            a.expr.as_deref(),
            a.file.as_deref(),
            a.installable.clone(),
            &a.eval,
            cwd,
        )?,
    };
    if let Some(f) = &a.apply {
        let f = m.eval_source(f, Origin::String, cwd)?;
        v = m.call(f, v, crate::eval::pos::PosIdx::NONE)?;
    }
    if a.raw {
        let mut ctx = crate::eval::context::Context::default();
        return m.coerce_to_string(&v, &mut ctx, false, true);
    }
    if a.json {
        let mut out = crate::eval::builtins::to_json(m, &v)?;
        out.push(b'\n');
        return Ok(out);
    }
    let mut out = crate::eval::print::print(m, &v, true)?;
    out.push(b'\n');
    Ok(out)
}

/// The value `--expr`/`--file` and the attribute path select.
pub(super) fn select(
    m: &mut Machine,
    expr: Option<&str>,
    file: Option<&str>,
    attr_path: Option<String>,
    eval: &EvalArgs,
    cwd: &str,
) -> crate::eval::R<Value> {
    let (root, attr_path) = match (expr, file) {
        (Some(e), _) => (m.eval_source(e, Origin::String, cwd)?, attr_path),
        (None, Some(f)) => {
            let p = if f.starts_with('/') {
                f.to_owned()
            } else {
                format!("{cwd}/{f}")
            };
            let p = crate::eval::paths::canonicalise(&p);
            (m.import(&p)?, attr_path)
        }
        (None, None) => return crate::eval::error::err("internal error: no expression"),
    };
    let auto = auto_args(m, eval, cwd)?;
    let mut v = auto_call(m, root, &auto)?;
    if let Some(path) = attr_path.filter(|p| !p.is_empty()) {
        for part in split_attr_path(&path) {
            v = auto_call(m, v, &auto)?;
            // As Nix's findAlongAttrPath: a name of digits is a list index.
            let index = part
                .bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| part.parse::<u32>().ok())
                .flatten();
            let next = match (index, &v) {
                (Some(i), Value::List(l)) => match l.get(i as usize) {
                    Some(x) => x.clone(),
                    None => {
                        return crate::eval::error::err(format!(
                            "list index {i} in selection path '{path}' is out of range"
                        ));
                    }
                },
                (Some(_), other) => {
                    return crate::eval::error::err(format!(
                        "the expression selected by the selection path '{path}' should be a list but is {}",
                        other.show_type()
                    ));
                }
                (None, Value::Attrs(set)) => {
                    let sym = crate::eval::symbol::Symbol::intern(&part);
                    match set.get(sym) {
                        Some(x) => x.value.clone(),
                        None => {
                            return crate::eval::error::err(format!(
                                "attribute '{part}' in selection path '{path}' not found"
                            ));
                        }
                    }
                }
                (None, other) => {
                    return crate::eval::error::err(format!(
                        "the expression selected by the selection path '{path}' should be a set but is {}",
                        other.show_type()
                    ));
                }
            };
            v = m.force(&next)?;
        }
        v = auto_call(m, v, &auto)?;
    }
    Ok(v)
}

/// `--arg NAME EXPR` and `--argstr NAME STRING`.
fn auto_args(m: &mut Machine, a: &EvalArgs, cwd: &str) -> crate::eval::R<Vec<(String, Value)>> {
    let mut out = Vec::new();
    for pair in a.arg.chunks(2) {
        if let [name, expr] = pair {
            let v = m.eval_source(expr, Origin::String, cwd)?;
            out.push((name.clone(), v));
        }
    }
    for pair in a.argstr.chunks(2) {
        if let [name, s] = pair {
            out.push((name.clone(), Value::string(s.as_str())));
        }
    }
    Ok(out)
}

/// Nix's `autoCallFunction`: a function taking a set of formals is called with the
/// `--arg`s it names (and its defaults).
fn auto_call(m: &mut Machine, v: Value, args: &[(String, Value)]) -> crate::eval::R<Value> {
    let v = m.force(&v)?;
    let Value::Lambda(c) = &v else {
        return Ok(v);
    };
    let Some(formals) = &c.lambda.formals else {
        return Ok(v);
    };
    let mut entries = Vec::new();
    for (name, value) in args {
        let sym = crate::eval::symbol::Symbol::intern(name);
        if formals.ellipsis || formals.entries.iter().any(|f| f.name == sym) {
            entries.push(crate::eval::value::Attr {
                name: sym,
                value: value.clone(),
                pos: crate::eval::pos::PosIdx::NONE,
            });
        }
    }
    m.call(
        v.clone(),
        Value::attrs(entries),
        crate::eval::pos::PosIdx::NONE,
    )
}

/// Splits `a.b."c.d"` into its names.
pub fn split_attr_path(p: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in p.chars() {
        match c {
            '"' => quoted = !quoted,
            '.' if !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out
}
