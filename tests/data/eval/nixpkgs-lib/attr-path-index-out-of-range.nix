# A list index past the end.
{ a = [ 1 ]; }
