# A list index applied to a set.
{ a = { "0" = 1; }; }
