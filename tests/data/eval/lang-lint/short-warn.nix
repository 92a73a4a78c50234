builtins.baseNameOf some/where
