# Impure builtins under --impure: an unset variable reads as "", the system is a string.
[
  (builtins.getEnv "RFLAKE_GOLDEN_SURELY_UNSET")
  (builtins.isString builtins.currentSystem)
  (builtins.currentSystem != "")
  (builtins.isInt builtins.currentTime)
]
