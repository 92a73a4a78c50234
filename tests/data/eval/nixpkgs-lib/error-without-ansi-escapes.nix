# A message carrying ANSI escapes (nixpkgs lib's module errors colour their parts) is printed
# without them when stderr shows no colours, as Nix's logger filters them.
let esc = builtins.fromJSON "\"\\u001b\""; in
throw "found a value of type ${esc}[1;35m\"configuration\"${esc}[0m, in ${esc}]8;;file:///x${esc}\\x${esc}[0m."
