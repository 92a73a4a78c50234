builtins.addDrvOutputDependencies (builtins.appendContext "s" { "/nix/store/00000000000000000000000000000000-x.drv" = { outputs = [ "out" ]; }; })
