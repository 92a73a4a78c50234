# readFileType (Nix 2.14+): the type of a file without following a final symlink.
map builtins.readFileType [ ./dir/file ./dir ./dir/link ]
