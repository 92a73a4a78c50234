# The message names the file the symlinks lead to.
builtins.readDir ./tree/link2
