# With parse-toml-timestamps: the value as Nix prints it (upper-case T, 3/6/9 digits).
builtins.fromTOML ''
  a = 1979-05-27T07:32:00Z
  b = 1979-05-27 00:32:00.5-07:00
  c = 1979-05-27t07:32:00.1234
  d = 1979-05-27
  e = 07:32:00.123456789
''
