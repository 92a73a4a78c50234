builtins.filterSource (p: t: null) ./tree
