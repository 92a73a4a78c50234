1 < "one"
