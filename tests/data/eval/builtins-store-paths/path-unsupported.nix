builtins.path { path = ./tree; foo = 1; }
