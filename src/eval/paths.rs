//! Path values (Nix's `canonPath` without symlink resolution): absolute, no `.` or `..`
//! components, no repeated or trailing slashes.

/// The canonical form of an absolute path (a relative one is taken from `/`).
pub fn canonicalise(p: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    if parts.is_empty() {
        return "/".to_owned();
    }
    let mut out = String::with_capacity(p.len());
    for c in parts {
        out.push('/');
        out.push_str(c);
    }
    out
}

/// `dirOf` of a path: everything before the last slash (`/` for a top-level entry).
pub fn dir_of(p: &str) -> &str {
    match p.rfind('/') {
        Some(0) => "/",
        Some(i) => &p[..i],
        None => ".",
    }
}

/// `baseNameOf`: the last component (ignoring one trailing slash).
pub fn base_name(p: &str) -> &str {
    let p = p.strip_suffix('/').unwrap_or(p);
    match p.rfind('/') {
        Some(i) => &p[i + 1..],
        None => p,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_forms() {
        assert_eq!(canonicalise("/a/./b//c/../d/"), "/a/b/d");
        assert_eq!(canonicalise("/.."), "/");
        assert_eq!(canonicalise("/"), "/");
        assert_eq!(dir_of("/a/b"), "/a");
        assert_eq!(dir_of("/a"), "/");
        assert_eq!(base_name("/a/b/"), "b");
    }
}
