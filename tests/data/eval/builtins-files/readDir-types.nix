# readDir follows a symlink to a directory; entries that are symlinks say so.
builtins.readDir ./tree
