# The name is checked as a store path name.
builtins.path { path = ./tree; name = "a b"; }
