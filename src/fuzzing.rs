//! Entry points for fuzzing (`fuzz/`, `cargo fuzz`) and for replaying the fuzz corpora as
//! regular tests (`tests/it/fuzz_replay.rs`): one function per parser or reader that input can
//! reach. Each must return for any bytes — accept or reject them — without panicking, in time
//! and memory bounded by the input's size. They use the public API only, as a user's input
//! would reach it.

use std::collections::BTreeSet;

use crate::report::Silent;

mod nix_eval;
pub use nix_eval::nix_eval;

/// A flake reference on the command line or in a registry (URL and path forms, fragments).
pub fn flakeref(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let opts = crate::flakeref::ParseOptions::default();
    if let Ok(r) = crate::flakeref::parse(s, &opts, &Silent) {
        // What parses prints, and what prints parses again.
        if let Ok(printed) = r.to_url_string() {
            let _ = crate::flakeref::parse(&printed, &opts, &Silent);
        }
    }
    let _ = crate::flakeref::parse_with_fragment(s, &opts, &Silent);
}

/// `flake.lock`, read and (when it parses) written back.
pub fn flake_lock(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(lock) = crate::flake::lockfile::LockFile::parse(&text, "flake.lock") {
        let _ = lock.to_text();
    }
}

/// `registry.json`.
pub fn registry_json(data: &[u8]) {
    let read = crate::registry::Registry::read(data, "registry.json", &Silent);
    let _ = read.registry.to_json_string();
}

/// `nix.conf` syntax and every setting's value parser (as `NIX_CONFIG`).
pub fn nix_conf(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let sources = crate::settings::Sources {
        system_file: "/nonexistent/rflake-fuzz/nix.conf".into(),
        user_files: Vec::new(),
        nix_config: Some(text.to_owned()),
        overrides: Vec::new(),
        default_store: None,
        default_ssl_cert_file: None,
    };
    let _ = crate::settings::load(&sources);
}

/// A NAR, read strictly.
pub fn nar(data: &[u8]) {
    let _ = crate::store::nar::parse(&mut &data[..], &mut crate::store::nar::Check);
}

/// A `.narinfo` file.
pub fn narinfo(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let dir = crate::store::StoreDir::default();
    if let Ok(ni) = crate::store::narinfo::NarInfo::parse(&dir, &text, "x.narinfo") {
        let _ = ni.render(&dir);
    }
}

/// Store paths and hashes in every syntax Nix accepts.
pub fn store_path_and_hash(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let _ = crate::store::StoreDir::default().parse(s);
    let _ = crate::store::StorePath::from_base_name(s);
    let _ = crate::hash::Hash::parse_any(s, None);
    let _ = crate::hash::Hash::parse_any(s, Some(crate::hash::Algo::Sha256));
}

/// `flake.nix`, read for its inputs without evaluating it.
pub fn flake_nix(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let opts = crate::flake::decl::ReadOptions {
        file_label: "/fuzz/flake.nix".into(),
        flake_label: "path:/fuzz".into(),
        subdir: String::new(),
    };
    let _ = crate::flake::decl::read(text, &opts);
}

/// A downloaded archive (tar in any compression, zip), unpacked into a scratch directory.
/// The directory is made once per thread and emptied after each input: making one per input
/// (a `mkdir` in a busy `/tmp`) took most of the time, and most inputs are rejected by their
/// first bytes before anything is written.
pub fn archive(data: &[u8]) {
    thread_local! {
        static SCRATCH: std::cell::RefCell<Option<tempfile::TempDir>> =
            const { std::cell::RefCell::new(None) };
    }
    SCRATCH.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = tempfile::tempdir().ok();
        }
        let Some(dir) = slot.as_ref().map(|d| d.path().to_owned()) else {
            return;
        };
        let _ = crate::fetch::tarball::unpack::unpack(
            &mut &data[..],
            &dir,
            crate::fetch::tarball::tree::Limits::default(),
        );
        let _ = std::fs::remove_dir_all(dir.join("unpacked"));
        let _ = std::fs::remove_file(dir.join("archive.zip"));
        // What could not be removed would fail every later input: start afresh.
        if std::fs::read_dir(&dir).map_or(true, |mut d| d.next().is_some()) {
            *slot = None;
        }
    });
}

/// The frames a Nix daemon sends (`STDERR_*`), at the newest and at an old protocol version.
pub fn daemon_frames(data: &[u8]) {
    use crate::store::daemon::handshake::{Negotiated, Version};
    for minor in [38, 20] {
        let v = Negotiated {
            version: Version::v1(minor),
            features: BTreeSet::new(),
        };
        let mut r = data;
        for _ in 0..64 {
            if crate::store::daemon::stderr::read_frame(&mut r, &v).is_err() {
                break;
            }
        }
    }
}

/// A `.drv` file (ATerm). What parses writes back to text that parses to the same
/// derivation, and writing is then stable.
pub fn derivation(data: &[u8]) {
    use crate::store::derivation::Derivation;
    let dir = crate::store::StoreDir::default();
    // A fixed output's path must match the derivation's name: the names of the seeds' fixed
    // outputs let mutations of them get past that check.
    let Some(drv) = ["fuzz", "fixed.txt", "fodr"]
        .into_iter()
        .find_map(|name| Derivation::parse(&dir, data, name).ok())
    else {
        return;
    };
    let text = drv.to_aterm(&dir);
    let again = Derivation::parse(&dir, &text, &drv.name);
    assert_eq!(again.as_ref(), Ok(&drv), "a written derivation reads back");
    let _ = drv.drv_path(&dir);
    let _ = drv.to_json();
    let _ = crate::store::derivation::hash_input(&drv, &dir, &mut |_: &crate::store::StorePath| {
        Ok(crate::store::derivation::HashInput::Deferred)
    });
}

/// A fuzz target: bytes in, nothing out; it must never panic.
pub type Target = fn(&[u8]);

/// Every target by name (the name of its directory under `fuzz/corpus/`).
pub const TARGETS: &[(&str, Target)] = &[
    ("flakeref", flakeref),
    ("flake_lock", flake_lock),
    ("registry_json", registry_json),
    ("nix_conf", nix_conf),
    ("nar", nar),
    ("narinfo", narinfo),
    ("store_path_and_hash", store_path_and_hash),
    ("flake_nix", flake_nix),
    ("archive", archive),
    ("daemon_frames", daemon_frames),
    ("derivation", derivation),
    ("nix_eval", nix_eval),
];
