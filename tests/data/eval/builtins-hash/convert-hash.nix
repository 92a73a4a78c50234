# The sha256 of the empty string in every format, from base-16, SRI and prefixed input.
let
  h = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
  to = f: builtins.convertHash { hash = h; hashAlgo = "sha256"; toHashFormat = f; };
in
[
  (to "base16")
  (to "nix32")
  (to "base64")
  (to "sri")
  (builtins.convertHash { hash = "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="; toHashFormat = "base16"; })
  (builtins.convertHash { hash = "sha256:${h}"; toHashFormat = "sri"; })
]
