# Nix's exploded form of flake references (`builtins.parseFlakeRef`): URL query parameters
# become attributes, `dir` included; numbers stay integers.
[
  (builtins.parseFlakeRef "github:NixOS/nixpkgs/23.05?dir=lib")
  (builtins.parseFlakeRef "git+https://example.org/repo.git?ref=main&rev=0123456789abcdef0123456789abcdef01234567")
  (builtins.parseFlakeRef "path:/some/dir?lastModified=1700000000")
  (builtins.parseFlakeRef "nixpkgs")
  (builtins.parseFlakeRef "tarball+https://example.org/a.tar.gz")
]
