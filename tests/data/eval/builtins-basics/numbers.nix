# Integer bit operations, rounding and the number predicates.
[
  (builtins.bitAnd 12 10)
  (builtins.bitOr 12 10)
  (builtins.bitXor 12 10)
  (builtins.bitAnd (-1) 255)
  (builtins.ceil 1.2)
  (builtins.ceil (-1.2))
  (builtins.floor 1.8)
  (builtins.floor (-1.8))
  (builtins.ceil 3)
  (builtins.mul 6 7)
  (builtins.mul 2 1.5)
  (builtins.isInt 1)
  (builtins.isInt 1.0)
  (builtins.isFloat 1.0)
  (builtins.isFloat 1)
]
