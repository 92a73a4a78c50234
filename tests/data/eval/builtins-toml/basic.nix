# Tables, arrays of tables, inline tables, numbers in every base, strings of every kind.
builtins.fromTOML ''
  title = "TOML"
  "quoted key" = 'literal'
  ml = """
  two
  lines"""
  hex = 0xff
  oct = 0o17
  bin = 0b101
  big = 9223372036854775807
  flt = 6.5e-3
  inf = inf
  yes = true
  arr = [ 1, [ "a", 2.5 ], { x = 1 } ]
  point = { x = 1, y.z = 2 }
  [server.alpha]
  ip = "10.0.0.1"
  [[items]]
  n = 1
  [[items]]
''
