use std::collections::BTreeMap;

use super::*;

/// An in-memory file system: directories, files and symlinks by absolute path.
#[derive(Default)]
struct Mem(BTreeMap<String, Entry>);

enum Entry {
    Dir,
    File(String),
    Link(String),
}

impl Mem {
    fn dir(mut self, p: &str) -> Self {
        self.0.insert(p.into(), Entry::Dir);
        self
    }
    fn file(mut self, p: &str, text: &str) -> Self {
        self.0.insert(p.into(), Entry::File(text.into()));
        self
    }
    fn link(mut self, p: &str, target: &str) -> Self {
        self.0.insert(p.into(), Entry::Link(target.into()));
        self
    }
    fn resolve(&self, path: &str) -> String {
        let mut out = String::new();
        let mut parts: Vec<String> = path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        parts.reverse();
        let mut hops = 0;
        while let Some(p) = parts.pop() {
            let next = format!("{out}/{p}");
            match self.0.get(&next) {
                Some(Entry::Link(t)) if hops < 40 => {
                    hops += 1;
                    if t.starts_with('/') {
                        out.clear();
                    }
                    parts.extend(
                        t.split('/')
                            .filter(|s| !s.is_empty())
                            .rev()
                            .map(String::from),
                    );
                }
                _ => out = next,
            }
        }
        out
    }
}

impl Tree for Mem {
    fn read_dir(&self, path: &str) -> std::io::Result<Option<Vec<String>>> {
        let p = self.resolve(path);
        match self.0.get(&p) {
            Some(Entry::Dir) => {}
            Some(_) => return Ok(None),
            None => return Err(std::io::ErrorKind::NotFound.into()),
        }
        let prefix = format!("{p}/");
        Ok(Some(
            self.0
                .keys()
                .filter_map(|k| k.strip_prefix(&prefix))
                .filter(|r| !r.contains('/'))
                .map(String::from)
                .collect(),
        ))
    }
    fn stat(&self, path: &str) -> std::io::Result<Option<Kind>> {
        Ok(match self.0.get(&self.resolve(path)) {
            Some(Entry::Dir) => Some(Kind::Dir),
            Some(_) => Some(Kind::Other),
            None => None,
        })
    }
    fn canonicalize(&self, path: &str) -> std::io::Result<String> {
        Ok(self.resolve(path))
    }
    fn read_file(&self, path: &str) -> std::io::Result<Option<String>> {
        Ok(match self.0.get(&self.resolve(path)) {
            Some(Entry::File(t)) => Some(t.clone()),
            _ => None,
        })
    }
}

fn pkg(path: &str, priority: i64) -> Package {
    Package {
        path: path.into(),
        active: true,
        priority,
    }
}

/// The plan as `path -> target (priority)` lines, directories as `path/`.
fn show(dir: &Dir, prefix: &str, out: &mut Vec<String>) {
    for (name, node) in dir {
        match node {
            Node::Dir(d) => {
                out.push(format!("{prefix}{name}/"));
                show(d, &format!("{prefix}{name}/"), out);
            }
            Node::Link { target, priority } => {
                out.push(format!("{prefix}{name} -> {target} ({priority})"))
            }
        }
    }
}

fn lines(p: &Plan) -> Vec<String> {
    let mut out = Vec::new();
    show(&p.root, "", &mut out);
    out
}

const A: &str = "/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-a";
const B: &str = "/nix/store/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-b";
const C: &str = "/nix/store/cccccccccccccccccccccccccccccccc-c";

fn two_hellos() -> Mem {
    Mem::default()
        .dir(A)
        .dir(&format!("{A}/bin"))
        .file(&format!("{A}/bin/hello"), "a")
        .dir(&format!("{A}/share"))
        .dir(B)
        .dir(&format!("{B}/bin"))
        .file(&format!("{B}/bin/hello"), "b")
        .file(&format!("{B}/bin/other"), "b")
}

#[test]
fn one_package_links_its_directories() {
    let fs = two_hellos();
    let p = plan(&fs, "/out", vec![pkg(A, 5)]).unwrap();
    assert_eq!(
        lines(&p),
        [
            format!("bin -> {A}/bin (5)"),
            format!("share -> {A}/share (5)")
        ]
    );
}

#[test]
fn equal_priorities_conflict_naming_the_existing_file_first() {
    let fs = two_hellos();
    // Sorted by path, so A is linked first whatever the order given.
    let e = plan(&fs, "/out", vec![pkg(B, 5), pkg(A, 5)]).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "Unable to build profile. There is a conflict for the following files:\n\n  \"{A}/bin/hello\"\n  \"{B}/bin/hello\""
        )
    );
}

#[test]
fn lower_number_wins_and_directories_are_split() {
    let fs = two_hellos();
    for (pa, pb, winner) in [(4, 5, A), (6, 5, B)] {
        let p = plan(&fs, "/out", vec![pkg(A, pa), pkg(B, pb)]).unwrap();
        let pw = if winner == A { pa } else { pb };
        assert_eq!(
            lines(&p),
            [
                "bin/".to_owned(),
                format!("bin/hello -> {winner}/bin/hello ({pw})"),
                format!("bin/other -> {B}/bin/other ({pb})"),
                format!("share -> {A}/share ({pa})"),
            ],
            "{pa} {pb}"
        );
    }
}

#[test]
fn propagated_packages_come_later_with_priority_1000() {
    let fs = two_hellos()
        .dir(&format!("{A}/nix-support"))
        .file(
            &format!("{A}/nix-support/propagated-user-env-packages"),
            &format!("{B} {C}\n"),
        )
        .dir(C)
        .file(&format!("{C}/c.txt"), "");
    let p = plan(&fs, "/out", vec![pkg(A, 5)]).unwrap();
    assert_eq!(
        lines(&p),
        [
            "bin/".to_owned(),
            format!("bin/hello -> {A}/bin/hello (5)"),
            format!("bin/other -> {B}/bin/other (1000)"),
            format!("c.txt -> {C}/c.txt (1001)"),
            format!("share -> {A}/share (5)"),
        ]
    );
}

#[test]
fn skipped_names_dangling_links_and_files() {
    let fs = Mem::default()
        .dir(A)
        .file(&format!("{A}/.hidden"), "")
        .file(&format!("{A}/manifest.json"), "")
        .dir(&format!("{A}/share"))
        .dir(&format!("{A}/share/info"))
        .file(&format!("{A}/share/info/dir"), "")
        .file(&format!("{A}/share/info/x.info"), "")
        .dir(&format!("{A}/log"))
        .link(&format!("{A}/gone"), "/nix/store/missing")
        .file(B, "a file");
    let p = plan(&fs, "/out", vec![pkg(A, 5), pkg(B, 5)]).unwrap();
    assert_eq!(lines(&p), [format!("share -> {A}/share (5)")]);
    assert_eq!(
        p.warnings,
        [
            "skipping dangling symlink '/out/gone'".to_owned(),
            format!("not including \"{B}\" in the user environment because it's not a directory"),
        ]
    );
}

#[test]
fn inactive_packages_are_not_linked() {
    let fs = two_hellos();
    let mut b = pkg(B, 5);
    b.active = false;
    let p = plan(&fs, "/out", vec![pkg(A, 5), b]).unwrap();
    assert_eq!(p.root.len(), 2);
}

#[test]
fn file_against_directory_collides() {
    let fs = Mem::default()
        .dir(A)
        .dir(&format!("{A}/bin"))
        .file(&format!("{A}/bin/x"), "")
        .dir(B)
        .dir(&format!("{B}/bin"))
        .file(&format!("{B}/bin/y"), "")
        .dir(C)
        .file(&format!("{C}/bin"), "");
    // A's and B's bin make a real directory; C's file `bin` meets it.
    let e = plan(&fs, "/out", vec![pkg(A, 5), pkg(B, 5), pkg(C, 5)]).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("collision between non-directory '{C}/bin' and directory '/out/bin'")
    );
    // A directory meeting a link to a file.
    let e = plan(&fs, "/out", vec![pkg(C, 1), pkg(A, 5)]).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("collision between \"{A}/bin\" and non-directory \"{C}/bin\"")
    );
}

#[test]
fn a_linked_directory_is_resolved_before_it_is_split() {
    // A's `bin` is a symlink to C's; it is re-linked from where it leads.
    let fs = two_hellos()
        .dir(C)
        .dir(&format!("{C}/bin"))
        .file(&format!("{C}/bin/tool"), "");
    let fs = Mem(fs
        .0
        .into_iter()
        .filter(|(k, _)| !k.starts_with(&format!("{A}/bin")))
        .collect())
    .link(&format!("{A}/bin"), &format!("{C}/bin"));
    let p = plan(&fs, "/out", vec![pkg(A, 5), pkg(B, 6)]).unwrap();
    assert_eq!(
        lines(&p),
        [
            "bin/".to_owned(),
            format!("bin/hello -> {B}/bin/hello (6)"),
            format!("bin/other -> {B}/bin/other (6)"),
            format!("bin/tool -> {C}/bin/tool (5)"),
            format!("share -> {A}/share (5)"),
        ]
    );
}
