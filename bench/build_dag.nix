# A DAG of COUNT trivial derivations, at most WIDTH per layer, for bench/build_dag.sh and
# bench/build_noop.sh (and the concurrent-build test). Node i sits in layer i / WIDTH and
# depends on three nodes of the layer above (positions p, p+1 and p+7 modulo WIDTH); the last
# node depends on every other node of the last layer, and is the value of the file. Each
# builder is `/bin/sh -c 'echo <inputs> > $out'`; with LOG set, it first appends its name to
# that file (outside the store: a build counter for unsandboxed builds).
{ count ? 300, width ? 20, salt ? "", log ? "" }:
let
  node = i:
    let
      layer = i / width;
      pos = i - layer * width;
      prev = p: builtins.elemAt nodes ((layer - 1) * width + (p - p / width * width));
      deps =
        if i == count - 1 then builtins.genList (k: builtins.elemAt nodes (layer * width + k)) pos
        else if layer == 0 then [ ]
        else [ (prev pos) (prev (pos + 1)) (prev (pos + 7)) ];
      record = if log == "" then "" else "echo $name >> ${log}; ";
    in
    derivation {
      name = "dag-${toString i}";
      system = "x86_64-linux";
      builder = "/bin/sh";
      args = [ "-c" "${record}echo ${salt} ${toString deps} > $out" ];
    };
  nodes = builtins.genList node count;
in
builtins.elemAt nodes (count - 1)
