builtins.match "${builtins.toFile "x" "y"}" ""
