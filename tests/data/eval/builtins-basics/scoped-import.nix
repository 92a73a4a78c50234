# scopedImport: the imported file sees the given names as if they were builtins.
builtins.scopedImport { x = 40; y = 2; } ./scoped-import-target.nix.in
