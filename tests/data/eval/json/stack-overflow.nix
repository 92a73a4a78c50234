# Each level of the value counts against max-call-depth (10000).
let
  deep = builtins.foldl' (tail: head: { inherit head tail; }) null (builtins.genList (x: x) 12000);
in
builtins.toJSON deep
