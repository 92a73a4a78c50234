# Laziness: map/genList do not force elements; sort with lessThan; partition, groupBy.
with builtins;
[
  (length (genList (i: throw "not forced") 3))
  (length (map (x: throw "not forced") [ 1 2 ]))
  (sort lessThan [ 3 1 2 1.5 ])
  (sort (a: b: a.k < b.k) [ { k = 2; v = "a"; } { k = 1; v = "b"; } { k = 2; v = "c"; } ])
  (partition (x: x > 2) [ 1 3 2 4 ])
  (groupBy (x: if x > 2 then "big" else "small") [ 1 3 2 4 ])
  (concatMap (x: [ x x ]) [ 1 2 ])
  (any (x: x) [ false true (throw "short-circuit") ])
  (all (x: x) [ true false (throw "short-circuit") ])
  (elemAt [ 1 2 3 ] 2)
  (map (x: x) [ ])
  (sort 1 [ ])
]
