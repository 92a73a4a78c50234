//! Inputs: a typed attribute set that a fetcher understands (Nix's `fetchers::Input`).
//!
//! Mirrors the Nix source's `src/libfetchers/fetchers.cc` and the per-scheme files
//! (`indirect.cc`, `path.cc`, `git.cc`, `github.cc`, `tarball.cc`, `mercurial.cc`): conversion
//! from a parsed URL and from attributes, validation, printing, lockedness and ref/rev overrides.
//! The per-type rules live in [`super::types`].
//!
//! # Deviations
//!
//! - A git `rev` is validated when the input is made, not when it is first used (spec §9.4): a
//!   bad `rev` makes `registry add` fail instead of a later `registry list`.

use super::attrs::{self, Attr, Attrs};
use super::types::{forge, git, hg, indirect, path, tarball};
use super::url::ParsedUrl;
use super::{Error, UrlContext};
use crate::hash::{Algo, Hash};
use crate::report::Reporter;

/// The attribute that marks an input as final (Nix's `__final`): fetched already, so its
/// attributes are exactly what the fetcher returned and are trusted as they are.
pub(super) const FINAL: &str = "__final";

/// The store name of a tree whose input has no `name` attribute.
const DEFAULT_STORE_NAME: &str = "source";

/// An input: attributes including `type`. Serialised as its attributes' JSON object (as in a
/// lock file); deserialising validates them as [`Input::from_attrs`] does and keeps them as
/// they were.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(
    into = "serde_json::Map<String, serde_json::Value>",
    try_from = "serde_json::Map<String, serde_json::Value>"
)]
pub struct Input {
    attrs: Attrs,
}

/// The input types rflake knows, in the order Nix tries them on a URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `file` (a single downloaded file).
    File,
    /// `git`.
    Git,
    /// `github`.
    GitHub,
    /// `gitlab`.
    GitLab,
    /// `hg` (Mercurial).
    Hg,
    /// `indirect` (a registry lookup).
    Indirect,
    /// `path` (a local directory).
    Path,
    /// `sourcehut`.
    SourceHut,
    /// `tarball`.
    Tarball,
}

impl Kind {
    /// Returns the kind named by a `type` attribute, `None` for an unknown type.
    pub fn from_name(name: &str) -> Option<Kind> {
        Some(match name {
            "file" => Kind::File,
            "git" => Kind::Git,
            "github" => Kind::GitHub,
            "gitlab" => Kind::GitLab,
            "hg" => Kind::Hg,
            "indirect" => Kind::Indirect,
            "path" => Kind::Path,
            "sourcehut" => Kind::SourceHut,
            "tarball" => Kind::Tarball,
            _ => return None,
        })
    }

    /// Returns the attributes this kind accepts besides `type` and `__final`.
    fn allowed(self) -> &'static [&'static str] {
        match self {
            Kind::Indirect => indirect::ALLOWED,
            Kind::Path => path::ALLOWED,
            Kind::Git => git::ALLOWED,
            Kind::GitHub | Kind::GitLab | Kind::SourceHut => forge::ALLOWED,
            Kind::Tarball | Kind::File => tarball::ALLOWED,
            Kind::Hg => hg::ALLOWED,
        }
    }
}

impl Input {
    /// Converts a parsed URL (without `dir` and fragment) into an input.
    pub fn from_url(
        url: &ParsedUrl,
        ctx: UrlContext,
        report: &dyn Reporter,
    ) -> Result<Input, Error> {
        let attrs = if let Some(a) = tarball::from_url(url, ctx)? {
            a
        } else if let Some(a) = git::from_url(url, report)? {
            a
        } else if let Some(a) = forge::from_url(url)? {
            a
        } else if let Some(a) = hg::from_url(url)? {
            a
        } else if let Some(a) = indirect::from_url(url)? {
            a
        } else if let Some(a) = path::from_url(url)? {
            a
        } else if url.scheme == "file+git" {
            return Err(Error::FileGit(url.to_string()));
        } else {
            return Err(Error::Unsupported(url.to_string()));
        };
        Input::from_attrs(attrs, report)
    }

    /// Makes an input from attributes, validating them (Nix's `Input::fromAttrs`).
    ///
    /// An unknown `type` is accepted as an opaque input that can be neither printed nor fetched.
    pub fn from_attrs(mut attrs: Attrs, report: &dyn Reporter) -> Result<Input, Error> {
        let type_name = match attrs.get("type") {
            Some(Attr::Str(t)) => t.clone(),
            Some(_) => {
                let e = attrs::req_str(&attrs, "type").err();
                return Err(e.unwrap_or_else(|| Error::Invalid("bad 'type' attribute".into())));
            }
            None => {
                return Err(Error::Invalid(
                    "'type' attribute to specify input scheme is required but not provided".into(),
                ));
            }
        };
        let Some(kind) = Kind::from_name(&type_name) else {
            return Ok(Input { attrs });
        };
        for name in attrs.keys() {
            if name != "type" && name != FINAL && !kind.allowed().contains(&name.as_str()) {
                return Err(Error::Invalid(format!(
                    "input attribute '{name}' not supported by scheme '{type_name}'"
                )));
            }
        }
        attrs::get_str(&attrs, "ref")?;
        attrs::get_int(&attrs, "revCount")?;
        attrs::get_int(&attrs, "lastModified")?;
        match kind {
            Kind::Indirect => indirect::check(&attrs)?,
            Kind::Path => path::check(&attrs)?,
            Kind::Git => git::check(&mut attrs, report)?,
            Kind::GitHub | Kind::GitLab | Kind::SourceHut => forge::check(&attrs)?,
            Kind::Tarball | Kind::File => tarball::check(&attrs)?,
            Kind::Hg => hg::check(&attrs)?,
        }
        Ok(Input { attrs })
    }

    /// Returns the attributes.
    pub fn attrs(&self) -> &Attrs {
        &self.attrs
    }

    /// Returns the `type` attribute.
    pub fn type_name(&self) -> &str {
        match self.attrs.get("type") {
            Some(Attr::Str(t)) => t,
            _ => "",
        }
    }

    /// Returns the known kind, `None` for an unknown type.
    pub fn kind(&self) -> Option<Kind> {
        Kind::from_name(self.type_name())
    }

    /// Returns an integer attribute (`lastModified`, `revCount`), if present.
    pub fn get_int(&self, name: &str) -> Option<u64> {
        match self.attrs.get(name) {
            Some(Attr::Int(n)) => Some(*n),
            _ => None,
        }
    }

    /// Returns a string attribute, if present.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        match self.attrs.get(name) {
            Some(Attr::Str(s)) => Some(s),
            _ => None,
        }
    }

    /// Returns the `ref` attribute, if present.
    pub fn git_ref(&self) -> Option<&str> {
        self.get_str("ref")
    }

    /// Returns the parsed `rev` attribute, if present and valid.
    pub fn rev(&self) -> Option<Hash> {
        self.get_str("rev").and_then(|r| parse_rev(r).ok())
    }

    /// Returns the input with the given attributes removed.
    pub fn without(&self, names: &[&str]) -> Input {
        let mut attrs = self.attrs.clone();
        for n in names {
            attrs.remove(*n);
        }
        Input { attrs }
    }

    /// Returns whether the input is final (`__final = true`): it is what a fetcher returned.
    pub fn is_final(&self) -> bool {
        matches!(self.attrs.get(FINAL), Some(Attr::Bool(true)))
    }

    /// Returns the input marked final, as a locked input read from a lock file is fetched.
    /// The attributes were validated when `self` was made, so nothing is checked again.
    pub fn make_final(&self) -> Input {
        let mut attrs = self.attrs.clone();
        attrs.insert(FINAL.to_owned(), Attr::Bool(true));
        Input { attrs }
    }

    /// Returns the input without the `__final` mark, as lock files and messages show it.
    pub fn without_final(&self) -> Input {
        self.without(&[FINAL])
    }

    /// Returns whether `name` is an attribute of the input's identity, as opposed to the
    /// `__final` bookkeeping mark.
    pub fn is_identity_attr(name: &str) -> bool {
        name != FINAL
    }

    /// Returns the input's `narHash`, parsed (any of Nix's hash syntaxes, SHA-256).
    pub fn nar_hash(&self) -> Result<Option<Hash>, Error> {
        match self.get_str("narHash") {
            Some(h) => Ok(Some(Hash::parse_any(h, Some(Algo::Sha256))?)),
            None => Ok(None),
        }
    }

    /// The store name of the input's tree: its `name` attribute, else `source`.
    pub fn store_name(&self) -> &str {
        self.get_str("name").unwrap_or(DEFAULT_STORE_NAME)
    }

    /// Prints the input for messages: its URL form, or its attributes as compact JSON when it
    /// has none (an input of an unknown type).
    pub fn to_display(&self) -> String {
        self.to_url_string()
            .unwrap_or_else(|_| attrs::to_compact_json(&self.attrs))
    }

    /// The input's attributes as compact JSON: the key under which a run remembers a fetch
    /// and the fetcher lock is named.
    pub fn to_key(&self) -> String {
        attrs::to_compact_json(&self.attrs)
    }

    /// Prints the input in URL form (Nix's `Input::toURLString`).
    pub fn to_url(&self) -> Result<ParsedUrl, Error> {
        let a = &self.attrs;
        match self.kind() {
            None => Err(Error::CannotShow(attrs::to_compact_json(a))),
            Some(Kind::Indirect) => indirect::to_url(a),
            Some(Kind::Path) => path::to_url(a),
            Some(Kind::Git) => git::to_url(a),
            Some(Kind::GitHub | Kind::GitLab | Kind::SourceHut) => forge::to_url(a),
            Some(Kind::Tarball | Kind::File) => tarball::to_url(a),
            Some(Kind::Hg) => hg::to_url(a),
        }
    }

    /// Returns the printed URL form as a string.
    pub fn to_url_string(&self) -> Result<String, Error> {
        self.to_url().map(|u| u.to_string())
    }

    /// Returns whether the input can be fetched without a registry.
    pub fn is_direct(&self) -> bool {
        self.kind() != Some(Kind::Indirect)
    }

    /// Returns whether the input pins its contents (spec §4.7).
    pub fn is_locked(&self, trust_tarballs_from_git_forges: bool) -> bool {
        let has = |n: &str| self.attrs.contains_key(n);
        match self.kind() {
            None | Some(Kind::Indirect) => false,
            Some(Kind::Path | Kind::Tarball | Kind::File) => has("narHash"),
            Some(Kind::Git) => self
                .rev()
                .is_some_and(|r| r.bytes().iter().any(|&b| b != 0)),
            Some(Kind::GitHub | Kind::GitLab | Kind::SourceHut) => {
                has("rev") && (trust_tarballs_from_git_forges || has("narHash"))
            }
            Some(Kind::Hg) => has("rev"),
        }
    }

    /// Applies a branch/tag name and/or revision (Nix's `applyOverrides`), as registry
    /// unification does.
    pub fn apply_overrides(&self, r#ref: Option<&str>, rev: Option<&Hash>) -> Result<Input, Error> {
        if r#ref.is_none() && rev.is_none() {
            return Ok(self.clone());
        }
        let mut attrs = self.attrs.clone();
        let set = |attrs: &mut Attrs, name: &str, v: String| {
            attrs.insert(name.to_owned(), Attr::Str(v));
        };
        match self.kind() {
            Some(Kind::Indirect | Kind::Hg) => {
                if let Some(r) = r#ref {
                    set(&mut attrs, "ref", r.to_owned());
                }
                if let Some(h) = rev {
                    set(&mut attrs, "rev", h.to_base16());
                }
            }
            Some(Kind::Git) => {
                if let Some(r) = r#ref {
                    set(&mut attrs, "ref", r.to_owned());
                }
                if let Some(h) = rev {
                    set(&mut attrs, "rev", h.to_base16());
                }
                if attrs.contains_key("rev") && !attrs.contains_key("ref") {
                    let url = Input { attrs }.to_url_string()?;
                    return Err(Error::Invalid(format!(
                        "Git input '{url}' has a commit hash but no branch/tag name"
                    )));
                }
            }
            Some(Kind::GitHub | Kind::GitLab | Kind::SourceHut) => {
                if let (Some(r), Some(h)) = (r#ref, rev) {
                    return Err(Error::Invalid(format!(
                        "cannot apply both a commit hash ({}) and a branch/tag name ('{r}') to input '{}'",
                        h.to_base16(),
                        self.to_url_string()?
                    )));
                }
                if let Some(h) = rev {
                    attrs.remove("ref");
                    set(&mut attrs, "rev", h.to_base16());
                }
                if let Some(r) = r#ref {
                    attrs.remove("rev");
                    set(&mut attrs, "ref", r.to_owned());
                }
            }
            Some(Kind::Path | Kind::Tarball | Kind::File) | None => {
                let url = self.to_url_string()?;
                return Err(Error::Invalid(match (r#ref, rev) {
                    (Some(r), _) => {
                        format!("don't know how to set branch/tag name of input '{url}' to '{r}'")
                    }
                    (None, h) => format!(
                        "don't know how to set revision of input '{url}' to '{}'",
                        h.map(Hash::to_base16).unwrap_or_default()
                    ),
                }));
            }
        }
        Ok(Input { attrs })
    }
}

/// Parses a `rev` value: a prefixed hash (`sha1:…`, `sha1-…`, `sha256…`) or a bare sha1 digest.
pub fn parse_rev(rev: &str) -> Result<Hash, Error> {
    match Hash::parse_prefixed(rev) {
        Ok(Some(h)) => Ok(h),
        _ => Ok(Hash::parse_bare(rev, Algo::Sha1)?),
    }
}

/// Returns whether `s` is 40 hex digits (Nix's `revRegex`).
pub fn is_rev_hex(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|c| c.is_ascii_hexdigit())
}

impl From<Input> for serde_json::Map<String, serde_json::Value> {
    fn from(input: Input) -> Self {
        attrs::to_json(&input.attrs)
    }
}

impl TryFrom<serde_json::Map<String, serde_json::Value>> for Input {
    type Error = Error;

    fn try_from(obj: serde_json::Map<String, serde_json::Value>) -> Result<Input, Error> {
        let attrs = attrs::from_json(&obj)?;
        let checked = Input::from_attrs(attrs.clone(), &crate::report::Silent)?;
        match checked.attrs == attrs {
            true => Ok(checked),
            false => Err(Error::Invalid(format!(
                "input attributes {} are not in their checked form",
                attrs::to_compact_json(&attrs)
            ))),
        }
    }
}
