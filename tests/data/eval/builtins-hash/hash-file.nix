# The file's bytes, as hashString would hash them.
builtins.hashFile "sha256" ./hash-file.nix == builtins.hashString "sha256" (builtins.readFile ./hash-file.nix)
