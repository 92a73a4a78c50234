# Paths: dirOf, pathExists, readDir, readFileType, storeDir, placeholder.
[
  (builtins.dirOf "/a/b/c")
  (builtins.dirOf "/a")
  (builtins.dirOf "a")
  (builtins.dirOf "a/b/")
  (builtins.dirOf ./dir/file == ./dir)
  (builtins.pathExists ./dir/file)
  (builtins.pathExists ./dir/missing)
  (builtins.pathExists ./dir/link)
  (builtins.readDir ./dir)
  (builtins.storeDir)
  (builtins.placeholder "out")
  (builtins.placeholder "dev")
]
