# A value that needs itself: blackholing reports it.
let x = { a = x.a + 1; }; in x.a
