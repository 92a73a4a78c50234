//! Directory caches: the layout `open` creates, and how bad NARs, `.narinfo` files and caches
//! are rejected.

use rflake::store::{CheckSigs, Store};

use super::*;

/// A temporary directory holding a cache at `<tmp>/c`.
struct Cache {
    tmp: tempfile::TempDir,
}

impl Cache {
    fn new() -> Cache {
        Cache {
            tmp: tempfile::tempdir().unwrap(),
        }
    }

    fn dir(&self) -> PathBuf {
        self.tmp.path().join("c")
    }

    fn open(&self, query: &str) -> BinaryCacheStore {
        open(&file_uri(&self.dir(), query))
    }

    fn open_err(&self, query: &str) -> String {
        match binary_cache::open(
            &file_uri(&self.dir(), query),
            OpenOptions::default(),
            &Silent,
        ) {
            Ok(_) => panic!("opened"),
            Err(e) => format!("{e:#}"),
        }
    }

    fn uri(&self) -> String {
        file_uri(&self.dir(), "")
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir().join(rel)
    }

    fn list(&self, rel: &str) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.path(rel))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    /// Adds the hello NAR with `query` parameters; returns the store, the `.narinfo` file and
    /// the NAR file.
    fn with_hello(&self, query: &str) -> (BinaryCacheStore, PathBuf, PathBuf) {
        let store = self.open(query);
        let (nar, info) = hello();
        store
            .add_nar(&info, &mut nar.as_slice(), CheckSigs::Check)
            .unwrap();
        let narinfo = self.path(&format!("{}.narinfo", info.path.hash_part()));
        let text = std::fs::read_to_string(&narinfo).unwrap();
        let nar_file = self.path(field(&text, "URL"));
        (store, narinfo, nar_file)
    }
}

fn nar_error(store: &BinaryCacheStore) -> String {
    let (_, info) = hello();
    let mut sink = vec![];
    format!(
        "{:#}",
        store.nar_from_path(&info.path, &mut sink).unwrap_err()
    )
}

const HELLO: &str = "/nix/store/gwina1sjk7g95wq6fxc6b7s1hza53h74-hello";
const HELLO_SRI: &str = "sha256-HDfQGvQL4ugGkd48w99EN3ppmvuxfGjwgJZLL9Bx/BM=";

#[test]
fn open_creates_the_layout_once() {
    let c = Cache::new();
    c.open("");
    assert_eq!(
        c.list(""),
        ["build-trace-v2", "log", "nar", "nix-cache-info"]
    );
    assert_eq!(
        std::fs::read_to_string(c.path("nix-cache-info")).unwrap(),
        "StoreDir: /nix/store\n"
    );
    // An existing file is read, not rewritten; parameters override it.
    std::fs::write(
        c.path("nix-cache-info"),
        "StoreDir: /nix/store\nWantMassQuery: 1\nPriority: 30\nbogus line\n",
    )
    .unwrap();
    let s = c.open("");
    assert!(s.want_mass_query());
    assert_eq!(s.priority(), 30);
    let s = c.open("priority=10&want-mass-query=false");
    assert!(!s.want_mass_query());
    assert_eq!(s.priority(), 10);
    assert!(
        std::fs::read_to_string(c.path("nix-cache-info"))
            .unwrap()
            .contains("bogus")
    );
}

#[test]
fn wrong_store_dir() {
    let c = Cache::new();
    std::fs::create_dir_all(c.dir()).unwrap();
    std::fs::write(c.path("nix-cache-info"), "StoreDir: /gnu/store\n").unwrap();
    assert_eq!(
        c.open_err(""),
        format!(
            "binary cache '{}' is for Nix stores with prefix '/gnu/store', not '/nix/store'",
            c.uri()
        )
    );
    let opts = OpenOptions {
        store_dir: StoreDir::new("/gnu/store"),
        ..OpenOptions::default()
    };
    binary_cache::open(&c.uri(), opts, &Silent).unwrap();
}

#[test]
fn bad_parameters_and_keys() {
    let c = Cache::new();
    assert_eq!(
        c.open_err("compression=rar"),
        "unknown compression method 'rar'"
    );
    assert_eq!(
        c.open_err("write-nar-listing=1"),
        "store parameter 'write-nar-listing' is not supported by rflake"
    );
    let key = c.tmp.path().join("bad.sk");
    std::fs::write(&key, "demo-1:AAAA").unwrap();
    assert_eq!(
        c.open_err(&format!("secret-key={}", key.display())),
        format!(
            "reading secret key file '{}': secret key is not valid",
            key.display()
        )
    );
    let missing = c.tmp.path().join("missing.sk");
    let e = c.open_err(&format!("secret-key={}", missing.display()));
    assert!(e.contains(&missing.display().to_string()), "{e}");
    let r = rflake::report::Collect::default();
    binary_cache::open(&format!("{}?foo=bar", c.uri()), OpenOptions::default(), &r).unwrap();
    assert_eq!(r.lines(), ["warning: unknown setting 'foo'"]);
}

#[test]
fn add_nar_rejects_a_nar_that_does_not_match() {
    let c = Cache::new();
    let store = c.open("");
    let (nar, info) = hello();
    let mut wrong_hash = info.clone();
    wrong_hash.nar_hash = Hash::digest(Algo::Sha256, b"other");
    let e = store
        .add_nar(&wrong_hash, &mut nar.as_slice(), CheckSigs::Check)
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "hash mismatch importing path '{HELLO}';\n  specified: {}\n  got:       {HELLO_SRI}",
            wrong_hash.nar_hash.to_sri()
        )
    );
    let mut wrong_size = info.clone();
    wrong_size.nar_size = 121;
    let e = store
        .add_nar(&wrong_size, &mut nar.as_slice(), CheckSigs::Check)
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("size mismatch importing path '{HELLO}';\n  specified: 121\n  got:       120")
    );
    let e = store
        .add_nar(&info, &mut &nar[..100], CheckSigs::Check)
        .unwrap_err();
    assert!(
        e.to_string().starts_with("hash mismatch importing path"),
        "{e}"
    );
    // The claimed hash, but not a NAR.
    let junk = b"not a NAR at all".to_vec();
    let mut junk_info = info.clone();
    junk_info.nar_hash = Hash::digest(Algo::Sha256, &junk);
    junk_info.nar_size = junk.len() as u64;
    let e = store
        .add_nar(&junk_info, &mut junk.as_slice(), CheckSigs::Check)
        .unwrap_err();
    assert_eq!(
        format!("{e:#}"),
        format!("importing path '{HELLO}': bad archive: input doesn't look like a Nix archive")
    );
    // Bytes after the NAR count.
    let mut long = nar.clone();
    long.extend(b"trailing");
    let e = store
        .add_nar(&info, &mut long.as_slice(), CheckSigs::Check)
        .unwrap_err();
    assert!(
        e.to_string().starts_with("hash mismatch importing path"),
        "{e}"
    );
    // Nothing was written, not even a spool file.
    assert!(c.list("nar").is_empty());
    assert_eq!(c.list("").len(), 4);

    // A reference the cache lacks.
    let mut with_ref = info.clone();
    with_ref.references.insert(store_path(T1_PATH));
    let e = store
        .add_nar(&with_ref, &mut nar.as_slice(), CheckSigs::Check)
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "cannot add '{HELLO}' to the binary cache because the reference '{T1_PATH}' is not valid"
        )
    );
}

#[test]
fn nar_from_path_rejects_a_tampered_narinfo() {
    let c = Cache::new();
    let (_, narinfo, nar_file) = c.with_hello("compression=none");
    let original = std::fs::read_to_string(&narinfo).unwrap();
    let url = field(&original, "URL").to_owned();
    let uri = c.uri();
    let other = Hash::digest(Algo::Sha256, b"other");

    let tampered = original.replace(field(&original, "NarHash"), &other.to_prefixed_nix32());
    std::fs::write(&narinfo, tampered).unwrap();
    let store = c.open("");
    assert_eq!(
        nar_error(&store),
        format!(
            "hash mismatch in NAR '{url}' of path '{HELLO}' from binary cache '{uri}';\n  \
             specified: {}\n  got:       {HELLO_SRI}",
            other.to_sri()
        )
    );
    std::fs::write(&narinfo, original.replace("NarSize: 120", "NarSize: 121")).unwrap();
    assert_eq!(
        nar_error(&store),
        format!(
            "size mismatch in NAR '{url}' of path '{HELLO}' from binary cache '{uri}';\n  \
             specified: 121\n  got:       120"
        )
    );

    // A truncated uncompressed NAR fails the hash check.
    std::fs::write(&narinfo, &original).unwrap();
    let bytes = std::fs::read(&nar_file).unwrap();
    std::fs::write(&nar_file, &bytes[..64]).unwrap();
    assert!(nar_error(&store).starts_with("hash mismatch in NAR"));

    // The NAR file is gone.
    std::fs::remove_file(&nar_file).unwrap();
    assert_eq!(
        nar_error(&store),
        format!("file '{url}' does not exist in binary cache '{uri}'")
    );
}

#[test]
fn truncated_compressed_nars() {
    for (method, _) in COMPRESSIONS.iter().filter(|(m, _)| *m != "none") {
        let c = Cache::new();
        let (store, _, nar_file) = c.with_hello(&format!("compression={method}"));
        let bytes = std::fs::read(&nar_file).unwrap();
        std::fs::write(&nar_file, &bytes[..bytes.len() / 2]).unwrap();
        let e = nar_error(&store);
        let url = nar_file
            .strip_prefix(c.dir())
            .unwrap()
            .display()
            .to_string();
        assert!(
            e.starts_with(&format!(
                "reading NAR '{url}' ({method} compression) from binary cache '{}': ",
                c.uri()
            )),
            "{method}: {e}"
        );
    }
}

#[test]
fn corrupt_and_mismatched_narinfos() {
    let c = Cache::new();
    let (store, narinfo, _) = c.with_hello("");
    let (_, info) = hello();
    let key = format!("{}.narinfo", info.path.hash_part());
    let original = std::fs::read_to_string(&narinfo).unwrap();
    let cases = [
        (
            "garbage",
            format!("NAR info file '{key}' is corrupt: expecting ':' at line 1"),
        ),
        (
            "StorePath: /nix/store/gwina1sjk7g95wq6fxc6b7s1hza53h74-hello\nNarSize: x\n",
            format!("NAR info file '{key}' is corrupt: invalid NarSize at line 2"),
        ),
        (
            "StorePath: /nix/store/gwina1sjk7g95wq6fxc6b7s1hza53h74-hello\n",
            format!("NAR info file '{key}' is corrupt: NarHash missing"),
        ),
    ];
    for (text, want) in cases {
        std::fs::write(&narinfo, text).unwrap();
        let e = store.query_path_info(&info.path).unwrap_err();
        assert_eq!(e.to_string(), want, "{text:?}");
    }
    // Another name with the same hash part is not this path.
    std::fs::write(&narinfo, original.replace("-hello\n", "-other\n")).unwrap();
    assert_eq!(store.query_path_info(&info.path).unwrap(), None);
    // A URL that leaves the cache is refused.
    let url = field(&original, "URL");
    std::fs::write(&narinfo, original.replace(url, "../../etc/passwd")).unwrap();
    assert_eq!(
        nar_error(&store),
        format!(
            "fetching '../../etc/passwd' from binary cache '{}': local binary cache path \
             '../../etc/passwd' must not contain '..' or '.' segments",
            c.uri()
        )
    );
    // Absent paths.
    std::fs::remove_file(&narinfo).unwrap();
    assert_eq!(store.query_path_info(&info.path).unwrap(), None);
    assert_eq!(nar_error(&store), format!("path '{HELLO}' is not valid"));
}
