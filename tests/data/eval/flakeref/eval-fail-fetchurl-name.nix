# The name is checked before anything is downloaded.
builtins.fetchurl "https://example.invalid/~wiggle~"
