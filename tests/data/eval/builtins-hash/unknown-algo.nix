builtins.hashString "sha3" "x"
