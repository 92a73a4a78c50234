http://example.org/a
