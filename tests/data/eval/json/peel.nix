# __toString and outPath are peeled until neither is left; a set left after
# outPath alone is written as an object.
builtins.toJSON [
  { __toString = self: { outPath = "o"; }; }
  { outPath = { __toString = self: "t"; }; }
  { outPath.b = 1; }
  { __toString = self: "s"; outPath = "ignored"; }
]
