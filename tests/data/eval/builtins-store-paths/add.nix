# Paths added with filters, names and flat hashing (store paths as Nix 2.8 computes them).
let
  dir = ./tree;
in
[
  (builtins.filterSource (p: t: t != "directory" && baseNameOf p != "skip") dir)
  (builtins.path {
    path = dir;
    name = "named";
  })
  (builtins.path {
    path = dir + "/a";
    recursive = false;
  })
  (builtins.path {
    path = dir;
    filter = p: t: t == "symlink" || baseNameOf p == "a";
  })
]
