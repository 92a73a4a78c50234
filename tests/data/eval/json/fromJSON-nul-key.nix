builtins.fromJSON "{\"a\\u0000b\": 1}"
