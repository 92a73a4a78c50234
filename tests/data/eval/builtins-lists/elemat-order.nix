builtins.elemAt "x" "y"
