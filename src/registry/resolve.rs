//! Matching, unification and the resolution loop (spec §6.4–6.5).
//!
//! Mirrors `lookupInRegistries` in the Nix source's `src/libflake/flake-registry.cc`.

use super::{Entry, Registry};
use crate::flakeref::{self, FlakeRef, Input};

/// The registry layers, highest precedence first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layer {
    /// `--override-flake` and `--inputs-from` entries.
    Flag,
    /// `$XDG_CONFIG_HOME/nix/registry.json`.
    User,
    /// `$NIX_CONF_DIR/registry.json`.
    System,
    /// The `flake-registry` setting.
    Global,
}

impl Layer {
    /// All layers, in lookup order.
    pub const ALL: [Layer; 4] = [Layer::Flag, Layer::User, Layer::System, Layer::Global];

    /// Returns the 6-character label `registry list` prints.
    pub fn label(self) -> &'static str {
        match self {
            Layer::Flag => "flags ",
            Layer::User => "user  ",
            Layer::System => "system",
            Layer::Global => "global",
        }
    }
}

/// Which layers a lookup may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// All four layers (command-line references).
    All,
    /// Flag and global layers only (inputs in `flake.nix`).
    Limited,
    /// No lookups (`--no-use-registries`).
    No,
}

/// Errors of resolution.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Still indirect after all lookups.
    #[error("cannot find flake '{0}' in the flake registries")]
    NotFound(String),
    /// More than 100 rewrites.
    #[error("cycle detected in flake registry for '{0}'")]
    Cycle(String),
    /// An indirect reference with lookups disabled.
    #[error("'{0}' is an indirect flake reference, but registry lookups are not allowed")]
    NotAllowed(String),
    /// Applying the reference's ref/rev to an entry's target failed, or printing failed.
    #[error(transparent)]
    FlakeRef(#[from] flakeref::Error),
    /// A layer could not be loaded (e.g. the global registry download failed).
    #[error(transparent)]
    Layer(#[from] anyhow::Error),
}

/// Gives the registries of each layer, loading them on first use.
pub trait Source {
    /// Returns the registry of a layer.
    fn layer(&mut self, layer: Layer) -> anyhow::Result<&Registry>;

    /// Names the file (or URL) a layer was read from, for `registry resolve --explain`.
    fn origin(&self, _layer: Layer) -> Option<String> {
        None
    }
}

/// One rewrite of a resolution, as `registry resolve --explain` shows it (an rflake addition).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The layer whose entry matched.
    pub layer: Layer,
    /// The file or URL of that layer, if it has one.
    pub origin: Option<String>,
    /// The reference before the rewrite.
    pub before: Input,
    /// The entry that matched.
    pub entry: Entry,
    /// The input's `ref` carried over onto the entry's target (unification).
    pub carried_ref: Option<String>,
    /// The input's `rev` carried over onto the entry's target.
    pub carried_rev: Option<String>,
    /// The reference after the rewrite.
    pub after: Input,
}

/// A resolution with every step that made it (`registry resolve --explain`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trace {
    /// The rewrites, in order.
    pub steps: Vec<Step>,
    /// The `dir` of the reference kept because no matching entry set one.
    pub carried_dir: Option<String>,
    /// The final reference.
    pub resolved: FlakeRef,
}

/// A match: what the entry rewrites the input to, and the ref and rev carried over.
struct Rewrite<'i> {
    to: Input,
    r#ref: Option<&'i str>,
    rev: Option<crate::hash::Hash>,
}

/// Returns whether `entry` matches `input`, and if so what it rewrites it to.
fn rewrite<'i>(entry: &Entry, input: &'i Input) -> Result<Option<Rewrite<'i>>, flakeref::Error> {
    if entry.exact {
        return Ok((&entry.from == input).then(|| Rewrite {
            to: entry.to.clone(),
            r#ref: None,
            rev: None,
        }));
    }
    if &entry.from != input && entry.from != input.without(&["ref", "rev"]) {
        return Ok(None);
    }
    let r#ref = input.git_ref().filter(|_| entry.from.git_ref().is_none());
    let rev = input.rev().filter(|_| entry.from.get_str("rev").is_none());
    let to = entry.to.apply_overrides(r#ref, rev.as_ref())?;
    Ok(Some(Rewrite { to, r#ref, rev }))
}

/// Resolves a flake reference through the registries (Nix's `FlakeRef::resolve`).
pub fn resolve(
    flake_ref: &FlakeRef,
    mode: Mode,
    source: &mut dyn Source,
) -> Result<FlakeRef, Error> {
    resolve_with(flake_ref, mode, source, None).map(|t| t.resolved)
}

/// Resolves a flake reference and records each rewrite (`registry resolve --explain`).
pub fn explain(flake_ref: &FlakeRef, mode: Mode, source: &mut dyn Source) -> Result<Trace, Error> {
    resolve_with(flake_ref, mode, source, Some(Vec::new()))
}

/// The resolution loop; `steps` collects the rewrites when it is `Some`.
fn resolve_with(
    flake_ref: &FlakeRef,
    mode: Mode,
    source: &mut dyn Source,
    mut steps: Option<Vec<Step>>,
) -> Result<Trace, Error> {
    if mode == Mode::No {
        if !flake_ref.input.is_direct() {
            return Err(Error::NotAllowed(flake_ref.to_url_string()?));
        }
        return Ok(Trace {
            steps: steps.unwrap_or_default(),
            carried_dir: None,
            resolved: flake_ref.clone(),
        });
    }
    let mut input = flake_ref.input.clone();
    let mut dir: Option<String> = None;
    let mut count = 0;
    'restart: loop {
        count += 1;
        if count > 100 {
            return Err(Error::Cycle(input.to_url_string()?));
        }
        for layer in Layer::ALL {
            if mode == Mode::Limited && !matches!(layer, Layer::Flag | Layer::Global) {
                continue;
            }
            let origin = match steps {
                Some(_) => source.origin(layer),
                None => None,
            };
            let registry = source.layer(layer)?;
            for entry in &registry.entries {
                if let Some(next) = rewrite(entry, &input)? {
                    if let Some(steps) = &mut steps {
                        steps.push(Step {
                            layer,
                            origin,
                            before: input.clone(),
                            entry: entry.clone(),
                            carried_ref: next.r#ref.map(str::to_owned),
                            carried_rev: next.rev.map(|h| h.to_base16()),
                            after: next.to.clone(),
                        });
                    }
                    input = next.to;
                    dir = Some(entry.dir.clone());
                    continue 'restart;
                }
            }
        }
        break;
    }
    if !input.is_direct() {
        return Err(Error::NotFound(input.to_url_string()?));
    }
    let (subdir, carried_dir) = match dir {
        Some(d) if !d.is_empty() => (d, None),
        Some(_) if !flake_ref.subdir.is_empty() => {
            (flake_ref.subdir.clone(), Some(flake_ref.subdir.clone()))
        }
        _ => (flake_ref.subdir.clone(), None),
    };
    Ok(Trace {
        steps: steps.unwrap_or_default(),
        carried_dir,
        resolved: FlakeRef { input, subdir },
    })
}
