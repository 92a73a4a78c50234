# appendContext then getContext give the same structure back; discarding drops it.
let
  p = "/nix/store/00000000000000000000000000000000-x.drv";
  q = "/nix/store/11111111111111111111111111111111-y";
  s = builtins.appendContext "text" {
    ${p} = { outputs = [ "out" "dev" ]; allOutputs = true; path = true; };
    ${q} = { path = true; };
  };
in
[
  (builtins.getContext s)
  (builtins.hasContext s)
  (builtins.hasContext (builtins.unsafeDiscardStringContext s))
  (builtins.getContext (builtins.unsafeDiscardOutputDependency s))
  (builtins.getContext (builtins.addDrvOutputDependencies (builtins.appendContext "" { ${p} = { path = true; }; })))
]
