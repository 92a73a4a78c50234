# findFile looks a `<prefix/rest>` up in a search path; nixPath shows the -I entries.
[
  (builtins.readFile (builtins.findFile [ { prefix = "d"; path = ./dir; } ] "d/file"))
  (builtins.readFile (builtins.findFile [ { prefix = ""; path = ./dir; } ] "file"))
  (builtins.map (e: e.prefix) builtins.nixPath)
]
