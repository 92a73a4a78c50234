builtins.fetchTree { url = "https://example.invalid/a.tar.gz"; }
