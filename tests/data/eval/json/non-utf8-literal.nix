builtins.toJSON "_ÿ_"
