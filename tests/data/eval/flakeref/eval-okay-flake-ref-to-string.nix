# `builtins.flakeRefToString` prints the URL form, the inverse of `parseFlakeRef`.
let
  refs = [
    "github:NixOS/nixpkgs/23.05?dir=lib"
    "git+https://example.org/repo.git?ref=main"
    "path:/some/dir"
    "flake:nixpkgs"
  ];
in
[
  (builtins.flakeRefToString {
    type = "github";
    owner = "NixOS";
    repo = "nixpkgs";
    ref = "23.05";
    dir = "lib";
  })
  (builtins.flakeRefToString { type = "indirect"; id = "nixpkgs"; })
  (map (r: builtins.flakeRefToString (builtins.parseFlakeRef r)) refs)
]
