builtins.groupBy (x: builtins.toFile "k" "v") [ 1 ]
