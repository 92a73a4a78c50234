builtins.foldl' 1 0 "x"
