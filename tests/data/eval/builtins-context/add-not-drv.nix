builtins.addDrvOutputDependencies (builtins.appendContext "s" { "/nix/store/11111111111111111111111111111111-y" = { path = true; }; })
