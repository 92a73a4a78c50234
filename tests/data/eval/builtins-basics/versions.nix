# Version strings and derivation names.
[
  (builtins.compareVersions "1.0" "1.0.1")
  (builtins.compareVersions "2.3pre1" "2.3")
  (builtins.compareVersions "2.3" "2.3")
  (builtins.compareVersions "10.1" "9.9")
  (builtins.compareVersions "1.0a" "1.0b")
  (builtins.splitVersion "1.2.3pre4-x")
  (builtins.splitVersion "")
  (builtins.parseDrvName "nix-0.12pre12876")
  (builtins.parseDrvName "hello")
  (builtins.parseDrvName "a-b-2-c")
  (builtins.isInt builtins.langVersion)
  (builtins.isString builtins.nixVersion)
]
