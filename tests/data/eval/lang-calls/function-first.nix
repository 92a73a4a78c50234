builtins.all 1 "x"
