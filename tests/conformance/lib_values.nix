# Every value of a nixpkgs lib that is not a function, as JSON: called with the lib's path,
# `import ./lib_values.nix { path = LIB; }`, it walks the lib's attribute sets and lists five
# levels deep, functions shown as "<fn>", paths as "<path>", derivations as "<drv>", values
# whose evaluation throws as "<err>". `maintainers` and `teams` are left out (a lib-only
# checkout lacks ../maintainers); the lib needs ../.version beside it. Comparing the output of
# two evaluators compares everything the lib computes without arguments (docs/conformance.md).
{ path }:
let
  lib = removeAttrs (import path) [ "maintainers" "teams" ];
  clean = depth: v:
    if depth > 5 then "<deep>"
    else if builtins.isFunction v then "<fn>"
    else if builtins.isAttrs v then
      (if v ? type && v.type == "derivation" then "<drv>"
       else builtins.mapAttrs (n: x:
         let c = clean (depth + 1) x; r = builtins.tryEval (builtins.deepSeq c c); in
         if r.success then r.value else "<err>") v)
    else if builtins.isList v then map (clean (depth + 1)) v
    else if builtins.isPath v then "<path>"
    else v;
in
clean 0 lib
