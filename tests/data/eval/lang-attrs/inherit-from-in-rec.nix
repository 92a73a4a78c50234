let p = { v = "outer"; }; in (rec { p = { v = "inner"; }; inherit (p) v; }).v
